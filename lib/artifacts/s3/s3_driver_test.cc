// The s3 driver against a real s3rver: files, directories (archive none),
// prefixes, deletion, Secrets and Argo's location fields.
#include "lib/artifacts/s3/s3_driver.h"

#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/artifacts/s3/s3_client.h"
#include "lib/artifacts/s3/s3_test_util.h"
#include "lib/artifacts/testing_files.h"
#include "lib/base/status_matchers.h"

namespace argonaut::artifacts::s3 {
namespace {

using ::argonaut::artifacts::testing::Slurp;
using ::argonaut::artifacts::testing::Spit;

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using namespace ::argonaut::artifacts::s3::testing;
using nlohmann::json;
namespace fs = std::filesystem;

MATCHER_P(OkAnd, m, "is OK and its value matches") {
  if (!arg.ok()) {
    *result_listener << "status " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(m, *arg, result_listener);
}

class S3DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status s = server_.Start();
    if (absl::IsFailedPrecondition(s)) GTEST_SKIP() << "SKIPPED: " << s.message();
    ASSERT_OK(s);
    options_.secrets = [this](std::string_view name,
                              std::string_view key) -> absl::StatusOr<std::string> {
      ++secret_lookups_;
      if (name == "my-s3-credentials" && key == "accessKey") return std::string(kS3rverKey);
      if (name == "my-s3-credentials" && key == "secretKey") return std::string(kS3rverKey);
      return absl::NotFoundError(absl::StrCat("no Secret ", std::string(name)));
    };
    tuning_.part_size = 5 << 20;
    tuning_.multipart_threshold = 5 << 20;
    tuning_.sleep = [](absl::Duration) {};
    tmp_ = server_.dir->path();
  }

  json Location(const std::string& key) {
    return {{"endpoint", server_.endpoint},
            {"bucket", "my-bucket"},
            {"insecure", true},
            {"key", key},
            {"createBucketIfNotPresent", json::object()},
            {"accessKeySecret", {{"name", "my-s3-credentials"}, {"key", "accessKey"}}},
            {"secretKeySecret", {{"name", "my-s3-credentials"}, {"key", "secretKey"}}}};
  }
  json Artifact(const std::string& key) { return {{"name", "art"}, {"s3", Location(key)}}; }
  std::unique_ptr<Driver> Make(const json& loc) {
    auto d = MakeS3Driver(loc, options_, tuning_);
    EXPECT_OK(d);
    return d.ok() ? std::move(*d) : nullptr;
  }

