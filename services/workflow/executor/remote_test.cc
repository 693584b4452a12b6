// A whole step whose artifacts live on an HTTP server (cpp-httplib on loopback, in this
// process): argoexec downloads the input through the argoexec-artifacts helper, unpacks it,
// runs the command, packs the output and uploads it through the helper.
#include "services/workflow/executor/remote.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/artifacts/archive.h"
#include "lib/artifacts/testing_files.h"
#include "lib/artifacts/testing_http.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/json_text.h"
#include "services/workflow/executor/executor.h"

namespace argonaut::workflow::executor {
namespace {

namespace fs = std::filesystem;
using ::argonaut::artifacts::testing::Slurp;
using nlohmann::json;

// In-memory objects at /<key>.
class Store : public artifacts::testing::LoopbackHttpServer {
 public:
  Store() {
    ServeObjects("/");
    Start();
  }
  std::string Url(const std::string& key) const { return LoopbackHttpServer::Url("/" + key); }
};

TEST(RemoteStepTest, InputsAndOutputsMoveThroughTheHelper) {
  const std::string dir = artifacts::testing::MakeTempDir("rem");
  ASSERT_FALSE(dir.empty());
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  ASSERT_NE(srcdir, nullptr);
  const std::string helper = absl::StrCat(srcdir, "/", ws != nullptr ? ws : "__main__",
                                          "/services/workflow/executor/argoexec-artifacts");
  Store store;
  // The input: a tree packed as Argo packs it.
  fs::create_directories(dir + "/src/tree");
  std::ofstream(dir + "/src/tree/greeting") << "hello from http";
  {
    artifacts::OwnedFd fd(open((dir + "/in.tgz").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    ASSERT_OK(artifacts::Pack(dir + "/src/tree", fd.fd, {}));
  }
  store.Put("in.tgz", Slurp(dir + "/in.tgz"));
  const json tmpl = {
      {"container",
       {{"image", "alpine"},
        {"command", {"sh", "-c", "tr a-z A-Z < " + dir + "/in/greeting > " + dir + "/out.txt"}}}},
      {"inputs",
       {{"artifacts",
         {{{"name", "i"}, {"path", dir + "/in"}, {"http", {{"url", store.Url("in.tgz")}}}}}}}},
      {"outputs",
       {{"artifacts",
         {{{"name", "o"}, {"path", dir + "/out.txt"}, {"http", {{"url", store.Url("out.tgz")}}}},
          {{"name", "gone"},
           {"path", dir + "/never"},
           {"optional", true},
           {"http", {{"url", store.Url("never.tgz")}}}}}}}}};
  setenv("ARGO_TEMPLATE", tmpl.dump().c_str(), 1);
  setenv(kArtifactHelperEnv, helper.c_str(), 1);
  setenv("ARGONAUT_TERMINATION_MESSAGE_PATH", (dir + "/report.json").c_str(), 1);
  setenv("TMPDIR", dir.c_str(), 1);
  EXPECT_EQ(RunArgoexec({"emissary"}, {}), 0);
  unsetenv("ARGO_TEMPLATE");
  unsetenv(kArtifactHelperEnv);
  unsetenv("ARGONAUT_TERMINATION_MESSAGE_PATH");
  unsetenv("TMPDIR");
  absl::StatusOr<json> report = manifest::ParseJsonText(Slurp(dir + "/report.json"));
  ASSERT_OK(report.status());
  EXPECT_FALSE(report->contains("error")) << report->dump();
  ASSERT_EQ((*report)["artifacts"].size(), 1u) << report->dump();
  EXPECT_EQ((*report)["artifacts"][0]["http"]["url"], store.Url("out.tgz"));
  // The uploaded object is a tar.gz of out.txt.
  std::ofstream(dir + "/got.tgz", std::ios::binary) << store.Get("out.tgz");
  artifacts::OwnedFd got(open((dir + "/got.tgz").c_str(), O_RDONLY));
  ASSERT_OK(artifacts::Unpack(got.fd, dir + "/got", ""));
  EXPECT_EQ(Slurp(dir + "/got"), "HELLO FROM HTTP");
  // The loaded input was removed when the step ended.
  EXPECT_FALSE(fs::exists(dir + "/in"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace argonaut::workflow::executor
