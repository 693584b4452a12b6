#include "services/workflow/api/validate.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/expr/depends.h"
#include "lib/expr/exprlang.h"
#include "lib/expr/govaluate.h"
#include "services/workflow/api/validate_helpers.h"
#include "services/workflow/cron/decide.h"

namespace argonaut::workflow::api {
namespace {

using nlohmann::json;
using validate_internal::Err;
using validate_internal::Field;
using validate_internal::HasTag;
using validate_internal::IsValidParamName;
using validate_internal::Placeholders;
using validate_internal::Present;
using validate_internal::Quote;
using validate_internal::RefName;
using validate_internal::Str;
using validate_internal::ValidateSynchronization;
using validate_internal::ValidDuration;
using validate_internal::ValidInt;
using validate_internal::WalkTags;

// Inline templates nest (a step's `inline` is a whole template); real manifests go two or three
// levels deep, so a small bound keeps hostile input from recursing without end.
constexpr int kMaxInlineDepth = 16;

constexpr const char* kTemplateTypes[] = {"container", "script",  "resource",     "dag",
                                          "steps",     "suspend", "containerSet", "data",
                                          "http",      "plugin"};

class SpecValidator {
 public:
  SpecValidator(const TemplateLookup& lookup, const ValidateOptions& options, bool is_template)
      : lookup_(lookup), options_(options), is_template_(is_template) {}

  absl::Status Validate(const json& spec, const std::string& prefix) {
    if (!spec.is_object()) return Err(prefix, "expected an object");
    const json& templates = Field(spec, "templates");
    if (!templates.is_null() && !templates.is_array()) {
      return Err(prefix + ".templates", "expected a list");
    }
    const bool has_ref = Present(spec, "workflowTemplateRef");
    if (templates.is_array()) {
      for (size_t i = 0; i < templates.size(); ++i) {
        const std::string path = absl::StrCat(prefix, ".templates[", i, "]");
        const json& t = templates[i];
        if (!t.is_object()) return Err(path, "expected an object");
        const std::string name = Str(t, "name");
        if (name.empty()) return Err(path + ".name", "required");
        if (!IsValidFieldName(name)) {
          return Err(path + ".name", absl::StrCat(Quote(name), " is invalid: ", kNameRule));
        }
        if (!local_.emplace(name, &t).second) {
          return Err(path + ".name", absl::StrCat("template name ", Quote(name), " is not unique"));
        }
      }
    }
    if (!has_ref && local_.empty() && !is_template_) {
      return Err(prefix + ".templates", "required (or spec.workflowTemplateRef)");
    }

    // The arguments the entrypoint sees: the referenced template's, overridden by the workflow's.
    std::map<std::string, json> arguments;
    std::string entrypoint = Str(spec, "entrypoint");
    if (has_ref) {
      RETURN_IF_ERROR(ResolveWorkflowTemplateRef(spec, prefix, &entrypoint, &arguments));
    }
    RETURN_IF_ERROR(ValidateArguments(Field(spec, "arguments"), prefix + ".arguments", &arguments));

    if (entrypoint.empty()) {
      if (!is_template_ && !has_ref) return Err(prefix + ".entrypoint", "required");
    } else if (!Present(spec, "entrypoint") && has_ref) {
      // Entrypoint inherited from the referenced template: that template was validated with it.
    } else {
      const json* entry = FindTemplate(entrypoint);
      if (entry == nullptr && !(has_ref && ref_spec_unknown_)) {
        return Err(prefix + ".entrypoint",
                   absl::StrCat("template ", Quote(entrypoint), " not found in spec.templates"));
      }
      if (entry != nullptr && !is_template_ && !options_.lint) {
        RETURN_IF_ERROR(CheckSupplied(*entry, arguments, prefix + ".arguments.parameters",
                                      absl::StrCat("entrypoint ", Quote(entrypoint))));
      }
    }

    const std::string on_exit = Str(spec, "onExit");
    if (!on_exit.empty() && FindTemplate(on_exit) == nullptr && !ref_spec_unknown_) {
      return Err(prefix + ".onExit", absl::StrCat("template ", Quote(on_exit), " not found"));
    }
    RETURN_IF_ERROR(ValidateHooks(Field(spec, "hooks"), prefix + ".hooks", 0));
    if (Present(spec, "shutdown")) {
      const std::string s = Str(spec, "shutdown");
      if (s != "Stop" && s != "Terminate") {
        return Err(prefix + ".shutdown", absl::StrCat(Quote(s), " must be Stop or Terminate"));
      }
    }
    if (Present(spec, "retryStrategy")) {
      RETURN_IF_ERROR(ValidateRetry(Field(spec, "retryStrategy"), prefix + ".retryStrategy"));
    }
    if (Present(spec, "synchronization")) {
      RETURN_IF_ERROR(
          ValidateSynchronization(Field(spec, "synchronization"), prefix + ".synchronization"));
    }
    if (templates.is_array()) {
      for (size_t i = 0; i < templates.size(); ++i) {
        RETURN_IF_ERROR(
            ValidateTemplate(templates[i], absl::StrCat(prefix, ".templates[", i, "]"), 0));
      }
    }
    return absl::OkStatus();
  }

