// Variables: inputs, step/task outputs (incl. loop aggregation), template outputs, global outputs,
// loop items (Argo workflow/common/util.go ProcessArgs, operator.go buildLocalScope,
// processAggregateNodeOutputs, getTemplateOutputsFromScope, expandSequence).
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/expr/exprlang.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

// Parameter values may be YAML numbers or booleans; Argo keeps them as text.
std::optional<std::string> ParamText(const json& v) {
  if (v.is_null()) return std::nullopt;
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return ItemText(v);
}

std::string ExprResultText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return ItemText(v);
}

// Go fmt with one integer verb: %d %5d %05d %x %X %o, plus literal text and %%.
absl::StatusOr<std::string> FormatSequence(const std::string& fmt, int64_t v) {
  std::string out;
  bool used = false;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    size_t j = i + 1;
    bool zero = false;
    if (j < fmt.size() && fmt[j] == '0') {
      zero = true;
      ++j;
    }
    int width = 0;
    while (j < fmt.size() && fmt[j] >= '0' && fmt[j] <= '9' && width < 100) {
      width = width * 10 + (fmt[j] - '0');
      ++j;
    }
    if (j >= fmt.size() || used) {
      return absl::InvalidArgumentError(
          absl::StrCat("withSequence.format: unsupported \"", fmt, "\""));
    }
    std::string digits;
    const char verb = fmt[j];
    const bool neg = v < 0;
    uint64_t mag = neg ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
    if (verb == 'd' || verb == 'v') {
      digits = absl::StrCat(mag);
    } else if (verb == 'x' || verb == 'X' || verb == 'o') {
      const int base = verb == 'o' ? 8 : 16;
      const char* set = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
      do {
        digits.insert(digits.begin(), set[mag % base]);
        mag /= base;
      } while (mag > 0);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("withSequence.format: unsupported verb %", std::string(1, verb)));
    }
    std::string num = neg ? "-" : "";
    const int pad = width - static_cast<int>(digits.size() + num.size());
    if (pad > 0) {
      if (zero) {
        num += std::string(pad, '0');
      } else {
        out += std::string(pad, ' ');
      }
    }
    out += num + digits;
    used = true;
    i = j;
  }
  return out;
}

}  // namespace

void Operator::SetGlobal(const std::string& name, const std::string& value) {
  globals_.Set(name, value);
}

absl::StatusOr<json> Operator::ProcessInputs(const json& tmpl, const json& args) {
  json t = tmpl;
  auto inputs = t.find("inputs");
  if (inputs == t.end() || !inputs->is_object()) return t;
  RETURN_IF_ERROR(ResolveInputArtifacts(*inputs, args));
  auto params = inputs->find("parameters");
  if (params == inputs->end() || !params->is_array()) return t;
  const json empty = json::array();
  const json& arg_params =
      args.is_object() && args.contains("parameters") && args["parameters"].is_array()
          ? args["parameters"]
          : empty;
  for (json& p : *params) {
    if (!p.is_object())
      return absl::InvalidArgumentError("inputs.parameters: entry is not an object");
    const std::string name = Str(p, "name");
    std::optional<std::string> value = ParamText(p.value("value", json(nullptr)));
    if (!value.has_value()) value = ParamText(p.value("default", json(nullptr)));
    bool from_argument = false;
    const json* cm = nullptr;  // valueFrom.configMapKeyRef, of the argument or the input
    auto cm_of = [](const json& holder) -> const json* {
      auto vf = holder.find("valueFrom");
      if (vf == holder.end() || !vf->is_object()) return nullptr;
      auto r = vf->find("configMapKeyRef");
      return r == vf->end() || r->is_null() ? nullptr : &*r;
    };
    const json* cm_holder = &p;
    for (const json& a : arg_params) {
      if (a.is_object() && Str(a, "name") == name) {
        if (auto v = ParamText(a.value("value", json(nullptr))); v.has_value()) {
          value = v;
          from_argument = true;
        } else if (cm_of(a) != nullptr) {
          cm_holder = &a;
        }
        break;
      }
    }
    if (!from_argument) cm = cm_of(*cm_holder);
    if (cm != nullptr) {
      std::optional<std::string> fallback;
      if (const json& vf = (*cm_holder)["valueFrom"];
          vf.contains("default") && !vf["default"].is_null()) {
        fallback = ParamText(vf["default"]);
      } else if (auto d = ParamText(p.value("default", json(nullptr))); d.has_value()) {
        fallback = d;
      }
      absl::StatusOr<std::string> got = ConfigMapParameter(*cm, fallback);
      if (!got.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unable to retrieve inputs.parameters.", name,
                         " from ConfigMap: ", got.status().message()));
      }
      value = *std::move(got);
    }
    if (!value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("inputs.parameters.", name, " was not supplied"));
    }
    // Argo substitutes the globals over the whole template before it reads the inputs back, so a
    // `{{=...}}` (or `{{workflow.*}}`) in an input value is resolved before the template body
    // sees it. What the globals cannot resolve stays for the later passes.
    if (absl::StrContains(*value, "{{")) {
      tmpl::RenderOptions leave;
      leave.unresolved = tmpl::Unresolved::kLeave;
      absl::StatusOr<std::string> rendered = tmpl::RenderString(*value, globals_, leave);
      if (!rendered.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("inputs.parameters.", name, ": ", rendered.status().message()));
      }
      value = *std::move(rendered);
    }
    if (p.contains("enum") && p["enum"].is_array() && !p["enum"].empty()) {
      bool ok = false;
      std::vector<std::string> allowed;
      for (const json& e : p["enum"]) {
        std::string s = ParamText(e).value_or("");
        if (s == *value) ok = true;
        allowed.push_back(std::move(s));
      }
      if (!ok) {
        return absl::InvalidArgumentError(absl::StrCat("inputs.parameters.", name, ": value '",
                                                       *value, "' is not in enum [",
                                                       absl::StrJoin(allowed, ", "), "]"));
      }
    }
    p["value"] = *value;
  }
  return t;
}

