#include "lib/cluster/workloads/validation.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/cluster/workloads/deployment.h"
#include "lib/cluster/workloads/probe.h"

namespace argonaut::cluster::workloads {
namespace {

constexpr int kMaxObjectDepth = 64;

absl::Status Invalid(std::string_view path, std::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(path), ": ", AbslView(msg)));
}

std::string Quote(std::string_view v) {
  return absl::StrCat("\"", AbslView(v.substr(0, 80)), v.size() > 80 ? "...\"" : "\"");
}

bool IsLabelChar(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-'; }

// Reads an optional object field, erroring on other types.
absl::StatusOr<const Json*> ObjectField(const Json& obj, std::string_view key,
                                        const std::string& path) {
  const Json* v = Field(obj, key);
  if (v != nullptr && !v->is_object()) return Invalid(path, "expected object");
  return v;
}

absl::StatusOr<const Json*> ArrayField(const Json& obj, std::string_view key,
                                       const std::string& path) {
  const Json* v = Field(obj, key);
  if (v != nullptr && !v->is_array()) return Invalid(path, "expected array");
  return v;
}

absl::Status NonNegative(const Json& obj, std::string_view key, const std::string& path,
                         bool positive = false) {
  ASSIGN_OR_RETURN(std::optional<int64_t> v, OptionalInt64Field(obj, key, path));
  if (v && (*v < 0 || (positive && *v == 0))) {
    return Invalid(path,
                   positive ? "must be greater than 0" : "must be greater than or equal to 0");
  }
  if (v && *v > INT32_MAX) return Invalid(path, "must fit in a 32-bit integer");
  return absl::OkStatus();
}

absl::Status ValidateMeta(const Json& obj, bool service_name) {
  if (!obj.is_object()) return absl::InvalidArgumentError("object: expected JSON object");
  const Json* meta = Field(obj, "metadata");
  if (meta == nullptr || !meta->is_object()) return Invalid("metadata", "required");
  ASSIGN_OR_RETURN(const std::string name, StringField(*meta, "name", "", "metadata.name"));
  ASSIGN_OR_RETURN(const std::string gen,
                   StringField(*meta, "generateName", "", "metadata.generateName"));
  if (name.empty() && gen.empty())
    return Invalid("metadata.name", "name or generateName is required");
  if (!name.empty()) {
    RETURN_IF_ERROR(service_name ? ValidateDns1035Label(name, "metadata.name")
                                 : ValidateDns1123Subdomain(name, "metadata.name"));
  }
  ASSIGN_OR_RETURN(const std::string ns, StringField(*meta, "namespace", "", "metadata.namespace"));
  if (!ns.empty()) RETURN_IF_ERROR(ValidateDns1123Label(ns, "metadata.namespace"));
  if (const Json* labels = Field(*meta, "labels")) {
    RETURN_IF_ERROR(ValidateLabels(*labels, "metadata.labels"));
  }
  if (const Json* ann = Field(*meta, "annotations")) {
    if (!ann->is_object()) return Invalid("metadata.annotations", "expected object");
    size_t total = 0;
    for (const auto& [k, v] : ann->items()) {
      if (!v.is_string())
        return Invalid(absl::StrCat("metadata.annotations.", k), "expected string");
      total += k.size() + v.get_ref<const std::string&>().size();
    }
    if (total > 256 * 1024)
      return Invalid("metadata.annotations", "total size must be at most 256 KiB");
  }
  return CheckDepth(obj, kMaxObjectDepth, "object");
}

absl::Status ValidateContainerPorts(const Json& c, const std::string& path,
                                    std::set<std::string>& port_names) {
  ASSIGN_OR_RETURN(const Json* ports, ArrayField(c, "ports", path + ".ports"));
  if (ports == nullptr) return absl::OkStatus();
  for (size_t i = 0; i < ports->size(); ++i) {
    const Json& p = (*ports)[i];
    const std::string pp = absl::StrCat(path, ".ports[", i, "]");
    if (!p.is_object()) return Invalid(pp, "expected object");
    ASSIGN_OR_RETURN(std::optional<int64_t> port,
                     OptionalInt64Field(p, "containerPort", pp + ".containerPort"));
    if (!port) return Invalid(pp + ".containerPort", "required");
    if (*port < 1 || *port > 65535)
      return Invalid(pp + ".containerPort", "must be between 1 and 65535, inclusive");
    ASSIGN_OR_RETURN(std::optional<int64_t> host,
                     OptionalInt64Field(p, "hostPort", pp + ".hostPort"));
    if (host && (*host < 0 || *host > 65535))
      return Invalid(pp + ".hostPort", "must be between 1 and 65535, inclusive");
    ASSIGN_OR_RETURN(const std::string proto, StringField(p, "protocol", "TCP", pp + ".protocol"));
    if (proto != "TCP" && proto != "UDP" && proto != "SCTP") {
      return Invalid(pp + ".protocol",
                     absl::StrCat("unsupported value ", Quote(proto),
                                  ": supported values: \"TCP\", \"UDP\", \"SCTP\""));
    }
    ASSIGN_OR_RETURN(const std::string name, StringField(p, "name", "", pp + ".name"));
    if (!name.empty()) {
      // IANA service name: <= 15, lowercase alphanumerics and '-', at least one letter.
      bool letter = false, ok = name.size() <= 15 && name.front() != '-' && name.back() != '-' &&
                                name.find("--") == std::string::npos;
      for (char ch : name) {
        letter = letter || absl::ascii_islower(ch);
        ok = ok && IsLabelChar(ch);
      }
      if (!ok || !letter)
        return Invalid(pp + ".name",
                       absl::StrCat(Quote(name),
                                    " must be an IANA_SVC_NAME (at most 15 characters, lowercase "
                                    "alphanumerics and '-', at least one letter)"));
      if (!port_names.insert(name).second)
        return Invalid(pp + ".name", absl::StrCat("duplicate value ", Quote(name)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateContainer(const Json& c, const std::string& path, bool init,
                               std::set<std::string>& names, std::set<std::string>& port_names) {
  if (!c.is_object()) return Invalid(path, "expected object");
  ASSIGN_OR_RETURN(const std::string name, StringField(c, "name", "", path + ".name"));
  if (name.empty()) return Invalid(path + ".name", "required");
  RETURN_IF_ERROR(ValidateDns1123Label(name, path + ".name"));
  if (!names.insert(name).second)
    return Invalid(path + ".name", absl::StrCat("duplicate value ", Quote(name)));
  ASSIGN_OR_RETURN(const std::string image, StringField(c, "image", "", path + ".image"));
  if (image.empty()) return Invalid(path + ".image", "required");
  for (const char* key : {"command", "args"}) {
    ASSIGN_OR_RETURN(const Json* list, ArrayField(c, key, absl::StrCat(path, ".", key)));
    if (list == nullptr) continue;
    for (size_t i = 0; i < list->size(); ++i) {
      if (!(*list)[i].is_string())
        return Invalid(absl::StrCat(path, ".", key, "[", i, "]"), "expected string");
    }
  }
  ASSIGN_OR_RETURN(const Json* env, ArrayField(c, "env", path + ".env"));
  if (env != nullptr) {
    for (size_t i = 0; i < env->size(); ++i) {
      const std::string ep = absl::StrCat(path, ".env[", i, "]");
      if (!(*env)[i].is_object()) return Invalid(ep, "expected object");
      ASSIGN_OR_RETURN(const std::string ename, StringField((*env)[i], "name", "", ep + ".name"));
      if (ename.empty()) return Invalid(ep + ".name", "required");
      if (ename.find('=') != std::string::npos)
        return Invalid(ep + ".name", "must not contain '='");
      if (Field((*env)[i], "value") && Field((*env)[i], "valueFrom")) {
        return Invalid(ep + ".valueFrom", "may not be specified when `value` is not empty");
      }
    }
  }
  RETURN_IF_ERROR(ValidateContainerPorts(c, path, port_names));
  for (auto [key, kind] : {std::pair{"livenessProbe", ProbeKind::kLiveness},
                           {"readinessProbe", ProbeKind::kReadiness},
                           {"startupProbe", ProbeKind::kStartup}}) {
    const Json* probe = Field(c, key);
    if (probe == nullptr) continue;
    if (init) return Invalid(absl::StrCat(path, ".", key), "may not be set for init containers");
    RETURN_IF_ERROR(ParseProbe(*probe, kind, absl::StrCat(path, ".", key)).status());
  }
  return absl::OkStatus();
}

// Selector must be non-empty and match the template labels (RS, Deployment, Job).
absl::Status ValidateSelectorAndTemplate(const Json& spec, bool selector_required) {
  const Json* selector = Field(spec, "selector");
  const Json* tmpl = Field(spec, "template");
  if (tmpl == nullptr || !tmpl->is_object()) return Invalid("spec.template", "required");
  ASSIGN_OR_RETURN(const Json* tmeta, ObjectField(*tmpl, "metadata", "spec.template.metadata"));
  const Json* labels = tmeta == nullptr ? nullptr : Field(*tmeta, "labels");
  if (labels != nullptr) RETURN_IF_ERROR(ValidateLabels(*labels, "spec.template.metadata.labels"));
  if (selector == nullptr) {
    return selector_required ? Invalid("spec.selector", "required") : absl::OkStatus();
  }
  if (!selector->is_object()) return Invalid("spec.selector", "expected object");
  const Json* ml = Field(*selector, "matchLabels");
  const Json* me = Field(*selector, "matchExpressions");
  if ((ml == nullptr || (ml->is_object() && ml->empty())) &&
      (me == nullptr || (me->is_array() && me->empty()))) {
    return Invalid("spec.selector", "empty selector is invalid for this resource");
  }
  if (ml != nullptr) RETURN_IF_ERROR(ValidateLabels(*ml, "spec.selector.matchLabels"));
  static const Json kNone = Json::object();
  ASSIGN_OR_RETURN(const bool match,
                   SelectorMatches(*selector, labels ? *labels : kNone, "spec.selector"));
  if (!match)
    return Invalid("spec.template.metadata.labels", "`selector` does not match template `labels`");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDns1123Label(std::string_view v, std::string_view path) {
  bool ok = !v.empty() && v.size() <= 63 && absl::ascii_isalnum(v.front()) &&
            absl::ascii_isalnum(v.back());
  for (char c : v) ok = ok && IsLabelChar(c);
  if (!ok) {
    return Invalid(path, absl::StrCat(Quote(v),
                                      " must be a DNS-1123 label: at most 63 lowercase "
                                      "alphanumerics or '-', starting and ending alphanumeric"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDns1123Subdomain(std::string_view v, std::string_view path) {
  // Kubernetes' IsDNS1123Subdomain: 253 characters in all; the parts
  // between dots are not limited to 63 (pod names often exceed that).
  bool ok = !v.empty() && v.size() <= 253;
  if (ok) {
    for (absl::string_view part : absl::StrSplit(AbslView(v), '.')) {
      ok = ok && !part.empty() && absl::ascii_isalnum(part.front()) &&
           absl::ascii_isalnum(part.back());
      for (char c : part) ok = ok && ((c >= 'a' && c <= 'z') || absl::ascii_isdigit(c) || c == '-');
    }
  }
  if (!ok) {
    return Invalid(path, absl::StrCat(Quote(v),
                                      " must be a DNS-1123 subdomain: at most 253 "
                                      "lowercase alphanumerics, '-' or '.', each part starting "
                                      "and ending alphanumeric"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDns1035Label(std::string_view v, std::string_view path) {
  if (v.empty() || !absl::ascii_islower(v.front()) || !ValidateDns1123Label(v, path).ok()) {
    return Invalid(path, absl::StrCat(Quote(v),
                                      " must be a DNS-1035 label: at most 63 lowercase "
                                      "alphanumerics or '-', starting with a letter"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabels(const Json& labels, std::string_view path) {
  if (!labels.is_object()) return Invalid(path, "expected object");
  auto name_ok = [](std::string_view s, bool allow_empty) {
    if (s.empty()) return allow_empty;
    if (s.size() > 63 || !absl::ascii_isalnum(s.front()) || !absl::ascii_isalnum(s.back())) {
      return false;
    }
    for (char c : s) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return false;
    }
    return true;
  };
  for (const auto& [k, v] : labels.items()) {
    const std::string kp = absl::StrCat(AbslView(path), ".", k.substr(0, 80));
    std::string_view key = k;
    const size_t slash = key.find('/');
    if (slash != std::string_view::npos) {
      if (!ValidateDns1123Subdomain(key.substr(0, slash), kp).ok()) {
        return Invalid(kp, "label key prefix must be a DNS-1123 subdomain");
      }
      key = key.substr(slash + 1);
    }
    if (!name_ok(key, false)) {
      return Invalid(kp,
                     "label key must be at most 63 alphanumerics, '-', '_' or '.', starting "
                     "and ending alphanumeric");
    }
    if (!v.is_string()) return Invalid(kp, "label value must be a string");
    if (!name_ok(v.get_ref<const std::string&>(), true)) {
      return Invalid(kp, absl::StrCat("label value ", Quote(v.get_ref<const std::string&>()),
                                      " must be empty or at most 63 alphanumerics, '-', '_' or "
                                      "'.', starting and ending alphanumeric"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePodSpec(const Json& spec, std::string_view path_view,
                             const std::vector<std::string_view>& restart_policies) {
  const std::string path(path_view);
  if (!spec.is_object()) return Invalid(path, "required");
  std::set<std::string> names, port_names;
  ASSIGN_OR_RETURN(const Json* inits, ArrayField(spec, "initContainers", path + ".initContainers"));
  if (inits != nullptr) {
    for (size_t i = 0; i < inits->size(); ++i) {
      RETURN_IF_ERROR(ValidateContainer((*inits)[i], absl::StrCat(path, ".initContainers[", i, "]"),
                                        true, names, port_names));
    }
  }
  ASSIGN_OR_RETURN(const Json* containers, ArrayField(spec, "containers", path + ".containers"));
  if (containers == nullptr || containers->empty())
    return Invalid(path + ".containers", "required");
  for (size_t i = 0; i < containers->size(); ++i) {
    RETURN_IF_ERROR(ValidateContainer((*containers)[i], absl::StrCat(path, ".containers[", i, "]"),
                                      false, names, port_names));
  }
  ASSIGN_OR_RETURN(const std::string policy,
                   StringField(spec, "restartPolicy", "Always", path + ".restartPolicy"));
  if (policy != "Always" && policy != "OnFailure" && policy != "Never") {
    return Invalid(path + ".restartPolicy",
                   absl::StrCat("unsupported value ", Quote(policy),
                                ": supported values: \"Always\", \"OnFailure\", \"Never\""));
  }
  if (!restart_policies.empty() && std::find(restart_policies.begin(), restart_policies.end(),
                                             policy) == restart_policies.end()) {
    std::vector<std::string> quoted;
    for (std::string_view p : restart_policies) quoted.push_back(Quote(p));
    return Invalid(path + ".restartPolicy",
                   absl::StrCat("unsupported value ", Quote(policy),
                                ": supported values: ", absl::StrJoin(quoted, ", ")));
  }
  RETURN_IF_ERROR(
      NonNegative(spec, "activeDeadlineSeconds", path + ".activeDeadlineSeconds", true));
  RETURN_IF_ERROR(
      NonNegative(spec, "terminationGracePeriodSeconds", path + ".terminationGracePeriodSeconds"));
  ASSIGN_OR_RETURN(const std::string node, StringField(spec, "nodeName", "", path + ".nodeName"));
  if (!node.empty()) RETURN_IF_ERROR(ValidateDns1123Subdomain(node, path + ".nodeName"));
  return absl::OkStatus();
}

absl::Status ValidatePod(const Json& pod) {
  RETURN_IF_ERROR(ValidateMeta(pod, false));
  const Json* spec = Field(pod, "spec");
  if (spec == nullptr) return Invalid("spec", "required");
  return ValidatePodSpec(*spec, "spec");
}

namespace {
absl::Status ValidateReplicated(const Json& obj) {
  RETURN_IF_ERROR(ValidateMeta(obj, false));
  const Json* spec = Field(obj, "spec");
  if (spec == nullptr || !spec->is_object()) return Invalid("spec", "required");
  RETURN_IF_ERROR(NonNegative(*spec, "replicas", "spec.replicas"));
  RETURN_IF_ERROR(NonNegative(*spec, "minReadySeconds", "spec.minReadySeconds"));
  RETURN_IF_ERROR(ValidateSelectorAndTemplate(*spec, true));
  const Json* tspec = FieldPath(*spec, {"template", "spec"});
  if (tspec == nullptr) return Invalid("spec.template.spec", "required");
  return ValidatePodSpec(*tspec, "spec.template.spec", {"Always"});
}
}  // namespace

absl::Status ValidateReplicaSet(const Json& rs) { return ValidateReplicated(rs); }

absl::Status ValidateDeployment(const Json& d) {
  RETURN_IF_ERROR(ValidateReplicated(d));
  const Json& spec = d["spec"];
  RETURN_IF_ERROR(NonNegative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit"));
  RETURN_IF_ERROR(
      NonNegative(spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds", true));
  RETURN_IF_ERROR(BoolField(spec, "paused", false, "spec.paused").status());
  ASSIGN_OR_RETURN(const int32_t deadline,
                   Int32Field(spec, "progressDeadlineSeconds", kDefaultProgressDeadlineSeconds,
                              "spec.progressDeadlineSeconds"));
  ASSIGN_OR_RETURN(const int32_t min_ready,
                   Int32Field(spec, "minReadySeconds", 0, "spec.minReadySeconds"));
  if (Field(spec, "progressDeadlineSeconds") != nullptr && deadline <= min_ready) {
    return Invalid("spec.progressDeadlineSeconds", "must be greater than minReadySeconds");
  }
  return ResolveRollingParams(d).status();
}

absl::Status ValidateJob(const Json& job) {
  RETURN_IF_ERROR(ValidateMeta(job, false));
  ASSIGN_OR_RETURN(const std::string name,
                   StringField(job["metadata"], "name", "", "metadata.name"));
  // The name becomes a label value on the Job's pods.
  if (name.size() > 63) return Invalid("metadata.name", "must be no more than 63 characters");
  const Json* spec = Field(job, "spec");
  if (spec == nullptr || !spec->is_object()) return Invalid("spec", "required");
  RETURN_IF_ERROR(NonNegative(*spec, "parallelism", "spec.parallelism"));
  RETURN_IF_ERROR(NonNegative(*spec, "completions", "spec.completions"));
  RETURN_IF_ERROR(NonNegative(*spec, "backoffLimit", "spec.backoffLimit"));
  RETURN_IF_ERROR(NonNegative(*spec, "activeDeadlineSeconds", "spec.activeDeadlineSeconds", true));
  RETURN_IF_ERROR(NonNegative(*spec, "ttlSecondsAfterFinished", "spec.ttlSecondsAfterFinished"));
  ASSIGN_OR_RETURN(const std::string mode,
                   StringField(*spec, "completionMode", "NonIndexed", "spec.completionMode"));
  if (mode != "NonIndexed" && mode != "Indexed") {
    return Invalid("spec.completionMode",
                   absl::StrCat("unsupported value ", Quote(mode),
                                ": supported values: \"NonIndexed\", \"Indexed\""));
  }
  if (mode == "Indexed" && Field(*spec, "completions") == nullptr) {
    return Invalid("spec.completions", "when completion mode is Indexed, must be specified");
  }
  RETURN_IF_ERROR(ValidateSelectorAndTemplate(*spec, false));
  const Json* tspec = FieldPath(*spec, {"template", "spec"});
  if (tspec == nullptr) return Invalid("spec.template.spec", "required");
  return ValidatePodSpec(*tspec, "spec.template.spec", {"OnFailure", "Never"});
}

absl::Status ValidateService(const Json& svc) {
  RETURN_IF_ERROR(ValidateMeta(svc, true));
  const Json* spec = Field(svc, "spec");
  if (spec == nullptr || !spec->is_object()) return Invalid("spec", "required");
  ASSIGN_OR_RETURN(const std::string type, StringField(*spec, "type", "ClusterIP", "spec.type"));
  if (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer" &&
      type != "ExternalName") {
    return Invalid(
        "spec.type",
        absl::StrCat(
            "unsupported value ", Quote(type),
            ": supported values: \"ClusterIP\", \"NodePort\", \"LoadBalancer\", \"ExternalName\""));
  }
  ASSIGN_OR_RETURN(const std::string cluster_ip,
                   StringField(*spec, "clusterIP", "", "spec.clusterIP"));
  if (type == "ExternalName") {
    ASSIGN_OR_RETURN(const std::string ext,
                     StringField(*spec, "externalName", "", "spec.externalName"));
    if (ext.empty()) return Invalid("spec.externalName", "required for ExternalName services");
    RETURN_IF_ERROR(ValidateDns1123Subdomain(ext, "spec.externalName"));
  }
  if (const Json* sel = Field(*spec, "selector"))
    RETURN_IF_ERROR(ValidateLabels(*sel, "spec.selector"));
  ASSIGN_OR_RETURN(const Json* ports, ArrayField(*spec, "ports", "spec.ports"));
  const bool headless = cluster_ip == "None";
  if ((ports == nullptr || ports->empty()) && type != "ExternalName" && !headless) {
    return Invalid("spec.ports", "required");
  }
  std::set<std::string> names;
  std::set<std::pair<int64_t, std::string>> seen;
  for (size_t i = 0; ports != nullptr && i < ports->size(); ++i) {
    const Json& p = (*ports)[i];
    const std::string pp = absl::StrCat("spec.ports[", i, "]");
    if (!p.is_object()) return Invalid(pp, "expected object");
    ASSIGN_OR_RETURN(const std::string name, StringField(p, "name", "", pp + ".name"));
    if (ports->size() > 1 && name.empty())
      return Invalid(pp + ".name", "required when more than one port is defined");
    if (!name.empty()) {
      RETURN_IF_ERROR(ValidateDns1123Label(name, pp + ".name"));
      if (!names.insert(name).second)
        return Invalid(pp + ".name", absl::StrCat("duplicate value ", Quote(name)));
    }
    ASSIGN_OR_RETURN(std::optional<int64_t> port, OptionalInt64Field(p, "port", pp + ".port"));
    if (!port) return Invalid(pp + ".port", "required");
    if (*port < 1 || *port > 65535)
      return Invalid(pp + ".port", "must be between 1 and 65535, inclusive");
    ASSIGN_OR_RETURN(const std::string proto, StringField(p, "protocol", "TCP", pp + ".protocol"));
    if (proto != "TCP" && proto != "UDP" && proto != "SCTP") {
      return Invalid(pp + ".protocol",
                     absl::StrCat("unsupported value ", Quote(proto),
                                  ": supported values: \"TCP\", \"UDP\", \"SCTP\""));
    }
    if (!seen.insert({*port, proto}).second)
      return Invalid(pp, absl::StrCat("duplicate port ", *port, "/", proto));
    if (const Json* target = Field(p, "targetPort")) {
      if (target->is_number_integer()) {
        const int64_t t = target->get<int64_t>();
        if (t < 1 || t > 65535)
          return Invalid(pp + ".targetPort", "must be between 1 and 65535, inclusive");
      } else if (target->is_string()) {
        const std::string& t = target->get_ref<const std::string&>();
        if (!ValidateDns1123Label(t, "x").ok() || t.size() > 15) {
          return Invalid(pp + ".targetPort",
                         absl::StrCat(Quote(t), " must be a port number or an IANA_SVC_NAME"));
        }
      } else {
        return Invalid(pp + ".targetPort", "expected integer or string");
      }
    }
    ASSIGN_OR_RETURN(std::optional<int64_t> node_port,
                     OptionalInt64Field(p, "nodePort", pp + ".nodePort"));
    if (node_port) {
      if (type != "NodePort" && type != "LoadBalancer")
        return Invalid(pp + ".nodePort", "may not be used when `type` is 'ClusterIP'");
      if (*node_port < 30000 || *node_port > 32767)
        return Invalid(pp + ".nodePort", "provided port is not in the valid range 30000-32767");
    }
  }
  return absl::OkStatus();
}

}  // namespace argonaut::cluster::workloads