 private:
  static constexpr const char* kNameRule =
      "must start with an alphanumeric character and contain only alphanumerics and '-' (at most "
      "128 characters)";

  const json* FindTemplate(const std::string& name) const {
    auto it = local_.find(name);
    if (it != local_.end()) return it->second;
    auto rit = ref_templates_.find(name);
    return rit == ref_templates_.end() ? nullptr : rit->second;
  }

  std::optional<json> Lookup(const std::string& kind, const std::string& name) {
    if (!lookup_) return std::nullopt;
    const std::string key = kind + "/" + name;
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    std::optional<json> found = lookup_(kind, name);
    cache_[key] = found;
    return found;
  }

  absl::Status ResolveWorkflowTemplateRef(const json& spec, const std::string& prefix,
                                          std::string* entrypoint,
                                          std::map<std::string, json>* arguments) {
    const json& ref = Field(spec, "workflowTemplateRef");
    const std::string path = prefix + ".workflowTemplateRef";
    if (!ref.is_object()) return Err(path, "expected an object");
    const std::string name = Str(ref, "name");
    if (name.empty()) return Err(path + ".name", "required");
    const bool cluster = Field(ref, "clusterScope") == true;
    const std::string kind = cluster ? "ClusterWorkflowTemplate" : "WorkflowTemplate";
    std::optional<json> target = HasTag(name) ? std::nullopt : Lookup(kind, name);
    if (!target.has_value()) {
      if (options_.require_refs && !HasTag(name)) {
        return Err(path + ".name", absl::StrCat(kind, " ", Quote(name), " not found"));
      }
      ref_spec_unknown_ = true;
      return absl::OkStatus();
    }
    ref_spec_ = Field(*target, "spec");
    if (ref_spec_.contains("templates") && ref_spec_["templates"].is_array()) {
      for (const json& t : ref_spec_["templates"]) {
        const std::string tname = Str(t, "name");
        if (!tname.empty() && local_.count(tname) == 0) ref_templates_.emplace(tname, &t);
      }
    }
    if (entrypoint->empty()) *entrypoint = Str(ref_spec_, "entrypoint");
    const json& params = Field(Field(ref_spec_, "arguments"), "parameters");
    if (params.is_array()) {
      for (const json& p : params) {
        if (p.is_object() && p.contains("name") && p["name"].is_string()) {
          (*arguments)[p["name"].get<std::string>()] = p;
        }
      }
    }
    return absl::OkStatus();
  }

  // spec.arguments: parameter names valid and unique, values present (unless a template or lint),
  // values within their enum.
  absl::Status ValidateArguments(const json& args, const std::string& path,
                                 std::map<std::string, json>* out) {
    if (args.is_null()) return absl::OkStatus();
    if (!args.is_object()) return Err(path, "expected an object");
    const json& params = Field(args, "parameters");
    if (params.is_null()) return absl::OkStatus();
    if (!params.is_array()) return Err(path + ".parameters", "expected a list");
    std::set<std::string> seen;
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string ppath = absl::StrCat(path, ".parameters[", i, "]");
      const json& p = params[i];
      RETURN_IF_ERROR(
          ValidateParameter(p, ppath, /*need_value=*/!is_template_ && !options_.lint, &seen));
      (*out)[Str(p, "name")] = p;
    }
    return absl::OkStatus();
  }

