#include "services/cd/engine/normalize.h"

// jq 1.6 headers have no extern "C" of their own.
extern "C" {
#include <jq.h>
}

#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/yaml.h"
#include "services/cd/engine/health_scripts.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

void EraseEmptyMap(json& md, const char* key) {
  auto it = md.find(key);
  if (it != md.end() && (it->is_null() || (it->is_object() && it->empty()))) md.erase(it);
}

// RFC 6901 removal; a pointer to nothing is not an error.
void RemovePointer(json& obj, const json::json_pointer& ptr) {
  if (ptr.empty()) return;
  json::json_pointer parent = ptr.parent_pointer();
  if (!obj.contains(parent)) return;
  json& container = obj[parent];
  const std::string& last = ptr.back();
  if (container.is_object()) {
    container.erase(last);
  } else if (container.is_array()) {
    if (last.empty() || last.size() > 9) return;
    for (char c : last)
      if (!std::isdigit(static_cast<unsigned char>(c))) return;
    size_t i = std::stoul(last);
    if (i < container.size()) container.erase(i);
  }
}

// managedFields' fieldsV1: {"f:spec": {"f:replicas": {}}, "k:{\"name\":\"c\"}": {...}}.
void RemoveManaged(json& obj, const json& fields) {
  if (!fields.is_object()) return;
  for (const auto& [k, sub] : fields.items()) {
    if (absl::StartsWith(k, "f:") && obj.is_object()) {
      std::string name = k.substr(2);
      if (!obj.contains(name)) continue;
      bool leaf = !sub.is_object() || sub.empty() || (sub.size() == 1 && sub.contains("."));
      if (leaf) {
        obj.erase(name);
      } else {
        RemoveManaged(obj[name], sub);
      }
    } else if (absl::StartsWith(k, "k:") && obj.is_array()) {
      json match = json::parse(k.substr(2), nullptr, /*allow_exceptions=*/false);
      if (!match.is_object()) continue;
      for (size_t i = 0; i < obj.size(); ++i) {
        json& item = obj[i];
        bool same = item.is_object();
        for (const auto& [mk, mv] : match.items())
          if (same && (!item.contains(mk) || item[mk] != mv)) same = false;
        if (!same) continue;
        bool whole = sub.is_object() && sub.contains(".") && sub.size() == 1;
        if (whole) {
          obj.erase(i);
        } else {
          RemoveManaged(item, sub);
        }
        break;
      }
    } else if (absl::StartsWith(k, "v:") && obj.is_array()) {
      json value = json::parse(k.substr(2), nullptr, /*allow_exceptions=*/false);
      for (size_t i = 0; i < obj.size(); ++i) {
        if (obj[i] == value) {
          obj.erase(i);
          break;
        }
      }
    }
  }
}

bool Matches(const json& entry, const ResourceKey& key) {
  return GlobMatch(Str(entry, "group"), key.group) && GlobMatch(Str(entry, "kind"), key.kind) &&
         (Str(entry, "name").empty() || Str(entry, "name") == key.name) &&
         (Str(entry, "namespace").empty() || Str(entry, "namespace") == key.ns);
}

absl::StatusOr<std::vector<std::string>> Strings(const json& entry, const char* field,
                                                 const std::string& where) {
  std::vector<std::string> out;
  auto it = entry.find(field);
  if (it == entry.end() || it->is_null()) return out;
  if (!it->is_array())
    return absl::InvalidArgumentError(absl::StrCat(where, ".", field, ": must be a list"));
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string())
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".", field, "[", i, "]: must be a string"));
    out.push_back((*it)[i].get<std::string>());
  }
  return out;
}

struct JqDeleter {
  void operator()(jq_state* jq) const { jq_teardown(&jq); }
};

void CollectJqError(void* data, jv msg) {
  auto* out = static_cast<std::string*>(data);
  jv text = jv_get_kind(msg) == JV_KIND_STRING ? jv_copy(msg) : jv_dump_string(jv_copy(msg), 0);
  if (out->empty()) *out = jv_string_value(text);
  jv_free(text);
  jv_free(msg);
}

}  // namespace

