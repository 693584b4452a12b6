#include "lib/cluster/validator.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

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

}  // namespace
}  // namespace argonaut::cluster
