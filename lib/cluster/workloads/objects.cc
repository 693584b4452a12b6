#include "lib/cluster/workloads/objects.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/strings.h"

namespace argonaut::cluster::workloads {
namespace {

absl::Status TypeError(std::string_view path, std::string_view want, const Json& got) {
  return absl::InvalidArgumentError(
      absl::StrCat(AbslView(path), ": expected ", AbslView(want), ", got ", got.type_name()));
}

}  // namespace

const Json* Field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const Json* FieldPath(const Json& obj, std::initializer_list<std::string_view> keys) {
  const Json* cur = &obj;
  for (std::string_view k : keys) {
    cur = Field(*cur, k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

absl::StatusOr<std::optional<int64_t>> OptionalInt64Field(const Json& obj, std::string_view key,
                                                          std::string_view path) {
  const Json* v = Field(obj, key);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_number_integer()) return std::optional<int64_t>(v->get<int64_t>());
  if (v->is_number_float()) {
    const double d = v->get<double>();
    // JSON writers sometimes emit 3.0 for 3; accept exact integers only.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return TypeError(path, "integer", *v);
}

absl::StatusOr<int32_t> Int32Field(const Json& obj, std::string_view key, int32_t def,
                                   std::string_view path) {
  auto v = OptionalInt64Field(obj, key, path);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return def;
  const int64_t n = **v;
  if (n < std::numeric_limits<int32_t>::min() || n > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(path), ": ", n, " is out of the 32-bit integer range"));
  }
  return static_cast<int32_t>(n);
}

absl::StatusOr<std::string> StringField(const Json& obj, std::string_view key, std::string_view def,
                                        std::string_view path) {
  const Json* v = Field(obj, key);
  if (v == nullptr) return std::string(def);
  if (!v->is_string()) return TypeError(path, "string", *v);
  return v->get<std::string>();
}

absl::StatusOr<bool> BoolField(const Json& obj, std::string_view key, bool def,
                               std::string_view path) {
  const Json* v = Field(obj, key);
  if (v == nullptr) return def;
  if (!v->is_boolean()) return TypeError(path, "boolean", *v);
  return v->get<bool>();
}

int64_t IntOr(const Json& obj, std::string_view key, int64_t def) {
  const Json* v = Field(obj, key);
  if (v == nullptr || !v->is_number_integer()) return def;
  return v->get<int64_t>();
}

std::string StrOr(const Json& obj, std::string_view key, std::string_view def) {
  const Json* v = Field(obj, key);
  if (v == nullptr || !v->is_string()) return std::string(def);
  return v->get<std::string>();
}

std::string FormatK8sTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseK8sTime(std::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, AbslView(text), &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid RFC 3339 timestamp \"", AbslView(text), "\": ", err));
  }
  return t;
}

std::optional<absl::Time> TimeField(const Json& obj, std::string_view key) {
  const Json* v = Field(obj, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  auto t = ParseK8sTime(v->get_ref<const std::string&>());
  if (!t.ok()) return std::nullopt;
  return *t;
}

absl::StatusOr<int32_t> ScaledIntOrPercent(const Json& value, int32_t total, bool round_up,
                                           std::string_view path) {
  if (value.is_number_integer()) {
    const int64_t n = value.get<int64_t>();
    if (n < 0 || n > std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(path), ": must be a non-negative 32-bit integer, got ", n));
    }
    return static_cast<int32_t>(n);
  }
  if (!value.is_string()) return TypeError(path, "integer or percentage string", value);
  const std::string& s = value.get_ref<const std::string&>();
  int64_t pct = 0;
  if (s.size() < 2 || s.back() != '%' ||
      !std::all_of(s.begin(), s.end() - 1, [](char c) { return absl::ascii_isdigit(c); }) ||
      s.size() > 12 || !absl::SimpleAtoi(absl::string_view(s.data(), s.size() - 1), &pct)) {
    return absl::InvalidArgumentError(absl::StrCat(
        AbslView(path), ": \"", s, "\" must be an integer or a percentage such as \"25%\""));
  }
  const int64_t scaled = pct * static_cast<int64_t>(total);
  const int64_t result = round_up ? (scaled + 99) / 100 : scaled / 100;
  return static_cast<int32_t>(std::min<int64_t>(result, std::numeric_limits<int32_t>::max()));
}