void NormalizeObject(json& obj) {
  if (!obj.is_object()) return;
  obj.erase("status");
  if (auto md = obj.find("metadata"); md != obj.end() && md->is_object()) {
    for (const char* f :
         {"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
          "deletionTimestamp", "deletionGracePeriodSeconds"})
      md->erase(f);
    if (auto ann = md->find("annotations"); ann != md->end() && ann->is_object())
      ann->erase(kLastAppliedAnnotation);
    EraseEmptyMap(*md, "annotations");
    EraseEmptyMap(*md, "labels");
  }
  if (Str(obj, "apiVersion") == "v1" && Str(obj, "kind") == "Secret" &&
      obj.contains("stringData")) {
    json string_data = obj["stringData"];
    obj.erase("stringData");
    if (string_data.is_object()) {
      if (!obj.contains("data") || !obj["data"].is_object()) obj["data"] = json::object();
      for (const auto& [k, v] : string_data.items())
        if (v.is_string()) obj["data"][k] = absl::Base64Escape(v.get<std::string>());
    }
  }
}

absl::StatusOr<IgnoreRules> IgnoreRules::For(const json& ignore_differences,
                                             const ResourceKey& key) {
  IgnoreRules rules;
  if (ignore_differences.is_null()) return rules;
  if (!ignore_differences.is_array())
    return absl::InvalidArgumentError("ignoreDifferences: must be a list");
  for (size_t i = 0; i < ignore_differences.size(); ++i) {
    const json& entry = ignore_differences[i];
    std::string where = absl::StrCat("ignoreDifferences[", i, "]");
    if (!entry.is_object()) return absl::InvalidArgumentError(where + ": must be an object");
    if (Str(entry, "kind").empty())
      return absl::InvalidArgumentError(where + ".kind: required (use \"*\" for every kind)");
    if (!Matches(entry, key)) continue;
    auto pointers = Strings(entry, "jsonPointers", where);
    if (!pointers.ok()) return pointers.status();
    for (size_t j = 0; j < pointers->size(); ++j) {
      const std::string& p = (*pointers)[j];
      if (!p.empty() && p[0] != '/')
        return absl::InvalidArgumentError(absl::StrCat(where, ".jsonPointers[", j, "]: \"", p,
                                                       "\" is not a JSON pointer (starts with /)"));
      rules.pointers_.push_back(p);
    }
    auto jq = Strings(entry, "jqPathExpressions", where);
    if (!jq.ok()) return jq.status();
    for (size_t j = 0; j < jq->size(); ++j) {
      if (absl::Status s = CheckJqExpression((*jq)[j]); !s.ok())
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".jqPathExpressions[", j, "]: ", s.message()));
      rules.jq_.push_back((*jq)[j]);
    }
    auto managers = Strings(entry, "managedFieldsManagers", where);
    if (!managers.ok()) return managers.status();
    rules.managers_.insert(rules.managers_.end(), managers->begin(), managers->end());
  }
  return rules;
}

void IgnoreRules::CollectManagedFields(const json& live) {
  if (managers_.empty() || !live.is_object() || !live.contains("metadata")) return;
  const json& md = live["metadata"];
  if (!md.is_object() || !md.contains("managedFields") || !md["managedFields"].is_array()) return;
  for (const json& entry : md["managedFields"]) {
    std::string manager = Str(entry, "manager");
    for (const std::string& m : managers_)
      if (m == manager && entry.is_object() && entry.contains("fieldsV1"))
        managed_fields_.push_back(entry["fieldsV1"]);
  }
}

