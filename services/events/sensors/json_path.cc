#include "services/events/sensors/json_path.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/expr/govaluate.h"

namespace argonaut::events::sensors {
namespace {

bool WildMatch(std::string_view pat, std::string_view s) {
  if (pat.empty()) return s.empty();
  if (pat[0] == '*') {
    for (size_t i = 0; i <= s.size(); ++i)
      if (WildMatch(pat.substr(1), s.substr(i))) return true;
    return false;
  }
  if (s.empty()) return false;
  if (pat[0] == '?' || pat[0] == s[0]) return WildMatch(pat.substr(1), s.substr(1));
  return false;
}

std::optional<size_t> Index(const std::string& part) {
  if (part.empty() || part.size() > 9) return std::nullopt;
  for (char c : part)
    if (c < '0' || c > '9') return std::nullopt;
  return static_cast<size_t>(std::atol(part.c_str()));
}

}  // namespace

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '\\' && i + 1 < path.size()) {
      parts.back() += path[++i];
    } else if (c == '.') {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

namespace {
std::optional<nlohmann::json> GetParts(const nlohmann::json& doc,
                                       const std::vector<std::string>& parts, size_t from) {
  const nlohmann::json* cur = &doc;
  for (size_t i = from; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (cur->is_array()) {
      if (part == "#") {
        if (i + 1 == parts.size()) return nlohmann::json(cur->size());
        // `items.#.name`: the rest of the path over every element.
        nlohmann::json out = nlohmann::json::array();
        for (const auto& el : *cur)
          if (auto v = GetParts(el, parts, i + 1)) out.push_back(*v);
        return out;
      }
      auto idx = Index(part);
      if (!idx || *idx >= cur->size()) return std::nullopt;
      cur = &(*cur)[*idx];
    } else if (cur->is_object()) {
      auto it = cur->find(part);
      if (it == cur->end() && part.find_first_of("*?") != std::string::npos) {
        for (it = cur->begin(); it != cur->end(); ++it)
          if (WildMatch(part, it.key())) break;
      }
      if (it == cur->end()) return std::nullopt;
      cur = &*it;
    } else {
      return std::nullopt;
    }
  }
  return *cur;
}
}  // namespace

std::optional<nlohmann::json> GetPath(const nlohmann::json& doc, std::string_view path) {
  if (path.empty()) return std::nullopt;
  return GetParts(doc, SplitPath(path), 0);
}

std::string JsonString(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number()) return expr::FormatGoFloat(v.get<double>());
  return v.dump();
}

absl::Status SetPath(nlohmann::json& doc, std::string_view path, nlohmann::json value) {
  std::vector<std::string> parts = SplitPath(path);
  nlohmann::json* cur = &doc;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    bool last = i + 1 == parts.size();
    bool numeric = part == "-1" || Index(part).has_value();
    if (cur->is_null()) *cur = numeric ? nlohmann::json::array() : nlohmann::json::object();
    nlohmann::json* next = nullptr;
    if (cur->is_array() && numeric) {
      if (part == "-1") {
        cur->push_back(nullptr);
        next = &cur->back();
      } else {
        size_t idx = *Index(part);
        while (cur->size() <= idx) cur->push_back(nullptr);
        next = &(*cur)[idx];
      }
    } else if (cur->is_object()) {
      next = &(*cur)[part];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("path \"", std::string(path), "\": \"", part,
                                                     "\" cannot be set inside a ",
                                                     cur->type_name()));
    }
    if (last) {
      *next = std::move(value);
      return absl::OkStatus();
    }
    cur = next;
  }
  return absl::OkStatus();
}

}  // namespace argonaut::events::sensors