  absl::Status ValidateParameter(const json& p, const std::string& path, bool need_value,
                                 std::set<std::string>* seen) {
    if (!p.is_object()) return Err(path, "expected an object");
    const std::string name = Str(p, "name");
    if (name.empty()) return Err(path + ".name", "required");
    if (!IsValidParamName(name)) {
      return Err(path + ".name",
                 absl::StrCat(Quote(name), " is invalid: only alphanumerics, '-' and '_' allowed"));
    }
    if (!seen->insert(name).second) {
      return Err(path + ".name", absl::StrCat("parameter ", Quote(name), " is not unique"));
    }
    const bool has_value = p.contains("value") || p.contains("default") || Present(p, "valueFrom");
    if (need_value && !has_value) {
      return Err(path + ".value", absl::StrCat("required for parameter ", Quote(name)));
    }
    if (p.contains("enum")) {
      const json& e = p["enum"];
      if (!e.is_array() || e.empty()) {
        return Err(path + ".enum", "should contain at least one value");
      }
      for (const char* key : {"value", "default"}) {
        if (!p.contains(key) || !p[key].is_string()) continue;
        const std::string v = p[key].get<std::string>();
        if (HasTag(v)) continue;
        if (std::find(e.begin(), e.end(), json(v)) == e.end()) {
          return Err(absl::StrCat(path, ".", key),
                     absl::StrCat("value ", Quote(v), " is not in enum ", e.dump()));
        }
      }
    }
    return absl::OkStatus();
  }