tmpl::Scope Operator::TemplateScope(const json& t) const {
  tmpl::Scope scope = globals_;
  auto inputs = t.find("inputs");
  if (inputs != t.end() && inputs->is_object() && inputs->contains("parameters") &&
      (*inputs)["parameters"].is_array()) {
    json all = json::array();
    for (const json& p : (*inputs)["parameters"]) {
      if (!p.is_object()) continue;
      const std::string value = ParamText(p.value("value", json(""))).value_or("");
      scope.Set(absl::StrCat("inputs.parameters.", Str(p, "name")), value);
      all.push_back({{"name", Str(p, "name")}, {"value", value}});
    }
    scope.Set("inputs.parameters", all.dump());
  }
  AddArtifactsToScope(scope, t);
  return scope;
}

void Operator::AddNodeToScope(tmpl::Scope& scope, const std::string& prefix, const json& node) {
  const json* n = &node;
  if (Str(node, "type") == "Retry" && node.contains("children") && !node["children"].empty()) {
    if (const json* last = NodeById(node["children"].back().get<std::string>()); last != nullptr) {
      n = last;
    }
  }
  scope.Set(prefix + ".id", Str(node, "id"));
  if (!Str(node, "startedAt").empty()) scope.Set(prefix + ".startedAt", Str(node, "startedAt"));
  if (!Str(node, "finishedAt").empty()) scope.Set(prefix + ".finishedAt", Str(node, "finishedAt"));
  if (!Str(*n, "podIP").empty()) scope.Set(prefix + ".ip", Str(*n, "podIP"));
  if (!Str(*n, "hostNodeName").empty())
    scope.Set(prefix + ".hostNodeName", Str(*n, "hostNodeName"));
  if (!Str(node, "phase").empty()) scope.Set(prefix + ".status", Str(node, "phase"));
  const json& outputs = node.contains("outputs") ? node["outputs"] : n->value("outputs", json());
  if (!outputs.is_object()) return;
  AddNodeArtifactsToScope(scope, prefix, outputs);
  if (outputs.contains("result") && outputs["result"].is_string()) {
    scope.Set(prefix + ".outputs.result", outputs["result"].get<std::string>());
  }
  if (outputs.contains("exitCode")) {
    scope.Set(prefix + ".exitCode", ParamText(outputs["exitCode"]).value_or(""));
  }
  if (outputs.contains("parameters") && outputs["parameters"].is_array()) {
    for (const json& p : outputs["parameters"]) {
      if (!p.is_object() || !p.contains("value")) continue;
      scope.Set(absl::StrCat(prefix, ".outputs.parameters.", Str(p, "name")),
                ParamText(p["value"]).value_or(""));
    }
  }
}

