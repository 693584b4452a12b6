// Checks of a Rollout against the objects it names, when they are at hand (the other documents
// of the file `argonaut rollouts lint` reads, as Argo's lint does): Services' selectors, the
// stable Ingress's backends, and the AnalysisTemplates' arguments and counts.

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/manifest/codec.h"
#include "services/rollout/validation/checks.h"
#include "services/rollout/validation/validate.h"

namespace argonaut::rollout::validation {
namespace {

using internal::Errors;
using internal::Field;
using internal::Index;
using nlohmann::json;

constexpr char kHashLabel[] = "rollouts-pod-template-hash";

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Child(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// Objects of the file by kind and name.
using Objects = std::map<std::pair<std::string, std::string>, const json*>;

const json* Find(const Objects& objects, const std::string& kind, const std::string& name) {
  auto it = objects.find({kind, name});
  return it == objects.end() ? nullptr : it->second;
}

// A Service the rollout switches must select only labels its pods carry (the role's ephemeral
// labels count for that role's Service); the controller adds the hash label itself.
void CheckService(const std::string& path, const std::string& name,
                  const google::protobuf::Map<std::string, std::string>& pod_labels,
                  const google::protobuf::Map<std::string, std::string>* role_labels,
                  const Objects& objects, Errors* errors) {
  if (name.empty()) return;
  const json* svc = Find(objects, "Service", name);
  if (svc == nullptr) return;
  const json& selector = Child(Child(*svc, "spec"), "selector");
  if (!selector.is_object()) return;
  for (const auto& [key, value] : selector.items()) {
    if (key == kHashLabel || !value.is_string()) continue;
    const std::string v = value.get<std::string>();
    auto pod = pod_labels.find(key);
    if (pod != pod_labels.end() && pod->second == v) continue;
    if (role_labels != nullptr) {
      auto role = role_labels->find(key);
      if (role != role_labels->end() && role->second == v) continue;
    }
    errors->Add(path, absl::StrCat("Service \"", name, "\" selects ", key, "=", v,
                                   ", which the rollout's pods do not carry"));
  }
}

// Service names an Ingress routes to (networking/v1 `service.name`, v1beta1 `serviceName`).
std::set<std::string> IngressBackends(const json& ingress) {
  std::set<std::string> out;
  const auto add = [&out](const json& backend) {
    if (std::string n = Str(Child(backend, "service"), "name"); !n.empty()) out.insert(n);
    if (std::string n = Str(backend, "serviceName"); !n.empty()) out.insert(n);
  };
  const json& spec = Child(ingress, "spec");
  add(Child(spec, "defaultBackend"));
  add(Child(spec, "backend"));
  const json& rules = Child(spec, "rules");
  if (!rules.is_array()) return out;
  for (const json& rule : rules) {
    const json& paths = Child(Child(rule, "http"), "paths");
    if (!paths.is_array()) continue;
    for (const json& p : paths) add(Child(p, "backend"));
  }
  return out;
}

void CheckIngress(const std::string& path, const std::string& ingress_name,
                  const std::string& service, const Objects& objects, Errors* errors) {
  if (ingress_name.empty() || service.empty()) return;
  const json* ingress = Find(objects, "Ingress", ingress_name);
  if (ingress == nullptr) return;
  if (IngressBackends(*ingress).count(service) == 0) {
    errors->Add(path, absl::StrCat("Ingress \"", ingress_name, "\" has no rule with Service \"",
                                   service, "\" as its backend"));
  }
}

// The rollout-side analysis block (templates + args), wherever it appears.
struct AnalysisUse {
  std::string path;
  bool background;
  std::vector<std::pair<std::string, bool>> templates;  // name, clusterScope
  std::set<std::string> args;
};

template <typename A>
AnalysisUse Use(std::string path, bool background, const A& analysis) {
  AnalysisUse use{std::move(path), background, {}, {}};
  for (const v1::AnalysisTemplateRef& t : analysis.templates()) {
    use.templates.emplace_back(t.template_name(), t.cluster_scope());
  }
  for (const v1::AnalysisRunArgument& a : analysis.args()) use.args.insert(a.name());
  return use;
}

// Arguments without a value must come from the rollout; step/pre/post runs must end (a metric
// with an interval and no count would keep the rollout waiting forever).
void CheckAnalysisUse(const AnalysisUse& use, const Objects& objects, Errors* errors) {
  for (const auto& [name, cluster] : use.templates) {
    const json* doc = Find(objects, cluster ? "ClusterAnalysisTemplate" : "AnalysisTemplate", name);
    if (doc == nullptr) continue;
    v1::AnalysisTemplate tmpl;
    if (!manifest::FromJson(*doc, &tmpl).ok()) continue;  // reported on its own document
    const std::string label =
        absl::StrCat(cluster ? "ClusterAnalysisTemplate" : "AnalysisTemplate", " \"", name, "\"");
    for (const v1::Argument& arg : tmpl.spec().args()) {
      if (arg.has_value() || arg.has_value_from() || use.args.count(arg.name())) continue;
      errors->Add(use.path,
                  absl::StrCat(label, ": argument \"", arg.name(), "\" was not supplied"));
    }
    if (use.background) continue;
    for (const v1::Metric& m : tmpl.spec().metrics()) {
      if (!m.interval().empty() && m.count().empty()) {
        errors->Add(use.path, absl::StrCat(label, ": metric \"", m.name(),
                                           "\" has an interval and no count, so it never "
                                           "completes"));
      }
    }
  }
}

}  // namespace

absl::Status ValidateReferences(const v1::Rollout& rollout, const std::vector<json>& objects) {
  Objects index;
  for (const json& o : objects) {
    const std::string kind = Str(o, "kind");
    const std::string name = Str(Child(o, "metadata"), "name");
    if (!kind.empty() && !name.empty()) index[{kind, name}] = &o;
  }
  Errors errors;
  const v1::RolloutSpec& spec = rollout.spec();
  const auto& labels = spec.template_().metadata().labels();
  std::vector<AnalysisUse> uses;
  if (spec.strategy().has_canary()) {
    const v1::CanaryStrategy& c = spec.strategy().canary();
    const std::string p = "spec.strategy.canary";
    CheckService(Field(p, "stableService"), c.stable_service(), labels,
                 c.has_stable_metadata() ? &c.stable_metadata().labels() : nullptr, index, &errors);
    CheckService(Field(p, "canaryService"), c.canary_service(), labels,
                 c.has_canary_metadata() ? &c.canary_metadata().labels() : nullptr, index, &errors);
    CheckService(Field(Field(p, "pingPong"), "pingService"), c.ping_pong().ping_service(), labels,
                 nullptr, index, &errors);
    CheckService(Field(Field(p, "pingPong"), "pongService"), c.ping_pong().pong_service(), labels,
                 nullptr, index, &errors);
    const v1::RolloutTrafficRouting& tr = c.traffic_routing();
    const std::string tp = Field(p, "trafficRouting");
    if (tr.has_nginx()) {
      CheckIngress(Field(Field(tp, "nginx"), "stableIngress"), tr.nginx().stable_ingress(),
                   c.stable_service(), index, &errors);
      for (int i = 0; i < tr.nginx().stable_ingresses_size(); ++i) {
        CheckIngress(Index(Field(Field(tp, "nginx"), "stableIngresses"), i),
                     tr.nginx().stable_ingresses(i), c.stable_service(), index, &errors);
      }
    }
    if (tr.has_alb()) {
      const std::string service =
          tr.alb().root_service().empty() ? c.stable_service() : tr.alb().root_service();
      CheckIngress(Field(Field(tp, "alb"), "ingress"), tr.alb().ingress(), service, index, &errors);
      for (int i = 0; i < tr.alb().ingresses_size(); ++i) {
        CheckIngress(Index(Field(Field(tp, "alb"), "ingresses"), i), tr.alb().ingresses(i), service,
                     index, &errors);
      }
    }
    if (c.has_analysis()) uses.push_back(Use(Field(p, "analysis"), true, c.analysis()));
    for (int i = 0; i < c.steps_size(); ++i) {
      if (c.steps(i).has_analysis()) {
        uses.push_back(
            Use(Field(Index(Field(p, "steps"), i), "analysis"), false, c.steps(i).analysis()));
      }
    }
  } else if (spec.strategy().has_blue_green()) {
    const v1::BlueGreenStrategy& bg = spec.strategy().blue_green();
    const std::string p = "spec.strategy.blueGreen";
    CheckService(Field(p, "activeService"), bg.active_service(), labels,
                 bg.has_active_metadata() ? &bg.active_metadata().labels() : nullptr, index,
                 &errors);
    CheckService(Field(p, "previewService"), bg.preview_service(), labels,
                 bg.has_preview_metadata() ? &bg.preview_metadata().labels() : nullptr, index,
                 &errors);
    if (bg.has_pre_promotion_analysis()) {
      uses.push_back(Use(Field(p, "prePromotionAnalysis"), false, bg.pre_promotion_analysis()));
    }
    if (bg.has_post_promotion_analysis()) {
      uses.push_back(Use(Field(p, "postPromotionAnalysis"), false, bg.post_promotion_analysis()));
    }
  }
  for (const AnalysisUse& use : uses) CheckAnalysisUse(use, index, &errors);
  return errors.ToStatus();
}

std::vector<std::string> LintDocuments(const std::vector<json>& docs) {
  std::vector<std::string> problems;
  for (size_t i = 0; i < docs.size(); ++i) {
    const json& doc = docs[i];
    const std::string kind = Str(doc, "kind");
    if (!IsRolloutKind(kind)) continue;
    const std::string where =
        absl::StrCat("doc ", i + 1, " (", kind, " ", Str(Child(doc, "metadata"), "name"), "): ");
    if (absl::Status s = ValidateManifest(doc); !s.ok()) {
      problems.push_back(absl::StrCat(where, s.message()));
      continue;
    }
    if (kind != "Rollout") continue;
    v1::Rollout rollout;
    if (!manifest::FromJson(doc, &rollout).ok()) continue;  // ValidateManifest decoded it
    if (absl::Status s = ValidateReferences(rollout, docs); !s.ok()) {
      problems.push_back(absl::StrCat(where, s.message()));
    }
  }
  return problems;
}

}  // namespace argonaut::rollout::validation
