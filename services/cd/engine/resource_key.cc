#include "services/cd/engine/resource_key.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace argonaut::cd::engine {
namespace {

std::string Str(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string ResourceKey::ToString() const {
  return absl::StrCat(group, "/", kind, "/", ns, "/", name);
}

std::string GroupOf(std::string_view api_version) {
  size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? "" : std::string(api_version.substr(0, slash));
}

std::string VersionOf(std::string_view api_version) {
  size_t slash = api_version.find('/');
  return std::string(slash == std::string_view::npos ? api_version : api_version.substr(slash + 1));
}

ResourceKey KeyOf(const nlohmann::json& obj) {
  ResourceKey key;
  key.group = GroupOf(Str(obj, "apiVersion"));
  key.kind = Str(obj, "kind");
  if (obj.is_object() && obj.contains("metadata")) {
    key.ns = Str(obj["metadata"], "namespace");
    key.name = Str(obj["metadata"], "name");
  }
  return key;
}

bool IsNamespacedKind(std::string_view group, std::string_view kind) {
  static const std::pair<std::string_view, std::string_view> kClusterScoped[] = {
      {"", "Namespace"},
      {"", "Node"},
      {"", "PersistentVolume"},
      {"", "ComponentStatus"},
      {"storage.k8s.io", "StorageClass"},
      {"storage.k8s.io", "CSIDriver"},
      {"storage.k8s.io", "CSINode"},
      {"storage.k8s.io", "VolumeAttachment"},
      {"rbac.authorization.k8s.io", "ClusterRole"},
      {"rbac.authorization.k8s.io", "ClusterRoleBinding"},
      {"apiextensions.k8s.io", "CustomResourceDefinition"},
      {"apiregistration.k8s.io", "APIService"},
      {"admissionregistration.k8s.io", "MutatingWebhookConfiguration"},
      {"admissionregistration.k8s.io", "ValidatingWebhookConfiguration"},
      {"admissionregistration.k8s.io", "ValidatingAdmissionPolicy"},
      {"admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"},
      {"scheduling.k8s.io", "PriorityClass"},
      {"node.k8s.io", "RuntimeClass"},
      {"networking.k8s.io", "IngressClass"},
      {"policy", "PodSecurityPolicy"},
      {"certificates.k8s.io", "CertificateSigningRequest"},
      {"flowcontrol.apiserver.k8s.io", "FlowSchema"},
      {"flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"},
      {"argoproj.io", "ClusterWorkflowTemplate"},
      {"argoproj.io", "ClusterAnalysisTemplate"},
  };
  for (const auto& [g, k] : kClusterScoped)
    if (g == group && k == kind) return false;
  return true;
}

}  // namespace argonaut::cd::engine
