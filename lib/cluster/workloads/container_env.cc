#include "lib/cluster/workloads/container_env.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::workloads {
namespace {

bool IsEnvVarName(std::string_view s) {
  if (s.empty()) return false;
  auto ok = [](char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.'; };
  if (absl::ascii_isdigit(s[0])) return false;
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

absl::Status Missing(const std::string& path, const std::string& what) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": ", what));
}

// Reads key from a ConfigMap's data or a Secret's stringData/data (base64).
absl::StatusOr<std::optional<std::string>> ObjectValue(const Json& obj, bool secret,
                                                       const std::string& key,
                                                       const std::string& path) {
  if (secret) {
    if (const Json* v = FieldPath(obj, {"stringData", key}); v && v->is_string()) {
      return std::optional<std::string>(v->get<std::string>());
    }
    if (const Json* v = FieldPath(obj, {"data", key}); v && v->is_string()) {
      std::string decoded;
      if (!absl::Base64Unescape(v->get<std::string>(), &decoded)) {
        return Missing(path, absl::StrCat("secret key \"", key, "\" is not valid base64"));
      }
      return std::optional<std::string>(decoded);
    }
    return std::optional<std::string>();
  }
  if (const Json* v = FieldPath(obj, {"data", key}); v && v->is_string()) {
    return std::optional<std::string>(v->get<std::string>());
  }
  return std::optional<std::string>();
}

// metadata.labels['key'] / metadata.annotations['key'] and the plain field paths.
absl::StatusOr<std::string> PodField(const Json& pod, const std::string& field_path,
                                     const std::string& path) {
  for (const char* map : {"labels", "annotations"}) {
    const std::string prefix = absl::StrCat("metadata.", map, "['");
    if (field_path.rfind(prefix, 0) == 0 && field_path.size() > prefix.size() + 2 &&
        field_path.substr(field_path.size() - 2) == "']") {
      const std::string key =
          field_path.substr(prefix.size(), field_path.size() - prefix.size() - 2);
      const Json* v = FieldPath(pod, {"metadata", map, key});
      return v != nullptr && v->is_string() ? v->get<std::string>() : "";
    }
  }
  static const std::map<std::string, std::pair<const char*, const char*>> kFields = {
      {"metadata.name", {"metadata", "name"}},
      {"metadata.namespace", {"metadata", "namespace"}},
      {"metadata.uid", {"metadata", "uid"}},
      {"spec.nodeName", {"spec", "nodeName"}},
      {"spec.serviceAccountName", {"spec", "serviceAccountName"}},
      {"status.podIP", {"status", "podIP"}},
      {"status.hostIP", {"status", "hostIP"}},
  };
  auto it = kFields.find(field_path);
  if (it == kFields.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".fieldPath: unsupported value \"", field_path, "\""));
  }
  const Json* v = FieldPath(pod, {it->second.first, it->second.second});
  return v != nullptr && v->is_string() ? v->get<std::string>() : "";
}

absl::StatusOr<std::string> ResourceField(const Json& container, const Json& ref,
                                          const Json& allocatable, const std::string& path) {
  ASSIGN_OR_RETURN(const std::string resource,
                   StringField(ref, "resource", "", path + ".resource"));
  const size_t dot = resource.find('.');
  const std::string kind = dot == std::string::npos ? "" : resource.substr(0, dot);
  const std::string name = dot == std::string::npos ? "" : resource.substr(dot + 1);
  if ((kind != "limits" && kind != "requests") ||
      (name != "cpu" && name != "memory" && name != "ephemeral-storage")) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".resource: unsupported value \"", resource, "\""));
  }
  long double divisor = 1;
  if (const Json* d = Field(ref, "divisor")) {
    const std::string text = d->is_string() ? d->get<std::string>() : d->dump();
    ASSIGN_OR_RETURN(divisor, ParseQuantity(text, path + ".divisor"));
    if (divisor <= 0) return absl::InvalidArgumentError(path + ".divisor: must be positive");
  }
  const Json* q = FieldPath(container, {"resources", kind, name});
  // Unset limits mean "whatever the node has"; unset requests mean nothing reserved.
  if (q == nullptr && kind == "limits") q = Field(allocatable, name);
  long double value = 0;
  if (q != nullptr) {
    const std::string text = q->is_string() ? q->get<std::string>() : q->dump();
    ASSIGN_OR_RETURN(value, ParseQuantity(text, path));
  }
  // Round up as Kubernetes does, without letting float noise turn 250.0000001 into 251.
  const long double ratio = value / divisor;
  const long double nearest = std::round(ratio);
  const long double result =
      std::fabs(ratio - nearest) < 1e-9L * std::max(1.0L, nearest) ? nearest : std::ceil(ratio);
  if (result > 9.0e18L) return absl::InvalidArgumentError(path + ": value out of range");
  return absl::StrCat(static_cast<int64_t>(result));
}

}  // namespace