void Operator::AddAggregateToScope(tmpl::Scope& scope, const std::string& prefix,
                                   const std::vector<const json*>& children) {
  json param_list = json::array();
  std::map<std::string, std::vector<std::string>> by_name;
  std::vector<std::string> order;
  json results = json::array();
  for (const json* c : children) {
    if (Str(*c, "phase") != "Succeeded") continue;
    const json outputs = c->value("outputs", json());
    if (!outputs.is_object()) continue;
    if (outputs.contains("parameters") && outputs["parameters"].is_array() &&
        !outputs["parameters"].empty()) {
      json m = json::object();
      for (const json& p : outputs["parameters"]) {
        const std::string name = Str(p, "name");
        const std::string v = ParamText(p.value("value", json(""))).value_or("");
        m[name] = v;
        if (!by_name.count(name)) order.push_back(name);
        by_name[name].push_back(v);
      }
      param_list.push_back(std::move(m));
    }
    if (outputs.contains("result") && outputs["result"].is_string()) {
      const std::string& r = outputs["result"].get_ref<const std::string&>();
      json item = json::parse(r, nullptr, /*allow_exceptions=*/false);
      results.push_back(item.is_discarded() ? json(r) : item);
    }
  }
  scope.Set(prefix + ".outputs.result", results.dump());
  scope.Set(prefix + ".outputs.parameters", param_list.dump());
  for (const std::string& name : order) {
    json list = json::array();
    for (const std::string& v : by_name[name]) {
      json parsed = json::parse(v, nullptr, false);
      list.push_back(parsed.is_discarded() || parsed.is_string() ? json(v) : parsed);
    }
    scope.Set(absl::StrCat(prefix, ".outputs.parameters.", name), list.dump());
  }
}

absl::StatusOr<json> Operator::OutputsFromScope(const json& t, const tmpl::Scope& scope) {
  ASSIGN_OR_RETURN(json artifacts, ArtifactOutputsFromScope(t, scope));
  auto outs = t.find("outputs");
  if (outs == t.end() || !outs->is_object() || !outs->contains("parameters") ||
      !(*outs)["parameters"].is_array()) {
    return artifacts.is_null() ? json(nullptr) : json{{"artifacts", std::move(artifacts)}};
  }
  json params = json::array();
  for (const json& p : (*outs)["parameters"]) {
    if (!p.is_object()) continue;
    const std::string name = Str(p, "name");
    json vf = p.value("valueFrom", json::object());
    std::optional<std::string> value;
    std::string error;
    if (vf.contains("parameter") && vf["parameter"].is_string()) {
      absl::StatusOr<std::string> v = tmpl::RenderString(vf["parameter"].get<std::string>(), scope);
      if (v.ok()) {
        value = *v;
      } else {
        error = std::string(v.status().message());
      }
    } else if (vf.contains("expression") && vf["expression"].is_string()) {
      absl::StatusOr<expr::ExprProgram> prog =
          expr::ExprProgram::Compile(vf["expression"].get<std::string>());
      if (!prog.ok()) {
        error = std::string(prog.status().message());
      } else {
        absl::StatusOr<json> v = prog->Eval(scope.ToEnv());
        if (v.ok() && !v->is_null()) {
          value = ExprResultText(*v);
        } else {
          error = v.ok() ? "expression evaluated to nil" : std::string(v.status().message());
        }
      }
    } else if (p.contains("value")) {
      absl::StatusOr<std::string> v = tmpl::RenderString(ParamText(p["value"]).value_or(""), scope);
      if (v.ok()) {
        value = *v;
      } else {
        error = std::string(v.status().message());
      }
    }
    if (!value.has_value() && vf.contains("default")) value = ParamText(vf["default"]);
    if (!value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("outputs.parameters.", name, ": unable to resolve: ", error));
    }
    json out = {{"name", name}, {"value", *value}};
    if (p.contains("globalName")) out["globalName"] = p["globalName"];
    params.push_back(std::move(out));
  }
  json result = {{"parameters", std::move(params)}};
  if (!artifacts.is_null()) result["artifacts"] = std::move(artifacts);
  return result;
}

