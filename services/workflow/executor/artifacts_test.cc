#include "services/workflow/executor/artifacts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::workflow::executor {
namespace {

namespace fs = std::filesystem;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

std::string Slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& p, const std::string& data) {
  fs::create_directories(fs::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/artXXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST(PlanTest, InputsFromRawAndRepository) {
  auto plans = PlanInputArtifacts(json::parse(R"({"inputs": {"artifacts": [
      {"name": "a", "path": "/tmp/a", "raw": {"data": "hi"}, "mode": 493},
      {"name": "b", "path": "/tmp/b/", "local": {"key": "wf/pod/b.tgz"}, "subPath": "./x/y"},
      {"name": "c", "path": "/tmp/c", "local": {"key": "wf/pod/c"}, "archive": {"none": {}}},
      {"name": "d", "path": "/tmp/d", "optional": true}]}})"));
  ASSERT_OK(plans.status());
  ASSERT_EQ(plans->size(), 3u);
  EXPECT_TRUE((*plans)[0].from_raw);
  EXPECT_EQ((*plans)[0].raw_data, "hi");
  EXPECT_EQ((*plans)[0].mode, 0755u);
  EXPECT_EQ((*plans)[1].path, "/tmp/b");
  EXPECT_EQ((*plans)[1].sub_path, "x/y");
  EXPECT_TRUE((*plans)[1].archived);
  EXPECT_FALSE((*plans)[2].archived);
}

TEST(PlanTest, BadInputsNameTheField) {
  EXPECT_THAT(PlanInputArtifacts(json::parse(R"({"inputs": {"artifacts": [
      {"name": "s", "path": "/tmp/s", "s3": {"key": "k", "endpoint": "s3.amazonaws.com"}}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("inputs.artifacts[0] (s).s3: this artifact location")));
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
         "optional": true}]}})"));
  ASSERT_OK(plans.status());
  ASSERT_EQ(plans->size(), 3u);
  EXPECT_EQ((*plans)[0].key, "wf-1/wf-1-gen-123/hello-art.tgz");
  EXPECT_EQ((*plans)[0].record, json::parse(R"({"name": "hello-art", "path": "/tmp/hello.txt",
                            "local": {"key": "wf-1/wf-1-gen-123/hello-art.tgz"}})"));
  EXPECT_EQ((*plans)[1].key, "wf-1/wf-1-gen-123/etc");
  EXPECT_EQ((*plans)[1].record["archive"], json::parse(R"({"none": {}})"));
  EXPECT_EQ((*plans)[2].compression_level, 0);
  EXPECT_TRUE((*plans)[2].optional);
}

TEST(PlanTest, OutputsNeedARepositoryAndSupportedArchives) {
  EXPECT_THAT(PlanOutputArtifacts(
                  json::parse(R"({"outputs": {"artifacts": [{"name": "a", "path": "/tmp/a"}]}})")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no artifact repository")));
  EXPECT_THAT(PlanOutputArtifacts(json::parse(R"({"archiveLocation": {"local": {"key": "w/p"}},
      "outputs": {"artifacts": [{"name": "a", "path": "/tmp/a", "archive": {"zip": {}}}]}})")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(a).archive.zip")));
  EXPECT_OK(PlanOutputArtifacts(json::parse(R"({"outputs": {"parameters": []}})")).status());
}

TEST(KeyTest, RejectsTraversal) {
  EXPECT_OK(ValidateRepositoryKey("wf/pod/a.tgz"));
  for (const char* bad : {"", "/abs", "a/../b", "a//b", "./a", "a/.."}) {
    EXPECT_FALSE(ValidateRepositoryKey(bad).ok()) << bad;
  }
  EXPECT_EQ(*SafeMemberPath("./a//b/"), "a/b");
  EXPECT_EQ(*SafeMemberPath("./"), ".");
  EXPECT_FALSE(SafeMemberPath("/etc/passwd").ok());
  EXPECT_FALSE(SafeMemberPath("a/../../b").ok());
}

