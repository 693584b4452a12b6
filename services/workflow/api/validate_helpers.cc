#include "services/workflow/api/validate_helpers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::workflow::api::validate_internal {

using nlohmann::json;

// JSON walks for {{...}} tags; deeper documents are not produced by the manifest codec.
constexpr int kMaxWalkDepth = 256;

absl::Status Err(std::string_view path, std::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(path), ": ", AbslView(message)));
}

std::string Quote(std::string_view s) { return absl::StrCat("\"", AbslView(s), "\""); }

bool Present(const json& obj, const char* key) {
  if (!obj.is_object()) return false;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if ((it->is_array() || it->is_object()) && it->empty()) return false;
  if (it->is_string() && it->get_ref<const std::string&>().empty()) return false;
  return true;
}

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

const json& Field(const json& obj, const char* key) {
  static const json* const kNull = new json();
  if (!obj.is_object()) return *kNull;
  auto it = obj.find(key);
  return it == obj.end() ? *kNull : *it;
}

bool HasTag(std::string_view s) { return s.find("{{") != std::string_view::npos; }

// Go's strconv-free duration rule as Argo applies it: a bare integer is seconds, otherwise a Go
// duration string ("90s", "1h30m").
bool ValidDuration(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_string()) return false;
  const std::string s = v.get<std::string>();
  if (HasTag(s)) return true;
  int64_t n = 0;
  if (absl::SimpleAtoi(s, &n)) return true;
  absl::Duration d;
  return absl::ParseDuration(s, &d);
}

bool ValidInt(const json& v, bool allow_negative) {
  if (v.is_number_integer()) return allow_negative || v.get<int64_t>() >= 0;
  if (!v.is_string()) return false;
  const std::string s = v.get<std::string>();
  if (HasTag(s)) return true;
  int64_t n = 0;
  return absl::SimpleAtoi(s, &n) && (allow_negative || n >= 0);
}

bool IsValidParamName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// Every {{...}} tag in a string, trimmed; expression tags ({{=...}}) are left to expr-lang.
std::vector<std::string> Tags(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t open = s.find("{{", pos);
    if (open == std::string_view::npos) break;
    const size_t close = s.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    std::string tag(absl::StripAsciiWhitespace(AbslView(s.substr(open + 2, close - open - 2))));
    if (!tag.empty() && tag[0] != '=') out.push_back(std::move(tag));
    pos = close + 2;
  }
  return out;
}

// Replaces every tag by a bare word, as Argo substitutes before govaluate parses `when`.
std::string Placeholders(std::string_view s) {
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t open = s.find("{{", pos);
    if (open == std::string_view::npos) break;
    const size_t close = s.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(s.substr(pos, open - pos));
    out += "x";
    pos = close + 2;
  }
  out.append(s.substr(pos));
  return out;
}

// Walks string values (and object keys) of `v`, skipping the subtrees named in `skip`.
absl::Status WalkTags(const json& v, const std::string& path, const std::set<std::string>& skip,
                      const TagVisitor& visit, int depth) {
  if (depth > kMaxWalkDepth) return Err(path, "nested too deeply");
  if (v.is_string()) {
    for (const std::string& tag : Tags(v.get_ref<const std::string&>())) {
      RETURN_IF_ERROR(visit(path, tag));
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) {
      RETURN_IF_ERROR(WalkTags(v[i], absl::StrCat(path, "[", i, "]"), skip, visit, depth + 1));
    }
  } else if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      if (skip.count(key) > 0) continue;
      RETURN_IF_ERROR(WalkTags(value, absl::StrCat(path, ".", key), skip, visit, depth + 1));
    }
  }
  return absl::OkStatus();
}

// The part of a `steps.X...` / `tasks.X...` tag naming the step or task.
std::optional<std::string> RefName(const std::string& tag, std::string_view prefix) {
  if (!absl::StartsWith(tag, AbslView(prefix))) return std::nullopt;
  std::string rest = tag.substr(prefix.size());
  // {{steps.name}} / {{tasks.name}}: the name of the current step or task.
  if (rest == "name") return std::nullopt;
  const size_t dot = rest.find('.');
  if (dot != std::string::npos) rest.resize(dot);
  return rest;
}

// Argo's synchronization: mutexes need a name, semaphores a configMapKeyRef (or, for a
// database semaphore, database.key). Database locks are valid specs; the controller, which
// has local locks only, fails them when they run.
absl::Status ValidateSynchronization(const nlohmann::json& sync, const std::string& path) {
  if (!sync.is_object()) return Err(path, "expected an object");
  auto mutex = [&](const nlohmann::json& m, const std::string& at) -> absl::Status {
    if (!m.is_object()) return Err(at, "expected an object");
    if (Str(m, "name").empty()) return Err(at + ".name", "a mutex needs a name");
    return absl::OkStatus();
  };
  auto semaphore = [&](const nlohmann::json& sem, const std::string& at) -> absl::Status {
    if (!sem.is_object()) return Err(at, "expected an object");
    if (Present(sem, "database")) {
      if (Str(Field(sem, "database"), "key").empty()) return Err(at + ".database.key", "required");
      return absl::OkStatus();
    }
    const nlohmann::json& ref = Field(sem, "configMapKeyRef");
    if (!ref.is_object()) {
      return Err(at + ".configMapKeyRef", "a semaphore needs configMapKeyRef {name, key}");
    }
    if (Str(ref, "name").empty()) return Err(at + ".configMapKeyRef.name", "required");
    if (Str(ref, "key").empty()) return Err(at + ".configMapKeyRef.key", "required");
    return absl::OkStatus();
  };
  for (const char* field : {"mutexes", "semaphores"}) {
    const nlohmann::json& list = Field(sync, field);
    if (list.is_null()) continue;
    if (!list.is_array()) return Err(absl::StrCat(path, ".", field), "expected a list");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = absl::StrCat(path, ".", field, "[", i, "]");
      RETURN_IF_ERROR(field[0] == 'm' ? mutex(list[i], at) : semaphore(list[i], at));
    }
  }
  if (Present(sync, "mutex")) RETURN_IF_ERROR(mutex(sync["mutex"], path + ".mutex"));
  if (Present(sync, "semaphore")) {
    RETURN_IF_ERROR(semaphore(sync["semaphore"], path + ".semaphore"));
  }
  return absl::OkStatus();
}

}  // namespace argonaut::workflow::api::validate_internal