void Operator::PublishGlobalOutputs(const json& outputs) {
  PublishGlobalArtifacts(outputs);
  if (!outputs.is_object() || !outputs.contains("parameters")) return;
  for (const json& p : outputs["parameters"]) {
    if (!p.is_object() || Str(p, "globalName").empty() || !p.contains("value")) continue;
    const std::string gname = Str(p, "globalName");
    const std::string value = ParamText(p["value"]).value_or("");
    json& list = status_["outputs"]["parameters"];
    if (!list.is_array()) list = json::array();
    bool found = false;
    for (json& e : list) {
      if (Str(e, "name") == gname) {
        e["value"] = value;
        found = true;
      }
    }
    if (!found) list.push_back({{"name", gname}, {"value", value}});
    SetGlobal("workflow.outputs.parameters." + gname, value);
  }
}

absl::StatusOr<std::vector<json>> Operator::LoopItems(const json& step) {
  std::vector<json> items;
  if (step.contains("withItems")) {
    if (!step["withItems"].is_array()) return absl::InvalidArgumentError("withItems: not a list");
    for (const json& i : step["withItems"]) items.push_back(i);
  } else if (step.contains("withParam")) {
    const json& wp = step["withParam"];
    json list = wp;
    if (wp.is_string()) {
      list = json::parse(wp.get<std::string>(), nullptr, false);
    }
    if (list.is_discarded() || !list.is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat("withParam value could not be parsed as a JSON list: ",
                       wp.is_string() ? wp.get<std::string>() : wp.dump()));
    }
    for (const json& i : list) items.push_back(i);
  } else if (step.contains("withSequence")) {
    const json& seq = step["withSequence"];
    int64_t start = 0, end = 0;
    if (seq.contains("start")) {
      auto v = IntOrString(seq["start"]);
      if (!v) return absl::InvalidArgumentError("withSequence.start: not an integer");
      start = *v;
    }
    if (seq.contains("end")) {
      auto v = IntOrString(seq["end"]);
      if (!v) return absl::InvalidArgumentError("withSequence.end: not an integer");
      end = *v;
    } else if (seq.contains("count")) {
      auto v = IntOrString(seq["count"]);
      if (!v || *v < 0)
        return absl::InvalidArgumentError("withSequence.count: not a non-negative integer");
      if (*v == 0) return items;
      end = start + *v - 1;
    } else {
      return absl::InvalidArgumentError("withSequence: neither end nor count was specified");
    }
    const std::string fmt = Str(seq, "format").empty() ? "%d" : Str(seq, "format");
    const int64_t n = (start <= end ? end - start : start - end) + 1;
    if (n < 0 || static_cast<uint64_t>(n) > kMaxLoopItems) {
      return absl::InvalidArgumentError(
          absl::StrCat("withSequence: more than ", kMaxLoopItems, " items"));
    }
    for (int64_t k = 0; k < n; ++k) {
      ASSIGN_OR_RETURN(std::string s, FormatSequence(fmt, start <= end ? start + k : start - k));
      items.emplace_back(std::move(s));
    }
  }
  if (items.size() > kMaxLoopItems) {
    return absl::InvalidArgumentError(
        absl::StrCat("loop has ", items.size(), " items, more than ", kMaxLoopItems));
  }
  return items;
}

absl::StatusOr<json> Operator::ResolveArgumentExpressions(const json& step,
                                                          const tmpl::Scope& scope) {
  json s = step;
  RETURN_IF_ERROR(ResolveArtifactArgumentExpressions(s, scope));
  if (!s.contains("arguments") || !s["arguments"].is_object() ||
      !s["arguments"].contains("parameters") || !s["arguments"]["parameters"].is_array()) {
    return s;
  }
  std::optional<json> env;
  for (json& p : s["arguments"]["parameters"]) {
    if (!p.is_object() || !p.contains("valueFrom") || !p["valueFrom"].is_object()) continue;
    const json& vf = p["valueFrom"];
    if (!vf.contains("expression") || !vf["expression"].is_string()) continue;
    if (!env.has_value()) env = scope.ToEnv();
    absl::StatusOr<expr::ExprProgram> prog =
        expr::ExprProgram::Compile(vf["expression"].get<std::string>());
    absl::StatusOr<json> v = prog.ok() ? prog->Eval(*env) : absl::StatusOr<json>(prog.status());
    if (!v.ok() || v->is_null()) {
      if (vf.contains("default")) {
        p["value"] = ParamText(vf["default"]).value_or("");
        continue;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("arguments.parameters.", Str(p, "name"), ".valueFrom.expression: ",
                       v.ok() ? "evaluated to nil" : std::string(v.status().message())));
    }
    p["value"] = ExprResultText(*v);
    p.erase("valueFrom");
  }
  return s;
}

}  // namespace argonaut::workflow::engine::internal
