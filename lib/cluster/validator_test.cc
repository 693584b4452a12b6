#include "lib/cluster/validator.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/codec.h"
#include "lib/resource/kinds.h"

namespace argonaut::cluster {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

nlohmann::json Spec(const std::string& host) {
  return {{"volumes",
           {{{"name", "a"}, {"emptyDir", nlohmann::json::object()}},
            {{"name", "h"}, {"hostPath", {{"path", host}}}}}}};
}

TEST(HostPathAllowTest, OnlyUnderAllowedPrefixes) {
  const std::vector<std::string> allow = {"/var/lib/argn/artifacts", "/srv/"};
  EXPECT_OK(CheckHostPaths(Spec("/var/lib/argn/artifacts"), "spec", allow));
  EXPECT_OK(CheckHostPaths(Spec("/var/lib/argn/artifacts/ns/wf"), "spec", allow));
  EXPECT_OK(CheckHostPaths(Spec("/srv/x"), "spec", allow));
  EXPECT_THAT(CheckHostPaths(Spec("/"), "spec", allow),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "spec.volumes[1].hostPath.path: \"/\" is not under an allowed host path "
                       "(--host-path-allow)"));
  EXPECT_THAT(CheckHostPaths(Spec("/var/lib/argn/artifacts-other"), "spec", allow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not under")));
  EXPECT_THAT(
      CheckHostPaths(Spec("/var/lib/argn/artifacts/../cluster"), "spec.template.spec", allow),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("spec.template.spec.volumes[1].hostPath.path: "
                         "\"/var/lib/argn/artifacts/../cluster\" has a")));
  EXPECT_THAT(CheckHostPaths(Spec("/var/lib/argn"), "spec", {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not under")));
}

// Admission of a whole object through KubernetesValidator.
absl::Status Admit(const nlohmann::json& object) {
  const resource::KindInfo* kind = resource::FindKind(object["kind"].get<std::string>());
  if (kind == nullptr) return absl::InternalError("no kind");
  std::unique_ptr<google::protobuf::Message> msg = kind->NewMessage();
  if (absl::Status s = manifest::FromJson(object, msg.get()); !s.ok()) return s;
  return KubernetesValidator()(*kind, *msg);
}

nlohmann::json PodWith(const nlohmann::json& security_context) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "p"}}},
          {"spec",
           {{"containers",
             {{{"name", "a"}, {"image", "debian:12"}},
              {{"name", "b"}, {"image", "debian:12"}, {"securityContext", security_context}}}}}}};
}

TEST(SecurityContextAdmissionTest, CapabilityNamesAreCheckedAtAdmission) {
  EXPECT_OK(Admit(PodWith({{"capabilities", {{"add", {"NET_ADMIN"}}, {"drop", {"ALL"}}}}})));
  EXPECT_THAT(Admit(PodWith({{"capabilities", {{"add", {"NET_ADMIN", "NET_ADMINS"}}}}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.containers[1].securityContext.capabilities.add[1]: "
                                 "unknown capability \"NET_ADMINS\"")));
  EXPECT_THAT(Admit(PodWith({{"capabilities", {{"drop", {"chown", 3}}}}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.containers[1].securityContext.capabilities.drop[1]")));
}

TEST(SecurityContextAdmissionTest, IdsAndTemplates) {
  EXPECT_OK(Admit(PodWith({{"runAsUser", 1000}, {"runAsGroup", 3000}})));
  EXPECT_THAT(Admit(PodWith({{"runAsUser", -1}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.containers[1].securityContext.runAsUser: must be between "
                                 "0 and 2147483647")));
  // runAsNonRoot as root is the kubelet's refusal (at start), not admission's.
  EXPECT_OK(Admit(PodWith({{"runAsNonRoot", true}})));
  nlohmann::json deployment = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", "d"}}},
      {"spec",
       {{"selector", {{"matchLabels", {{"app", "d"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "d"}}}}},
          {"spec",
           {{"securityContext", {{"fsGroup", "staff"}}},
            {"containers", {{{"name", "a"}, {"image", "debian:12"}}}}}}}}}}};
  EXPECT_THAT(Admit(deployment),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.template.spec.securityContext.fsGroup: must be an "
                                 "integer")));
}

}  // namespace
}  // namespace argonaut::cluster
