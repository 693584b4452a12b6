#include "lib/cluster/validator.h"

#include "lib/cluster/workloads/validation.h"
#include "lib/manifest/codec.h"

namespace argonaut::cluster {

resource::Validator KubernetesValidator() {
  return [](const resource::KindInfo& kind, google::protobuf::Message& object) -> absl::Status {
    namespace wl = ::argonaut::cluster::workloads;
    absl::Status (*validate)(const nlohmann::json&) = nullptr;
    if (kind.kind == "Pod") validate = &wl::ValidatePod;
    if (kind.kind == "ReplicaSet") validate = &wl::ValidateReplicaSet;
    if (kind.kind == "Deployment") validate = &wl::ValidateDeployment;
    if (kind.kind == "Job") validate = &wl::ValidateJob;
    if (kind.kind == "Service") validate = &wl::ValidateService;
    if (validate == nullptr) return absl::OkStatus();
    return validate(manifest::ToJson(object));
  };
}

}  // namespace argonaut::cluster
