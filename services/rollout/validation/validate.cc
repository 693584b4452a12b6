// Rollout spec rules (Argo's pkg/apis/rollouts/validation plus the CRD's required fields).

#include "services/rollout/validation/validate.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/rollout/validation/checks.h"

namespace argonaut::rollout::validation {
namespace {

using internal::CheckAnalysisTemplateRefs;
using internal::CheckDryRun;
using internal::CheckGoDuration;
using internal::CheckIntOrPercent;
using internal::CheckMeasurementRetention;
using internal::CheckNonNegative;
using internal::CheckRolloutAnalysis;
using internal::CheckRunArguments;
using internal::CheckSelector;
using internal::Errors;
using internal::Field;
using internal::Index;
using internal::SelectorMatches;

constexpr int kDefaultRevisionHistoryLimit = 10;
constexpr int kDefaultProgressDeadlineSeconds = 600;
constexpr int kDefaultMaxTrafficWeight = 100;

void CheckRange(absl::string_view path, int64_t value, int64_t lo, int64_t hi, Errors* errors) {
  if (value < lo || value > hi) {
    errors->Add(path, absl::StrCat("must be between ", lo, " and ", hi, " (got ", value, ")"));
  }
}

// Containers of a pod template (a Struct): at least one, each named and with an image.
void CheckPodSpec(absl::string_view path, const google::protobuf::Struct& spec, Errors* errors) {
  const auto& fields = spec.fields();
  auto containers = fields.find("containers");
  if (containers == fields.end() || !containers->second.has_list_value() ||
      containers->second.list_value().values().empty()) {
    errors->Add(Field(path, "containers"), "at least one container is required");
  } else {
    const auto& list = containers->second.list_value().values();
    std::set<std::string> names;
    for (int i = 0; i < list.size(); ++i) {
      const std::string p = Index(Field(path, "containers"), i);
      if (!list[i].has_struct_value()) {
        errors->Add(p, "must be an object");
        continue;
      }
      const auto& c = list[i].struct_value().fields();
      auto name = c.find("name");
      if (name == c.end() || name->second.string_value().empty()) {
        errors->Add(Field(p, "name"), "required");
      } else if (!names.insert(name->second.string_value()).second) {
        errors->Add(Field(p, "name"),
                    absl::StrCat("duplicate container name \"", name->second.string_value(), "\""));
      }
      auto image = c.find("image");
      if (image == c.end() || image->second.string_value().empty()) {
        errors->Add(Field(p, "image"), "required");
      }
    }
  }
  auto restart = fields.find("restartPolicy");
  if (restart != fields.end() && restart->second.has_string_value() &&
      restart->second.string_value() != "Always") {
    errors->Add(Field(path, "restartPolicy"),
                absl::StrCat("must be Always (got \"", restart->second.string_value(), "\")"));
  }
}

// Selector present, well formed and matching the template's labels (Deployment semantics).
void CheckSelectorAndTemplate(absl::string_view path, absl::string_view selector_key,
                              const v1::LabelSelector* selector, const v1::PodTemplateSpec& tmpl,
                              Errors* errors) {
  const std::string sp = Field(path, selector_key);
  if (selector == nullptr) {
    errors->Add(sp, "required");
  } else if (selector->match_labels().empty() && selector->match_expressions().empty()) {
    errors->Add(sp, "must not be empty (an empty selector would select every pod)");
  } else {
    CheckSelector(sp, *selector, errors);
    if (!SelectorMatches(*selector, tmpl.metadata().labels())) {
      errors->Add(Field(Field(Field(path, "template"), "metadata"), "labels"),
                  absl::StrCat("do not match ", sp));
    }
  }
  CheckPodSpec(Field(Field(path, "template"), "spec"), tmpl.spec(), errors);
}

bool TemplateEmpty(const v1::RolloutSpec& spec) {
  return !spec.has_template_() || (spec.template_().spec().fields().empty() &&
                                   spec.template_().metadata().labels().empty() &&
                                   spec.template_().metadata().annotations().empty() &&
                                   spec.template_().metadata().name().empty());
}

// Downward-API paths an analysis argument may take from the rollout's metadata.
void CheckFieldRefPath(absl::string_view path, const std::string& field_path, Errors* errors) {
  if (!absl::StartsWith(field_path, "metadata")) return;  // other rollout fields: any path
  if (field_path == "metadata.name" || field_path == "metadata.namespace" ||
      field_path == "metadata.uid") {
    return;
  }
  for (absl::string_view prefix : {"metadata.labels['", "metadata.annotations['"}) {
    if (absl::StartsWith(field_path, prefix) && absl::EndsWith(field_path, "']") &&
        field_path.size() > prefix.size() + 2) {
      return;
    }
  }
  errors->Add(path, absl::StrCat("\"", field_path,
                                 "\" is not a supported metadata field (metadata.name, "
                                 "metadata.namespace, metadata.uid, metadata.labels['<key>'] or "
                                 "metadata.annotations['<key>'])"));
}

void CheckArgFieldRefs(absl::string_view path,
                       const google::protobuf::RepeatedPtrField<v1::AnalysisRunArgument>& args,
                       Errors* errors) {
  for (int i = 0; i < args.size(); ++i) {
    if (args[i].value_from().has_field_ref()) {
      CheckFieldRefPath(Field(Field(Field(Index(path, i), "valueFrom"), "fieldRef"), "fieldPath"),
                        args[i].value_from().field_ref().field_path(), errors);
    }
  }
}

void CheckAnalysis(absl::string_view path, const v1::RolloutAnalysis& analysis, Errors* errors) {
  CheckRolloutAnalysis(path, analysis, errors);
  CheckArgFieldRefs(Field(path, "args"), analysis.args(), errors);
}

void CheckAntiAffinity(absl::string_view path, const v1::AntiAffinity& a, Errors* errors) {
  const bool preferred = a.has_preferred_during_scheduling_ignored_during_execution();
  const bool required = a.has_required_during_scheduling_ignored_during_execution();
  if (preferred == required) {
    errors->Add(path,
                "exactly one of preferredDuringSchedulingIgnoredDuringExecution and "
                "requiredDuringSchedulingIgnoredDuringExecution must be set");
  }
  if (preferred) {
    CheckRange(Field(Field(path, "preferredDuringSchedulingIgnoredDuringExecution"), "weight"),
               a.preferred_during_scheduling_ignored_during_execution().weight(), 1, 100, errors);
  }
}

// Exactly one of exact / prefix / regex (ALB header routes: exact only).
void CheckStringMatch(absl::string_view path, const v1::StringMatch* match, bool exact_only,
                      Errors* errors) {
  if (match == nullptr) {
    errors->Add(path, "one of exact, prefix and regex is required");
    return;
  }
  const int set = !match->exact().empty() + !match->prefix().empty() + !match->regex().empty();
  if (exact_only && (match->exact().empty() || set != 1)) {
    errors->Add(path, "ALB header routes support an exact value only");
  } else if (set != 1) {
    errors->Add(path,
                absl::StrCat("exactly one of exact, prefix and regex must be set (got ", set, ")"));
  }
}

void CheckRouteName(absl::string_view path, const std::string& name,
                    const v1::RolloutTrafficRouting& tr, Errors* errors) {
  if (name.empty()) {
    errors->Add(Field(path, "name"), "required");
    return;
  }
  if (tr.managed_routes().empty()) {
    errors->Add(Field(path, "name"),
                absl::StrCat("route \"", name,
                             "\" needs spec.strategy.canary.trafficRouting.managedRoutes"));
    return;
  }
  for (const v1::ManagedRoute& r : tr.managed_routes()) {
    if (r.name() == name) return;
  }
  errors->Add(
      Field(path, "name"),
      absl::StrCat("route \"", name,
                   "\" is not listed in spec.strategy.canary.trafficRouting.managedRoutes"));
}

std::vector<std::string> Routers(const v1::RolloutTrafficRouting& tr) {
  std::vector<std::string> out;
  if (tr.has_istio()) out.push_back("istio");
  if (tr.has_nginx()) out.push_back("nginx");
  if (tr.has_alb()) out.push_back("alb");
  if (tr.has_smi()) out.push_back("smi");
  if (tr.has_ambassador()) out.push_back("ambassador");
  if (tr.has_app_mesh()) out.push_back("appMesh");
  if (tr.has_traefik()) out.push_back("traefik");
  if (tr.has_apisix()) out.push_back("apisix");
  if (!tr.plugins().empty()) out.push_back("plugins");
  return out;
}

void CheckTrafficRouting(absl::string_view path, const v1::RolloutTrafficRouting& tr,
                         Errors* errors) {
  if (Routers(tr).empty()) {
    errors->Add(path,
                "at least one traffic router is required (istio, nginx, alb, smi, ambassador, "
                "appMesh, traefik, apisix or plugins)");
  }
  if (tr.has_max_traffic_weight()) {
    if (!tr.has_nginx() && tr.plugins().empty()) {
      errors->Add(Field(path, "maxTrafficWeight"), "is supported with nginx and plugins only");
    }
    if (tr.max_traffic_weight() <= 0) {
      errors->Add(Field(path, "maxTrafficWeight"),
                  absl::StrCat("must be greater than 0 (got ", tr.max_traffic_weight(), ")"));
    }
  }
  if (tr.has_istio()) {
    const v1::IstioTrafficRouting& istio = tr.istio();
    const std::string ip = Field(path, "istio");
    if (istio.has_virtual_service() && !istio.virtual_services().empty()) {
      errors->Add(ip, "only one of virtualService and virtualServices may be set");
    }
    if (!istio.has_virtual_service() && istio.virtual_services().empty()) {
      errors->Add(ip, "one of virtualService and virtualServices is required");
    }
    if (istio.has_virtual_service() && istio.virtual_service().name().empty()) {
      errors->Add(Field(Field(ip, "virtualService"), "name"), "required");
    }
    for (int i = 0; i < istio.virtual_services_size(); ++i) {
      if (istio.virtual_services(i).name().empty()) {
        errors->Add(Field(Index(Field(ip, "virtualServices"), i), "name"), "required");
      }
    }
    if (istio.has_destination_rule()) {
      const v1::IstioDestinationRule& dr = istio.destination_rule();
      const std::string dp = Field(ip, "destinationRule");
      if (dr.name().empty()) errors->Add(Field(dp, "name"), "required");
      if (dr.canary_subset_name().empty()) errors->Add(Field(dp, "canarySubsetName"), "required");
      if (dr.stable_subset_name().empty()) errors->Add(Field(dp, "stableSubsetName"), "required");
    }
  }
  if (tr.has_nginx()) {
    const v1::NginxTrafficRouting& nginx = tr.nginx();
    const bool one = !nginx.stable_ingress().empty();
    const bool many = !nginx.stable_ingresses().empty();
    if (one == many) {
      errors->Add(Field(path, "nginx"),
                  "exactly one of stableIngress and stableIngresses is required");
    }
  }
  if (tr.has_alb()) {
    const v1::ALBTrafficRouting& alb = tr.alb();
    if (alb.ingress().empty() == alb.ingresses().empty()) {
      errors->Add(Field(path, "alb"), "exactly one of ingress and ingresses is required");
    }
  }
  if (tr.has_ambassador() && tr.ambassador().mappings().empty()) {
    errors->Add(Field(Field(path, "ambassador"), "mappings"), "at least one mapping is required");
  }
  if (tr.has_app_mesh()) {
    const std::string ap = Field(path, "appMesh");
    if (!tr.app_mesh().has_virtual_service()) errors->Add(Field(ap, "virtualService"), "required");
    if (!tr.app_mesh().has_virtual_node_group()) {
      errors->Add(Field(ap, "virtualNodeGroup"), "required");
    }
  }
  if (tr.has_traefik() && tr.traefik().weighted_traefik_service_name().empty()) {
    errors->Add(Field(Field(path, "traefik"), "weightedTraefikServiceName"), "required");
  }
  if (tr.has_apisix() && tr.apisix().route().name().empty()) {
    errors->Add(Field(Field(Field(path, "apisix"), "route"), "name"), "required");
  }
  std::set<std::string> routes;
  for (int i = 0; i < tr.managed_routes_size(); ++i) {
    const std::string p = Field(Index(Field(path, "managedRoutes"), i), "name");
    if (tr.managed_routes(i).name().empty()) {
      errors->Add(p, "required");
    } else if (!routes.insert(tr.managed_routes(i).name()).second) {
      errors->Add(p, absl::StrCat("duplicate route \"", tr.managed_routes(i).name(), "\""));
    }
  }
}

// Argo requires both Services whenever a router shifts traffic between them.
bool RequiresCanaryStableServices(const v1::CanaryStrategy& c) {
  if (!c.has_traffic_routing()) return false;
  const v1::RolloutTrafficRouting& tr = c.traffic_routing();
  return (tr.has_alb() && !c.has_ping_pong()) ||
         (tr.has_istio() && !tr.istio().has_destination_rule()) || tr.has_smi() ||
         tr.has_apisix() || tr.has_ambassador() || tr.has_nginx() || tr.has_app_mesh() ||
         tr.has_traefik();
}

void CheckExperimentStep(absl::string_view path, const v1::RolloutExperimentStep& exp,
                         const v1::CanaryStrategy& canary, Errors* errors) {
  const std::string tp = Field(path, "templates");
  if (exp.templates().empty()) errors->Add(tp, "at least one template is required");
  std::set<std::string> names;
  int64_t weight_total = 0;
  for (int i = 0; i < exp.templates_size(); ++i) {
    const v1::RolloutExperimentTemplate& t = exp.templates(i);
    const std::string p = Index(tp, i);
    if (t.name().empty()) {
      errors->Add(Field(p, "name"), "required");
    } else if (!names.insert(t.name()).second) {
      errors->Add(Field(p, "name"), absl::StrCat("duplicate template name \"", t.name(), "\""));
    }
    if (t.spec_ref() != "stable" && t.spec_ref() != "canary") {
      errors->Add(Field(p, "specRef"),
                  absl::StrCat("must be stable or canary (got \"", t.spec_ref(), "\")"));
    }
    if (t.has_replicas()) CheckNonNegative(Field(p, "replicas"), t.replicas(), errors);
    if (t.has_selector()) CheckSelector(Field(p, "selector"), t.selector(), errors);
    if (t.has_weight()) {
      CheckRange(Field(p, "weight"), t.weight(), 0, 100, errors);
      weight_total += t.weight();
      if (!canary.has_traffic_routing()) {
        errors->Add(Field(p, "weight"), "needs spec.strategy.canary.trafficRouting");
      } else {
        const v1::RolloutTrafficRouting& tr = canary.traffic_routing();
        if (!tr.has_alb() && !tr.has_smi() && !tr.has_istio()) {
          errors->Add(Field(p, "weight"), "is supported with the alb, smi and istio routers only");
        }
      }
    }
  }
  if (weight_total > 100) {
    errors->Add(tp, absl::StrCat("template weights add up to more than 100 (", weight_total, ")"));
  }
  CheckGoDuration(Field(path, "duration"), exp.duration(), errors);
  std::set<std::string> analyses;
  for (int i = 0; i < exp.analyses_size(); ++i) {
    const v1::RolloutExperimentStepAnalysisTemplateRef& a = exp.analyses(i);
    const std::string p = Index(Field(path, "analyses"), i);
    if (a.name().empty()) {
      errors->Add(Field(p, "name"), "required");
    } else if (!analyses.insert(a.name()).second) {
      errors->Add(Field(p, "name"), absl::StrCat("duplicate analysis name \"", a.name(), "\""));
    }
    if (a.template_name().empty()) errors->Add(Field(p, "templateName"), "required");
    CheckRunArguments(Field(p, "args"), a.args(), errors);
    CheckArgFieldRefs(Field(p, "args"), a.args(), errors);
  }
  CheckDryRun(Field(path, "dryRun"), exp.dry_run(), errors);
  if (exp.has_scale_down_delay_seconds()) {
    CheckNonNegative(Field(path, "scaleDownDelaySeconds"), exp.scale_down_delay_seconds(), errors);
  }
}

void CheckStep(absl::string_view path, const v1::CanaryStep& step, const v1::CanaryStrategy& canary,
               int max_weight, Errors* errors) {
  // Argo allows setCanaryScale / setHeaderRoute / setMirrorRoute / plugin beside one of the four
  // "main" step kinds (its apisix example scales and routes in one step), never two main ones.
  std::vector<std::string> main;
  if (step.has_set_weight()) main.push_back("setWeight");
  if (step.has_pause()) main.push_back("pause");
  if (step.has_experiment()) main.push_back("experiment");
  if (step.has_analysis()) main.push_back("analysis");
  if (main.size() > 1) {
    errors->Add(path, absl::StrCat("only one of setWeight, pause, experiment and analysis may be "
                                   "set in a step (got ",
                                   absl::StrJoin(main, ", "), ")"));
  }
  if (main.empty() && !step.has_set_canary_scale() && !step.has_set_header_route() &&
      !step.has_set_mirror_route() && !step.has_plugin()) {
    errors->Add(path,
                "a step must set one of setWeight, pause, experiment, analysis, setCanaryScale, "
                "setHeaderRoute, setMirrorRoute or plugin");
  }
  const bool routed = canary.has_traffic_routing();
  const v1::RolloutTrafficRouting& tr = canary.traffic_routing();
  if (step.has_set_weight()) {
    CheckRange(Field(path, "setWeight"), step.set_weight(), 0, max_weight, errors);
  }
  if (step.has_pause() && !step.pause().duration().empty()) {
    absl::StatusOr<absl::Duration> d = PauseDuration(step.pause().duration());
    if (!d.ok()) {
      errors->Add(
          Field(Field(path, "pause"), "duration"),
          absl::StrCat(d.status().message(), " (seconds, or a number with a unit: 30s, 5m, 1h)"));
    } else if (*d < absl::ZeroDuration()) {
      errors->Add(Field(Field(path, "pause"), "duration"),
                  absl::StrCat("must not be negative (got ", step.pause().duration(), ")"));
    }
  }
  if (step.has_set_canary_scale()) {
    const v1::SetCanaryScale& s = step.set_canary_scale();
    const std::string p = Field(path, "setCanaryScale");
    if (!routed) errors->Add(p, "needs spec.strategy.canary.trafficRouting");
    if (!s.has_weight() && !s.has_replicas() && !s.has_match_traffic_weight()) {
      errors->Add(p, "one of weight, replicas and matchTrafficWeight is required");
    }
    if (s.has_weight()) CheckRange(Field(p, "weight"), s.weight(), 0, 100, errors);
    if (s.has_replicas()) CheckNonNegative(Field(p, "replicas"), s.replicas(), errors);
  }
  if (step.has_set_header_route()) {
    const std::string p = Field(path, "setHeaderRoute");
    if (!routed || (!tr.has_istio() && !tr.has_alb() && !tr.has_apisix() && tr.plugins().empty())) {
      errors->Add(p, "needs trafficRouting with istio, alb, apisix or a plugin");
    } else {
      CheckRouteName(p, step.set_header_route().name(), tr, errors);
      for (int j = 0; j < step.set_header_route().match_size(); ++j) {
        const v1::HeaderRoutingMatch& m = step.set_header_route().match(j);
        const std::string mp = Index(Field(p, "match"), j);
        if (m.header_name().empty()) errors->Add(Field(mp, "headerName"), "required");
        CheckStringMatch(Field(mp, "headerValue"),
                         m.has_header_value() ? &m.header_value() : nullptr, tr.has_alb(), errors);
      }
    }
  }
  if (step.has_set_mirror_route()) {
    const v1::SetMirrorRoute& mirror = step.set_mirror_route();
    const std::string p = Field(path, "setMirrorRoute");
    if (!routed || (!tr.has_istio() && tr.plugins().empty())) {
      errors->Add(p, "needs trafficRouting with istio or a plugin");
    } else {
      CheckRouteName(p, mirror.name(), tr, errors);
    }
    if (mirror.has_percentage()) {
      CheckRange(Field(p, "percentage"), mirror.percentage(), 0, 100, errors);
    }
    for (int j = 0; j < mirror.match_size(); ++j) {
      const v1::RouteMatch& m = mirror.match(j);
      const std::string mp = Index(Field(p, "match"), j);
      if (m.has_method()) CheckStringMatch(Field(mp, "method"), &m.method(), false, errors);
      if (m.has_path()) CheckStringMatch(Field(mp, "path"), &m.path(), false, errors);
      for (const auto& [name, value] : m.headers()) {
        CheckStringMatch(absl::StrCat(Field(mp, "headers"), "[\"", name, "\"]"), &value, false,
                         errors);
      }
    }
  }
  if (step.has_experiment()) {
    CheckExperimentStep(Field(path, "experiment"), step.experiment(), canary, errors);
  }
  if (step.has_analysis()) CheckAnalysis(Field(path, "analysis"), step.analysis(), errors);
  if (step.has_plugin() && step.plugin().name().empty()) {
    errors->Add(Field(Field(path, "plugin"), "name"), "required");
  }
}

void CheckCanary(absl::string_view path, const v1::CanaryStrategy& c, Errors* errors) {
  std::optional<int> surge;
  std::optional<int> unavailable;
  CheckIntOrPercent(Field(path, "maxSurge"), c.max_surge(), errors, &surge);
  CheckIntOrPercent(Field(path, "maxUnavailable"), c.max_unavailable(), errors, &unavailable);
  if (absl::EndsWith(c.max_unavailable(), "%") && unavailable.value_or(0) > 100) {
    errors->Add(Field(path, "maxUnavailable"),
                absl::StrCat("must not be more than 100% (got ", c.max_unavailable(), ")"));
  }
  // Unset means Argo's default of 25%.
  const int s = c.max_surge().empty() ? 25 : surge.value_or(-1);
  const int u = c.max_unavailable().empty() ? 25 : unavailable.value_or(-1);
  if (s == 0 && u == 0) {
    errors->Add(Field(path, "maxSurge"), "maxSurge and maxUnavailable must not both be 0");
  }
  if (!c.canary_service().empty() && c.canary_service() == c.stable_service()) {
    errors->Add(
        Field(path, "stableService"),
        absl::StrCat("must differ from canaryService (both are \"", c.stable_service(), "\")"));
  }
  if (c.has_ping_pong()) {
    const std::string pp = Field(path, "pingPong");
    const v1::PingPongSpec& ping = c.ping_pong();
    if (c.has_traffic_routing() && !c.traffic_routing().has_alb() &&
        !c.traffic_routing().has_istio() && c.traffic_routing().plugins().empty()) {
      errors->Add(pp, "needs trafficRouting with alb, istio or a plugin");
    }
    if (ping.ping_service().empty()) errors->Add(Field(pp, "pingService"), "required");
    if (ping.pong_service().empty()) errors->Add(Field(pp, "pongService"), "required");
    if (!ping.ping_service().empty() && ping.ping_service() == ping.pong_service()) {
      errors->Add(Field(pp, "pongService"), "must differ from pingService");
    }
    if (c.has_traffic_routing() && c.traffic_routing().has_alb() &&
        c.traffic_routing().alb().root_service().empty()) {
      errors->Add(Field(Field(Field(path, "trafficRouting"), "alb"), "rootService"),
                  "required with pingPong");
    }
  }
  if (RequiresCanaryStableServices(c)) {
    if (c.stable_service().empty()) {
      errors->Add(Field(path, "stableService"), "required when trafficRouting is set");
    }
    if (c.canary_service().empty()) {
      errors->Add(Field(path, "canaryService"), "required when trafficRouting is set");
    }
  }
  if (!c.has_traffic_routing()) {
    if (c.has_scale_down_delay_seconds()) {
      errors->Add(Field(path, "scaleDownDelaySeconds"), "can only be used with trafficRouting");
    }
    if (c.dynamic_stable_scale()) {
      errors->Add(Field(path, "dynamicStableScale"), "can only be used with trafficRouting");
    }
  } else {
    CheckTrafficRouting(Field(path, "trafficRouting"), c.traffic_routing(), errors);
    if (c.has_scale_down_delay_seconds() && c.dynamic_stable_scale()) {
      errors->Add(Field(path, "dynamicStableScale"),
                  "cannot be used together with scaleDownDelaySeconds");
    }
  }
  for (const auto& [name, value] :
       std::vector<std::pair<const char*, const std::optional<int32_t>>>{
           {"scaleDownDelaySeconds", c.has_scale_down_delay_seconds()
                                         ? std::optional<int32_t>(c.scale_down_delay_seconds())
                                         : std::nullopt},
           {"scaleDownDelayRevisionLimit",
            c.has_scale_down_delay_revision_limit()
                ? std::optional<int32_t>(c.scale_down_delay_revision_limit())
                : std::nullopt},
           {"abortScaleDownDelaySeconds",
            c.has_abort_scale_down_delay_seconds()
                ? std::optional<int32_t>(c.abort_scale_down_delay_seconds())
                : std::nullopt},
           {"minPodsPerReplicaSet", c.has_min_pods_per_replica_set()
                                        ? std::optional<int32_t>(c.min_pods_per_replica_set())
                                        : std::nullopt}}) {
    if (value.has_value()) CheckNonNegative(Field(path, name), *value, errors);
  }
  const int max_weight = c.traffic_routing().has_max_traffic_weight()
                             ? c.traffic_routing().max_traffic_weight()
                             : kDefaultMaxTrafficWeight;
  for (int i = 0; i < c.steps_size(); ++i) {
    CheckStep(Index(Field(path, "steps"), i), c.steps(i), c, max_weight, errors);
  }
  if (c.has_analysis()) {
    const v1::RolloutAnalysisBackground& bg = c.analysis();
    const std::string ap = Field(path, "analysis");
    CheckAnalysisTemplateRefs(Field(ap, "templates"), bg.templates(), /*required=*/true, errors);
    CheckRunArguments(Field(ap, "args"), bg.args(), errors);
    CheckArgFieldRefs(Field(ap, "args"), bg.args(), errors);
    CheckDryRun(Field(ap, "dryRun"), bg.dry_run(), errors);
    CheckMeasurementRetention(Field(ap, "measurementRetention"), bg.measurement_retention(),
                              errors);
    if (bg.has_starting_step()) {
      CheckRange(Field(ap, "startingStep"), bg.starting_step(), 0, c.steps_size(), errors);
    }
  }
  if (c.has_anti_affinity())
    CheckAntiAffinity(Field(path, "antiAffinity"), c.anti_affinity(), errors);
  if (c.has_replica_progress_threshold()) {
    const v1::ReplicaProgressThreshold& t = c.replica_progress_threshold();
    const std::string tp = Field(path, "replicaProgressThreshold");
    if (t.type() == "Percent") {
      CheckRange(Field(tp, "value"), t.value(), 0, 100, errors);
    } else if (t.type() == "Pods") {
      CheckNonNegative(Field(tp, "value"), t.value(), errors);
    } else {
      errors->Add(Field(tp, "type"),
                  absl::StrCat("must be Percent or Pods (got \"", t.type(), "\")"));
    }
  }
}

void CheckBlueGreen(absl::string_view path, const v1::BlueGreenStrategy& bg,
                    int revision_history_limit, Errors* errors) {
  if (bg.active_service().empty()) {
    errors->Add(Field(path, "activeService"), "required");
  } else if (bg.active_service() == bg.preview_service()) {
    errors->Add(
        Field(path, "previewService"),
        absl::StrCat("must differ from activeService (both are \"", bg.active_service(), "\")"));
  }
  if (bg.has_scale_down_delay_revision_limit()) {
    CheckNonNegative(Field(path, "scaleDownDelayRevisionLimit"),
                     bg.scale_down_delay_revision_limit(), errors);
    if (bg.scale_down_delay_revision_limit() > revision_history_limit) {
      errors->Add(
          Field(path, "scaleDownDelayRevisionLimit"),
          absl::StrCat("must not exceed spec.revisionHistoryLimit (", revision_history_limit,
                       "), got ", bg.scale_down_delay_revision_limit()));
    }
  }
  if (bg.has_preview_replica_count()) {
    CheckNonNegative(Field(path, "previewReplicaCount"), bg.preview_replica_count(), errors);
  }
  if (bg.has_auto_promotion_seconds()) {
    CheckNonNegative(Field(path, "autoPromotionSeconds"), bg.auto_promotion_seconds(), errors);
  }
  if (bg.has_scale_down_delay_seconds()) {
    CheckNonNegative(Field(path, "scaleDownDelaySeconds"), bg.scale_down_delay_seconds(), errors);
  }
  if (bg.has_abort_scale_down_delay_seconds()) {
    CheckNonNegative(Field(path, "abortScaleDownDelaySeconds"), bg.abort_scale_down_delay_seconds(),
                     errors);
  }
  std::optional<int> unavailable;
  CheckIntOrPercent(Field(path, "maxUnavailable"), bg.max_unavailable(), errors, &unavailable);
  if (bg.has_pre_promotion_analysis()) {
    CheckAnalysis(Field(path, "prePromotionAnalysis"), bg.pre_promotion_analysis(), errors);
  }
  if (bg.has_post_promotion_analysis()) {
    CheckAnalysis(Field(path, "postPromotionAnalysis"), bg.post_promotion_analysis(), errors);
  }
  if (bg.has_anti_affinity()) {
    CheckAntiAffinity(Field(path, "antiAffinity"), bg.anti_affinity(), errors);
  }
}

}  // namespace

absl::Status ValidateRollout(const v1::Rollout& rollout) {
  Errors errors;
  const v1::RolloutSpec& spec = rollout.spec();
  const std::string p = "spec";
  if (spec.has_replicas()) CheckNonNegative(Field(p, "replicas"), spec.replicas(), &errors);
  if (spec.has_workload_ref()) {
    const v1::ObjectRef& ref = spec.workload_ref();
    const std::string wp = Field(p, "workloadRef");
    if (ref.name().empty()) errors.Add(Field(wp, "name"), "required");
    if (ref.kind() != "Deployment" && ref.kind() != "ReplicaSet" && ref.kind() != "PodTemplate") {
      errors.Add(
          Field(wp, "kind"),
          absl::StrCat("must be Deployment, ReplicaSet or PodTemplate (got \"", ref.kind(), "\")"));
    }
    if (!ref.scale_down().empty() && ref.scale_down() != "never" &&
        ref.scale_down() != "onsuccess" && ref.scale_down() != "progressively") {
      errors.Add(Field(wp, "scaleDown"),
                 absl::StrCat("must be never, onsuccess or progressively (got \"", ref.scale_down(),
                              "\")"));
    }
    if (!TemplateEmpty(spec)) {
      errors.Add(Field(p, "template"), "must be empty when workloadRef is set");
    }
    if (spec.has_selector()) CheckSelector(Field(p, "selector"), spec.selector(), &errors);
  } else {
    CheckSelectorAndTemplate(p, "selector", spec.has_selector() ? &spec.selector() : nullptr,
                             spec.template_(), &errors);
  }
  const int min_ready = spec.min_ready_seconds();
  CheckNonNegative(Field(p, "minReadySeconds"), min_ready, &errors);
  const int history = spec.has_revision_history_limit() ? spec.revision_history_limit()
                                                        : kDefaultRevisionHistoryLimit;
  CheckNonNegative(Field(p, "revisionHistoryLimit"), history, &errors);
  const int deadline = spec.has_progress_deadline_seconds() ? spec.progress_deadline_seconds()
                                                            : kDefaultProgressDeadlineSeconds;
  if (deadline < 0) {
    CheckNonNegative(Field(p, "progressDeadlineSeconds"), deadline, &errors);
  } else if (deadline <= min_ready) {
    errors.Add(
        Field(p, "progressDeadlineSeconds"),
        absl::StrCat("must be greater than minReadySeconds (", min_ready, "), got ", deadline));
  }
  if (spec.has_rollback_window() && spec.rollback_window().has_revisions()) {
    CheckNonNegative(Field(Field(p, "rollbackWindow"), "revisions"),
                     spec.rollback_window().revisions(), &errors);
  }
  if (spec.has_analysis()) {
    const std::string ap = Field(p, "analysis");
    if (spec.analysis().has_successful_run_history_limit()) {
      CheckNonNegative(Field(ap, "successfulRunHistoryLimit"),
                       spec.analysis().successful_run_history_limit(), &errors);
    }
    if (spec.analysis().has_unsuccessful_run_history_limit()) {
      CheckNonNegative(Field(ap, "unsuccessfulRunHistoryLimit"),
                       spec.analysis().unsuccessful_run_history_limit(), &errors);
    }
  }
  if (!spec.restart_at().empty()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, spec.restart_at(), &t, &err)) {
      errors.Add(Field(p, "restartAt"),
                 absl::StrCat("must be an RFC 3339 time (got \"", spec.restart_at(), "\")"));
    }
  }
  const std::string sp = Field(p, "strategy");
  const v1::RolloutStrategy& strategy = spec.strategy();
  if (!strategy.has_canary() && !strategy.has_blue_green()) {
    errors.Add(sp, "one of canary and blueGreen is required");
  } else if (strategy.has_canary() && strategy.has_blue_green()) {
    errors.Add(sp, "only one of canary and blueGreen may be set");
  } else if (strategy.has_canary()) {
    CheckCanary(Field(sp, "canary"), strategy.canary(), &errors);
  } else {
    CheckBlueGreen(Field(sp, "blueGreen"), strategy.blue_green(), history, &errors);
  }
  return errors.ToStatus();
}

}  // namespace argonaut::rollout::validation
