// The git and raw drivers. git against real servers on loopback started by the test: `git
// daemon` (git://) and git's smart HTTP (git-http-backend behind Basic auth).
#include "lib/artifacts/git_driver.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/artifacts/raw_driver.h"
#include "lib/artifacts/testing_files.h"
#include "lib/base/status_matchers.h"
#include "lib/metrics/test_process.h"
#include "services/cd/repo/test_git.h"
#include "services/cd/repo/test_git_http.h"

namespace argonaut::artifacts {
namespace {

namespace fs = std::filesystem;
namespace git_test = ::argonaut::cd::repo::testing;
using ::argonaut::artifacts::testing::Slurp;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

bool WaitForPort(int port) {
  for (int i = 0; i < 200; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (ok) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

DriverOptions Secrets() {
  return DriverOptions{
      .secrets = [](std::string_view name, std::string_view key) -> absl::StatusOr<std::string> {
        if (name == "git" && key == "user") return std::string("alice");
        if (name == "git" && key == "pass") return std::string("git-pass-77");
        if (name == "git" && key == "bad") return std::string("wrong-git-pass-88");
        return absl::NotFoundError(
            absl::StrCat("secret ", std::string(name), " has no key ", std::string(key)));
      }};
}

// A bare repository base/repo.git: main (two commits, the first tagged v1), a branch `feature`
// and a ref outside refs/heads (refs/pull/7/head) that only a `fetch` refspec brings in.
class GitDriverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto work = git_test::InitRepo("gitdriver_work");
    ASSERT_OK(work);
    git_test::WriteFile(*work, "README.md", "version one\n");
    auto v1 = git_test::CommitAll(*work, "one");
    ASSERT_OK(v1);
    v1_ = *v1;
    ASSERT_OK(git_test::Git(*work, {"tag", "-a", "v1", "-m", "release one"}));
    ASSERT_OK(git_test::Git(*work, {"checkout", "-q", "-b", "feature"}));
    git_test::WriteFile(*work, "feature.txt", "on the branch\n");
    auto feature = git_test::CommitAll(*work, "feature");
    ASSERT_OK(feature);
    feature_ = *feature;
    ASSERT_OK(git_test::Git(*work, {"checkout", "-q", "main"}));
    git_test::WriteFile(*work, "README.md", "version two\n");
    git_test::WriteFile(*work, "dir/nested.txt", "nested\n");
    auto main = git_test::CommitAll(*work, "two");
    ASSERT_OK(main);
    main_ = *main;
    ASSERT_OK(git_test::Git(*work, {"checkout", "-q", "--detach", v1_}));
    git_test::WriteFile(*work, "pull.txt", "a pull request\n");
    auto pull = git_test::CommitAll(*work, "pull request");
    ASSERT_OK(pull);
    pull_ = *pull;
    ASSERT_OK(git_test::Git(*work, {"checkout", "-q", "main"}));
    base_ = git_test::FreshDir("gitdriver_base");
    ASSERT_OK(git_test::Git(base_, {"clone", "-q", "--bare", *work, "repo.git"}));
    ASSERT_OK(git_test::Git(base_ + "/repo.git", {"update-ref", "refs/pull/7/head", pull_}));

    auto port = metrics::testing::PickUnusedLoopbackPort();
    ASSERT_OK(port);
    auto daemon = metrics::testing::ChildProcess::Start(
        {"/usr/bin/git", "daemon", "--export-all", "--base-path=" + base_,
         absl::StrCat("--port=", *port), "--listen=127.0.0.1", "--reuseaddr", base_},
        base_ + "/daemon.log");
    ASSERT_OK(daemon);
    daemon_ = daemon->release();
    ASSERT_TRUE(WaitForPort(*port));
    url_ = absl::StrCat("git://127.0.0.1:", *port, "/repo.git");
  }
  static void TearDownTestSuite() {
    delete daemon_;  // stops git daemon
    daemon_ = nullptr;
  }

  // A fresh, not yet existing destination.
  std::string Dst(const std::string& name) {
    std::string dir = git_test::FreshDir("gitdriver_dst");
    return dir + "/" + name;
  }

  absl::Status Load(nlohmann::json git, const std::string& dst) {
    nlohmann::json a = {{"name", "src"}, {"path", "/src"}, {"git", std::move(git)}};
    auto d = MakeGitDriver(a, Secrets());
    if (!d.ok()) return d.status();
    return (*d)->Load(a, dst);
  }

  static std::string Head(const std::string& dir) {
    auto h = git_test::Git(dir, {"rev-parse", "HEAD"});
    return h.ok() ? *h : h.status().ToString();
  }

  static inline std::string base_, url_, v1_, feature_, main_, pull_;
  static inline metrics::testing::ChildProcess* daemon_ = nullptr;
};

TEST_F(GitDriverTest, ClonesTheDefaultBranchWithItsGitDirectory) {
  const std::string dst = Dst("default");
  ASSERT_OK(Load({{"repo", url_}}, dst));
  EXPECT_EQ(Slurp(dst + "/README.md"), "version two\n");
  EXPECT_EQ(Slurp(dst + "/dir/nested.txt"), "nested\n");
  EXPECT_TRUE(fs::is_directory(dst + "/.git"));
  EXPECT_EQ(Head(dst), main_);
  // The checkout is a usable repository: git itself sees a clean tree.
  auto status = git_test::Git(dst, {"status", "--porcelain"});
  ASSERT_OK(status);
  EXPECT_EQ(*status, "");
}

TEST_F(GitDriverTest, RevisionIsATagABranchOrASha) {
  std::string dst = Dst("tag");
  ASSERT_OK(Load({{"repo", url_}, {"revision", "v1"}}, dst));
  EXPECT_EQ(Slurp(dst + "/README.md"), "version one\n");
  EXPECT_FALSE(fs::exists(dst + "/dir"));
  EXPECT_EQ(Head(dst), v1_);

  dst = Dst("branch");
  ASSERT_OK(Load({{"repo", url_}, {"revision", "feature"}}, dst));
  EXPECT_EQ(Slurp(dst + "/feature.txt"), "on the branch\n");
  EXPECT_EQ(Head(dst), feature_);

  dst = Dst("sha");
  ASSERT_OK(Load({{"repo", url_}, {"revision", v1_.substr(0, 10)}, {"depth", 1}}, dst));
  EXPECT_EQ(Head(dst), v1_);

  dst = Dst("absent");
  EXPECT_THAT(Load({{"repo", url_}, {"revision", "no-such-branch"}}, dst),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no-such-branch")));
  EXPECT_FALSE(fs::exists(dst));  // no half checkout left behind
}

TEST_F(GitDriverTest, BranchSingleBranchAndFetchRefspecs) {
  std::string dst = Dst("single");
  ASSERT_OK(Load({{"repo", url_}, {"branch", "feature"}, {"singleBranch", true}}, dst));
  EXPECT_EQ(Head(dst), feature_);
  auto branches = git_test::Git(dst, {"branch", "-r"});
  ASSERT_OK(branches);
  EXPECT_THAT(*branches, Not(HasSubstr("origin/main")));

  dst = Dst("pull");
  EXPECT_THAT(Load({{"repo", url_}, {"revision", "pull/7/head"}}, dst),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(Load({{"repo", url_},
                  {"fetch", {"+refs/pull/*:refs/remotes/origin/pull/*"}},
                  {"revision", "pull/7/head"}},
                 dst));
  EXPECT_EQ(Slurp(dst + "/pull.txt"), "a pull request\n");
  EXPECT_EQ(Head(dst), pull_);
}

// A repository with a submodule (served by the same daemon): checked out with it unless
// disableSubmodules.
TEST_F(GitDriverTest, Submodules) {
  auto sub = git_test::InitRepo("gitdriver_sub");
  ASSERT_OK(sub);
  git_test::WriteFile(*sub, "lib.txt", "from the submodule\n");
  ASSERT_OK(git_test::CommitAll(*sub, "sub"));
  ASSERT_OK(git_test::Git(base_, {"clone", "-q", "--bare", *sub, "sub.git"}));
  auto super = git_test::InitRepo("gitdriver_super");
  ASSERT_OK(super);
  const std::string sub_url = url_.substr(0, url_.rfind('/')) + "/sub.git";
  ASSERT_OK(git_test::Git(*super, {"submodule", "add", "-q", sub_url, "vendor/sub"}));
  ASSERT_OK(git_test::CommitAll(*super, "with a submodule"));
  ASSERT_OK(git_test::Git(base_, {"clone", "-q", "--bare", *super, "super.git"}));
  const std::string super_url = url_.substr(0, url_.rfind('/')) + "/super.git";

  std::string dst = Dst("with-sub");
  ASSERT_OK(Load({{"repo", super_url}}, dst));
  EXPECT_EQ(Slurp(dst + "/vendor/sub/lib.txt"), "from the submodule\n");

  dst = Dst("without-sub");
  ASSERT_OK(Load({{"repo", super_url}, {"disableSubmodules", true}}, dst));
  EXPECT_TRUE(fs::exists(dst + "/.gitmodules"));
  EXPECT_FALSE(fs::exists(dst + "/vendor/sub/lib.txt"));
}

TEST_F(GitDriverTest, BadLocationsNameTheField) {
  EXPECT_THAT(MakeGitDriver({{"git", {{"revision", "main"}}}}, Secrets()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("git.repo")));
  EXPECT_THAT(MakeGitDriver({{"git", {{"repo", url_}, {"fetch", "x"}}}}, Secrets()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("git.fetch")));
  EXPECT_THAT(MakeGitDriver({{"git", {{"repo", url_}, {"depth", "deep"}}}}, Secrets()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("git.depth")));
  EXPECT_THAT(
      MakeGitDriver({{"git", {{"repo", url_}, {"passwordSecret", {{"name", "git"}}}}}}, Secrets()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("git.passwordSecret")));
  auto d = MakeGitDriver({{"git", {{"repo", url_}}}}, Secrets());
  ASSERT_OK(d);
  EXPECT_THAT((*d)->Save("/tmp", {{"git", {{"repo", url_}}}}),
              StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT((*d)->Delete({{"git", {{"repo", url_}}}}),
              StatusIs(absl::StatusCode::kUnimplemented));
  // A destination with something in it is never overwritten.
  const std::string dst = Dst("full");
  fs::create_directories(dst);
  std::ofstream(dst + "/keep") << "mine";
  EXPECT_THAT(Load({{"repo", url_}}, dst), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Slurp(dst + "/keep"), "mine");
  EXPECT_FALSE(Load({{"repo", absl::StrCat(url_, "-missing")}}, Dst("missing")).ok());
}

TEST_F(GitDriverTest, HttpBasicAuthFromSecrets) {
  if (!fs::exists(git_test::kHttpBackend)) GTEST_SKIP() << "no git-http-backend";
  git_test::GitHttpServer http(base_, "alice", "git-pass-77");
  const std::string url = absl::StrCat("http://127.0.0.1:", http.port(), "/repo.git");
  nlohmann::json git = {{"repo", url},
                        {"revision", "v1"},
                        {"usernameSecret", {{"name", "git"}, {"key", "user"}}},
                        {"passwordSecret", {{"name", "git"}, {"key", "pass"}}}};
  std::string dst = Dst("http");
  ASSERT_OK(Load(git, dst));
  EXPECT_EQ(Head(dst), v1_);

  git["passwordSecret"]["key"] = "bad";
  absl::Status s = Load(git, Dst("http-bad"));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr(url)));
  EXPECT_THAT(s.message(), Not(HasSubstr("wrong-git-pass-88")));
  git.erase("usernameSecret");
  git.erase("passwordSecret");
  EXPECT_THAT(Load(git, Dst("http-none")), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(KnownHostsTest, MatchesHostAndKey) {
  const std::string key = std::string(3, '\0') + "\x0bssh-ed25519-raw-key-bytes";
  const std::string b64 = absl::Base64Escape(key);
  const std::string file = absl::StrCat(
      "# comment\n", "other.example ssh-ed25519 ", absl::Base64Escape("different"), "\n",
      "git.example,10.0.0.1 ssh-ed25519 ", b64, " a comment\n", "[ssh.example]:2222 ssh-ed25519 ",
      b64, "\n", "@revoked bad.example ssh-ed25519 ", b64, "\n");
  EXPECT_TRUE(KnownHostsAccept(file, "git.example", key));
  EXPECT_TRUE(KnownHostsAccept(file, "10.0.0.1", key));
  EXPECT_TRUE(KnownHostsAccept(file, "ssh.example", key));
  EXPECT_FALSE(KnownHostsAccept(file, "other.example", key));
  EXPECT_FALSE(KnownHostsAccept(file, "bad.example", key));
  EXPECT_FALSE(KnownHostsAccept(file, "git.example", "another key"));
  EXPECT_FALSE(KnownHostsAccept(file, "ssh", key));
  EXPECT_FALSE(KnownHostsAccept("", "git.example", key));
}

TEST(RawDriverTest, LoadWritesTheData) {
  const std::string dir = git_test::FreshDir("rawdriver");
  nlohmann::json a = {{"name", "r"}, {"raw", {{"data", "line 1\nline 2\n"}}}};
  auto d = MakeRawDriver(a, {});
  ASSERT_OK(d);
  ASSERT_OK((*d)->Load(a, dir + "/r"));
  EXPECT_EQ(Slurp(dir + "/r"), "line 1\nline 2\n");
  std::string streamed;
  ASSERT_OK((*d)->OpenStream(a, [&](std::string_view c) {
    streamed += c;
    return absl::OkStatus();
  }));
  EXPECT_EQ(streamed, "line 1\nline 2\n");
  EXPECT_THAT((*d)->Save(dir + "/r", a), StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT((*d)->Delete(a), StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(MakeRawDriver({{"raw", {{"data", 3}}}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("raw.data")));
}

}  // namespace
}  // namespace argonaut::artifacts
