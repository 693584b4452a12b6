#include "services/events/sensors/filters.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/expr/govaluate.h"
#include "lib/jq/jq.h"
#include "lib/lua/lua.h"
#include "re2/re2.h"
#include "services/events/sensors/go_template.h"
#include "services/events/sensors/json_path.h"

namespace argonaut::events::sensors {
namespace {

std::string Str(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

bool IsOr(const nlohmann::json& obj, const char* key) { return Str(obj, key) == "or"; }

constexpr char kArgoShape[] =
    "filters must be an object of filter kinds, as in Argo Events: "
    "filters: {data: [{path: body.message, type: string, value: [hello, hey]}], "
    "exprs: [...], context: {...}, time: {start, stop}, script: \"...\"}";

// Go's strconv.ParseBool.
absl::StatusOr<bool> ParseGoBool(const std::string& s) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
    if (s == t) return true;
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
    if (s == f) return false;
  return absl::InvalidArgumentError(absl::StrCat("\"", s, "\" is not a bool"));
}

absl::StatusOr<int> ParseClock(const std::string& s, const char* field) {
  int h, m, sec;
  char tail;
  if (std::sscanf(s.c_str(), "%d:%d:%d%c", &h, &m, &sec, &tail) != 3 || h < 0 || h > 23 || m < 0 ||
      m > 59 || sec < 0 || sec > 59)
    return absl::InvalidArgumentError(
        absl::StrCat("filters.time.", field, ": \"", s, "\" is not hh:mm:ss"));
  return h * 3600 + m * 60 + sec;
}

}  // namespace

absl::Status CheckFilters(const nlohmann::json& dependency) {
  if (!dependency.contains("filters") || dependency["filters"].is_null()) return absl::OkStatus();
  const nlohmann::json& f = dependency["filters"];
  if (!f.is_object())
    return absl::InvalidArgumentError(absl::StrCat("dependency \"", Str(dependency, "name"), "\": ",
                                                   kArgoShape, " (got a ", f.type_name(), ")"));
  for (const char* list : {"data", "exprs"})
    if (f.contains(list) && !f[list].is_null() && !f[list].is_array())
      return absl::InvalidArgumentError(absl::StrCat("dependency \"", Str(dependency, "name"),
                                                     "\": filters.", list, " must be a list"));
  std::string op = Str(dependency, "filtersLogicalOperator");
  if (!op.empty() && op != "and" && op != "or")
    return absl::InvalidArgumentError(absl::StrCat("dependency \"", Str(dependency, "name"),
                                                   "\": filtersLogicalOperator \"", op,
                                                   "\" must be and or or"));
  return absl::OkStatus();
}

absl::StatusOr<bool> DataFilter(const nlohmann::json& filter, const nlohmann::json& data) {
  std::string path = Str(filter, "path");
  std::optional<nlohmann::json> v = GetPath(data, path);
  if (!v) return absl::NotFoundError(absl::StrCat("data filter: path \"", path, "\" not found"));
  if (!filter.contains("value") || !filter["value"].is_array() || filter["value"].empty())
    return absl::InvalidArgumentError(
        absl::StrCat("data filter \"", path, "\": value must be a non-empty list"));
  std::string type = Str(filter, "type");
  std::string cmp = Str(filter, "comparator");
  std::string text = JsonString(*v);
  std::string tmpl = Str(filter, "template");
  if (!tmpl.empty()) {
    auto out = RenderGoTemplate(tmpl, nlohmann::json(text));
    if (!out.ok()) return out.status();
    if (out->empty() || *out == "<no value>")
      return absl::InvalidArgumentError(
          absl::StrCat("data filter \"", path, "\": template produced no value"));
    text = *out;
    v = text;
  }
  for (const nlohmann::json& value_json : filter["value"]) {
    std::string value = JsonString(value_json);
    if (type == "bool") {
      auto want = ParseGoBool(value);
      if (!want.ok()) return want.status();
      bool got = v->is_boolean() ? v->get<bool>() : (text == "true");
      if (*want == got) return true;
    } else if (type == "number") {
      double want;
      if (!absl::SimpleAtod(value, &want))
        return absl::InvalidArgumentError(
            absl::StrCat("data filter \"", path, "\": value \"", value, "\" is not a number"));
      double got = 0;
      if (v->is_number()) {
        got = v->get<double>();
      } else if (!absl::SimpleAtod(text, &got)) {
        got = 0;  // gjson's Float() of a non-number
      }
      bool ok = cmp.empty() || cmp == "=" ? got == want
                : cmp == "!="             ? got != want
                : cmp == ">"              ? got > want
                : cmp == ">="             ? got >= want
                : cmp == "<"              ? got < want
                : cmp == "<="             ? got <= want
                                          : false;
      if (ok) return true;
    } else if (type == "string") {
      RE2 re(value, RE2::Quiet);
      if (!re.ok())
        return absl::InvalidArgumentError(
            absl::StrCat("data filter \"", path, "\": value \"", value, "\": ", re.error()));
      bool match = RE2::PartialMatch(text, re);
      if ((cmp.empty() || cmp == "=") && match) return true;
      if (cmp == "!=" && !match) return true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("data filter \"", path, "\": type \"", type,
                                                     "\" must be string, number or bool"));
    }
  }
  return false;
}