TEST(TarHeaderTest, RoundTripsAndChecksChecksum) {
  TarHeader h{.name = "dir/file.txt", .type = '0', .size = 12345, .mode = 0640, .mtime = 99};
  std::string block = EncodeTarHeader(h);
  ASSERT_EQ(block.size(), 512u);
  auto back = DecodeTarHeader(block);
  ASSERT_OK(back.status());
  EXPECT_EQ(back->name, "dir/file.txt");
  EXPECT_EQ(back->size, 12345u);
  EXPECT_EQ(back->mode, 0640u);
  block[10] ^= 1;
  EXPECT_THAT(DecodeTarHeader(block), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(DecodeTarHeader(std::string(512, '\0')),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

TEST_F(TempDir, SavesAndLoadsAFileAndADirectory) {
  const std::string repo = dir_ + "/repo";
  Spit(dir_ + "/src/file.txt", "hello world\n");
  Spit(dir_ + "/src/tree/a.txt", "A");
  Spit(dir_ + "/src/tree/sub/b.txt", "B");
  ASSERT_EQ(symlink("a.txt", (dir_ + "/src/tree/link").c_str()), 0);
  OutputArtifactPlan file{.name = "f", .path = dir_ + "/src/file.txt", .key = "wf/p/f.tgz"};
  OutputArtifactPlan tree{
      .name = "t", .path = dir_ + "/src/tree", .key = "wf/p/t.tgz", .compression_level = 0};
  OutputArtifactPlan raw{
      .name = "r", .path = dir_ + "/src/tree", .key = "wf/p/tree", .archived = false};
  ASSERT_OK(SaveOutputArtifact(file, repo));
  ASSERT_OK(SaveOutputArtifact(tree, repo));
  ASSERT_OK(SaveOutputArtifact(raw, repo));
  EXPECT_TRUE(fs::is_directory(repo + "/wf/p/tree"));
  EXPECT_EQ(Slurp(repo + "/wf/p/tree/sub/b.txt"), "B");
  EXPECT_THAT(SaveOutputArtifact({.name = "m", .path = dir_ + "/none", .key = "wf/p/m.tgz"}, repo),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));

  std::string created;
  ASSERT_OK(LoadInputArtifact({.name = "f", .path = dir_ + "/in/deep/file", .key = "wf/p/f.tgz"},
                              repo, &created));
  EXPECT_EQ(Slurp(dir_ + "/in/deep/file"), "hello world\n");
  EXPECT_EQ(created, dir_ + "/in");
  ASSERT_OK(
      LoadInputArtifact({.name = "t", .path = dir_ + "/t", .key = "wf/p/t.tgz"}, repo, nullptr));
  EXPECT_EQ(Slurp(dir_ + "/t/sub/b.txt"), "B");
  EXPECT_EQ(fs::read_symlink(dir_ + "/t/link").string(), "a.txt");
  ASSERT_OK(LoadInputArtifact(
      {.name = "s", .path = dir_ + "/s", .key = "wf/p/t.tgz", .sub_path = "sub/b.txt"}, repo,
      nullptr));
  EXPECT_EQ(Slurp(dir_ + "/s"), "B");
  ASSERT_OK(LoadInputArtifact({.name = "n",
                               .path = dir_ + "/n",
                               .key = "wf/p/tree",
                               .archived = false,
                               .sub_path = "sub",
                               .mode = 0700,
                               .recurse_mode = true},
                              repo, nullptr));
  EXPECT_EQ(Slurp(dir_ + "/n/b.txt"), "B");
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/n/b.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_THAT(
      LoadInputArtifact({.name = "x", .path = dir_ + "/x", .key = "wf/p/t.tgz", .sub_path = "nope"},
                        repo, nullptr),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("subPath \"nope\"")));
  // Outside /tmp an existing path is never overwritten.
  EXPECT_THAT(
      LoadInputArtifact({.name = "f", .path = dir_ + "/t", .from_raw = true}, repo, nullptr),
      StatusIs(absl::StatusCode::kAlreadyExists, ::testing::_));
}

// Writes a gzip'd tar of (header, data) pairs.
void WriteTar(const std::string& path, const std::vector<std::pair<TarHeader, std::string>>& es) {
  gzFile gz = gzopen(path.c_str(), "wb");
  for (const auto& [h, data] : es) {
    std::string block = EncodeTarHeader(h);
    gzwrite(gz, block.data(), block.size());
    std::string padded = data;
    padded.resize((data.size() + 511) / 512 * 512, '\0');
    if (!padded.empty()) gzwrite(gz, padded.data(), padded.size());
  }
  gzclose(gz);
}

TEST_F(TempDir, HostileArchivesStayInsideTheTarget) {
  const std::string repo = dir_ + "/repo";
  fs::create_directories(repo + "/k");
  fs::create_directories(dir_ + "/outside");
  WriteTar(repo + "/k/dotdot.tgz",
           {{{.name = "top/../../outside/evil", .type = '0', .size = 4}, "evil"}});
  WriteTar(repo + "/k/abs.tgz", {{{.name = "/outside/evil", .type = '0', .size = 4}, "evil"}});
  WriteTar(repo + "/k/link.tgz", {{{.name = "top/", .type = '5'}, ""},
                                  {{.name = "top/esc", .type = '2', .link = dir_ + "/outside"}, ""},
                                  {{.name = "top/esc/evil", .type = '0', .size = 4}, "evil"}});
  for (const char* key : {"k/dotdot.tgz", "k/abs.tgz", "k/link.tgz"}) {
    const std::string target = dir_ + "/target-" + fs::path(key).stem().string();
    absl::Status s = LoadInputArtifact({.name = "h", .path = target, .key = key}, repo, nullptr);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_)) << key;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/outside/evil"));
}

