#include "lib/cluster/sandbox/mount_plan.h"

#include <sys/mount.h>

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::sandbox {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

// A fixed host view: planning takes the probe as input.
PathProbe FakeHost(std::map<std::string, PathKind> paths) {
  return [paths = std::move(paths)](const std::string& p) {
    auto it = paths.find(p);
    return it == paths.end() ? PathKind::kMissing : it->second;
  };
}

const PathProbe kHost = FakeHost({{"/", PathKind::kDirectory},
                                  {"/mnt", PathKind::kDirectory},
                                  {"/work", PathKind::kDirectory},
                                  {"/data", PathKind::kDirectory},
                                  {"/data/cfg.yaml", PathKind::kFile},
                                  {"/srv", PathKind::kDirectory},
                                  {"/etc/motd", PathKind::kFile}});

std::vector<std::string> Describe(const std::vector<MountOp>& ops) {
  std::vector<std::string> out;
  for (const MountOp& op : ops) out.push_back(op.Describe());
  return out;
}

TEST(MountPlanTest, BaseStepsInOrder) {
  absl::StatusOr<std::vector<MountOp>> ops =
      PlanPodMounts({.hostname = "pod-a", .tmp_source = "/pods/a/tmp"}, kHost);
  ASSERT_OK(ops);
  EXPECT_THAT(Describe(*ops),
              ::testing::ElementsAre("set hostname \"pod-a\"", "bring up lo", "make mounts private",
                                     "bind /pods/a/tmp on /tmp", "mount proc on /proc"));
  EXPECT_EQ((*ops)[2].flags, static_cast<uint64_t>(MS_REC | MS_PRIVATE));
}

TEST(MountPlanTest, TmpfsWhenNoTmpSource) {
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts({.hostname = "p"}, kHost);
  ASSERT_OK(ops);
  EXPECT_EQ((*ops)[3].Describe(), "mount tmpfs on /tmp");
}

TEST(MountPlanTest, VolumesParentsFirstWithMountPoints) {
  PodMountInput in{.hostname = "p",
                   .tmp_source = "/pods/p/tmp",
                   .scratch_dir = "/pods/p",
                   .volumes = {{"/data", "/srv/data/inner", false},
                               {"/data", "/tmp/a/b", true},
                               {"", "/srv", false},
                               {"/data/cfg.yaml", "/etc/motd", true}}};
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts(in, kHost);
  ASSERT_OK(ops);
  std::vector<std::string> d = Describe(*ops);
  std::vector<std::string> volumes(d.begin() + 5, d.end());
  EXPECT_THAT(volumes, ::testing::ElementsAre(
                           "bind /data/cfg.yaml on /etc/motd", "make /etc/motd read-only",
                           // /srv exists: a tmpfs straight on it; inner dirs live in it.
                           "mount tmpfs on /srv", "create directory /srv/data",
                           "create directory /srv/data/inner", "bind /data on /srv/data/inner",
                           "create directory /tmp/a", "create directory /tmp/a/b",
                           "bind /data on /tmp/a/b", "make /tmp/a/b read-only"));
}

TEST(MountPlanTest, MissingHostPathUsesOverlayOfDeepestParent) {
  PodMountInput in{.hostname = "p",
                   .scratch_dir = "/pods/p",
                   .volumes = {{"/data", "/work/out/x", false}, {"/data", "/work/y", false}}};
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts(in, kHost);
  ASSERT_OK(ops);
  std::vector<std::string> d = Describe(*ops);
  std::vector<std::string> volumes(d.begin() + 5, d.end());
  EXPECT_THAT(volumes, ::testing::ElementsAre(
                           "create directory /pods/p/overlay", "create directory /pods/p/overlay/0",
                           "create directory /pods/p/overlay/0/upper",
                           "create directory /pods/p/overlay/0/work", "mount overlay on /work",
                           "create directory /work/out", "create directory /work/out/x",
                           "bind /data on /work/out/x",
                           // Same parent: the overlay is reused.
                           "create directory /work/y", "bind /data on /work/y"));
  const MountOp& overlay = (*ops)[9];
  EXPECT_EQ(overlay.data,
            "lowerdir=/work,upperdir=/pods/p/overlay/0/upper,workdir=/pods/p/overlay/0/work");
}

TEST(MountPlanTest, RefusesWhatWouldTouchTheHost) {
  EXPECT_THAT(
      PlanPodMounts(
          {.hostname = "p", .scratch_dir = "/pods/p", .volumes = {{"/data", "/nope/x", false}}},
          kHost),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("volumes[0].mount_path: \"/nope/x\"")));
  EXPECT_THAT(
      PlanPodMounts({.hostname = "p", .volumes = {{"/data", "/mnt/x", false}}}, kHost),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no directory for an overlay")));
}

TEST(MountPlanTest, HostileInputNamesTheField) {
  auto plan = [](std::vector<VolumeMount> v) {
    return PlanPodMounts({.hostname = "p", .scratch_dir = "/pods/p", .volumes = std::move(v)},
                         kHost);
  };
  EXPECT_THAT(plan({{"/data", "relative", false}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("volumes[0].mount_path: \"relative\" is not an absolute path")));
  EXPECT_THAT(plan({{"/data", "/mnt/ok", false}, {"/data", "/mnt/../etc", false}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("volumes[1].mount_path")));
  EXPECT_THAT(plan({{"/data", "/", false}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("may not be /")));
  EXPECT_THAT(plan({{"/data", "/proc/sys", false}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("under /proc")));
  EXPECT_THAT(plan({{"/data", "/mnt/a", false}, {"/data", "/mnt//a/", false}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("also used by")));
  EXPECT_THAT(plan({{"/missing", "/mnt/a", false}}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("volumes[0].source")));
  EXPECT_THAT(plan({{"/data/cfg.yaml", "/srv", false}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("exists on the host")));
  EXPECT_THAT(plan({{"/data", std::string("/mnt/a\0b", 8), false}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NUL")));
  EXPECT_THAT(plan({{"/data", "/" + std::string(5000, 'a'), false}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than")));
  EXPECT_THAT(plan(std::vector<VolumeMount>(300, {"/data", "/mnt/a", false})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit of 256")));
  EXPECT_THAT(PlanPodMounts({.hostname = "bad name"}, kHost),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pod_name: character 3")));
  EXPECT_THAT(PlanPodMounts({.hostname = std::string(64, 'a')}, kHost),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pod_name")));
}

TEST(MountPlanTest, NormalizeAbsolutePath) {
  absl::StatusOr<std::string> p = NormalizeAbsolutePath("//a///b/", "f");
  ASSERT_OK(p);
  EXPECT_EQ(*p, "/a/b");
  EXPECT_THAT(NormalizeAbsolutePath("/a/./b", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f:")));
}

TEST(MountPlanTest, EncodeRejectsNul) {
  std::vector<MountOp> ops = {{MountOpKind::kMkdir, "", std::string("/a\0b", 4), "", "", 0}};
  EXPECT_THAT(EncodeMountOps(ops),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("step 0")));
  ops[0].target = "/a";
  absl::StatusOr<std::string> enc = EncodeMountOps(ops);
  ASSERT_OK(enc);
  EXPECT_EQ(enc->size(), 1u + 8u + 1u + 3u + 1u + 1u);
}

}  // namespace
}  // namespace argonaut::cluster::sandbox