  S3rver server_;
  DriverOptions options_;
  S3DriverTuning tuning_;
  int secret_lookups_ = 0;
  std::string tmp_;
};

long MaxRssKiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// First in the file, so that the process's peak is still low: a 128 MiB
// object goes up and comes back without the peak growing by more than a
// fraction of it.
TEST_F(S3DriverTest, StreamsLargeFilesInBoundedMemory) {
  const std::string src = tmp_ + "/large.bin";
  {
    std::ofstream out(src, std::ios::binary);
    std::string block(1 << 20, '\0');
    for (int i = 0; i < 128; ++i) {
      for (size_t j = 0; j < block.size(); j += 4096) block[j] = static_cast<char>(i + j);
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
  }
  tuning_.part_size = 16 << 20;
  tuning_.multipart_threshold = 16 << 20;
  auto driver = Make(Location("large/obj.bin"));
  ASSERT_NE(driver, nullptr);
  const long before = MaxRssKiB();
  ASSERT_OK(driver->Save(src, Artifact("large/obj.bin")));
  ASSERT_OK(driver->Load(Artifact("large/obj.bin"), tmp_ + "/large.out"));
  const long grown_kib = MaxRssKiB() - before;
  EXPECT_LT(grown_kib, 24 << 10) << "peak RSS grew by " << grown_kib << " KiB";
  std::ifstream a(src, std::ios::binary), b(tmp_ + "/large.out", std::ios::binary);
  std::string x(1 << 20, '\0'), y(1 << 20, '\0');
  uint64_t total = 0;
  while (a.read(x.data(), static_cast<std::streamsize>(x.size()))) {
    ASSERT_TRUE(b.read(y.data(), static_cast<std::streamsize>(y.size())));
    ASSERT_TRUE(x == y) << "differs in MiB " << total / (1 << 20);
    total += x.size();
  }
  EXPECT_FALSE(b.read(y.data(), 1));
  EXPECT_EQ(total, 128u << 20);
}

TEST_F(S3DriverTest, FileSaveLoadStreamListDelete) {
  auto driver = Make(Location("wf/pod/out.tgz"));
  ASSERT_NE(driver, nullptr);
  const json art = Artifact("wf/pod/out.tgz");
  Spit(tmp_ + "/out.tgz", std::string(6 << 20, 'z') + "tail");  // multipart
  ASSERT_OK(driver->Save(tmp_ + "/out.tgz", art));              // creates the bucket
  ASSERT_OK(driver->Load(art, tmp_ + "/back.tgz"));
  EXPECT_TRUE(Slurp(tmp_ + "/back.tgz") == Slurp(tmp_ + "/out.tgz"));
  uint64_t streamed = 0;
  ASSERT_OK(driver->OpenStream(art, [&](std::string_view c) {
    streamed += c.size();
    return absl::OkStatus();
  }));
  EXPECT_EQ(streamed, (6u << 20) + 4);
  EXPECT_THAT(driver->ListObjects(art), OkAnd(ElementsAre("wf/pod/out.tgz")));
  // A sibling that shares the key's leading characters is not listed.
  ASSERT_OK(driver->Save(tmp_ + "/out.tgz", Artifact("wf/pod/out.tgz.bak")));
  EXPECT_THAT(driver->ListObjects(art), OkAnd(ElementsAre("wf/pod/out.tgz")));
  ASSERT_OK(driver->Delete(art));
  EXPECT_THAT(driver->Load(art, tmp_ + "/gone"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(driver->Delete(art));  // twice is fine (GC may run twice)
  EXPECT_THAT(driver->ListObjects(art), OkAnd(ElementsAre()));
  // Secrets were read once, for the one client.
  EXPECT_EQ(secret_lookups_, 2);
}

TEST_F(S3DriverTest, DirectoryTreeUnderTheKey) {
  auto driver = Make(Location("wf/pod/dir"));
  ASSERT_NE(driver, nullptr);
  const std::string src = tmp_ + "/src";
  Spit(src + "/a.txt", "a");
  Spit(src + "/sub/b.txt", "bb");
  Spit(src + "/sub/deeper/c with space.txt", "ccc");
  fs::create_directories(src + "/empty");
  fs::create_symlink("/etc/passwd", src + "/link");
  const json art = Artifact("wf/pod/dir");
  ASSERT_OK(driver->Save(src, art));
  EXPECT_THAT(driver->ListObjects(art),
              OkAnd(UnorderedElementsAre("wf/pod/dir/a.txt", "wf/pod/dir/sub/b.txt",
                                         "wf/pod/dir/sub/deeper/c with space.txt")));
  ASSERT_OK(driver->Load(art, tmp_ + "/dst"));
  EXPECT_EQ(Slurp(tmp_ + "/dst/a.txt"), "a");
  EXPECT_EQ(Slurp(tmp_ + "/dst/sub/b.txt"), "bb");
  EXPECT_EQ(Slurp(tmp_ + "/dst/sub/deeper/c with space.txt"), "ccc");
  EXPECT_FALSE(fs::exists(fs::symlink_status(tmp_ + "/dst/link")));
  // A trailing slash on the key means the same prefix.
  ASSERT_OK(driver->Load(Artifact("wf/pod/dir/"), tmp_ + "/dst2"));
  EXPECT_EQ(Slurp(tmp_ + "/dst2/sub/b.txt"), "bb");
  ASSERT_OK(driver->Delete(art));
  EXPECT_THAT(driver->ListObjects(art), OkAnd(ElementsAre()));
  EXPECT_THAT(driver->Load(art, tmp_ + "/dst3"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("my-bucket/wf/pod/dir")));
}

// s3rver refuses such keys itself, so a loopback S3 that stores any key
// (testdata/sigv4_server.py) holds them.
TEST(S3DriverKeys, KeysThatWouldEscapeTheDestinationAreRefused) {
  auto dir = TempDir::Create();
  ASSERT_OK(dir);
  auto port = PickUnusedLoopbackPort();
  ASSERT_OK(port);
  auto server = StartServer(
      {"/usr/bin/python3", "lib/artifacts/s3/testdata/sigv4_server.py", std::to_string(*port),
       (*dir)->path() + "/requests.jsonl", "AK", "SK", "us-east-1"},
      *port, (*dir)->path() + "/server.log");
  ASSERT_OK(server);
  DriverOptions options;
  options.secrets = [](std::string_view name, std::string_view key) -> absl::StatusOr<std::string> {
    return std::string(key == "a" ? "AK" : "SK");
  };
  const json loc = {{"endpoint", absl::StrCat("127.0.0.1:", *port)},
                    {"bucket", "b"},
                    {"insecure", true},
                    {"accessKeySecret", {{"name", "s"}, {"key", "a"}}},
                    {"secretKeySecret", {{"name", "s"}, {"key", "s"}}}};
  auto driver = MakeS3Driver(loc, options);
  ASSERT_OK(driver);
  const std::string out = (*dir)->path() + "/out";
  for (const char* key : {"evil/../../x", "evil//abs", "evil/./y"}) {
    Spit((*dir)->path() + "/f", "x");
    ASSERT_OK((*driver)->Save((*dir)->path() + "/f", {{"s3", {{"key", key}}}}));
    EXPECT_THAT((*driver)->Load({{"s3", {{"key", "evil"}}}}, out),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unsafe key")))
        << key;
    ASSERT_OK((*driver)->Delete({{"s3", {{"key", key}}}}));
  }
  EXPECT_FALSE(fs::exists(out));  // nothing written
  EXPECT_FALSE(fs::exists((*dir)->path() + "/x"));
}

TEST_F(S3DriverTest, ArtifactFieldsOverrideTheLocation) {
  // The driver is made from the repository's location without a key; each
  // call's artifact brings its key (and may name another bucket).
  json repo = Location("");
  repo.erase("key");
  auto driver = Make(repo);
  ASSERT_NE(driver, nullptr);
  Spit(tmp_ + "/f", "data");
  ASSERT_OK(driver->Save(tmp_ + "/f", {{"name", "a"}, {"s3", {{"key", "k1"}}}}));
  ASSERT_OK(driver->Save(tmp_ + "/f",
                         {{"name", "a"}, {"s3", {{"key", "k2"}, {"bucket", "other-bucket"}}}}));
  EXPECT_THAT(driver->ListObjects({{"s3", {{"key", "k1"}}}}), OkAnd(ElementsAre("k1")));
  EXPECT_THAT(driver->ListObjects({{"s3", {{"key", "k2"}, {"bucket", "other-bucket"}}}}),
              OkAnd(ElementsAre("k2")));
  EXPECT_THAT(driver->ListObjects({{"s3", {{"key", "k2"}}}}), OkAnd(ElementsAre()));
}

TEST_F(S3DriverTest, UseSdkCredsReadsTheEnvironment) {
  json loc = Location("env/k");
  loc.erase("accessKeySecret");
  loc.erase("secretKeySecret");
  loc["useSDKCreds"] = true;
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  auto driver = Make(loc);
  ASSERT_NE(driver, nullptr);
  Spit(tmp_ + "/f", "data");
  EXPECT_THAT(driver->Save(tmp_ + "/f", {{"s3", loc}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("AWS_ACCESS_KEY_ID")));
  setenv("AWS_ACCESS_KEY_ID", kS3rverKey, 1);
  setenv("AWS_SECRET_ACCESS_KEY", kS3rverKey, 1);
  ASSERT_OK(driver->Save(tmp_ + "/f", {{"s3", loc}}));
  ASSERT_OK(driver->Load({{"s3", loc}}, tmp_ + "/g"));
  EXPECT_EQ(Slurp(tmp_ + "/g"), "data");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
}

TEST_F(S3DriverTest, BadLocationsNameTheField) {
  Spit(tmp_ + "/f", "data");
  struct Case {
    std::function<void(json&)> edit;
    std::string field;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {[](json& l) { l.erase("bucket"); }, "s3.bucket", absl::StatusCode::kInvalidArgument},
      {[](json& l) { l["bucket"] = 7; }, "s3.bucket", absl::StatusCode::kInvalidArgument},
      {[](json& l) { l["key"] = ""; }, "s3.key", absl::StatusCode::kInvalidArgument},
      {[](json& l) { l["insecure"] = "yes"; }, "s3.insecure", absl::StatusCode::kInvalidArgument},
      {[](json& l) { l["endpoint"] = "http://x:1"; }, "s3.endpoint",
       absl::StatusCode::kInvalidArgument},
      {[](json& l) { l["region"] = "a b"; }, "s3.region", absl::StatusCode::kInvalidArgument},
      {[](json& l) {
         l["accessKeySecret"] = {{"name", "x"}};
       },
       "s3.accessKeySecret", absl::StatusCode::kInvalidArgument},
      {[](json& l) { l["secretKeySecret"]["name"] = "missing"; }, "s3.secretKeySecret",
       absl::StatusCode::kNotFound},
      {[](json& l) { l.erase("secretKeySecret"); }, "secretKeySecret",
       absl::StatusCode::kInvalidArgument},
      {[](json& l) {
         l["caSecret"] = {{"name", "nope"}, {"key", "ca.crt"}};
       },
       "s3.caSecret", absl::StatusCode::kNotFound},
  };
  for (const Case& c : cases) {
    json loc = Location("k");
    c.edit(loc);
    auto d = MakeS3Driver(loc, options_, tuning_);
    absl::Status s = d.ok() ? (*d)->Save(tmp_ + "/f", {{"s3", loc}}) : d.status();
    EXPECT_THAT(s, StatusIs(c.code, HasSubstr(c.field))) << loc.dump();
    EXPECT_THAT(s.message(), Not(HasSubstr(kS3rverKey))) << loc.dump();
  }
  EXPECT_THAT(MakeS3Driver("nope", options_), StatusIs(absl::StatusCode::kInvalidArgument));
  auto d = MakeS3Driver(Location("k"), options_, tuning_);
  ASSERT_OK(d);
  EXPECT_THAT((*d)->Load({{"http", {{"url", "x"}}}}, tmp_ + "/x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no s3 location")));
}

TEST_F(S3DriverTest, NoSecretResolverIsAClearError) {
  DriverOptions none;
  auto d = MakeS3Driver(Location("k"), none, tuning_);
  ASSERT_OK(d);
  EXPECT_THAT((*d)->Delete(Artifact("k")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("s3.accessKeySecret")));
}

}  // namespace
}  // namespace argonaut::artifacts::s3