absl::StatusOr<long double> ParseQuantity(std::string_view text, std::string_view path) {
  static const std::map<std::string, long double> kSuffix = {{"", 1},
                                                             {"k", 1e3},
                                                             {"M", 1e6},
                                                             {"G", 1e9},
                                                             {"T", 1e12},
                                                             {"P", 1e15},
                                                             {"E", 1e18},
                                                             {"Ki", 1024.0L},
                                                             {"Mi", 1048576.0L},
                                                             {"Gi", 1073741824.0L},
                                                             {"Ti", 1099511627776.0L},
                                                             {"Pi", 1125899906842624.0L},
                                                             {"Ei", 1152921504606846976.0L}};
  size_t i = 0;
  while (i < text.size() &&
         (absl::ascii_isdigit(text[i]) || text[i] == '.' || text[i] == '+' || text[i] == '-' ||
          ((text[i] == 'e' || text[i] == 'E') && i + 1 < text.size() &&
           (absl::ascii_isdigit(text[i + 1]) || text[i + 1] == '-' || text[i + 1] == '+')))) {
    ++i;
  }
  double number = 0;
  const std::string suffix(text.substr(i));
  auto it = kSuffix.find(suffix == "m" ? "" : suffix);
  if (text.size() > 64 || i == 0 || it == kSuffix.end() ||
      !absl::SimpleAtod(AbslView(text.substr(0, i)), &number) || !std::isfinite(number) ||
      number < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(path), ": \"", AbslView(text), "\" is not a valid quantity"));
  }
  // Milli is a division so that "250m" is exactly 250/1000 of a unit, as far as possible.
  if (text.substr(i) == "m") return static_cast<long double>(number) / 1000.0L;
  return static_cast<long double>(number) * it->second;
}

std::string ExpandVars(std::string_view input,
                       const std::function<std::optional<std::string>(std::string_view)>& lookup) {
  std::string out;
  size_t i = 0;
  while (i < input.size()) {
    if (input[i] != '$' || i + 1 >= input.size()) {
      out.push_back(input[i++]);
      continue;
    }
    const char next = input[i + 1];
    if (next == '$') {  // escaped operator
      out.push_back('$');
      i += 2;
    } else if (next == '(') {
      const size_t close = input.find(')', i + 2);
      if (close == std::string_view::npos) {  // unterminated: keep as written
        out.append("$(");
        i += 2;
        continue;
      }
      const std::string_view name = input.substr(i + 2, close - i - 2);
      std::optional<std::string> v = lookup(name);
      if (v) {
        out.append(*v);
      } else {
        out.append("$(").append(name).append(")");
      }
      i = close + 1;
    } else {
      out.push_back('$');
      out.push_back(next);
      i += 2;
    }
  }
  return out;
}

