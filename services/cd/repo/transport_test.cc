// RepoServer over the network transports, against real servers on loopback started by the test:
// `git daemon` (git://) and git's smart HTTP CGI (git-http-backend) behind a cpp-httplib server
// that demands HTTP Basic auth. SSH is not tested: this machine has no sshd.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/metrics/metrics.h"
#include "lib/metrics/test_process.h"
#include "services/cd/repo/repo.h"
#include "services/cd/repo/test_git.h"
#include "services/cd/repo/test_git_http.h"
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;
using ::argonaut::cd::repo::testing::GitHttpServer;
using ::argonaut::cd::repo::testing::kHttpBackend;
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

// A bare repository `base/repo.git` holding app/cm.yaml on main.
class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto work = testing::InitRepo("transport_work");
    ASSERT_OK(work);
    testing::WriteFile(*work, "app/cm.yaml",
                       "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: served\n");
    auto sha = testing::CommitAll(*work, "served over the network");
    ASSERT_OK(sha);
    sha_ = *sha;
    base_ = testing::FreshDir("transport_base");
    ASSERT_OK(testing::Git(base_, {"clone", "-q", "--bare", *work, "repo.git"}));
    server_ = std::make_unique<RepoServer>(
        RepoServerOptions{.cache_dir = testing::FreshDir("transport_cache"), .metrics = &metrics_});
  }

  std::string base_, sha_;
  metrics::MetricsRegistry metrics_{metrics::MetricsRegistry::Options{.process_metrics = false}};
  std::unique_ptr<RepoServer> server_;
};

TEST_F(TransportTest, GitDaemon) {
  auto port = metrics::testing::PickUnusedLoopbackPort();
  ASSERT_OK(port);
  auto daemon = metrics::testing::ChildProcess::Start(
      {"/usr/bin/git", "daemon", "--export-all", "--base-path=" + base_,
       absl::StrCat("--port=", *port), "--listen=127.0.0.1", "--reuseaddr", "--informative-errors",
       base_},
      base_ + "/daemon.log");
  ASSERT_OK(daemon);
  ASSERT_TRUE(WaitForPort(*port));
  const std::string url = absl::StrCat("git://127.0.0.1:", *port, "/repo.git");
  EXPECT_OK(server_->TestRepository(url, {}));
  EXPECT_EQ(*server_->ResolveRevision(url, "main", {}), sha_);
  auto r = server_->GenerateManifests({.repo_url = url, .path = "app"});
  ASSERT_OK(r);
  EXPECT_EQ(r->revision, sha_);
  EXPECT_EQ(r->manifests[0]["metadata"]["name"], "served");
  EXPECT_FALSE(
      server_->TestRepository(absl::StrCat("git://127.0.0.1:", *port, "/nope.git"), {}).ok());
}

TEST_F(TransportTest, HttpWithBasicAuth) {
  if (!fs::exists(kHttpBackend)) GTEST_SKIP() << "no git-http-backend";
  GitHttpServer http(base_, "alice", "s3cret-pass");
  const std::string url = absl::StrCat("http://127.0.0.1:", http.port(), "/repo.git");

  RepoCredentials good{.username = "alice", .password = "s3cret-pass"};
  EXPECT_OK(server_->TestRepository(url, good));
  auto r = server_->GenerateManifests({.repo_url = url, .path = "app", .creds = good});
  ASSERT_OK(r);
  EXPECT_EQ(r->revision, sha_);
  EXPECT_EQ(r->manifests[0]["metadata"]["name"], "served");

  RepoCredentials bad{.username = "alice", .password = "wrong-pass-123"};
  absl::Status s = server_->TestRepository(url, bad);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(s.message(), Not(HasSubstr("wrong-pass-123")));
  EXPECT_THAT(s.message(), HasSubstr("git ls-remote " + url));
  EXPECT_GT(http.requests(), 3);
  EXPECT_THAT(server_->TestRepository(url, {}), StatusIs(absl::StatusCode::kUnauthenticated));

  // Credentials embedded in the URL work, and stay out of errors and metric labels.
  const std::string embedded =
      absl::StrCat("http://alice:s3cret-pass@127.0.0.1:", http.port(), "/repo.git");
  EXPECT_OK(server_->TestRepository(embedded, {}));
  const std::string embedded_bad =
      absl::StrCat("http://alice:wrong-pass-123@127.0.0.1:", http.port(), "/repo.git");
  absl::Status s2 = server_->TestRepository(embedded_bad, {});
  EXPECT_FALSE(s2.ok());
  EXPECT_THAT(s2.message(), Not(HasSubstr("wrong-pass-123")));
  std::cerr << "rejected: " << s.message() << "\nembedded: " << s2.message() << "\n";
  EXPECT_THAT(metrics_.Serialize(), Not(HasSubstr("s3cret-pass")));
  EXPECT_THAT(metrics_.Serialize(), Not(HasSubstr("wrong-pass-123")));
}

// https with a self-signed certificate: refused unless the repository is marked insecure.
TEST_F(TransportTest, HttpsCertificateChecks) {
  if (!fs::exists(kHttpBackend)) GTEST_SKIP() << "no git-http-backend";
  const std::string tls = testing::FreshDir("transport_tls");
  auto made = Exec({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    tls + "/key.pem", "-out", tls + "/cert.pem", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                   tls, {}, absl::Seconds(60));
  ASSERT_OK(made);
  ASSERT_EQ(made->exit_code, 0) << made->stderr_text;
  GitHttpServer https(base_, "alice", "tls-pass",
                      std::make_unique<httplib::SSLServer>((tls + "/cert.pem").c_str(),
                                                           (tls + "/key.pem").c_str()));
  const std::string url = absl::StrCat("https://127.0.0.1:", https.port(), "/repo.git");
  RepoCredentials creds{.username = "alice", .password = "tls-pass"};
  absl::Status refused = server_->TestRepository(url, creds);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("certificate")));
  EXPECT_THAT(refused.message(), Not(HasSubstr("tls-pass")));
  creds.insecure = true;
  EXPECT_OK(server_->TestRepository(url, creds));
  auto r = server_->GenerateManifests({.repo_url = url, .path = "app", .creds = creds});
  ASSERT_OK(r);
  EXPECT_EQ(r->manifests[0]["metadata"]["name"], "served");
}

TEST_F(TransportTest, ErrorsNeverEchoCredentials) {
  auto port = metrics::testing::PickUnusedLoopbackPort();  // nothing listens there
  ASSERT_OK(port);
  const std::string url = absl::StrCat("https://bob:hunter2-secret@127.0.0.1:", *port, "/x.git");
  auto r = server_->GenerateManifests(
      {.repo_url = url, .path = ".", .creds = {.username = "bob", .password = "other-secret"}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), Not(HasSubstr("hunter2-secret")));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("other-secret")));
  EXPECT_THAT(r.status().message(), HasSubstr("127.0.0.1"));
}

}  // namespace
}  // namespace argonaut::cd::repo
