#include "lib/cluster/sandbox/mount_plan.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include <algorithm>
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

// Steps from index `from` on, described.
std::vector<std::string> From(const std::vector<MountOp>& ops, size_t from) {
  std::vector<std::string> d = Describe(ops);
  return std::vector<std::string>(d.begin() + static_cast<long>(std::min(from, d.size())), d.end());
}

size_t IndexOf(const std::vector<MountOp>& ops, const std::string& described) {
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].Describe() == described) return i;
  }
  return ops.size();
}

TEST(MountPlanTest, PrivateRootInOrder) {
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts({.hostname = "pod-a",
                                                            .tmp_source = "/pods/a/tmp",
                                                            .scratch_dir = "/pods/a",
                                                            .host_mounts = {"/mnt/disk"}},
                                                           kHost);
  ASSERT_OK(ops);
  EXPECT_THAT(
      Describe(*ops),
      ::testing::ElementsAre(
          "set hostname \"pod-a\"", "bring up lo", "make mounts private",
          // Host trees are taken while host paths still resolve.
          "open host mount tree /pods/a/tmp", "make /pods/a/tmp nosuid, nodev",
          "open host mount tree /mnt/disk", "make /mnt/disk read-only, nosuid, nodev",
          "create directory /pods/a/rootfs", "create directory /pods/a/rootfs/upper",
          "create directory /pods/a/rootfs/work", "mount overlay on /pods/a/rootfs",
          "switch to the pod's root /pods/a/rootfs",
          // Pod paths from here on.
          "mount proc on /proc", "mount sysfs on /sys", "mount tmpfs on /dev",
          "create device /dev/null", "create device /dev/zero", "create device /dev/full",
          "create device /dev/random", "create device /dev/urandom", "create device /dev/tty",
          "create symlink /dev/fd", "create symlink /dev/stdin", "create symlink /dev/stdout",
          "create symlink /dev/stderr", "create symlink /dev/ptmx", "create directory /dev/shm",
          "mount tmpfs on /dev/shm", "create directory /dev/pts", "mount devpts on /dev/pts",
          // runc's masked and read-only paths.
          "mask /proc/acpi", "mask /proc/asound", "mask /proc/interrupts", "mask /proc/kcore",
          "mask /proc/keys", "mask /proc/latency_stats", "mask /proc/timer_list",
          "mask /proc/timer_stats", "mask /proc/sched_debug", "mask /proc/scsi",
          "mask /sys/firmware", "mask /sys/devices/virtual/powercap", "make /proc/bus read-only",
          "make /proc/fs read-only", "make /proc/irq read-only", "make /proc/sys read-only",
          "make /proc/sysrq-trigger read-only", "bind /pods/a/tmp on /tmp",
          "bind /mnt/disk on /mnt/disk"));
  const std::vector<MountOp>& o = *ops;
  EXPECT_EQ(o[2].flags, static_cast<uint64_t>(MS_REC | MS_PRIVATE));
  EXPECT_EQ(o[10].data,
            "lowerdir=/,upperdir=/pods/a/rootfs/upper,workdir=/pods/a/rootfs/work,volatile");
  EXPECT_EQ(o[10].flags, static_cast<uint64_t>(MS_NOSUID | MS_NODEV));
  // The host mount is copied recursively and read-only; a failure to copy it
  // leaves it out instead of failing the pod.
  EXPECT_EQ(o[5].flags, static_cast<uint64_t>(AT_RECURSIVE));
  EXPECT_EQ(o[6].flags,
            static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  EXPECT_TRUE(o[5].optional && o[6].optional && o.back().optional);
  EXPECT_EQ(o[5].slot, o.back().slot);
  EXPECT_NE(o[3].slot, o[5].slot);
  EXPECT_FALSE(o[3].optional || o[4].optional);
  EXPECT_EQ(o[13].flags, static_cast<uint64_t>(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
  EXPECT_EQ(o[12].flags, static_cast<uint64_t>(MS_NOSUID | MS_NODEV | MS_NOEXEC));  // proc
  EXPECT_EQ(o[15].flags, static_cast<uint64_t>(makedev(1, 3)));
  EXPECT_EQ(o[26].flags, 01777u);  // /dev/shm
  EXPECT_EQ(o[27].flags, static_cast<uint64_t>(MS_NOSUID | MS_NODEV | MS_NOEXEC));
}

TEST(MountPlanTest, TmpfsLayersWithoutScratchDirOrWhenAsked) {
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts({.hostname = "p"}, kHost);
  ASSERT_OK(ops);
  std::vector<std::string> d = From(*ops, 3);
  d.resize(7);
  // The holder's own view of the host's /tmp is covered (private mount).
  EXPECT_THAT(d, ::testing::ElementsAre("mount tmpfs on /tmp", "create directory /tmp/upper",
                                        "create directory /tmp/work", "mount overlay on /tmp",
                                        "switch to the pod's root /tmp", "mount proc on /proc",
                                        "mount sysfs on /sys"));
  EXPECT_EQ(ops->back().Describe(), "mount tmpfs on /tmp");

  ops = PlanPodMounts({.hostname = "p", .scratch_dir = "/pods/p", .upper_on_tmpfs = true}, kHost);
  ASSERT_OK(ops);
  d = From(*ops, 3);
  d.resize(6);
  EXPECT_THAT(d,
              ::testing::ElementsAre(
                  "create directory /pods/p/rootfs", "mount tmpfs on /pods/p/rootfs",
                  "create directory /pods/p/rootfs/upper", "create directory /pods/p/rootfs/work",
                  "mount overlay on /pods/p/rootfs", "switch to the pod's root /pods/p/rootfs"));
}

TEST(MountPlanTest, VolumesParentsFirstWithMountPointsInThePodRoot) {
  PodMountInput in{.hostname = "p",
                   .tmp_source = "/pods/p/tmp",
                   .scratch_dir = "/pods/p",
                   .volumes = {{"/data", "/srv/data/inner", false},
                               {"/data", "/tmp/a/b", true},
                               {"", "/srv", false},
                               {"/data/cfg.yaml", "/etc/motd", true},
                               {"/data", "/foo", false},
                               {"", "/dev/shm", false},
                               {"/data", "/work/out/x", false}}};
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts(in, kHost);
  ASSERT_OK(ops);
  const size_t pivot = IndexOf(*ops, "switch to the pod's root /pods/p/rootfs");
  ASSERT_LT(pivot, ops->size());
  // Sources are opened before the pivot, read-only ones made so there.
  std::vector<std::string> before = Describe(*ops);
  before.resize(pivot);
  EXPECT_THAT(before,
              ::testing::IsSupersetOf({"open host mount tree /data/cfg.yaml",
                                       "make /data/cfg.yaml read-only, nosuid, nodev",
                                       "open host mount tree /data", "make /data nosuid, nodev"}));
  const size_t tmp = IndexOf(*ops, "bind /pods/p/tmp on /tmp");
  ASSERT_LT(tmp, ops->size());
  EXPECT_THAT(
      From(*ops, tmp + 1),
      ::testing::ElementsAre(
          // The sources stay live at their host paths (one alias for /data,
          // which also holds /data/cfg.yaml); optional.
          "bind /data on /data",
          // The pod's own /dev: the host says nothing about it.
          "create directory /dev/shm", "mount tmpfs on /dev/shm",
          // Exists on the host as a file: mounted over as is.
          "bind /data/cfg.yaml on /etc/motd",
          // Missing under /: created in the pod's root, not on the host.
          "create directory /foo", "bind /data on /foo",
          // /srv exists: a tmpfs straight on it; inner dirs live in it.
          "mount tmpfs on /srv", "create directory /srv/data", "create directory /srv/data/inner",
          "bind /data on /srv/data/inner", "create directory /tmp/a", "create directory /tmp/a/b",
          "bind /data on /tmp/a/b", "create directory /work/out", "create directory /work/out/x",
          "bind /data on /work/out/x"));
  for (const MountOp& op : *ops) {
    EXPECT_FALSE(op.kind == MountOpKind::kMkdir && op.target == "/work")
        << "an existing host directory is not re-created";
  }
  const int32_t alias_slot = (*ops)[IndexOf(*ops, "bind /data on /data")].slot;
  for (const MountOp& op : *ops) {
    EXPECT_EQ(op.optional, op.slot == alias_slot) << op.Describe();
  }
}

// A volume the caller resolved itself is opened at the path it resolved to,
// without following links, its alias too; the source still names it and
// places the alias.
TEST(MountPlanTest, OpenPathIsWhatTheHolderOpens) {
  PodMountInput in{
      .hostname = "p",
      .scratch_dir = "/pods/p",
      .volumes = {{.source = "/shared/vol", .mount_path = "/v", .open_path = "/shared/real/vol"}},
      // Overridden by the open path.
      .volume_open_paths = {"/shared/real"}};
  std::vector<std::string> probed;
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts(in, [&](const std::string& p) {
    probed.push_back(p);
    return p == "/shared/real/vol" || p == "/" ? PathKind::kDirectory : PathKind::kMissing;
  });
  ASSERT_OK(ops);
  int clones = 0;
  for (const MountOp& op : *ops) {
    if (op.kind != MountOpKind::kCloneTree || op.source == "/") continue;
    if (op.source == "/pods/p/tmp") continue;
    ++clones;
    EXPECT_EQ(op.source, "/shared/real/vol");
    EXPECT_NE(op.flags & kCloneNoSymlinks, 0u);
  }
  EXPECT_EQ(clones, 2);  // the volume and its alias at /shared/vol
  std::vector<std::string> d = Describe(*ops);
  EXPECT_THAT(d, ::testing::Contains("bind /shared/vol on /v"));
  EXPECT_THAT(d, ::testing::Contains("bind /shared/vol on /shared/vol"));
  EXPECT_THAT(probed, ::testing::Contains("/shared/real/vol"));
}

TEST(MountPlanTest, NoAliasWhereTheHostPathIsAVolumesBusiness) {
  // /srv/data is under another volume's mount path; /mnt holds a volume.
  PodMountInput in{.hostname = "p",
                   .scratch_dir = "/pods/p",
                   .volumes = {{"", "/srv", false},
                               {"/srv/data", "/x", false},
                               {"/mnt", "/y", false},
                               {"/data", "/mnt/z", false},
                               {"/proc/1", "/w", false}}};
  absl::StatusOr<std::vector<MountOp>> ops =
      PlanPodMounts(in, [](const std::string&) { return PathKind::kDirectory; });
  ASSERT_OK(ops);
  std::vector<std::string> d = Describe(*ops);
  EXPECT_THAT(d, ::testing::Contains("bind /data on /data"));
  for (const char* no :
       {"bind /srv/data on /srv/data", "bind /mnt on /mnt", "bind /proc/1 on /proc/1"}) {
    EXPECT_THAT(d, ::testing::Not(::testing::Contains(no)));
  }
}

TEST(MountPlanTest, MountPointOfTheWrongKindOnTheHost) {
  EXPECT_THAT(PlanPodMounts({.hostname = "p",
                             .scratch_dir = "/pods/p",
                             .volumes = {{"/data/cfg.yaml", "/srv", false}}},
                            kHost),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("volumes[0].mount_path: \"/srv\" exists on the host")));
  EXPECT_THAT(
      PlanPodMounts(
          {.hostname = "p", .scratch_dir = "/pods/p", .volumes = {{"/data", "/etc/motd", false}}},
          kHost),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("but the source is")));
}

TEST(MountPlanTest, ParseMountPoints) {
  const std::string info =
      "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
      "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
      "40 27 0:5 / /mnt/with\\040space\\134x rw - tmpfs tmpfs rw\n";
  absl::StatusOr<std::vector<std::string>> points = ParseMountPoints(info);
  ASSERT_OK(points);
  EXPECT_THAT(*points, ::testing::ElementsAre("/", "/proc", "/mnt/with space\\x"));
  EXPECT_THAT(ParseMountPoints("27 1 254:0 / / rw\n22 27 0:21\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mountinfo line 2")));
}