absl::StatusOr<bool> ExprFilter(const nlohmann::json& filter, const nlohmann::json& data) {
  std::string expr = Str(filter, "expr");
  nlohmann::json params = nlohmann::json::object();
  if (filter.contains("fields") && filter["fields"].is_array()) {
    for (const nlohmann::json& field : filter["fields"]) {
      std::string path = Str(field, "path");
      auto v = GetPath(data, path);
      if (!v)
        return absl::NotFoundError(
            absl::StrCat("expr filter \"", expr, "\": path \"", path, "\" not found"));
      params[Str(field, "name")] = *v;
    }
  }
  auto program = expr::GovaluateProgram::Compile(expr);
  if (!program.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("expr filter \"", expr, "\": ", program.status().message()));
  auto out = program->Eval(params);
  if (!out.ok()) return out.status();
  return out->is_boolean() && out->get<bool>();
}

absl::StatusOr<bool> ContextFilter(const nlohmann::json& filter, const CloudEvent& event) {
  const std::pair<const char*, const std::string*> fields[] = {
      {"type", &event.type},
      {"subject", &event.subject},
      {"source", &event.source},
      {"datacontenttype", &event.datacontenttype}};
  for (const auto& [key, value] : fields) {
    std::string want = Str(filter, key);
    if (!want.empty() && want != *value) return false;
  }
  return true;
}

absl::StatusOr<bool> TimeFilter(const nlohmann::json& filter, absl::Time event_time) {
  auto start = ParseClock(Str(filter, "start"), "start");
  if (!start.ok()) return start.status();
  auto stop = ParseClock(Str(filter, "stop"), "stop");
  if (!stop.ok()) return stop.status();
  if (*start == *stop)
    return absl::InvalidArgumentError("filters.time: start and stop must differ");
  absl::TimeZone zone = absl::UTCTimeZone();
  std::string tz = Str(filter, "timezone");
  if (!tz.empty() && !absl::LoadTimeZone(tz, &zone))
    return absl::InvalidArgumentError(absl::StrCat("filters.time.timezone: unknown \"", tz, "\""));
  absl::CivilSecond cs = absl::ToCivilSecond(event_time, zone);
  int t = cs.hour() * 3600 + cs.minute() * 60 + cs.second();
  if (*start < *stop) return *start <= t && t < *stop;
  return t >= *start || t < *stop;  // the window wraps midnight
}

absl::StatusOr<bool> ScriptFilter(const std::string& script, const nlohmann::json& data) {
  auto out = lua::RunLua(script, "event", data);
  if (!out.ok()) return out.status();
  return out->is_boolean() && out->get<bool>();
}

