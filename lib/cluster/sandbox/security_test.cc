#include "lib/cluster/sandbox/security.h"

#include <linux/capability.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/sandbox/security_context.h"

namespace argonaut::cluster::sandbox {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

MATCHER_P(IsOkAndHolds, value, "is OK and holds " + ::testing::PrintToString(value)) {
  return arg.ok() && *arg == static_cast<std::decay_t<decltype(*arg)>>(value);
}

uint64_t Bit(int c) { return uint64_t{1} << c; }

TEST(SecurityTest, DockerDefaultSet) {
  // The mask /proc/self/status shows as CapEff in a Docker container.
  EXPECT_EQ(DockerDefaultCapabilities(), 0xa80425fbu);
  EXPECT_THAT(ContainerCapabilities({}), IsOkAndHolds(0xa80425fbu));
}

TEST(SecurityTest, NamesWithOrWithoutPrefixAnyCase) {
  EXPECT_THAT(CapabilityFromName("NET_ADMIN"), IsOkAndHolds(CAP_NET_ADMIN));
  EXPECT_THAT(CapabilityFromName("cap_sys_admin"), IsOkAndHolds(CAP_SYS_ADMIN));
  EXPECT_THAT(CapabilityFromName("CHECKPOINT_RESTORE"), IsOkAndHolds(CAP_CHECKPOINT_RESTORE));
  EXPECT_THAT(CapabilityFromName("FLY"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(SecurityTest, DropThenAdd) {
  ContainerSecurity s{.add_capabilities = {"NET_ADMIN"}, .drop_capabilities = {"ALL"}};
  EXPECT_THAT(ContainerCapabilities(s), IsOkAndHolds(Bit(CAP_NET_ADMIN)));
  s = {.add_capabilities = {"SYS_PTRACE"}, .drop_capabilities = {"CAP_NET_RAW", "mknod"}};
  EXPECT_THAT(ContainerCapabilities(s),
              IsOkAndHolds((DockerDefaultCapabilities() | Bit(CAP_SYS_PTRACE)) &
                           ~(Bit(CAP_NET_RAW) | Bit(CAP_MKNOD))));
  s = {.privileged = true};
  EXPECT_THAT(ContainerCapabilities(s), IsOkAndHolds((uint64_t{1} << 41) - 1));
  s = {.add_capabilities = {"NET_ADMIN", "BOGUS"}};
  EXPECT_THAT(ContainerCapabilities(s, "c"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("c.capabilities.add[1]: unknown capability \"BOGUS\"")));
}

TEST(SecurityTest, DefaultSeccompProgramBuilds) {
  absl::StatusOr<const sock_fprog*> prog = DefaultSeccompProgram();
  ASSERT_OK(prog);
  EXPECT_GT((*prog)->len, 20);
  EXPECT_EQ(*DefaultSeccompProgram(), *prog);  // built once
}

TEST(SecurityContextTest, FromManifest) {
  const nlohmann::json pod_spec = {
      {"securityContext", {{"seccompProfile", {{"type", "Unconfined"}}}}}};
  const nlohmann::json c = {{"name", "main"},
                            {"securityContext",
                             {{"allowPrivilegeEscalation", true},
                              {"capabilities", {{"add", {"NET_ADMIN"}}, {"drop", {"ALL"}}}}}}};
  absl::StatusOr<ContainerSecurity> s = SecurityFromManifest(pod_spec, c, "spec.containers[0]");
  ASSERT_OK(s);
  EXPECT_FALSE(s->privileged);
  EXPECT_EQ(s->allow_privilege_escalation, true);
  EXPECT_TRUE(s->seccomp_unconfined);  // from the pod
  EXPECT_EQ(s->add_capabilities, std::vector<std::string>{"NET_ADMIN"});

  // The container's profile wins over the pod's.
  nlohmann::json c2 = {{"securityContext", {{"seccompProfile", {{"type", "RuntimeDefault"}}}}}};
  s = SecurityFromManifest(pod_spec, c2, "spec.containers[0]");
  ASSERT_OK(s);
  EXPECT_FALSE(s->seccomp_unconfined);
  EXPECT_FALSE(s->allow_privilege_escalation.has_value());

  s = SecurityFromManifest({}, {{"securityContext", {{"privileged", true}}}}, "x");
  ASSERT_OK(s);
  EXPECT_TRUE(s->privileged);
}

TEST(SecurityContextTest, IdsContainerWinsOverPod) {
  const nlohmann::json pod_spec = {{"securityContext",
                                    {{"runAsUser", 1000},
                                     {"runAsGroup", 3000},
                                     {"supplementalGroups", {4000, 4001}},
                                     {"fsGroup", 2000}}}};
  absl::StatusOr<ContainerSecurity> s = SecurityFromManifest(pod_spec, {}, "spec.containers[0]");
  ASSERT_OK(s);
  EXPECT_EQ(s->run_as_user, 1000u);
  EXPECT_EQ(s->run_as_group, 3000u);
  EXPECT_EQ(s->supplemental_groups, (std::vector<uint32_t>{4000, 4001, 2000}));
  EXPECT_FALSE(s->read_only_root_filesystem);
  s = SecurityFromManifest(
      pod_spec,
      {{"securityContext",
        {{"runAsUser", 7}, {"runAsGroup", 8}, {"readOnlyRootFilesystem", true}}}},
      "spec.containers[0]");
  ASSERT_OK(s);
  EXPECT_EQ(s->run_as_user, 7u);
  EXPECT_EQ(s->run_as_group, 8u);
  EXPECT_TRUE(s->read_only_root_filesystem);
  absl::StatusOr<std::optional<uint32_t>> fs_group = PodFsGroup(pod_spec);
  ASSERT_OK(fs_group);
  EXPECT_EQ(*fs_group, 2000u);
  fs_group = PodFsGroup({});
  ASSERT_OK(fs_group);
  EXPECT_FALSE(fs_group->has_value());
  // Unset: the runtime's default (root), nothing to set.
  s = SecurityFromManifest({}, {}, "spec.containers[0]");
  ASSERT_OK(s);
  EXPECT_FALSE(s->run_as_user.has_value());
  EXPECT_TRUE(s->supplemental_groups.empty());
}

TEST(SecurityContextTest, RunAsNonRootRefusesRootWithKubernetesMessage) {
  const nlohmann::json non_root = {{"securityContext", {{"runAsNonRoot", true}}}};
  EXPECT_THAT(SecurityFromManifest(non_root, {}, "spec.containers[0]"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("container has runAsNonRoot and image will run as root "
                                 "(spec.containers[0])")));
  EXPECT_THAT(
      SecurityFromManifest({}, {{"securityContext", {{"runAsNonRoot", true}, {"runAsUser", 0}}}},
                           "spec.containers[1]"),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("container's runAsUser breaks non-root policy")));
  EXPECT_OK(SecurityFromManifest(non_root, {{"securityContext", {{"runAsUser", 1000}}}}, "c"));
  // The container may lift the pod's rule.
  EXPECT_OK(SecurityFromManifest(non_root, {{"securityContext", {{"runAsNonRoot", false}}}}, "c"));
  // Admission leaves it to the start.
  EXPECT_OK(ValidatePodSecurity(
      {{"securityContext", {{"runAsNonRoot", true}}}, {"containers", {{{"name", "a"}}}}}, "spec"));
}

TEST(SecurityContextTest, ValidatePodSecurityNamesEveryField) {
  EXPECT_THAT(
      ValidatePodSecurity(
          {{"initContainers", {{{"name", "i"}}}},
           {"containers",
            {{{"name", "a"}},
             {{"name", "b"},
              {"securityContext", {{"capabilities", {{"add", {"CHOWN", "FOO"}}}}}}}}}},
          "spec.template.spec"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("spec.template.spec.containers[1].securityContext.capabilities.add[1]: "
                         "unknown capability \"FOO\"")));
  EXPECT_THAT(
      ValidatePodSecurity({{"securityContext", {{"supplementalGroups", {1, "x"}}}}}, "spec"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("spec.securityContext.supplementalGroups[1]: must be an integer")));
  EXPECT_THAT(ValidatePodSecurity({{"securityContext", {{"runAsGroup", 4294967296}}}}, "spec"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.securityContext.runAsGroup: must be between 0 and")));
  EXPECT_THAT(
      ValidatePodSecurity(
          {{"ephemeralContainers",
            {{{"name", "e"}, {"securityContext", {{"readOnlyRootFilesystem", 1}}}}}}},
          "spec"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("spec.ephemeralContainers[0].securityContext.readOnlyRootFilesystem: "
                         "must be a boolean")));
}

TEST(SecurityContextTest, ErrorsNameTheField) {
  EXPECT_THAT(SecurityFromManifest(
                  {}, {{"securityContext", {{"capabilities", {{"add", {"NET_ADMIN", "NOPE"}}}}}}},
                  "spec.containers[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.containers[1].securityContext.capabilities.add[1]: "
                                 "unknown capability \"NOPE\"")));
  EXPECT_THAT(
      SecurityFromManifest({}, {{"securityContext", {{"privileged", "yes"}}}},
                           "spec.containers[0]"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("spec.containers[0].securityContext.privileged: must be a boolean")));
  EXPECT_THAT(
      SecurityFromManifest({}, {{"securityContext", {{"seccompProfile", {{"type", "Localhost"}}}}}},
                           "spec.containers[0]"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("seccompProfile.type: Localhost profiles are not supported")));
}

}  // namespace
}  // namespace argonaut::cluster::sandbox

namespace argonaut::cluster::sandbox {
namespace {

TEST(SecurityTest, HostUserNamespaceOnlyForHostUsersOrPrivileged) {
  using nlohmann::json;
  EXPECT_THAT(UsesHostUserNamespace(json::object()), IsOkAndHolds(false));
  EXPECT_THAT(UsesHostUserNamespace(json{{"hostUsers", false}}), IsOkAndHolds(false));
  EXPECT_THAT(UsesHostUserNamespace(json{{"hostUsers", true}}), IsOkAndHolds(true));
  EXPECT_THAT(UsesHostUserNamespace(json::parse(R"({"containers": [
      {"name": "a"}, {"name": "b", "securityContext": {"privileged": false}}]})")),
              IsOkAndHolds(false));
  EXPECT_THAT(UsesHostUserNamespace(json::parse(R"({"hostUsers": false, "initContainers": [
      {"name": "i", "securityContext": {"privileged": true}}], "containers": [{"name": "a"}]})")),
              IsOkAndHolds(true));
  EXPECT_THAT(UsesHostUserNamespace(json::parse(R"({"containers": [
      {"name": "a", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]})")),
              IsOkAndHolds(false));
  EXPECT_THAT(UsesHostUserNamespace(json{{"hostUsers", "yes"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.hostUsers")));
}

}  // namespace
}  // namespace argonaut::cluster::sandbox