TEST(MountPlanTest, HostMountsToCarry) {
  EXPECT_THAT(
      HostMountsToCarry({"/", "/proc", "/proc/sys/fs/binfmt_misc", "/sys", "/sys/fs/cgroup", "/dev",
                         "/dev/pts", "/dev/pts", "/tmp", "/tmp/x", "/run", "/run/lock", "/home",
                         "/boot/efi", "/boot", "/home2", "relative", "/a/../b", "/run"}),
      ::testing::ElementsAre("/boot", "/home", "/home2", "/run"));
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
  EXPECT_THAT(PlanPodMounts({.hostname = "p", .scratch_dir = "/pods/a,b"}, kHost),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scratch_dir")));
  EXPECT_THAT(PlanPodMounts({.hostname = "p", .host_mounts = {"rel"}}, kHost),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host_mounts")));
  EXPECT_THAT(
      PlanPodMounts({.hostname = "p", .host_mounts = std::vector<std::string>(300, "/m")}, kHost),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host_mounts: 300 exceeds")));
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
  EXPECT_EQ(enc->size(), 1u + 1u + 8u + 4u + 1u + 3u + 1u + 1u);
  ops[0].slot = kMaxMountSlots;
  EXPECT_THAT(EncodeMountOps(ops),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
}

}  // namespace
}  // namespace argonaut::cluster::sandbox

namespace argonaut::cluster::sandbox {
namespace {

TEST(MountPlanTest, HiddenPathsCoveredBeforeVolumesAndReadOnlyAfter) {
  // /var/lib/argn is the data dir; its artifact repository and an emptyDir
  // below it are volumes; /tmp/x is the pod's own anyway; /nope is missing.
  const PathProbe probe = [](const std::string& p) {
    if (p == "/etc/secret.key") return PathKind::kFile;
    if (p == "/nope" || p == "/var/lib/argn/art/out") return PathKind::kMissing;
    return PathKind::kDirectory;
  };
  PodMountInput in{.hostname = "p",
                   .scratch_dir = "/var/lib/argn/pods/p",
                   .volumes = {{"/var/lib/argn/art", "/argo/art", false},
                               {"/var/lib/argn/pods/p/vol", "/cache", false}},
                   .hidden_paths = {"/var/lib/argn", "/var/lib/argn/pods", "/tmp/x", "/nope",
                                    "/etc/secret.key"}};
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts(in, probe);
  ASSERT_OK(ops);
  const size_t hide = IndexOf(*ops, "mount tmpfs on /var/lib/argn");
  ASSERT_LT(hide, ops->size());
  EXPECT_EQ((*ops)[hide].flags, static_cast<uint64_t>(MS_NOSUID | MS_NODEV | MS_NOEXEC));
  EXPECT_THAT(From(*ops, hide + 1),
              ::testing::ElementsAre("mask /etc/secret.key", "bind /var/lib/argn/art on /argo/art",
                                     "bind /var/lib/argn/pods/p/vol on /cache",
                                     // The sources stay live at their host paths: mount points made
                                     // in the hidden tmpfs.
                                     "create directory /var/lib/argn/art",
                                     "bind /var/lib/argn/art on /var/lib/argn/art",
                                     "create directory /var/lib/argn/pods",
                                     "create directory /var/lib/argn/pods/p",
                                     "create directory /var/lib/argn/pods/p/vol",
                                     "bind /var/lib/argn/pods/p/vol on /var/lib/argn/pods/p/vol",
                                     "make /var/lib/argn read-only"));
  EXPECT_EQ(ops->back().flags, static_cast<uint64_t>(MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
                                                     MS_NODEV | MS_NOEXEC));
  for (const MountOp& op : *ops) {
    EXPECT_NE(op.target, "/tmp/x") << op.Describe();
    EXPECT_NE(op.target, "/nope") << op.Describe();
  }
  // Resolved sources are opened as given, without following symlinks.
  in.volume_open_paths = {"/real/art"};
  ops = PlanPodMounts(in, probe);
  ASSERT_OK(ops);
  const size_t open = IndexOf(*ops, "open host mount tree /real/art");
  ASSERT_LT(open, ops->size());
  EXPECT_EQ((*ops)[open].flags, AT_RECURSIVE | kCloneNoSymlinks);
  EXPECT_THAT(Describe(*ops), ::testing::Contains("open host mount tree /var/lib/argn/pods/p/vol"));
  EXPECT_THAT(PlanPodMounts({.hostname = "p", .hidden_paths = {"/"}}, probe),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hidden_paths[0]: may not")));
  EXPECT_THAT(PlanPodMounts({.hostname = "p", .hidden_paths = {"rel"}}, probe),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hidden_paths[0]")));
}

// The standalone cluster service hides its artifact repository (a hidden
// path that is itself a volume source): the volume seen at its own host path
// stays writable, as it tops the hidden tmpfs there.
TEST(MountPlanTest, AVolumeAtAHiddenPathItselfStaysWritable) {
  const PathProbe probe = [](const std::string&) { return PathKind::kDirectory; };
  PodMountInput in{.hostname = "p",
                   .volumes = {{"/artifacts", "/argo/art", false}},
                   .hidden_paths = {"/artifacts", "/data"}};
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts(in, probe);
  ASSERT_OK(ops);
  const std::vector<std::string> described = Describe(*ops);
  EXPECT_THAT(described, ::testing::Contains("bind /artifacts on /artifacts"));
  EXPECT_THAT(described, ::testing::Not(::testing::Contains("make /artifacts read-only")));
  EXPECT_THAT(described, ::testing::Contains("make /data read-only"));
}

}  // namespace
}  // namespace argonaut::cluster::sandbox

namespace argonaut::cluster::sandbox {
namespace {

// With a user namespace: the root overlay's lower layer, /tmp and volumes
// from under a hidden path (what the runtime owns) are idmapped; a hostPath
// elsewhere is not; carried host mounts are idmapped where possible.
TEST(MountPlanTest, UserNamespaceIdmapsWhatTheRuntimeOwns) {
  constexpr uint32_t kBase = 0x20000000;
  absl::StatusOr<std::vector<MountOp>> ops =
      PlanPodMounts({.hostname = "pod-a",
                     .tmp_source = "/data/pods/a/tmp",
                     .scratch_dir = "/data/pods/a",
                     .host_mounts = {"/mnt/disk"},
                     .volumes = {{"/data/pods/a/vol", "/cache"},
                                 {"/srv", "/host"},
                                 {"", "/scratch"},
                                 {"/data/pods/a/out", "/new/out"}},
                     .hidden_paths = {"/data"},
                     .user_namespace_base = kBase},
                    FakeHost({{"/", PathKind::kDirectory},
                              {"/data", PathKind::kDirectory},
                              {"/data/pods/a/vol", PathKind::kDirectory},
                              {"/data/pods/a/out", PathKind::kDirectory},
                              {"/srv", PathKind::kDirectory},
                              {"/mnt/disk", PathKind::kDirectory}}));
  ASSERT_OK(ops);
  auto find = [&](const std::string& d) { return IndexOf(*ops, d); };
  const std::string idmap = " idmapped to the pod's user namespace";
  // Sysctls of the pod's network namespace, before the pivot.
  const size_t port = find("write /proc/sys/net/ipv4/ip_unprivileged_port_start");
  ASSERT_LT(port, ops->size());
  EXPECT_EQ((*ops)[port].data, "0");
  EXPECT_TRUE((*ops)[port].optional);
  EXPECT_LT(find("write /proc/sys/net/ipv4/ping_group_range"),
            find("switch to the pod's root /data/pods/a/rootfs"));
  // Idmapped: /tmp, the volumes under /data (and their aliases), the lower layer.
  for (const std::string src : {"/data/pods/a/tmp", "/data/pods/a/vol", "/data/pods/a/out", "/"}) {
    const size_t i = find("make " + src + idmap);
    ASSERT_LT(i, ops->size()) << src;
    EXPECT_EQ((*ops)[i].flags, uint64_t{MOUNT_ATTR_IDMAP}) << src;
    EXPECT_FALSE((*ops)[i].best_effort) << src;
  }
  // Not idmapped: a hostPath outside what the runtime owns.
  EXPECT_EQ(find("make /srv" + idmap), ops->size());
  // A carried host mount: best effort.
  const size_t disk = find("make /mnt/disk" + idmap);
  ASSERT_LT(disk, ops->size());
  EXPECT_TRUE((*ops)[disk].best_effort);
  // The lower layer: the host's root mount alone, idmapped, attached and named.
  const size_t clone_root = find("open host mount tree /");
  ASSERT_LT(clone_root, ops->size());
  EXPECT_EQ((*ops)[clone_root].flags, 0u);
  EXPECT_LT(find("bind / on /data/pods/a/rootfs/lower"),
            find("mount overlay on /data/pods/a/rootfs"));
  const size_t overlay = find("mount overlay on /data/pods/a/rootfs");
  EXPECT_THAT((*ops)[overlay].data, HasSubstr("lowerdir=/data/pods/a/rootfs/lower,"));
  // Pod-owned tmpfs belong to pod root; mount points made in the pod too.
  const std::string owner = ",uid=536870912,gid=536870912";
  EXPECT_THAT((*ops)[find("mount tmpfs on /dev")].data, HasSubstr(owner));
  EXPECT_THAT((*ops)[find("mount tmpfs on /scratch")].data, HasSubstr(owner));
  for (const std::string dir : {"/new", "/new/out", "/cache", "/host"}) {
    const size_t i = find("create directory " + dir);
    ASSERT_LT(i, ops->size()) << dir;
    EXPECT_EQ((*ops)[i].flags & ~uint64_t{07777}, kCreateAsPodRoot | (uint64_t{kBase} << 32))
        << dir;
  }
  // Before the pivot only the upper layer's top, the pod's "/", is chowned.
  EXPECT_EQ((*ops)[find("create directory /data/pods/a/rootfs/upper")].flags,
            kCreateAsPodRoot | (uint64_t{kBase} << 32));
  EXPECT_EQ((*ops)[find("create directory /data/pods/a/rootfs/work")].flags, 0u);
  // Best effort encodes as 2.
  absl::StatusOr<std::string> enc = EncodeMountOps({(*ops)[disk]});
  ASSERT_OK(enc);
  EXPECT_EQ((*enc)[1], 2);
}

TEST(MountPlanTest, NoUserNamespaceKeepsThePlan) {
  absl::StatusOr<std::vector<MountOp>> ops = PlanPodMounts(
      {.hostname = "pod-a", .scratch_dir = "/pods/a", .volumes = {{"/data", "/new/d"}}}, kHost);
  ASSERT_OK(ops);
  for (const MountOp& op : *ops) {
    EXPECT_EQ(op.flags & (MOUNT_ATTR_IDMAP | kCreateAsPodRoot), 0u) << op.Describe();
    EXPECT_NE(op.kind, MountOpKind::kWriteFile) << op.Describe();
    EXPECT_FALSE(op.best_effort);
    EXPECT_THAT(op.data, ::testing::Not(HasSubstr("uid=")));
  }
  EXPECT_THAT((*ops)[IndexOf(*ops, "mount overlay on /pods/a/rootfs")].data,
              HasSubstr("lowerdir=/,"));
}

}  // namespace
}  // namespace argonaut::cluster::sandbox