// Every byte the repository's files hold, archives decompressed.
std::string AllRepositoryBytes(const std::string& repo) {
  std::string all;
  for (const auto& e : fs::recursive_directory_iterator(repo)) {
    if (!fs::is_regular_file(fs::symlink_status(e.path()))) continue;
    gzFile gz = gzopen(e.path().c_str(), "rb");
    char buf[4096];
    int n;
    while ((n = gzread(gz, buf, sizeof(buf))) > 0) all.append(buf, static_cast<size_t>(n));
    gzclose(gz);
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
  ASSERT_OK(SaveOutputArtifact({.name = "a", .path = dir_ + "/out", .key = "wf/p/a.tgz"}, repo));
  ASSERT_OK(SaveOutputArtifact(
      {.name = "b", .path = dir_ + "/out", .key = "wf/p/b", .archived = false}, repo));
  ASSERT_OK(
      SaveOutputArtifact({.name = "c", .path = dir_ + "/lone-link", .key = "wf/p/c.tgz"}, repo));
  const std::string stored = AllRepositoryBytes(repo);
  EXPECT_NE(stored.find("fine"), std::string::npos);
  EXPECT_EQ(stored.find("TOPSECRET"), std::string::npos);
  EXPECT_TRUE(fs::is_symlink(repo + "/wf/p/b/shadow"));

  // Loading brings the links back as links.
  ASSERT_OK(
      LoadInputArtifact({.name = "a", .path = dir_ + "/in-a", .key = "wf/p/a.tgz"}, repo, nullptr));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/in-a/shadow"));
  ASSERT_OK(LoadInputArtifact(
      {.name = "b", .path = dir_ + "/in-b", .key = "wf/p/b", .archived = false}, repo, nullptr));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/in-b/data"));
  EXPECT_EQ(Slurp(dir_ + "/in-b/ok.txt"), "fine");

  // A key or subPath that passes through a stored link is refused, not followed out.
  for (const InputArtifactPlan& plan :
       {InputArtifactPlan{
            .name = "x", .path = dir_ + "/x1", .key = "wf/p/b/shadow", .archived = false},
        InputArtifactPlan{.name = "x",
        .path = dir_ + "/x2",
        .key = "wf/p/b/data/cluster/000001.sst",
        .archived = false},
        InputArtifactPlan{.name = "x",
        .path = dir_ + "/x3",
        .key = "wf/p/b",
        .archived = false,
        .sub_path = "data/cluster"},
        InputArtifactPlan{.name = "x", .path = dir_ + "/x4", .key = "wf/p/b/shadow"}}) {
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
  for (bool archived : {true, false}) {
    EXPECT_THAT(SaveOutputArtifact({.name = "o",
                                    .path = dir_ + "/out.txt",
                                    .key = archived ? "wf/p/o.tgz" : "wf/p/o",
                                    .archived = archived},
                                   repo),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));
  }
  EXPECT_TRUE(fs::is_empty(dir_ + "/victim"));
}

TEST_F(TempDir, TraversalKeysAreRefused) {
  const std::string repo = dir_ + "/repo";
  Spit(dir_ + "/out.txt", "payload");
  for (const char* key : {"../escape", "wf/../../escape", "/etc/shadow", "wf/./p", "wf//p"}) {
    EXPECT_THAT(SaveOutputArtifact({.name = "o", .path = dir_ + "/out.txt", .key = key}, repo),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << key;
    EXPECT_THAT(LoadInputArtifact({.name = "i", .path = dir_ + "/in", .key = key}, repo, nullptr),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << key;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/escape"));
}

TEST_F(TempDir, ATarbombBeyondTheCapIsRefusedBeforeItIsWritten) {
  const std::string repo = dir_ + "/repo";
  fs::create_directories(repo + "/k");
  // Announces 5 GiB and holds almost nothing: refused from the header alone.
  WriteTar(repo + "/k/bomb.tgz", {{{.name = "top/", .type = '5'}, ""},
                                  {{.name = "top/zeros", .type = '0', .size = uint64_t{5} << 30},
                                   std::string(512, '\0')}});
  absl::Status s =
      LoadInputArtifact({.name = "b", .path = dir_ + "/bomb", .key = "k/bomb.tgz"}, repo, nullptr);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("extraction limit")));
  EXPECT_FALSE(fs::exists(dir_ + "/bomb/zeros"));

  // Many members that each fit but together exceed a small cap.
  std::vector<std::pair<TarHeader, std::string>> members = {{{.name = "top/", .type = '5'}, ""}};
  for (int i = 0; i < 5; ++i) {
    members.push_back(
        {{.name = absl::StrCat("top/f", i), .type = '0', .size = 1000}, std::string(1000, 'z')});
  }
  WriteTar(repo + "/k/many.tgz", members);
  s = LoadInputArtifact(
      {.name = "m", .path = dir_ + "/many", .key = "k/many.tgz", .max_bytes = 3500}, repo, nullptr);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("3500 bytes")));
  EXPECT_FALSE(fs::exists(dir_ + "/many/f3"));
  ASSERT_OK(LoadInputArtifact(
      {.name = "m", .path = dir_ + "/many-ok", .key = "k/many.tgz", .max_bytes = 5000}, repo,
      nullptr));
  EXPECT_EQ(Slurp(dir_ + "/many-ok/f4"), std::string(1000, 'z'));
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

}  // namespace
}  // namespace argonaut::workflow::executor