absl::StatusOr<bool> SelectorMatches(const Json& selector, const Json& labels,
                                     std::string_view path) {
  if (selector.is_null()) return true;
  if (!selector.is_object()) return TypeError(path, "object", selector);
  auto label = [&](const std::string& key) -> const Json* {
    const Json* v = Field(labels, key);
    return v != nullptr && v->is_string() ? v : nullptr;
  };
  if (const Json* ml = Field(selector, "matchLabels")) {
    if (!ml->is_object())
      return TypeError(absl::StrCat(AbslView(path), ".matchLabels"), "object", *ml);
    for (const auto& [k, v] : ml->items()) {
      if (!v.is_string()) {
        return TypeError(absl::StrCat(AbslView(path), ".matchLabels.", k), "string", v);
      }
      const Json* have = label(k);
      if (have == nullptr || *have != v) return false;
    }
  }
  if (const Json* exprs = Field(selector, "matchExpressions")) {
    const std::string epath = absl::StrCat(AbslView(path), ".matchExpressions");
    if (!exprs->is_array()) return TypeError(epath, "array", *exprs);
    for (size_t i = 0; i < exprs->size(); ++i) {
      const Json& e = (*exprs)[i];
      const std::string p = absl::StrCat(epath, "[", i, "]");
      if (!e.is_object()) return TypeError(p, "object", e);
      std::string key, op;
      if (auto k = StringField(e, "key", "", p + ".key"); k.ok())
        key = *k;
      else
        return k.status();
      if (auto o = StringField(e, "operator", "", p + ".operator"); o.ok())
        op = *o;
      else
        return o.status();
      std::vector<std::string> values;
      if (const Json* vs = Field(e, "values")) {
        if (!vs->is_array()) return TypeError(p + ".values", "array", *vs);
        for (const Json& v : *vs) {
          if (!v.is_string()) return TypeError(p + ".values", "array of strings", *vs);
          values.push_back(v.get<std::string>());
        }
      }
      const Json* have = label(key);
      const bool in = have != nullptr && std::find(values.begin(), values.end(),
                                                   have->get<std::string>()) != values.end();
      if (op == "In") {
        if (values.empty()) return absl::InvalidArgumentError(p + ".values: required for In");
        if (!in) return false;
      } else if (op == "NotIn") {
        if (values.empty()) return absl::InvalidArgumentError(p + ".values: required for NotIn");
        if (in) return false;
      } else if (op == "Exists") {
        if (!values.empty())
          return absl::InvalidArgumentError(p + ".values: must be empty for Exists");
        if (have == nullptr) return false;
      } else if (op == "DoesNotExist") {
        if (!values.empty()) {
          return absl::InvalidArgumentError(p + ".values: must be empty for DoesNotExist");
        }
        if (have != nullptr) return false;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(p, ".operator: unsupported value \"", op,
                                                       "\" (In, NotIn, Exists, DoesNotExist)"));
      }
    }
  }
  return true;
}

bool IsTerminating(const Json& obj) {
  return FieldPath(obj, {"metadata", "deletionTimestamp"}) != nullptr;
}

std::string PodPhase(const Json& pod) {
  const Json* status = Field(pod, "status");
  return status == nullptr ? "" : StrOr(*status, "phase");
}

bool IsPodActive(const Json& pod) {
  const std::string phase = PodPhase(pod);
  return phase != "Succeeded" && phase != "Failed" && !IsTerminating(pod);
}

namespace {
const Json* ReadyCondition(const Json& pod) {
  const Json* conds = FieldPath(pod, {"status", "conditions"});
  return conds == nullptr ? nullptr : GetCondition(*conds, "Ready");
}
}  // namespace

bool IsPodReady(const Json& pod) {
  const Json* c = ReadyCondition(pod);
  return c != nullptr && StrOr(*c, "status") == "True";
}