void IgnoreRules::Apply(json& obj) const {
  if (!obj.is_object()) return;
  for (const std::string& p : pointers_) {
    try {
      RemovePointer(obj, json::json_pointer(p));
    } catch (const json::exception&) {
      // Checked at For(); an escape error such as "~2" just matches nothing.
    }
  }
  for (const std::string& expr : jq_) {
    auto out = JqDelete(expr, obj);
    if (out.ok() && out->is_object()) obj = *std::move(out);
  }
  for (const json& fields : managed_fields_) RemoveManaged(obj, fields);
}

json SystemIgnoreDifferences(const json& data, std::vector<std::string>* errors) {
  json out = json::array();
  if (!data.is_object()) return out;
  auto note = [&](std::string message) {
    if (errors != nullptr) errors->push_back(std::move(message));
  };
  // One entry from a YAML text for a group/kind.
  auto add = [&](const std::string& where, const std::string& group, const std::string& kind,
                 const json& value) {
    json rules = value;
    if (value.is_string()) {
      auto docs = manifest::ParseDocuments(value.get<std::string>());
      if (!docs.ok()) {
        note(absl::StrCat(where, ": ", docs.status().message()));
        return;
      }
      rules = docs->empty() ? json::object() : (*docs)[0];
    }
    if (!rules.is_object()) {
      note(absl::StrCat(where,
                        ": expected a map of jsonPointers, jqPathExpressions, "
                        "managedFieldsManagers"));
      return;
    }
    json entry = {{"group", group}, {"kind", kind}};
    for (const char* f : {"jsonPointers", "jqPathExpressions", "managedFieldsManagers"})
      if (rules.contains(f)) entry[f] = rules[f];
    out.push_back(std::move(entry));
  };
  constexpr absl::string_view kLegacy = "resource.customizations";
  if (auto it = data.find(std::string(kLegacy)); it != data.end() && it->is_string()) {
    auto docs = manifest::ParseDocuments(it->get<std::string>());
    if (docs.ok() && !docs->empty() && (*docs)[0].is_object()) {
      for (const auto& [key, value] : (*docs)[0].items()) {
        if (!value.is_object() || !value.contains("ignoreDifferences")) continue;
        size_t slash = key.rfind('/');
        std::string group = slash == std::string::npos ? "" : key.substr(0, slash);
        std::string kind = slash == std::string::npos ? key : key.substr(slash + 1);
        add(absl::StrCat(kLegacy, " ", key), group, kind, value["ignoreDifferences"]);
      }
    }
  }
  constexpr absl::string_view kPrefix = "resource.customizations.ignoreDifferences.";
  for (const auto& [key, value] : data.items()) {
    if (!absl::StartsWith(key, kPrefix) || !value.is_string()) continue;
    std::string gk = key.substr(kPrefix.size());
    if (gk == "all") {
      add(key, "*", "*", value);
      continue;
    }
    size_t sep = gk.rfind('_');
    if (gk.empty() || (sep != std::string::npos && gk.find('_') != sep)) {
      note(absl::StrCat(key, ": expected ", kPrefix, "<group>_<kind>"));
      continue;
    }
    add(key, sep == std::string::npos ? "" : gk.substr(0, sep),
        sep == std::string::npos ? gk : gk.substr(sep + 1), value);
  }
  return out;
}

