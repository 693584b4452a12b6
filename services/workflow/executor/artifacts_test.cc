#include "services/workflow/executor/artifacts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/artifacts/beneath.h"
#include "lib/artifacts/local_driver.h"
#include "lib/artifacts/testing_files.h"
#include "lib/artifacts/testing_tar.h"
#include "lib/base/status_matchers.h"
#include "services/workflow/executor/remote.h"

namespace argonaut::workflow::executor {
namespace {

namespace fs = std::filesystem;
using ::argonaut::artifacts::ArchiveFormat;
using ::argonaut::artifacts::OpenBeneath;
using ::argonaut::artifacts::testing::Slurp;
using ::argonaut::artifacts::testing::Spit;
using ::argonaut::artifacts::testing::TarMember;
using ::argonaut::artifacts::testing::WriteTarGz;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

using TempDir = ::argonaut::artifacts::testing::TempDirTest;

// An isolated pod mounts only its workflow's part below the mount path, so the
// mount path is the root whenever it exists, even where the host path is also
// visible; plain mode, which mounts nothing, uses the host path.
TEST(RepositoryRootTest, MountPathFirstThenHostPath) {
  const char* t = std::getenv("TEST_TMPDIR");
  const std::string base = absl::StrCat(t != nullptr ? t : "/tmp", "/repo-root-", getpid());
  const std::string mount = base + "/mount", host = base + "/host";
  std::filesystem::create_directories(mount);
  std::filesystem::create_directories(host);
  EXPECT_EQ(RepositoryRoot(mount.c_str(), host.c_str()), mount);
  EXPECT_EQ(RepositoryRoot((base + "/absent").c_str(), host.c_str()), host);
  EXPECT_EQ(RepositoryRoot(nullptr, host.c_str()), host);
  EXPECT_EQ(RepositoryRoot(mount.c_str(), nullptr), mount);
  EXPECT_EQ(RepositoryRoot(nullptr, nullptr), "");
}

TEST(PlanTest, InputsFromRawRepositoryAndRemoteLocations) {
  auto plans = PlanInputArtifacts(json::parse(R"({"inputs": {"artifacts": [
      {"name": "a", "path": "/tmp/a", "raw": {"data": "hi"}, "mode": 493},
      {"name": "b", "path": "/tmp/b/", "local": {"key": "wf/pod/b.tgz"}, "subPath": "./x/y"},
      {"name": "c", "path": "/tmp/c", "local": {"key": "wf/pod/c"}, "archive": {"none": {}}},
      {"name": "d", "path": "/tmp/d", "optional": true},
      {"name": "s", "path": "/tmp/s", "s3": {"bucket": "b", "key": "k"}},
      {"name": "g", "path": "/src", "git": {"repo": "https://h/r.git"}}]}})"));
  ASSERT_OK(plans.status());
  ASSERT_EQ(plans->size(), 5u);
  EXPECT_TRUE((*plans)[0].from_raw);
  EXPECT_EQ((*plans)[0].raw_data, "hi");
  EXPECT_EQ((*plans)[0].mode, 0755u);
  EXPECT_EQ((*plans)[1].path, "/tmp/b");
  EXPECT_EQ((*plans)[1].sub_path, "x/y");
  EXPECT_TRUE((*plans)[1].archived);
  EXPECT_FALSE((*plans)[2].archived);
  EXPECT_EQ((*plans)[3].kind, "s3");
  EXPECT_EQ((*plans)[3].artifact["s3"]["bucket"], "b");
  EXPECT_EQ((*plans)[4].kind, "git");
}