  // Every input parameter of `callee` without value/default/valueFrom must be among `supplied`,
  // and supplied literal values must be within the input's enum.
  absl::Status CheckSupplied(const json& callee, const std::map<std::string, json>& supplied,
                             const std::string& path, const std::string& who) {
    const json& params = Field(Field(callee, "inputs"), "parameters");
    if (!params.is_array()) return absl::OkStatus();
    for (const json& p : params) {
      if (!p.is_object()) continue;
      const std::string name = Str(p, "name");
      auto it = supplied.find(name);
      if (it == supplied.end()) {
        if (!p.contains("value") && !p.contains("default") && !Present(p, "valueFrom")) {
          return Err(path, absl::StrCat(who, " needs input parameter ", Quote(name),
                                        ", which is not supplied"));
        }
        continue;
      }
      const json& e = Field(p, "enum");
      const json& v = Field(it->second, "value");
      if (e.is_array() && !e.empty() && v.is_string() && !HasTag(v.get<std::string>()) &&
          std::find(e.begin(), e.end(), v) == e.end()) {
        return Err(path, absl::StrCat("value ", v.dump(), " of parameter ", Quote(name), " of ",
                                      who, " is not in enum ", e.dump()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ValidateRetry(const json& r, const std::string& path) {
    if (!r.is_object()) return Err(path, "expected an object");
    if (r.contains("limit") && !ValidInt(r["limit"], false)) {
      return Err(path + ".limit",
                 absl::StrCat(r["limit"].dump(), " is not a non-negative integer"));
    }
    if (Present(r, "retryPolicy")) {
      static const std::set<std::string> kPolicies = {"Always", "OnFailure", "OnError",
                                                      "OnTransientError"};
      const std::string policy = Str(r, "retryPolicy");
      if (kPolicies.count(policy) == 0) {
        return Err(path + ".retryPolicy",
                   absl::StrCat(Quote(policy),
                                " is not one of Always, OnFailure, OnError, OnTransientError"));
      }
    }
    const json& backoff = Field(r, "backoff");
    if (backoff.is_object()) {
      for (const char* key : {"duration", "maxDuration", "cap"}) {
        if (backoff.contains(key) && !ValidDuration(backoff[key])) {
          return Err(absl::StrCat(path, ".backoff.", key),
                     absl::StrCat(backoff[key].dump(), " is not a duration"));
        }
      }
      if (backoff.contains("factor") && !ValidInt(backoff["factor"], false)) {
        double f = 0;
        const json& fv = backoff["factor"];
        const bool ok = fv.is_number() ? fv.get<double>() >= 0
                                       : (fv.is_string() &&
                                          absl::SimpleAtod(fv.get<std::string>(), &f) && f >= 0);
        if (!ok) return Err(path + ".backoff.factor", absl::StrCat(fv.dump(), " is not a number"));
      }
    }
    if (Present(r, "expression")) {
      absl::StatusOr<expr::ExprProgram> p =
          expr::ExprProgram::Compile(Placeholders(Str(r, "expression")));
      if (!p.ok()) return Err(path + ".expression", std::string(p.status().message()));
    }
    return absl::OkStatus();
  }

  absl::Status ValidateHooks(const json& hooks, const std::string& path, int depth) {
    if (hooks.is_null()) return absl::OkStatus();
    if (!hooks.is_object()) return Err(path, "expected an object");
    for (const auto& [name, hook] : hooks.items()) {
      const std::string hpath = absl::StrCat(path, ".", name);
      if (!hook.is_object()) return Err(hpath, "expected an object");
      if (name != "exit" && !Present(hook, "expression")) {
        return Err(hpath + ".expression", "required for a hook other than \"exit\"");
      }
      if (Present(hook, "expression")) {
        absl::StatusOr<expr::ExprProgram> p =
            expr::ExprProgram::Compile(Placeholders(Str(hook, "expression")));
        if (!p.ok()) return Err(hpath + ".expression", std::string(p.status().message()));
      }
      RETURN_IF_ERROR(ValidateInvocation(hook, hpath, depth, /*allow_inline=*/false));
    }
    return absl::OkStatus();
  }

  // The callee of a step, task or hook: exactly one of template / templateRef / inline, which
  // must exist, with its required inputs supplied by the invocation's arguments.
  absl::Status ValidateInvocation(const json& inv, const std::string& path, int depth,
                                  bool allow_inline) {
    const bool has_template = Present(inv, "template");
    const bool has_ref = Present(inv, "templateRef");
    const bool has_inline = allow_inline && Present(inv, "inline");
    const int n = int{has_template} + int{has_ref} + int{has_inline};
    if (n == 0) {
      return Err(path, allow_inline ? "one of template, templateRef or inline is required"
                                    : "one of template or templateRef is required");
    }
    if (n > 1) return Err(path, "only one of template, templateRef or inline may be specified");

    std::map<std::string, json> supplied;
    const json& args = Field(inv, "arguments");
    if (!args.is_null()) {
      if (!args.is_object()) return Err(path + ".arguments", "expected an object");
      const json& params = Field(args, "parameters");
      if (!params.is_null() && !params.is_array()) {
        return Err(path + ".arguments.parameters", "expected a list");
      }
      if (params.is_array()) {
        std::set<std::string> seen;
        for (size_t i = 0; i < params.size(); ++i) {
          const std::string ppath = absl::StrCat(path, ".arguments.parameters[", i, "]");
          RETURN_IF_ERROR(ValidateParameter(params[i], ppath, /*need_value=*/false, &seen));
          supplied[Str(params[i], "name")] = params[i];
        }
      }
    }

    const json* callee = nullptr;
    std::string who;
    if (has_template) {
      const std::string name = Str(inv, "template");
      if (HasTag(name)) return absl::OkStatus();
      callee = FindTemplate(name);
      if (callee == nullptr) {
        if (ref_spec_unknown_) return absl::OkStatus();
        return Err(path + ".template", absl::StrCat("template ", Quote(name), " not found"));
      }
      who = absl::StrCat("template ", Quote(name));
    } else if (has_ref) {
      const json& ref = inv["templateRef"];
      if (!ref.is_object()) return Err(path + ".templateRef", "expected an object");
      const std::string name = Str(ref, "name");
      const std::string tmpl = Str(ref, "template");
      if (name.empty()) return Err(path + ".templateRef.name", "required");
      if (tmpl.empty()) return Err(path + ".templateRef.template", "required");
      if (HasTag(name) || HasTag(tmpl)) return absl::OkStatus();
      const std::string kind =
          Field(ref, "clusterScope") == true ? "ClusterWorkflowTemplate" : "WorkflowTemplate";
      std::optional<json> target = Lookup(kind, name);
      if (!target.has_value()) {
        if (!options_.require_refs) return absl::OkStatus();
        return Err(path + ".templateRef.name", absl::StrCat(kind, " ", Quote(name), " not found"));
      }
      // Points into the lookup cache, which outlives this call.
      callee = FindCachedTemplate(kind, name, tmpl);
      if (callee == nullptr) {
        return Err(
            path + ".templateRef.template",
            absl::StrCat("template ", Quote(tmpl), " not found in ", kind, " ", Quote(name)));
      }
      who = absl::StrCat(kind, " ", Quote(name), " template ", Quote(tmpl));
    } else {
      const json& inl = inv["inline"];
      if (depth + 1 > kMaxInlineDepth) return Err(path + ".inline", "nested too deeply");
      RETURN_IF_ERROR(ValidateTemplate(inl, path + ".inline", depth + 1, /*named=*/false));
      callee = &inl;
      who = "the inline template";
    }
    return CheckSupplied(*callee, supplied, path + ".arguments", who);
  }

  const json* FindCachedTemplate(const std::string& kind, const std::string& name,
                                 const std::string& tmpl) {
    const std::optional<json>& obj = cache_[kind + "/" + name];
    if (!obj.has_value()) return nullptr;
    const json& ts = Field(Field(*obj, "spec"), "templates");
    if (!ts.is_array()) return nullptr;
    for (const json& t : ts) {
      if (Str(t, "name") == tmpl) return &t;
    }
    return nullptr;
  }

  absl::Status ValidateLoop(const json& inv, const std::string& path) {
    const int n = int{Present(inv, "withItems")} + int{Present(inv, "withParam")} +
                  int{Present(inv, "withSequence")};
    if (n > 1) {
      return Err(path, "only one of withItems, withParam or withSequence can be specified");
    }
    if (inv.contains("withItems") && !inv["withItems"].is_null() && !inv["withItems"].is_array()) {
      return Err(path + ".withItems", "expected a list");
    }
    const json& seq = Field(inv, "withSequence");
    if (seq.is_object()) {
      if (Present(seq, "count") && Present(seq, "end")) {
        return Err(path + ".withSequence", "only one of count or end can be defined");
      }
      for (const char* key : {"count", "start", "end"}) {
        if (seq.contains(key) && !ValidInt(seq[key], std::string(key) != "count")) {
          return Err(absl::StrCat(path, ".withSequence.", key),
                     absl::StrCat(seq[key].dump(), " is not an integer"));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status ValidateWhen(const json& inv, const std::string& path) {
    if (!Present(inv, "when")) return absl::OkStatus();
    const std::string when = Str(inv, "when");
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(when), "{{=")) return absl::OkStatus();
    absl::StatusOr<expr::GovaluateProgram> p = expr::GovaluateProgram::Compile(Placeholders(when));
    if (!p.ok()) return Err(path + ".when", std::string(p.status().message()));
    return absl::OkStatus();
  }

  absl::Status ValidateTemplate(const json& t, const std::string& path, int depth,
                                bool named = true) {
    if (!t.is_object()) return Err(path, "expected an object");
    std::vector<std::string> types;
    for (const char* type : kTemplateTypes) {
      // An empty object is a type of its own (`suspend: {}` waits for a resume).
      auto it = t.find(type);
      if (it != t.end() && !it->is_null() && !(it->is_array() && it->empty())) {
        types.push_back(type);
      }
    }
    if (types.empty()) {
      return Err(path, absl::StrCat("template type unspecified: choose one of ",
                                    absl::StrJoin(kTemplateTypes, ", ")));
    }
    if (types.size() > 1) {
      return Err(path,
                 absl::StrCat("multiple template types specified: ", absl::StrJoin(types, ", ")));
    }
    const std::string& type = types[0];
    (void)named;

    // Inputs.
    std::set<std::string> inputs;
    const json& in_params = Field(Field(t, "inputs"), "parameters");
    if (!in_params.is_null() && !in_params.is_array()) {
      return Err(path + ".inputs.parameters", "expected a list");
    }
    if (in_params.is_array()) {
      for (size_t i = 0; i < in_params.size(); ++i) {
        RETURN_IF_ERROR(ValidateParameter(
            in_params[i], absl::StrCat(path, ".inputs.parameters[", i, "]"), false, &inputs));
      }
    }
    // Outputs.
    const json& out_params = Field(Field(t, "outputs"), "parameters");
    if (out_params.is_array()) {
      std::set<std::string> seen;
      for (size_t i = 0; i < out_params.size(); ++i) {
        const std::string ppath = absl::StrCat(path, ".outputs.parameters[", i, "]");
        RETURN_IF_ERROR(ValidateParameter(out_params[i], ppath, false, &seen));
        if (!Present(out_params[i], "valueFrom") && !out_params[i].contains("value")) {
          return Err(ppath + ".valueFrom", "required for an output parameter");
        }
      }
    }
    if (Present(t, "retryStrategy")) {
      RETURN_IF_ERROR(ValidateRetry(t["retryStrategy"], path + ".retryStrategy"));
    }
    if (Present(t, "synchronization")) {
      RETURN_IF_ERROR(ValidateSynchronization(t["synchronization"], path + ".synchronization"));
    }
    if (t.contains("activeDeadlineSeconds") && !ValidInt(t["activeDeadlineSeconds"], false)) {
      return Err(path + ".activeDeadlineSeconds",
                 absl::StrCat(t["activeDeadlineSeconds"].dump(), " is not a non-negative integer"));
    }
    for (const char* key : {"timeout", "pendingTimeout"}) {
      if (Present(t, key) && !ValidDuration(t[key])) {
        return Err(absl::StrCat(path, ".", key), absl::StrCat(t[key].dump(), " is not a duration"));
      }
    }
    if (Present(t, "timeout") && (type == "steps" || type == "dag")) {
      return Err(path + ".timeout", "only allowed on leaf templates, not steps or dag");
    }
    if (type == "suspend") {
      const json& s = t["suspend"];
      if (s.contains("duration") && !ValidDuration(s["duration"])) {
        return Err(path + ".suspend.duration",
                   absl::StrCat(s["duration"].dump(), " is not a duration"));
      }
    }
    if (type == "resource") {
      static const std::set<std::string> kActions = {"get",    "create",  "apply",
                                                     "delete", "replace", "patch"};
      const std::string action = Str(t["resource"], "action");
      if (kActions.count(action) == 0) {
        return Err(path + ".resource.action",
                   absl::StrCat(Quote(action),
                                " is not one of get, create, apply, delete, replace, patch"));
      }
    }

    // {{inputs.parameters.X}} must name a declared input (nested inline templates have their own).
    RETURN_IF_ERROR(
        WalkTags(t, path, {"inline"}, [&](const std::string& p, const std::string& tag) {
          if (!absl::StartsWith(tag, "inputs.parameters.")) return absl::OkStatus();
          const std::string name = tag.substr(std::string_view("inputs.parameters.").size());
          if (inputs.count(name) > 0) return absl::OkStatus();
          return Err(p, absl::StrCat("failed to resolve {{", tag, "}}: no input parameter ",
                                     Quote(name), " declared"));
        }));

    if (type == "steps") RETURN_IF_ERROR(ValidateSteps(t, path, depth));
    if (type == "dag") RETURN_IF_ERROR(ValidateDag(t, path, depth));
    return absl::OkStatus();
  }

  absl::Status ValidateStepLike(const json& inv, const std::string& path, int depth) {
    RETURN_IF_ERROR(ValidateInvocation(inv, path, depth, /*allow_inline=*/true));
    RETURN_IF_ERROR(ValidateLoop(inv, path));
    RETURN_IF_ERROR(ValidateWhen(inv, path));
    const std::string on_exit = Str(inv, "onExit");
    if (!on_exit.empty() && !HasTag(on_exit) && FindTemplate(on_exit) == nullptr &&
        !ref_spec_unknown_) {
      return Err(path + ".onExit", absl::StrCat("template ", Quote(on_exit), " not found"));
    }
    return ValidateHooks(Field(inv, "hooks"), path + ".hooks", depth);
  }

  absl::Status ValidateSteps(const json& t, const std::string& path, int depth) {
    const json& groups = t["steps"];
    if (!groups.is_array()) return Err(path + ".steps", "expected a list of lists");
    std::set<std::string> names;
    for (size_t g = 0; g < groups.size(); ++g) {
      const std::string gpath = absl::StrCat(path, ".steps[", g, "]");
      if (!groups[g].is_array()) return Err(gpath, "expected a list of steps");
      for (size_t j = 0; j < groups[g].size(); ++j) {
        const std::string spath = absl::StrCat(gpath, "[", j, "]");
        const json& step = groups[g][j];
        if (!step.is_object()) return Err(spath, "expected an object");
        const std::string name = Str(step, "name");
        if (name.empty()) return Err(spath + ".name", "required");
        if (!IsValidFieldName(name)) {
          return Err(spath + ".name", absl::StrCat(Quote(name), " is invalid: ", kNameRule));
        }
        if (names.count(name) > 0) {
          return Err(spath + ".name", absl::StrCat("step name ", Quote(name), " is not unique"));
        }
        RETURN_IF_ERROR(ValidateStepLike(step, spath, depth));
      }
      // A step may refer to steps of earlier groups only: those of its own group run beside it.
      for (size_t j = 0; j < groups[g].size(); ++j) {
        const std::string spath = absl::StrCat(gpath, "[", j, "]");
        RETURN_IF_ERROR(WalkTags(groups[g][j], spath, {"inline", "hooks", "onExit"},
                                 [&](const std::string& p, const std::string& tag) {
                                   std::optional<std::string> ref = RefName(tag, "steps.");
                                   if (!ref.has_value() || names.count(*ref) > 0)
                                     return absl::OkStatus();
                                   return Err(
                                       p, absl::StrCat("failed to resolve {{", tag, "}}: no step ",
                                                       Quote(*ref), " runs before this one"));
                                 }));
      }
      for (const json& step : groups[g]) names.insert(Str(step, "name"));
    }
    return WalkTags(
        Field(t, "outputs"), path + ".outputs", {},
        [&](const std::string& p, const std::string& tag) {
          std::optional<std::string> ref = RefName(tag, "steps.");
          if (!ref.has_value() || names.count(*ref) > 0) return absl::OkStatus();
          return Err(p, absl::StrCat("failed to resolve {{", tag, "}}: no step ", Quote(*ref)));
        });
  }

  absl::Status ValidateDag(const json& t, const std::string& path, int depth) {
    const json& dag = t["dag"];
    if (!dag.is_object()) return Err(path + ".dag", "expected an object");
    const json& tasks = Field(dag, "tasks");
    if (!tasks.is_array()) return Err(path + ".dag.tasks", "expected a list");
    std::map<std::string, size_t> index;
    bool any_depends = false, any_dependencies = false;
    for (size_t i = 0; i < tasks.size(); ++i) {
      const std::string tpath = absl::StrCat(path, ".dag.tasks[", i, "]");
      const json& task = tasks[i];
      if (!task.is_object()) return Err(tpath, "expected an object");
      const std::string name = Str(task, "name");
      if (name.empty()) return Err(tpath + ".name", "required");
      if (!IsValidFieldName(name)) {
        return Err(tpath + ".name", absl::StrCat(Quote(name), " is invalid: ", kNameRule));
      }
      if (!index.emplace(name, i).second) {
        return Err(tpath + ".name", absl::StrCat("task name ", Quote(name), " is not unique"));
      }
      any_depends |= Present(task, "depends");
      any_dependencies |= Present(task, "dependencies");
    }
    if (any_depends && any_dependencies) {
      return Err(path + ".dag", "cannot use both depends and dependencies in the same DAG");
    }
    // Edges task -> its dependencies.
    std::vector<std::vector<size_t>> deps(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) {
      const std::string tpath = absl::StrCat(path, ".dag.tasks[", i, "]");
      const json& task = tasks[i];
      RETURN_IF_ERROR(ValidateStepLike(task, tpath, depth));
      if (any_depends && Present(task, "continueOn")) {
        return Err(tpath + ".continueOn",
                   "cannot be used with depends: use <task>.Failed or <task>.Errored instead");
      }
      std::vector<std::string> names;
      std::string where;
      if (Present(task, "depends")) {
        where = tpath + ".depends";
        if (!task["depends"].is_string()) return Err(where, "expected a string");
        absl::StatusOr<expr::DependsProgram> p =
            expr::DependsProgram::Compile(task["depends"].get<std::string>());
        if (!p.ok()) return Err(where, std::string(p.status().message()));
        names = p->Tasks();
      } else if (Present(task, "dependencies")) {
        where = tpath + ".dependencies";
        const json& d = task["dependencies"];
        if (!d.is_array()) return Err(where, "expected a list");
        for (const json& n : d) {
          if (!n.is_string()) return Err(where, "expected a list of task names");
          names.push_back(n.get<std::string>());
        }
      }
      for (const std::string& dep : names) {
        auto it = index.find(dep);
        if (it == index.end()) {
          return Err(where, absl::StrCat("dependency ", Quote(dep), " not defined"));
        }
        if (it->second == i) return Err(where, absl::StrCat("task depends on itself"));
        deps[i].push_back(it->second);
      }
    }
    RETURN_IF_ERROR(FindCycle(tasks, deps, path));
    if (Present(dag, "target")) {
      for (absl::string_view target :
           absl::StrSplit(Str(dag, "target"), absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
        if (HasTag(std::string(target))) continue;
        if (index.count(std::string(target)) == 0) {
          return Err(path + ".dag.target",
                     absl::StrCat("target ", Quote(std::string(target)), " is not a task"));
        }
      }
    }
    // {{tasks.X...}} must name an ancestor: anything else may not have run yet.
    for (size_t i = 0; i < tasks.size(); ++i) {
      const std::string tpath = absl::StrCat(path, ".dag.tasks[", i, "]");
      std::optional<std::set<std::string>> ancestors;
      RETURN_IF_ERROR(WalkTags(
          tasks[i], tpath, {"inline", "hooks", "onExit"},
          [&](const std::string& p, const std::string& tag) {
            std::optional<std::string> ref = RefName(tag, "tasks.");
            if (!ref.has_value()) return absl::OkStatus();
            if (!ancestors.has_value()) ancestors = Ancestors(tasks, deps, i);
            if (ancestors->count(*ref) > 0) return absl::OkStatus();
            return Err(
                p, absl::StrCat("failed to resolve {{", tag,
                                "}}: ", index.count(*ref) > 0 ? "task " : "no task ", Quote(*ref),
                                index.count(*ref) > 0 ? " is not a dependency of this task" : ""));
          }));
    }
    return WalkTags(
        Field(t, "outputs"), path + ".outputs", {},
        [&](const std::string& p, const std::string& tag) {
          std::optional<std::string> ref = RefName(tag, "tasks.");
          if (!ref.has_value() || index.count(*ref) > 0) return absl::OkStatus();
          return Err(p, absl::StrCat("failed to resolve {{", tag, "}}: no task ", Quote(*ref)));
        });
  }

  static std::set<std::string> Ancestors(const json& tasks,
                                         const std::vector<std::vector<size_t>>& deps, size_t i) {
    std::set<std::string> out;
    std::vector<bool> seen(tasks.size(), false);
    std::vector<size_t> stack = deps[i];
    while (!stack.empty()) {
      const size_t n = stack.back();
      stack.pop_back();
      if (seen[n]) continue;
      seen[n] = true;
      out.insert(Str(tasks[n], "name"));
      for (size_t d : deps[n]) stack.push_back(d);
    }
    return out;
  }

  // Iterative three-colour DFS, so a long dependency chain cannot exhaust the stack.
  static absl::Status FindCycle(const json& tasks, const std::vector<std::vector<size_t>>& deps,
                                const std::string& path) {
    const size_t n = tasks.size();
    std::vector<int> colour(n, 0);  // 0 new, 1 on stack, 2 done
    for (size_t root = 0; root < n; ++root) {
      if (colour[root] != 0) continue;
      std::vector<std::pair<size_t, size_t>> stack = {{root, 0}};
      colour[root] = 1;
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < deps[node].size()) {
          const size_t d = deps[node][next++];
          if (colour[d] == 1) {
            std::vector<std::string> cycle;
            bool in = false;
            for (const auto& [s, unused] : stack) {
              if (s == d) in = true;
              if (in) cycle.push_back(Str(tasks[s], "name"));
            }
            cycle.push_back(Str(tasks[d], "name"));
            return Err(absl::StrCat(path, ".dag.tasks[", d, "]"),
                       absl::StrCat("dependency cycle detected: ", absl::StrJoin(cycle, " -> ")));
          }
          if (colour[d] == 0) {
            colour[d] = 1;
            stack.push_back({d, 0});
          }
        } else {
          colour[node] = 2;
          stack.pop_back();
        }
      }
    }
    return absl::OkStatus();
  }

  const TemplateLookup& lookup_;
  const ValidateOptions& options_;
  const bool is_template_;
  std::map<std::string, const json*> local_;
  std::map<std::string, const json*> ref_templates_;
  json ref_spec_;
  bool ref_spec_unknown_ = false;
  std::map<std::string, std::optional<json>> cache_;
};

}  // namespace

bool IsValidFieldName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

absl::Status ValidateWorkflow(const nlohmann::json& object, const TemplateLookup& lookup,
                              const ValidateOptions& options) {
  if (!object.is_object()) return absl::InvalidArgumentError("expected an object");
  const std::string kind = object.contains("kind") && object["kind"].is_string()
                               ? object["kind"].get<std::string>()
                               : "Workflow";
  const json& spec = Field(object, "spec");
  if (kind == "Workflow") {
    return SpecValidator(lookup, options, false).Validate(spec, "spec");
  }
  if (kind == "WorkflowTemplate" || kind == "ClusterWorkflowTemplate") {
    return SpecValidator(lookup, options, true).Validate(spec, "spec");
  }
  if (kind == "CronWorkflow") {
    if (!spec.is_object()) return Err("spec", "expected an object");
    if (!Present(spec, "schedule") && !Present(spec, "schedules")) {
      return Err("spec.schedule", "required (or spec.schedules)");
    }
    // Schedules and the time zone are checked now, as Argo's validation does,
    // rather than only by the cron controller later (a SpecError condition).
    if (absl::StatusOr<std::vector<cron::Schedule>> schedules =
            cron::ParseSchedules(spec, absl::UTCTimeZone());
        !schedules.ok()) {
      return schedules.status();
    }
    if (Present(spec, "concurrencyPolicy")) {
      const std::string p = Str(spec, "concurrencyPolicy");
      if (p != "Allow" && p != "Forbid" && p != "Replace") {
        return Err("spec.concurrencyPolicy",
                   absl::StrCat(Quote(p), " is not one of Allow, Forbid, Replace"));
      }
    }
    return SpecValidator(lookup, options, false)
        .Validate(Field(spec, "workflowSpec"), "spec.workflowSpec");
  }
  return absl::InvalidArgumentError(absl::StrCat("kind: ", kind, " is not a workflow kind"));
}

}  // namespace argonaut::workflow::api
