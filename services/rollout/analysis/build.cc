#include "services/rollout/analysis/build.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/base/status_macros.h"

namespace argonaut::rollout::analysis {
namespace {

using nlohmann::json;

constexpr int kMaxTemplateDepth = 16;

struct Fetched {
  std::vector<json> templates;          // namespaced, in Argo's order
  std::vector<json> cluster_templates;  // cluster-scoped
};

std::string TemplateKind(bool cluster_scope) {
  return cluster_scope ? "ClusterAnalysisTemplate" : "AnalysisTemplate";
}

const json& SpecOf(const json& t) {
  static const json* const kEmpty = new json(json::object());
  if (t.is_object() && t.contains("spec") && t["spec"].is_object()) return t["spec"];
  return *kEmpty;
}

std::string NameOf(const json& t) {
  if (t.is_object() && t.contains("metadata") && t["metadata"].is_object()) {
    return t["metadata"].value("name", "");
  }
  return "";
}

// Argo walks the refs depth first: a template, then the templates it
// composes, each list kept apart by scope; duplicates are dropped afterwards.
absl::Status Fetch(const json& refs, const std::string& field, std::string_view ns,
                   const TemplateLookup& lookup, int depth, Fetched& out) {
  if (refs.is_null()) return absl::OkStatus();
  if (!refs.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be a list of template refs"));
  }
  if (depth > kMaxTemplateDepth) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": templates nested deeper than ",
                                                   kMaxTemplateDepth,
                                                   " levels (a template composing itself?)"));
  }
  for (size_t i = 0; i < refs.size(); ++i) {
    const json& ref = refs[i];
    const std::string where = absl::StrCat(field, "[", i, "]");
    if (!ref.is_object() || !ref.contains("templateName") || !ref["templateName"].is_string() ||
        ref["templateName"].get<std::string>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".templateName: required"));
    }
    const std::string name = ref["templateName"].get<std::string>();
    const bool cluster = ref.contains("clusterScope") && ref["clusterScope"].is_boolean() &&
                         ref["clusterScope"].get<bool>();
    absl::StatusOr<json> t = lookup(cluster, cluster ? "" : ns, name);
    if (!t.ok()) {
      if (absl::IsNotFound(t.status())) {
        // The lookup's own message when it names the template (it may say
        // more, e.g. the namespace searched).
        const std::string said(t.status().message());
        return absl::NotFoundError(
            absl::StrCat(absl::StrContains(said, name)
                             ? said
                             : absl::StrCat(TemplateKind(cluster), " '", name, "' not found"),
                         " (", where, ")"));
      }
      return absl::Status(t.status().code(), absl::StrCat(where, " (", TemplateKind(cluster), " '",
                                                          name, "'): ", t.status().message()));
    }
    (cluster ? out.cluster_templates : out.templates).push_back(*t);
    const json& spec = SpecOf(*t);
    if (spec.contains("templates")) {
      RETURN_IF_ERROR(Fetch(spec["templates"],
                            absl::StrCat(TemplateKind(cluster), " '", name, "' spec.templates"), ns,
                            lookup, depth + 1, out));
    }
  }
  return absl::OkStatus();
}

std::vector<json> Unique(const std::vector<json>& in) {
  std::vector<json> out;
  std::set<std::string> seen;
  for (const json& t : in) {
    if (seen.insert(NameOf(t)).second) out.push_back(t);
  }
  return out;
}

std::vector<const json*> Ordered(const Fetched& f) {
  std::vector<const json*> all;
  for (const json& t : f.templates) all.push_back(&t);
  for (const json& t : f.cluster_templates) all.push_back(&t);
  return all;
}

json ListField(const json& spec, const char* key) {
  if (spec.contains(key) && spec[key].is_array()) return spec[key];
  return json::array();
}

bool HasStringValue(const json& arg) { return arg.contains("value") && arg["value"].is_string(); }
bool HasValueFrom(const json& arg) {
  return arg.contains("valueFrom") && arg["valueFrom"].is_object();
}