TEST(PlanTest, BadInputsNameTheField) {
  EXPECT_THAT(PlanInputArtifacts(json::parse(R"({"inputs": {"artifacts": [
      {"name": "s", "path": "/tmp/s", "gcs": {"key": "k", "bucket": "b"}}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("inputs.artifacts[0] (s).gcs: this artifact location")));
  EXPECT_THAT(PlanInputArtifacts(json::parse(R"({"inputs": {"artifacts": [
      {"name": "s", "path": "/tmp/s", "s3": {"key": "k"}, "http": {"url": "u"}}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than one location")));
  EXPECT_THAT(PlanInputArtifacts(
                  json::parse(R"({"inputs": {"artifacts": [{"name": "m", "path": "/tmp/m"}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no location")));
  EXPECT_THAT(PlanInputArtifacts(json::parse(R"({"inputs": {"artifacts": [
      {"name": "k", "path": "/tmp/k", "local": {"key": "../../etc/passwd"}}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("local.key")));
  EXPECT_THAT(PlanInputArtifacts(json::parse(R"({"inputs": {"artifacts": [
      {"name": "p", "path": "relative", "raw": {"data": ""}}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(p).path")));
  EXPECT_THAT(PlanInputArtifacts(json::parse(R"({"inputs": {"artifacts": [
      {"name": "q", "path": "/tmp/q", "raw": {"data": ""}, "subPath": "../up"}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(q).subPath")));
}

TEST(PlanTest, OutputKeysFollowArgosDefaultFormat) {
  auto plans = PlanOutputArtifacts(json::parse(R"({
      "archiveLocation": {"local": {"key": "wf-1/wf-1-gen-123"}},
      "outputs": {"artifacts": [
        {"name": "hello-art", "path": "/tmp/hello.txt"},
        {"name": "etc", "path": "/etc/", "archive": {"none": {}}},
        {"name": "nc", "path": "/tmp/x", "archive": {"tar": {"compressionLevel": 0}},
         "optional": true},
        {"name": "z", "path": "/tmp/z", "archive": {"zip": {}}}]}})"));
  ASSERT_OK(plans.status());
  ASSERT_EQ(plans->size(), 4u);
  EXPECT_EQ((*plans)[0].key, "wf-1/wf-1-gen-123/hello-art.tgz");
  EXPECT_EQ((*plans)[0].record, json::parse(R"({"name": "hello-art", "path": "/tmp/hello.txt",
                            "local": {"key": "wf-1/wf-1-gen-123/hello-art.tgz"}})"));
  EXPECT_EQ((*plans)[1].key, "wf-1/wf-1-gen-123/etc");
  EXPECT_EQ((*plans)[1].record["archive"], json::parse(R"({"none": {}})"));
  EXPECT_EQ((*plans)[2].archive.compression_level, 0);
  EXPECT_TRUE((*plans)[2].optional);
  EXPECT_EQ((*plans)[3].key, "wf-1/wf-1-gen-123/z.zip");
}

TEST(PlanTest, OutputsToARemoteRepositoryCarryTheCompleteLocation) {
  auto plans = PlanOutputArtifacts(json::parse(R"({
      "archiveLocation": {"archiveLogs": true, "s3": {"endpoint": "127.0.0.1:9000",
        "bucket": "my-bucket", "insecure": true, "key": "wf-1/wf-1-123",
        "accessKeySecret": {"name": "s3", "key": "accessKey"}}},
      "outputs": {"artifacts": [
        {"name": "a", "path": "/tmp/a", "artifactGC": {"strategy": "OnWorkflowDeletion"}},
        {"name": "own", "path": "/tmp/o", "s3": {"bucket": "other", "key": "fixed/o.tgz"}},
        {"name": "web", "path": "/tmp/w", "http": {"url": "http://127.0.0.1:1/w"}}]}})"));
  ASSERT_OK(plans.status());
  ASSERT_EQ(plans->size(), 3u);
  EXPECT_EQ((*plans)[0].kind, "s3");
  EXPECT_EQ((*plans)[0].record, json::parse(R"({"name": "a", "path": "/tmp/a",
      "artifactGC": {"strategy": "OnWorkflowDeletion"},
      "s3": {"endpoint": "127.0.0.1:9000", "bucket": "my-bucket", "insecure": true,
             "key": "wf-1/wf-1-123/a.tgz",
             "accessKeySecret": {"name": "s3", "key": "accessKey"}}})"));
  EXPECT_EQ((*plans)[1].key, "fixed/o.tgz");
  EXPECT_EQ((*plans)[1].record["s3"]["bucket"], "other");
  EXPECT_EQ((*plans)[2].kind, "http");
  EXPECT_EQ((*plans)[2].record["http"]["url"], "http://127.0.0.1:1/w");

  auto logs = PlanLogArtifact(json::parse(R"({"archiveLocation": {"archiveLogs": true,
      "s3": {"bucket": "b", "key": "wf/pod"}}})"),
                              "/tmp/log/main.log");
  ASSERT_OK(logs.status());
  ASSERT_TRUE(logs->has_value());
  EXPECT_EQ(
      (**logs).record,
      json::parse(R"({"name": "main-logs", "s3": {"bucket": "b", "key": "wf/pod/main.log"}})"));
  EXPECT_FALSE(PlanLogArtifact(json::parse(R"({"archiveLocation": {"s3": {"key": "k"}}})"), "/l")
                   ->has_value());
}

TEST(PlanTest, OutputsNeedARepositoryAndAKnownArchive) {
  EXPECT_THAT(PlanOutputArtifacts(
                  json::parse(R"({"outputs": {"artifacts": [{"name": "a", "path": "/tmp/a"}]}})")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no artifact repository")));
  EXPECT_THAT(PlanOutputArtifacts(json::parse(R"({"archiveLocation": {"local": {"key": "w/p"}},
      "outputs": {"artifacts": [{"name": "a", "path": "/tmp/a", "archive": "zip"}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(a) archive")));
  EXPECT_THAT(PlanOutputArtifacts(json::parse(R"({"archiveLocation": {"local": {"key": "w/p"}},
      "outputs": {"artifacts": [{"name": "a", "path": "/tmp/a", "git": {"repo": "r"}}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(a).git")));
  EXPECT_OK(PlanOutputArtifacts(json::parse(R"({"outputs": {"parameters": []}})")).status());
}

OutputArtifactPlan Out(std::string name, std::string path, std::string key,
                       ArchiveFormat format = ArchiveFormat::kTarGz, int level = -1) {
  OutputArtifactPlan p;
  p.name = std::move(name);
  p.path = std::move(path);
  p.key = std::move(key);
  p.archive = {.format = format, .compression_level = level};
  p.record = {{"name", p.name}, {"local", {{"key", p.key}}}};
  return p;
}

InputArtifactPlan In(std::string name, std::string path, std::string key, bool archived = true,
                     std::string sub_path = "") {
  InputArtifactPlan p;
  p.name = std::move(name);
  p.path = std::move(path);
  p.kind = "local";
  p.key = std::move(key);
  p.archived = archived;
  p.sub_path = std::move(sub_path);
  p.artifact = {{"name", p.name}, {"local", {{"key", p.key}}}};
  return p;
}

TEST_F(TempDir, SavesAndLoadsAFileAndADirectory) {
  const std::string repo = dir_ + "/repo";
  Spit(dir_ + "/src/file.txt", "hello world\n");
  Spit(dir_ + "/src/tree/a.txt", "A");
  Spit(dir_ + "/src/tree/sub/b.txt", "B");
  ASSERT_EQ(symlink("a.txt", (dir_ + "/src/tree/link").c_str()), 0);
  ASSERT_OK(SaveOutputArtifact(Out("f", dir_ + "/src/file.txt", "wf/p/f.tgz"), repo));
  ASSERT_OK(SaveOutputArtifact(Out("t", dir_ + "/src/tree", "wf/p/t.tgz", ArchiveFormat::kTarGz, 0),
                               repo));
  ASSERT_OK(
      SaveOutputArtifact(Out("z", dir_ + "/src/tree", "wf/p/t.zip", ArchiveFormat::kZip), repo));
  ASSERT_OK(
      SaveOutputArtifact(Out("r", dir_ + "/src/tree", "wf/p/tree", ArchiveFormat::kNone), repo));
  EXPECT_TRUE(fs::is_directory(repo + "/wf/p/tree"));
  EXPECT_EQ(Slurp(repo + "/wf/p/tree/sub/b.txt"), "B");
  EXPECT_THAT(SaveOutputArtifact(Out("m", dir_ + "/none", "wf/p/m.tgz"), repo),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));

  std::string created;
  ASSERT_OK(LoadInputArtifact(In("f", dir_ + "/in/deep/file", "wf/p/f.tgz"), repo, &created));
  EXPECT_EQ(Slurp(dir_ + "/in/deep/file"), "hello world\n");
  EXPECT_EQ(created, dir_ + "/in");
  ASSERT_OK(LoadInputArtifact(In("t", dir_ + "/t", "wf/p/t.tgz"), repo, nullptr));
  EXPECT_EQ(Slurp(dir_ + "/t/sub/b.txt"), "B");
  EXPECT_EQ(fs::read_symlink(dir_ + "/t/link").string(), "a.txt");
  ASSERT_OK(LoadInputArtifact(In("z", dir_ + "/z", "wf/p/t.zip"), repo, nullptr));
  EXPECT_EQ(Slurp(dir_ + "/z/sub/b.txt"), "B");
  ASSERT_OK(
      LoadInputArtifact(In("s", dir_ + "/s", "wf/p/t.tgz", true, "sub/b.txt"), repo, nullptr));
  EXPECT_EQ(Slurp(dir_ + "/s"), "B");
  InputArtifactPlan n = In("n", dir_ + "/n", "wf/p/tree", false, "sub");
  n.mode = 0700;
  n.recurse_mode = true;
  ASSERT_OK(LoadInputArtifact(n, repo, nullptr));
  EXPECT_EQ(Slurp(dir_ + "/n/b.txt"), "B");
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/n/b.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_THAT(LoadInputArtifact(In("x", dir_ + "/x", "wf/p/t.tgz", true, "nope"), repo, nullptr),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("subPath \"nope\"")));
  // Outside /tmp an existing path is never overwritten.
  InputArtifactPlan raw;
  raw.name = "f";
  raw.path = dir_ + "/t";
  raw.kind = "raw";
  raw.from_raw = true;
  EXPECT_THAT(LoadInputArtifact(raw, repo, nullptr),
              StatusIs(absl::StatusCode::kAlreadyExists, ::testing::_));
}

TEST_F(TempDir, HostileArchivesStayInsideTheTarget) {
  const std::string repo = dir_ + "/repo";
  fs::create_directories(repo + "/k");
  fs::create_directories(dir_ + "/outside");
  WriteTarGz(repo + "/k/dotdot.tgz", {{{.name = "top/../../outside/evil", .size = 4}, "evil"}});
  WriteTarGz(repo + "/k/abs.tgz", {{{.name = "/outside/evil", .size = 4}, "evil"}});
  WriteTarGz(repo + "/k/link.tgz",
             {{{.name = "top/", .type = '5'}, ""},
              {{.name = "top/esc", .type = '2', .link = dir_ + "/outside"}, ""},
              {{.name = "top/esc/evil", .size = 4}, "evil"}});
  for (const char* key : {"k/dotdot.tgz", "k/abs.tgz", "k/link.tgz"}) {
    const std::string target = dir_ + "/target-" + fs::path(key).stem().string();
    absl::Status s = LoadInputArtifact(In("h", target, key), repo, nullptr);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_)) << key;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/outside/evil"));
}

// Every byte the repository's files hold (archives as stored: gzip'd, so a plain string
// only shows up in unarchived copies; checked after unpacking below).
std::string AllRepositoryBytes(const std::string& repo, const std::string& scratch) {
  std::string all;
  int i = 0;
  for (const auto& e : fs::recursive_directory_iterator(repo)) {
    if (!fs::is_regular_file(fs::symlink_status(e.path()))) continue;
    all += Slurp(e.path().string());
    if (e.path().extension() == ".tgz") {
      const std::string out = scratch + "/u" + std::to_string(i++);
      int fd = open(e.path().c_str(), O_RDONLY);
      EXPECT_OK(artifacts::Unpack(fd, out, ""));
      close(fd);
      if (fs::is_regular_file(fs::symlink_status(out))) all += Slurp(out);
      if (fs::is_directory(fs::symlink_status(out))) {
        for (const auto& f : fs::recursive_directory_iterator(out)) {
          if (fs::is_regular_file(fs::symlink_status(f.path()))) all += Slurp(f.path().string());
        }
      }
    }
  }
  return all;
}

TEST_F(TempDir, SymlinksInOutputsAreStoredAsLinksNeverFollowed) {
  const std::string repo = dir_ + "/repo";
  // Stand-ins for /etc/shadow and the data directory.
  Spit(dir_ + "/host/shadow", "root:TOPSECRET-HASH:19000");
  Spit(dir_ + "/data/cluster/000001.sst", "TOPSECRET-SST");
  Spit(dir_ + "/out/ok.txt", "fine");
  ASSERT_EQ(symlink((dir_ + "/host/shadow").c_str(), (dir_ + "/out/shadow").c_str()), 0);
  ASSERT_EQ(symlink((dir_ + "/data").c_str(), (dir_ + "/out/data").c_str()), 0);
  ASSERT_EQ(symlink((dir_ + "/host/shadow").c_str(), (dir_ + "/lone-link").c_str()), 0);
  ASSERT_OK(SaveOutputArtifact(Out("a", dir_ + "/out", "wf/p/a.tgz"), repo));
  ASSERT_OK(SaveOutputArtifact(Out("b", dir_ + "/out", "wf/p/b", ArchiveFormat::kNone), repo));
  ASSERT_OK(SaveOutputArtifact(Out("c", dir_ + "/lone-link", "wf/p/c.tgz"), repo));
  fs::create_directories(dir_ + "/scratch");
  const std::string stored = AllRepositoryBytes(repo, dir_ + "/scratch");
  EXPECT_NE(stored.find("fine"), std::string::npos);
  EXPECT_EQ(stored.find("TOPSECRET"), std::string::npos);
  EXPECT_TRUE(fs::is_symlink(repo + "/wf/p/b/shadow"));

  // Loading brings the links back as links.
  ASSERT_OK(LoadInputArtifact(In("a", dir_ + "/in-a", "wf/p/a.tgz"), repo, nullptr));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/in-a/shadow"));
  ASSERT_OK(LoadInputArtifact(In("b", dir_ + "/in-b", "wf/p/b", false), repo, nullptr));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/in-b/data"));
  EXPECT_EQ(Slurp(dir_ + "/in-b/ok.txt"), "fine");

  // A key or subPath that passes through a stored link is refused, not followed out.
  for (const InputArtifactPlan& plan :
       {In("x", dir_ + "/x1", "wf/p/b/shadow", false),
        In("x", dir_ + "/x2", "wf/p/b/data/cluster/000001.sst", false),
        In("x", dir_ + "/x3", "wf/p/b", false, "data/cluster"),
        In("x", dir_ + "/x4", "wf/p/b/shadow")}) {
    absl::Status s = LoadInputArtifact(plan, repo, nullptr);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")))
        << plan.key << " " << plan.sub_path;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/x1"));
  EXPECT_FALSE(fs::exists(dir_ + "/x2"));
}

TEST_F(TempDir, ALinkPlantedInTheRepositoryIsNotWrittenThrough) {
  const std::string repo = dir_ + "/repo";
  fs::create_directories(repo);
  fs::create_directories(dir_ + "/victim");
  ASSERT_EQ(symlink((dir_ + "/victim").c_str(), (repo + "/wf").c_str()), 0);
  Spit(dir_ + "/out.txt", "payload");
  for (ArchiveFormat format : {ArchiveFormat::kTarGz, ArchiveFormat::kNone}) {
    EXPECT_THAT(
        SaveOutputArtifact(Out("o", dir_ + "/out.txt",
                               format == ArchiveFormat::kTarGz ? "wf/p/o.tgz" : "wf/p/o", format),
                           repo),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));
  }
  EXPECT_TRUE(fs::is_empty(dir_ + "/victim"));
}

TEST_F(TempDir, TraversalKeysAreRefused) {
  const std::string repo = dir_ + "/repo";
  Spit(dir_ + "/out.txt", "payload");
  for (const char* key : {"../escape", "wf/../../escape", "/etc/shadow", "wf/./p", "wf//p"}) {
    EXPECT_THAT(SaveOutputArtifact(Out("o", dir_ + "/out.txt", key), repo),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << key;
    EXPECT_THAT(LoadInputArtifact(In("i", dir_ + "/in", key), repo, nullptr),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << key;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/escape"));
}

TEST_F(TempDir, ATarbombBeyondTheCapIsRefusedBeforeItIsWritten) {
  const std::string repo = dir_ + "/repo";
  fs::create_directories(repo + "/k");
  // Announces 5 GiB and holds almost nothing: refused from the header alone.
  WriteTarGz(repo + "/k/bomb.tgz",
             {{{.name = "top/", .type = '5'}, ""},
              {{.name = "top/zeros", .size = uint64_t{5} << 30}, std::string(512, '\0')}});
  absl::Status s = LoadInputArtifact(In("b", dir_ + "/bomb", "k/bomb.tgz"), repo, nullptr);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("extraction limit")));
  EXPECT_FALSE(fs::exists(dir_ + "/bomb/zeros"));

  // Many members that each fit but together exceed a small cap.
  std::vector<std::pair<TarMember, std::string>> members = {{{.name = "top/", .type = '5'}, ""}};
  for (int i = 0; i < 5; ++i) {
    members.push_back({{.name = absl::StrCat("top/f", i), .size = 1000}, std::string(1000, 'z')});
  }
  WriteTarGz(repo + "/k/many.tgz", members);
  InputArtifactPlan many = In("m", dir_ + "/many", "k/many.tgz");
  many.max_bytes = 3500;
  EXPECT_THAT(LoadInputArtifact(many, repo, nullptr),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("3500 bytes")));
  EXPECT_FALSE(fs::exists(dir_ + "/many/f3"));
  many.path = dir_ + "/many-ok";
  many.max_bytes = 5000;
  ASSERT_OK(LoadInputArtifact(many, repo, nullptr));
  EXPECT_EQ(Slurp(dir_ + "/many-ok/f4"), std::string(1000, 'z'));
}

// A RemoteTransfer over a second local repository: the remote path (download beside the target,
// unpack, pack into a scratch file, upload) with real files and no network.
TEST_F(TempDir, RemoteLocationsArePackedHereAndMovedByTheTransfer) {
  artifacts::LocalDriver far(dir_ + "/far");
  RemoteTransfer remote;
  remote.load = [&](const json& artifact, const std::string& dst) {
    return far.Load(json{{"local", {{"key", artifact["s3"]["key"]}}}}, dst);
  };
  remote.save = [&](const std::string& src, const json& artifact) {
    return far.Save(src, json{{"local", {{"key", artifact["s3"]["key"]}}}});
  };
  Spit(dir_ + "/out/tree/a", "A");
  OutputArtifactPlan out = Out("t", dir_ + "/out/tree", "wf/p/t.tgz");
  out.kind = "s3";
  out.record = {{"name", "t"}, {"s3", {{"bucket", "b"}, {"key", "wf/p/t.tgz"}}}};
  ASSERT_OK(SaveOutputArtifact(out, "", &remote));
  EXPECT_TRUE(fs::is_regular_file(dir_ + "/far/wf/p/t.tgz"));
  OutputArtifactPlan none = out;
  none.archive.format = ArchiveFormat::kNone;
  none.record["s3"]["key"] = "wf/p/tree";
  ASSERT_OK(SaveOutputArtifact(none, "", &remote));
  EXPECT_EQ(Slurp(dir_ + "/far/wf/p/tree/a"), "A");

  InputArtifactPlan in;
  in.name = "t";
  in.kind = "s3";
  in.path = dir_ + "/in/t";
  in.artifact = out.record;
  ASSERT_OK(LoadInputArtifact(in, "", nullptr, &remote));
  EXPECT_EQ(Slurp(dir_ + "/in/t/a"), "A");
  in.path = dir_ + "/in/tree";
  in.artifact = none.record;
  in.sub_path = "a";
  ASSERT_OK(LoadInputArtifact(in, "", nullptr, &remote));
  EXPECT_EQ(Slurp(dir_ + "/in/tree"), "A");
  // A plain object that is no archive is placed as the file it is (Argo).
  Spit(dir_ + "/far/plain", "just text");
  in.path = dir_ + "/in/plain";
  in.artifact = {{"name", "p"}, {"s3", {{"key", "plain"}}}};
  in.sub_path = "";
  ASSERT_OK(LoadInputArtifact(in, "", nullptr, &remote));
  EXPECT_EQ(Slurp(dir_ + "/in/plain"), "just text");
  in.path = dir_ + "/in/missing";
  in.artifact = {{"name", "p"}, {"s3", {{"key", "missing"}}}};
  EXPECT_THAT(LoadInputArtifact(in, "", nullptr, &remote),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(LoadInputArtifact(in, "", nullptr, nullptr),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
}

// The helper program itself, run as argoexec runs it, on the local repository.
TEST_F(TempDir, TheHelperProgramMovesObjectsAndReportsStatusCodes) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  ASSERT_NE(srcdir, nullptr);
  const std::string helper = absl::StrCat(srcdir, "/", ws != nullptr ? ws : "__main__",
                                          "/services/workflow/executor/argoexec-artifacts");
  ASSERT_EQ(access(helper.c_str(), X_OK), 0) << helper;
  ASSERT_EQ(setenv(kArtifactRepoHostEnv, (dir_ + "/repo").c_str(), 1), 0);
  fs::create_directories(dir_ + "/repo");
  RemoteTransfer t = HelperTransfer({helper});
  Spit(dir_ + "/f.txt", "via helper");
  const json artifact = {{"name", "f"}, {"local", {{"key", "wf/p/f.txt"}}}};
  ASSERT_OK(t.save(dir_ + "/f.txt", artifact));
  EXPECT_EQ(Slurp(dir_ + "/repo/wf/p/f.txt"), "via helper");
  ASSERT_OK(t.load(artifact, dir_ + "/back.txt"));
  EXPECT_EQ(Slurp(dir_ + "/back.txt"), "via helper");
  EXPECT_THAT(t.load(json{{"name", "m"}, {"local", {{"key", "wf/none"}}}}, dir_ + "/m"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("wf/none")));
  EXPECT_THAT(t.load(json{{"name", "g"}, {"gcs", {{"key", "k"}}}}, dir_ + "/g"),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("gcs")));
  EXPECT_THAT(HelperTransfer({dir_ + "/no-such-helper"}).load(artifact, dir_ + "/x"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no-such-helper")));
  unsetenv(kArtifactRepoHostEnv);
}

TEST_F(TempDir, OpenBeneathRefusesLinksWithAndWithoutOpenat2) {
  Spit(dir_ + "/root/a/file", "in");
  Spit(dir_ + "/outside/file", "out");
  ASSERT_EQ(symlink((dir_ + "/outside").c_str(), (dir_ + "/root/a/up").c_str()), 0);
  ASSERT_EQ(symlink("file", (dir_ + "/root/a/same").c_str()), 0);
  const int root = open((dir_ + "/root").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(root, 0);
  for (bool use_openat2 : {true, false}) {
    SCOPED_TRACE(use_openat2 ? "openat2" : "walk");
    int fd = OpenBeneath(root, "a/file", O_RDONLY, 0, use_openat2);
    EXPECT_GE(fd, 0);
    if (fd >= 0) close(fd);
    for (const char* rel : {"a/up/file", "a/up", "a/same", "../outside/file", "a/../../outside"}) {
      errno = 0;
      fd = OpenBeneath(root, rel, O_RDONLY, 0, use_openat2);
      EXPECT_LT(fd, 0) << rel;
      EXPECT_TRUE(errno == ELOOP || errno == EXDEV) << rel << ": " << std::strerror(errno);
      if (fd >= 0) close(fd);
    }
    errno = 0;
    EXPECT_LT(OpenBeneath(root, "a/missing", O_RDONLY, 0, use_openat2), 0);
    EXPECT_EQ(errno, ENOENT);
  }
  close(root);
}

TEST(KeyTest, RejectsTraversal) {
  EXPECT_OK(artifacts::ValidateKey("wf/pod/a.tgz"));
  for (const char* bad : {"", "/abs", "a/../b", "a//b", "./a", "a/.."}) {
    EXPECT_FALSE(artifacts::ValidateKey(bad).ok()) << bad;
  }
  EXPECT_EQ(*artifacts::SafeMemberPath("./a//b/"), "a/b");
  EXPECT_EQ(*artifacts::SafeMemberPath("./"), ".");
  EXPECT_FALSE(artifacts::SafeMemberPath("/etc/passwd").ok());
  EXPECT_FALSE(artifacts::SafeMemberPath("a/../../b").ok());
}

}  // namespace
}  // namespace argonaut::workflow::executor
