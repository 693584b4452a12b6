// sprig's list, dict, JSON and type functions (split from sprig.cc).
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/expr/builtins_util.h"
#include "lib/expr/expr_value.h"
#include "lib/expr/sprig_internal.h"

namespace argonaut::expr::internal {
namespace {

using Args = std::vector<Json>;

#define SPRIG_ARGS(min, max) \
  if (absl::Status _s = ArgCount(a, min, max); !_s.ok()) return _s
#define SPRIG_STR(var, i)                                 \
  absl::StatusOr<std::string> var##_or = StringArg(a, i); \
  if (!var##_or.ok()) return var##_or.status();           \
  const std::string& var = *var##_or

absl::StatusOr<Json> List(Args& a) {
  Json out = Json::array();
  for (Json& v : a) out.push_back(std::move(v));
  return out;
}
absl::StatusOr<Json> Dict(Args& a) {
  Json out = Json::object();
  for (size_t i = 0; i < a.size(); i += 2) {
    out[StrVal(a[i])] = i + 1 < a.size() ? std::move(a[i + 1]) : Json("");
  }
  return out;
}
absl::StatusOr<Json> HasKey(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(k, 1);
  if (!a[0].is_object()) return absl::InvalidArgumentError("hasKey needs a dict");
  return Json(a[0].contains(k));
}
absl::StatusOr<Json> Get(Args& a) {
  SPRIG_ARGS(2, 2);
  SPRIG_STR(k, 1);
  if (!a[0].is_object()) return absl::InvalidArgumentError("get needs a dict");
  auto it = a[0].find(k);
  return it == a[0].end() ? Json("") : *it;
}
absl::StatusOr<Json> Keys(Args& a) {
  Json out = Json::array();
  for (const Json& d : a) {
    if (!d.is_object()) return absl::InvalidArgumentError("keys needs dicts");
    for (auto it = d.begin(); it != d.end(); ++it) out.push_back(it.key());
  }
  return out;
}
absl::StatusOr<Json> Has(Args& a) {
  SPRIG_ARGS(2, 2);
  if (!a[1].is_array()) return Json(false);
  for (const Json& e : a[1]) {
    if (Equal(e, a[0])) return Json(true);
  }
  return Json(false);
}
absl::Status NeedList(const Json& v) {
  if (!v.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("expected a list, got ", TypeName(v)));
  }
  return absl::OkStatus();
}
absl::StatusOr<Json> First(Args& a) {
  SPRIG_ARGS(1, 1);
  if (auto st = NeedList(a[0]); !st.ok()) return st;
  return a[0].empty() ? Json(nullptr) : a[0].front();
}
absl::StatusOr<Json> Last(Args& a) {
  SPRIG_ARGS(1, 1);
  if (auto st = NeedList(a[0]); !st.ok()) return st;
  return a[0].empty() ? Json(nullptr) : a[0].back();
}
absl::StatusOr<Json> Rest(Args& a) {
  SPRIG_ARGS(1, 1);
  if (auto st = NeedList(a[0]); !st.ok()) return st;
  if (a[0].empty()) return Json::array();
  a[0].erase(a[0].begin());
  return std::move(a[0]);
}
absl::StatusOr<Json> Initial(Args& a) {
  SPRIG_ARGS(1, 1);
  if (auto st = NeedList(a[0]); !st.ok()) return st;
  if (!a[0].empty()) a[0].erase(a[0].end() - 1);
  return std::move(a[0]);
}
absl::StatusOr<Json> Append(Args& a) {
  SPRIG_ARGS(2, 2);
  if (auto st = NeedList(a[0]); !st.ok()) return st;
  a[0].push_back(std::move(a[1]));
  return std::move(a[0]);
}
absl::StatusOr<Json> Prepend(Args& a) {
  SPRIG_ARGS(2, 2);
  if (auto st = NeedList(a[0]); !st.ok()) return st;
  a[0].insert(a[0].begin(), std::move(a[1]));
  return std::move(a[0]);
}
absl::StatusOr<Json> Concat(Args& a) {
  Json out = Json::array();
  for (Json& l : a) {
    if (auto st = NeedList(l); !st.ok()) return st;
    if (auto st = CheckElementCount(out.size() + l.size(), "concat"); !st.ok()) return st;
    for (Json& e : l) out.push_back(std::move(e));
  }
  return out;
}
absl::StatusOr<Json> Reverse(Args& a) {
  SPRIG_ARGS(1, 1);
  if (auto st = NeedList(a[0]); !st.ok()) return st;
  std::reverse(a[0].begin(), a[0].end());
  return std::move(a[0]);
}
absl::StatusOr<Json> Uniq(Args& a) {
  SPRIG_ARGS(1, 1);
  if (auto st = NeedList(a[0]); !st.ok()) return st;
  Json out = Json::array();
  for (Json& e : a[0]) {
    bool seen = false;
    for (const Json& o : out) seen = seen || Equal(o, e);
    if (!seen) out.push_back(std::move(e));
  }
  return out;
}
absl::StatusOr<Json> Compact(Args& a) {
  SPRIG_ARGS(1, 1);
  if (auto st = NeedList(a[0]); !st.ok()) return st;
  Json out = Json::array();
  for (Json& e : a[0]) {
    if (!Empty(e)) out.push_back(std::move(e));
  }
  return out;
}
absl::StatusOr<Json> Until(Args& a) {
  SPRIG_ARGS(1, 1);
  int64_t n = ToInt64(a[0]);
  int64_t count = n < 0 ? -static_cast<int64_t>(std::max<int64_t>(n, -int64_t{1} << 40)) : n;
  if (auto st = CheckElementCount(static_cast<size_t>(count), "until"); !st.ok()) return st;
  Json out = Json::array();
  for (int64_t i = 0; i < count; ++i) out.push_back(n < 0 ? -i : i);
  return out;
}
absl::StatusOr<Json> ToJson(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(GoJson(a[0]));
}
absl::StatusOr<Json> ToPrettyJson(Args& a) {
  SPRIG_ARGS(1, 1);
  return Json(GoJson(a[0], "  "));
}
absl::StatusOr<Json> FromJson(Args& a) {
  SPRIG_ARGS(1, 1);
  SPRIG_STR(s, 0);
  return ParseGoJson(s);
}
absl::StatusOr<Json> KindOf(Args& a) {
  SPRIG_ARGS(1, 1);
  switch (a[0].type()) {
    case Json::value_t::null:
      return Json("invalid");
    case Json::value_t::boolean:
      return Json("bool");
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return Json("int64");
    case Json::value_t::number_float:
      return Json("float64");
    case Json::value_t::string:
      return Json("string");
    case Json::value_t::array:
      return Json("slice");
    case Json::value_t::object:
      return Json("map");
    default:
      return Json("invalid");
  }
}
}  // namespace

void AddSprigListFunctions(std::map<std::string, SprigFn, std::less<>>& t) {
  t["list"] = List;
  t["tuple"] = List;
  t["dict"] = Dict;
  t["hasKey"] = HasKey;
  t["get"] = Get;
  t["keys"] = Keys;
  t["has"] = Has;
  t["first"] = First;
  t["last"] = Last;
  t["rest"] = Rest;
  t["initial"] = Initial;
  t["append"] = Append;
  t["push"] = Append;
  t["prepend"] = Prepend;
  t["concat"] = Concat;
  t["reverse"] = Reverse;
  t["uniq"] = Uniq;
  t["compact"] = Compact;
  t["until"] = Until;
  t["toJson"] = ToJson;
  t["toPrettyJson"] = ToPrettyJson;
  t["toRawJson"] = ToJson;
  t["fromJson"] = FromJson;
  t["kindOf"] = KindOf;
}

}  // namespace argonaut::expr::internal