// Template args from every template: the same name twice must agree; a value
// is never replaced by a later arg without one.
absl::StatusOr<json> FlattenArgs(const std::vector<const json*>& templates) {
  json combined = json::array();
  for (const json* t : templates) {
    for (const json& arg : ListField(SpecOf(*t), "args")) {
      if (!arg.is_object() || !arg.contains("name") || !arg["name"].is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("template '", NameOf(*t), "': spec.args: every arg needs a name"));
      }
      bool found = false;
      for (json& prev : combined) {
        if (prev["name"] != arg["name"]) continue;
        found = true;
        if (HasStringValue(prev) && HasStringValue(arg) && prev["value"] != arg["value"]) {
          return absl::InvalidArgumentError(absl::StrCat(
              "Argument `", arg["name"].get<std::string>(),
              "` specified multiple times with different values: '",
              prev["value"].get<std::string>(), "', '", arg["value"].get<std::string>(), "'"));
        }
        if (!HasStringValue(prev)) prev = arg;
        break;
      }
      if (!found) combined.push_back(arg);
    }
  }
  return combined;
}

absl::StatusOr<json> FlattenMetrics(const std::vector<const json*>& templates) {
  json combined = json::array();
  std::set<std::string> names;
  for (const json* t : templates) {
    for (const json& m : ListField(SpecOf(*t), "metrics")) {
      const std::string name = m.is_object() ? m.value("name", "") : "";
      if (!names.insert(name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("two metrics have the same name '", name, "'"));
      }
      combined.push_back(m);
    }
  }
  return combined;
}

// dryRun / measurementRetention rules: lists concatenated, one rule per
// metricName.
absl::StatusOr<json> MergeRules(const json& first, const json& second, const std::string& what) {
  json out = json::array();
  std::set<std::string> names;
  for (const json* list : {&first, &second}) {
    if (!list->is_array()) continue;
    for (const json& rule : *list) {
      const std::string name = rule.is_object() ? rule.value("metricName", "") : "";
      if (!names.insert(name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("two ", what, " metric rules have the same name '", name, "'"));
      }
      out.push_back(rule);
    }
  }
  return out;
}

absl::StatusOr<json> MergeArgs(const json& incoming, json template_args) {
  if (!incoming.is_null() && !incoming.is_array()) {
    return absl::InvalidArgumentError("args: must be a list");
  }
  if (incoming.is_array()) {
    for (const json& arg : incoming) {
      if (!arg.is_object() || !arg.contains("name")) continue;
      for (json& t : template_args) {
        if (t["name"] != arg["name"]) continue;
        if (arg.contains("value") && !arg["value"].is_null()) {
          t["value"] = arg["value"].is_string() ? arg["value"] : json(arg["value"].dump());
        } else if (HasValueFrom(arg)) {
          t["valueFrom"] = arg["valueFrom"];
        }
      }
    }
  }
  for (const json& t : template_args) {
    if (!HasStringValue(t) && !HasValueFrom(t)) {
      const std::string name = t["name"].get<std::string>();
      return absl::InvalidArgumentError(absl::StrCat(
          "argument \"", name, "\" was not supplied (args.", name, " was not resolved)"));
    }
  }
  return template_args;
}

}  // namespace