FilterResult ApplyFilters(const nlohmann::json& dependency, const CloudEvent& event) {
  if (absl::Status s = CheckFilters(dependency); !s.ok()) return {false, std::string(s.message())};
  if (!dependency.contains("filters") || !dependency["filters"].is_object()) return {true, ""};
  const nlohmann::json& f = dependency["filters"];
  bool any_or = IsOr(dependency, "filtersLogicalOperator");
  const bool no_data = event.data.is_null();
  std::vector<std::string> reasons;
  int configured = 0, passed = 0;

  // One filter kind's outcome: errors and false both fail it.
  auto record = [&](const std::string& kind, const absl::StatusOr<bool>& r) {
    ++configured;
    if (r.ok() && *r) {
      ++passed;
    } else {
      reasons.push_back(r.ok() ? absl::StrCat(kind, " filter did not match")
                               : std::string(r.status().message()));
    }
  };
  // A list of filters combined by its own logical operator.
  auto list = [&](const char* key, const char* op_key, auto eval) {
    if (!f.contains(key) || !f[key].is_array() || f[key].empty()) return;
    if (no_data) return record(key, true);
    bool is_or = IsOr(f, op_key) || IsOr(dependency, op_key);
    std::vector<std::string> errs;
    bool result = !is_or;
    for (const nlohmann::json& one : f[key]) {
      absl::StatusOr<bool> r = eval(one);
      if (!r.ok()) errs.push_back(std::string(r.status().message()));
      bool ok = r.ok() && *r;
      if (is_or && ok) {
        result = true;
        break;
      }
      if (!is_or && !ok) {
        result = false;
        break;
      }
    }
    if (!result && !errs.empty())
      return record(key, absl::InvalidArgumentError(absl::StrJoin(errs, "; ")));
    record(key, result);
  };
  list("data", "dataLogicalOperator",
       [&](const nlohmann::json& one) { return DataFilter(one, event.data); });
  // Exprs with no fields are skipped, as in Argo.
  if (f.contains("exprs") && f["exprs"].is_array()) {
    nlohmann::json exprs = nlohmann::json::array();
    for (const auto& e : f["exprs"])
      if (e.contains("fields") && e["fields"].is_array() && !e["fields"].empty())
        exprs.push_back(e);
    if (!exprs.empty()) {
      if (no_data) {
        record("exprs", true);
      } else {
        bool is_or = IsOr(f, "exprLogicalOperator") || IsOr(dependency, "exprLogicalOperator");
        bool result = !is_or;
        std::vector<std::string> errs;
        for (const auto& e : exprs) {
          auto r = ExprFilter(e, event.data);
          if (!r.ok()) errs.push_back(std::string(r.status().message()));
          bool ok = r.ok() && *r;
          if (is_or && ok) {
            result = true;
            break;
          }
          if (!is_or && !ok) {
            result = false;
            break;
          }
        }
        if (!result && !errs.empty())
          record("exprs", absl::InvalidArgumentError(absl::StrJoin(errs, "; ")));
        else
          record("exprs", result);
      }
    }
  }
  if (f.contains("context") && f["context"].is_object())
    record("context", ContextFilter(f["context"], event));
  if (f.contains("time") && f["time"].is_object())
    record("time", TimeFilter(f["time"], event.time));
  std::string script = Str(f, "script");
  if (!script.empty())
    record("script", no_data ? absl::StatusOr<bool>(true) : ScriptFilter(script, event.data));

  if (configured == 0) return {true, ""};
  bool pass = any_or ? passed > 0 : passed == configured;
  return {pass, absl::StrJoin(reasons, "; ")};
}

absl::StatusOr<CloudEvent> ApplyTransform(const nlohmann::json& dependency, CloudEvent event) {
  if (!dependency.contains("transform") || !dependency["transform"].is_object()) return event;
  const nlohmann::json& t = dependency["transform"];
  // Argo: jq wins over script; its first output must be an object.
  if (std::string program = Str(t, "jq"); !program.empty()) {
    auto out = jq::RunFirst(program, event.data);
    if (!out.ok())
      return absl::InvalidArgumentError(absl::StrCat("transform.jq: ", out.status().message()));
    if (!out->is_object())
      return absl::InvalidArgumentError(
          absl::StrCat("transform.jq: the first output must be an object, got ", out->type_name()));
    event.data = *std::move(out);
    return event;
  }
  std::string script = Str(t, "script");
  if (script.empty()) return event;
  auto out = lua::RunLua(script, "event", event.data);
  if (!out.ok()) return out.status();
  if (!out->is_object() && !out->is_array())
    return absl::InvalidArgumentError("transform.script must return a table");
  event.data = *std::move(out);
  return event;
}

}  // namespace argonaut::events::sensors