absl::Status CheckJqExpression(std::string_view expr) {
  static const std::string_view kAllowed[] = {
      "select",
      "test",
      "startswith",
      "endswith",
      "contains",
      "inside",
      "has",
      "in",
      "index",
      "rindex",
      "indices",
      "length",
      "not",
      "and",
      "or",
      "if",
      "then",
      "elif",
      "else",
      "end",
      "type",
      "keys",
      "keys_unsorted",
      "values",
      "nulls",
      "booleans",
      "numbers",
      "strings",
      "arrays",
      "objects",
      "iterables",
      "scalars",
      "empty",
      "null",
      "true",
      "false",
      "any",
      "all",
      "map",
      "map_values",
      "ascii_downcase",
      "ascii_upcase",
      "ltrimstr",
      "rtrimstr",
      "tostring",
      "tonumber",
      "split",
      "join",
      "to_entries",
      "from_entries",
      "with_entries",
      "paths",
      "leaf_paths",
      "getpath",
      "first",
      "last",
      "unique",
      "sort",
      "add",
      "as",
      "try",
      "catch",
      "tojson",
      "fromjson",
      "del",
      "path",
      "ascii",
      "utf8bytelength",
      "isvalid",
      "error",
  };
  if (expr.empty()) return absl::InvalidArgumentError("empty expression");
  if (expr.size() > 1024) return absl::InvalidArgumentError("expression longer than 1024 bytes");
  for (size_t i = 0; i < expr.size();) {
    char c = expr[i];
    if (c == '"') {
      for (++i; i < expr.size() && expr[i] != '"'; ++i) {
        if (expr[i] == '\\') {
          if (i + 1 < expr.size() && expr[i + 1] == '(')
            return absl::InvalidArgumentError("string interpolation is not supported");
          ++i;
        }
      }
      ++i;
      continue;
    }
    if (c == '*') return absl::InvalidArgumentError("the * operator is not supported");
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = i;
      while (i < expr.size() &&
             (std::isalnum(static_cast<unsigned char>(expr[i])) || expr[i] == '_'))
        ++i;
      std::string_view word = expr.substr(start, i - start);
      char before = start > 0 ? expr[start - 1] : ' ';
      // A field name, a variable, or a number's exponent (1e3).
      if (before == '.' || before == '$' || std::isdigit(static_cast<unsigned char>(before)))
        continue;
      size_t after = i;
      while (after < expr.size() && expr[after] == ' ') ++after;
      if (after < expr.size() && expr[after] == ':') continue;  // an object key {name: ...}
      bool ok = false;
      for (std::string_view a : kAllowed) ok = ok || a == word;
      if (!ok)
        return absl::InvalidArgumentError(
            absl::StrCat("\"", std::string(word),
                         "\" is not supported in ignoreDifferences jq paths (only path "
                         "expressions, select and simple builtins)"));
      continue;
    }
    ++i;
  }
  return absl::OkStatus();
}

absl::StatusOr<json> JqDelete(std::string_view expr, const json& obj) {
  RETURN_IF_ERROR(CheckJqExpression(expr));
  // Compiling loads jq's builtins (tens of milliseconds): keep compiled
  // programs per thread, a few dozen at most.
  thread_local std::map<std::string, std::unique_ptr<jq_state, JqDeleter>, std::less<>> cache;
  std::string error;
  auto it = cache.find(expr);
  if (it == cache.end()) {
    std::unique_ptr<jq_state, JqDeleter> state(jq_init());
    if (!state) return absl::ResourceExhaustedError("jq: cannot initialize");
    jq_set_error_cb(state.get(), CollectJqError, &error);
    std::string program = absl::StrCat("del(", std::string(expr), ")");
    if (!jq_compile(state.get(), program.c_str()))
      return absl::InvalidArgumentError(
          absl::StrCat("jq: ", error.empty() ? "cannot compile" : error));
    if (cache.size() >= 64) cache.clear();
    it = cache.emplace(std::string(expr), std::move(state)).first;
  }
  jq_state* jq = it->second.get();
  jq_set_error_cb(jq, CollectJqError, &error);
  // Invalid UTF-8 would make dump() throw; replacing it only touches such strings.
  std::string input = obj.dump(-1, ' ', false, json::error_handler_t::replace);
  jq_start(jq, jv_parse(input.c_str()), 0);
  jv result = jq_next(jq);
  if (!jv_is_valid(result)) {
    jv_free(result);
    jq_set_error_cb(jq, nullptr, nullptr);
    return obj;
  }
  jq_set_error_cb(jq, nullptr, nullptr);
  jv text = jv_dump_string(result, 0);
  json out = json::parse(jv_string_value(text), nullptr, /*allow_exceptions=*/false);
  jv_free(text);
  if (out.is_discarded()) return obj;
  return out;
}

}  // namespace argonaut::cd::engine