absl::StatusOr<json> BuildAnalysisRun(const RunSource& source, const TemplateLookup& lookup) {
  const json& a = source.analysis;
  if (!a.is_object()) return absl::InvalidArgumentError("analysis: must be an object");
  if (!a.contains("templates") || !a["templates"].is_array() || a["templates"].empty()) {
    return absl::InvalidArgumentError("analysis.templates: at least one template is required");
  }
  Fetched fetched;
  RETURN_IF_ERROR(Fetch(a["templates"], "analysis.templates", source.ns, lookup, 0, fetched));
  fetched.templates = Unique(fetched.templates);
  fetched.cluster_templates = Unique(fetched.cluster_templates);
  const std::vector<const json*> templates = Ordered(fetched);

  ASSIGN_OR_RETURN(json metrics, FlattenMetrics(templates));
  json template_dry_run = json::array(), template_retention = json::array();
  for (const json* t : templates) {
    for (const json& r : ListField(SpecOf(*t), "dryRun")) template_dry_run.push_back(r);
    for (const json& r : ListField(SpecOf(*t), "measurementRetention")) {
      template_retention.push_back(r);
    }
  }
  ASSIGN_OR_RETURN(json flat_dry_run, MergeRules(template_dry_run, json::array(), "Dry-Run"));
  ASSIGN_OR_RETURN(json flat_retention,
                   MergeRules(template_retention, json::array(), "Measurement Retention"));
  ASSIGN_OR_RETURN(json template_args, FlattenArgs(templates));
  ASSIGN_OR_RETURN(json args, MergeArgs(a.contains("args") ? a["args"] : json(), template_args));
  ASSIGN_OR_RETURN(json dry_run, MergeRules(a.contains("dryRun") ? a["dryRun"] : json::array(),
                                            flat_dry_run, "Dry-Run"));
  ASSIGN_OR_RETURN(
      json retention,
      MergeRules(a.contains("measurementRetention") ? a["measurementRetention"] : json::array(),
                 flat_retention, "Measurement Retention"));

  json metadata = {{"name", source.name}, {"namespace", source.ns}};
  json labels = source.labels.is_object() ? source.labels : json::object();
  json annotations = json::object();
  if (a.contains("analysisRunMetadata") && a["analysisRunMetadata"].is_object()) {
    const json& md = a["analysisRunMetadata"];
    if (md.contains("labels") && md["labels"].is_object()) {
      for (const auto& [k, v] : md["labels"].items()) labels[k] = v;
    }
    if (md.contains("annotations") && md["annotations"].is_object()) {
      for (const auto& [k, v] : md["annotations"].items()) annotations[k] = v;
    }
  }
  if (!labels.empty()) metadata["labels"] = labels;
  if (!annotations.empty()) metadata["annotations"] = annotations;
  if (source.owner_reference.is_object()) {
    metadata["ownerReferences"] = json::array({source.owner_reference});
  }
  json spec = {{"metrics", metrics}};
  if (!args.empty()) spec["args"] = args;
  if (!dry_run.empty()) spec["dryRun"] = dry_run;
  if (!retention.empty()) spec["measurementRetention"] = retention;
  return json{{"apiVersion", "argoproj.io/v1alpha1"},
              {"kind", "AnalysisRun"},
              {"metadata", metadata},
              {"spec", spec}};
}

namespace {

// fasttemplate over one string: every `{{tag}}` must name a known arg.
absl::StatusOr<std::string> Substitute(std::string_view text,
                                       const std::map<std::string, std::string>& values) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      return out;
    }
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot find end tag=\"}}\" in the template=\"", std::string(text), "\""));
    }
    out.append(text.substr(pos, open - pos));
    const std::string tag(text.substr(open + 2, close - open - 2));
    const std::string clean(absl::StripAsciiWhitespace(tag));
    bool resolved = false;
    if (absl::StartsWith(clean, "args.")) {
      auto it = values.find(clean.substr(5));
      if (it != values.end()) {
        out.append(it->second);
        resolved = true;
      }
    }
    if (!resolved)
      return absl::InvalidArgumentError(absl::StrCat("failed to resolve {{", tag, "}}"));
    pos = close + 2;
  }
}

absl::Status SubstituteIn(json& v, const std::map<std::string, std::string>& values) {
  if (v.is_string()) {
    ASSIGN_OR_RETURN(std::string s, Substitute(v.get_ref<const std::string&>(), values));
    v = std::move(s);
  } else if (v.is_array()) {
    for (json& e : v) RETURN_IF_ERROR(SubstituteIn(e, values));
  } else if (v.is_object()) {
    json out = json::object();
    for (auto& [k, e] : v.items()) {
      ASSIGN_OR_RETURN(std::string key, Substitute(k, values));
      RETURN_IF_ERROR(SubstituteIn(e, values));
      out[key] = std::move(e);
    }
    v = std::move(out);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<json> ResolveMetricArgs(const json& metric,
                                       const std::map<std::string, std::string>& values) {
  json out = metric;
  RETURN_IF_ERROR(SubstituteIn(out, values));
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> PlainArgValues(
    const json& args, std::string_view secret_placeholder) {
  std::map<std::string, std::string> out;
  if (args.is_null()) return out;
  if (!args.is_array()) return absl::InvalidArgumentError("spec.args: must be a list");
  for (size_t i = 0; i < args.size(); ++i) {
    const json& arg = args[i];
    if (!arg.is_object() || !arg.contains("name") || !arg["name"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("spec.args[", i, "].name: required"));
    }
    const std::string name = arg["name"].get<std::string>();
    if (HasStringValue(arg)) {
      out[name] = arg["value"].get<std::string>();
    } else if (HasValueFrom(arg) && arg["valueFrom"].contains("secretKeyRef")) {
      out[name] = std::string(secret_placeholder);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("argument \"", name, "\" was not supplied"));
    }
  }
  return out;
}

}  // namespace argonaut::rollout::analysis