bool IsPodAvailable(const Json& pod, int32_t min_ready_seconds, absl::Time now) {
  if (!IsPodReady(pod)) return false;
  if (min_ready_seconds <= 0) return true;
  std::optional<absl::Time> since = TimeField(*ReadyCondition(pod), "lastTransitionTime");
  // A ready pod with no transition time cannot prove it has been ready long enough.
  return since.has_value() && *since + absl::Seconds(min_ready_seconds) <= now;
}

int64_t PodRestarts(const Json& pod) {
  int64_t total = 0;
  for (const char* key : {"initContainerStatuses", "containerStatuses"}) {
    const Json* statuses = FieldPath(pod, {"status", key});
    if (statuses == nullptr || !statuses->is_array()) continue;
    for (const Json& s : *statuses) total += std::max<int64_t>(0, IntOr(s, "restartCount", 0));
  }
  return total;
}

const Json* ControllerRef(const Json& obj) {
  const Json* refs = FieldPath(obj, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return nullptr;
  for (const Json& r : *refs) {
    const Json* c = Field(r, "controller");
    if (c != nullptr && c->is_boolean() && c->get<bool>()) return &r;
  }
  return nullptr;
}

bool IsControlledBy(const Json& obj, const Json& owner) {
  const Json* ref = ControllerRef(obj);
  const Json* meta = Field(owner, "metadata");
  if (ref == nullptr || meta == nullptr) return false;
  const std::string uid = StrOr(*meta, "uid");
  return !uid.empty() && StrOr(*ref, "uid") == uid;
}

Json MakeControllerRef(const Json& owner) {
  const Json* meta = Field(owner, "metadata");
  static const Json kEmpty = Json::object();
  const Json& m = meta == nullptr ? kEmpty : *meta;
  return Json{{"apiVersion", StrOr(owner, "apiVersion")},
              {"kind", StrOr(owner, "kind")},
              {"name", StrOr(m, "name")},
              {"uid", StrOr(m, "uid")},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

const Json* GetCondition(const Json& conditions, std::string_view type) {
  if (!conditions.is_array()) return nullptr;
  for (const Json& c : conditions) {
    if (StrOr(c, "type") == type) return &c;
  }
  return nullptr;
}

void RemoveCondition(Json& conditions, std::string_view type) {
  if (!conditions.is_array()) return;
  Json kept = Json::array();
  for (Json& c : conditions) {
    if (StrOr(c, "type") != type) kept.push_back(std::move(c));
  }
  conditions = std::move(kept);
}

void SetCondition(Json& conditions, std::string_view type, std::string_view status,
                  std::string_view reason, std::string_view message, absl::Time now,
                  bool with_update_time) {
  if (!conditions.is_array()) conditions = Json::array();
  std::string transition = FormatK8sTime(now);
  if (const Json* cur = GetCondition(conditions, type)) {
    if (StrOr(*cur, "status") == status && StrOr(*cur, "reason") == reason) return;
    if (StrOr(*cur, "status") == status) {
      transition = StrOr(*cur, "lastTransitionTime", transition);
    }
  }
  RemoveCondition(conditions, type);
  Json c = {{"type", type},
            {"status", status},
            {"reason", reason},
            {"message", message},
            {"lastTransitionTime", transition}};
  if (with_update_time) c["lastUpdateTime"] = FormatK8sTime(now);
  conditions.push_back(std::move(c));
}

std::string NameList(const std::vector<std::string>& names) {
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  return absl::StrCat("[", absl::StrJoin(sorted, " "), "]");
}

absl::Status CheckDepth(const Json& value, int max_depth, std::string_view path) {
  std::vector<std::pair<const Json*, int>> stack = {{&value, 1}};
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (depth > max_depth) {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(path), ": nested deeper than ", max_depth, " levels"));
    }
    if (v->is_structured()) {
      for (const Json& child : *v) stack.emplace_back(&child, depth + 1);
    }
  }
  return absl::OkStatus();
}

}  // namespace argonaut::cluster::workloads