absl::StatusOr<std::vector<EnvVar>> ResolveContainerEnv(const Json& pod, std::string_view list,
                                                        size_t index, const ObjectLookup& lookup,
                                                        const Json& node_allocatable) {
  const std::string base = absl::StrCat("spec.", AbslView(list), "[", index, "]");
  const Json* containers = FieldPath(pod, {"spec", list});
  if (containers == nullptr || !containers->is_array() || index >= containers->size()) {
    return absl::InvalidArgumentError(absl::StrCat(base, ": no such container"));
  }
  const Json& c = (*containers)[index];
  std::vector<EnvVar> out;
  std::map<std::string, size_t> pos;
  auto set = [&](const std::string& name, std::string value) {
    auto it = pos.find(name);
    if (it != pos.end()) {
      out[it->second].value = std::move(value);
    } else {
      pos[name] = out.size();
      out.push_back({name, std::move(value)});
    }
  };
  auto fetch = [&](const char* kind, const std::string& name) { return lookup(kind, name); };

  if (const Json* env_from = Field(c, "envFrom")) {
    if (!env_from->is_array()) return absl::InvalidArgumentError(base + ".envFrom: expected array");
    for (size_t i = 0; i < env_from->size(); ++i) {
      const Json& src = (*env_from)[i];
      const std::string p = absl::StrCat(base, ".envFrom[", i, "]");
      ASSIGN_OR_RETURN(const std::string prefix, StringField(src, "prefix", "", p + ".prefix"));
      const Json* cm = Field(src, "configMapRef");
      const Json* sec = Field(src, "secretRef");
      if ((cm == nullptr) == (sec == nullptr)) {
        return absl::InvalidArgumentError(p +
                                          ": exactly one of configMapRef or secretRef is required");
      }
      const bool secret = sec != nullptr;
      const Json& ref = secret ? *sec : *cm;
      const std::string rp = p + (secret ? ".secretRef" : ".configMapRef");
      ASSIGN_OR_RETURN(const std::string name, StringField(ref, "name", "", rp + ".name"));
      ASSIGN_OR_RETURN(const bool optional, BoolField(ref, "optional", false, rp + ".optional"));
      std::optional<Json> obj = fetch(secret ? "Secret" : "ConfigMap", name);
      if (!obj) {
        if (optional) continue;
        return Missing(rp,
                       absl::StrCat(secret ? "secret" : "configmap", " \"", name, "\" not found"));
      }
      std::map<std::string, std::string> values;
      for (const char* field : {"data", "stringData"}) {
        if (!secret && std::string_view(field) == "stringData") continue;
        const Json* data = Field(*obj, field);
        if (data == nullptr || !data->is_object()) continue;
        for (const auto& [k, v] : data->items()) {
          ASSIGN_OR_RETURN(std::optional<std::string> value, ObjectValue(*obj, secret, k, rp));
          if (value) values[k] = *value;
        }
      }
      for (auto& [k, v] : values) {
        const std::string name_with_prefix = prefix + k;
        if (IsEnvVarName(name_with_prefix)) set(name_with_prefix, v);
      }
    }
  }

  if (const Json* env = Field(c, "env")) {
    if (!env->is_array()) return absl::InvalidArgumentError(base + ".env: expected array");
    for (size_t i = 0; i < env->size(); ++i) {
      const Json& e = (*env)[i];
      const std::string p = absl::StrCat(base, ".env[", i, "]");
      ASSIGN_OR_RETURN(const std::string name, StringField(e, "name", "", p + ".name"));
      if (name.empty()) return absl::InvalidArgumentError(p + ".name: required");
      ASSIGN_OR_RETURN(const std::string raw, StringField(e, "value", "", p + ".value"));
      const Json* from = Field(e, "valueFrom");
      if (from == nullptr) {
        set(name, ExpandVars(raw, [&](std::string_view var) -> std::optional<std::string> {
              auto it = pos.find(std::string(var));
              if (it == pos.end()) return std::nullopt;
              return out[it->second].value;
            }));
        continue;
      }
      const std::string vp = p + ".valueFrom";
      if (!raw.empty()) {
        return absl::InvalidArgumentError(p + ": value and valueFrom are mutually exclusive");
      }
      if (const Json* ref = Field(*from, "fieldRef")) {
        ASSIGN_OR_RETURN(const std::string fp,
                         StringField(*ref, "fieldPath", "", vp + ".fieldRef.fieldPath"));
        ASSIGN_OR_RETURN(std::string v, PodField(pod, fp, vp + ".fieldRef"));
        set(name, std::move(v));
      } else if (const Json* rref = Field(*from, "resourceFieldRef")) {
        ASSIGN_OR_RETURN(std::string v,
                         ResourceField(c, *rref, node_allocatable, vp + ".resourceFieldRef"));
        set(name, std::move(v));
      } else if (Field(*from, "configMapKeyRef") || Field(*from, "secretKeyRef")) {
        const bool secret = Field(*from, "secretKeyRef") != nullptr;
        const Json& ref = secret ? (*from)["secretKeyRef"] : (*from)["configMapKeyRef"];
        const std::string rp = vp + (secret ? ".secretKeyRef" : ".configMapKeyRef");
        ASSIGN_OR_RETURN(const std::string obj_name, StringField(ref, "name", "", rp + ".name"));
        ASSIGN_OR_RETURN(const std::string key, StringField(ref, "key", "", rp + ".key"));
        ASSIGN_OR_RETURN(const bool optional, BoolField(ref, "optional", false, rp + ".optional"));
        std::optional<Json> obj = fetch(secret ? "Secret" : "ConfigMap", obj_name);
        if (!obj) {
          if (optional) continue;
          return Missing(
              rp, absl::StrCat(secret ? "secret" : "configmap", " \"", obj_name, "\" not found"));
        }
        ASSIGN_OR_RETURN(std::optional<std::string> value, ObjectValue(*obj, secret, key, rp));
        if (!value) {
          if (optional) continue;
          return Missing(rp, absl::StrCat("couldn't find key ", key, " in ",
                                          secret ? "Secret " : "ConfigMap ", obj_name));
        }
        set(name, std::move(*value));
      } else {
        return absl::InvalidArgumentError(vp +
                                          ": must specify one of fieldRef, resourceFieldRef, "
                                          "configMapKeyRef or secretKeyRef");
      }
    }
  }
  return out;
}

absl::StatusOr<CommandLine> ExpandCommandAndArgs(const Json& container,
                                                 const std::vector<EnvVar>& env,
                                                 std::string_view path) {
  std::map<std::string, std::string, std::less<>> vars;
  for (const EnvVar& e : env) vars[e.name] = e.value;
  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  CommandLine out;
  for (auto [key, dest] : {std::pair{"command", &out.command}, {"args", &out.args}}) {
    const Json* list = Field(container, key);
    if (list == nullptr) continue;
    const std::string p = absl::StrCat(AbslView(path), ".", key);
    if (!list->is_array()) return absl::InvalidArgumentError(p + ": expected array");
    for (size_t i = 0; i < list->size(); ++i) {
      if (!(*list)[i].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(p, "[", i, "]: expected string"));
      }
      dest->push_back(ExpandVars((*list)[i].get<std::string>(), lookup));
    }
  }
  return out;
}

}  // namespace argonaut::cluster::workloads
