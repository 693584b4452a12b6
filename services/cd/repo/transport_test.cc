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
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo {
namespace {

namespace fs = std::filesystem;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHttpBackend[] = "/usr/lib/git-core/git-http-backend";

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

// git's smart HTTP protocol: git-http-backend run as a CGI per request, behind Basic auth.
class GitHttpServer {
 public:
  // `server` is an httplib::Server, or an httplib::SSLServer for https.
  GitHttpServer(std::string project_root, std::string user, std::string password,
                std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>())
      : root_(std::move(project_root)),
        expected_auth_("Basic " + absl::Base64Escape(user + ":" + password)),
        server_(std::move(server)) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); };
    server_->Get(".*", handler);
    server_->Post(".*", handler);
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) absl::SleepFor(absl::Milliseconds(5));
  }
  ~GitHttpServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void Serve(const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    if (req.get_header_value("Authorization") != expected_auth_) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"git\"");
      return;
    }
    const std::string body_file = absl::StrCat(root_, "/.body-", requests_.load());
    std::ofstream(body_file, std::ios::binary) << req.body;
    std::string query;
    for (const auto& [k, v] : req.params) {
      absl::StrAppend(&query, query.empty() ? "" : "&", k, "=", v);
    }
    std::map<std::string, std::string> env = {
        {"GIT_PROJECT_ROOT", root_},
        {"GIT_HTTP_EXPORT_ALL", "1"},
        {"PATH_INFO", req.path},
        {"QUERY_STRING", query},
        {"REQUEST_METHOD", req.method},
        {"CONTENT_TYPE", req.get_header_value("Content-Type")},
        {"CONTENT_LENGTH", std::to_string(req.body.size())},
        {"REMOTE_USER", "user"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"BODY_FILE", body_file}};
    if (req.has_header("Content-Encoding")) {
      env["HTTP_CONTENT_ENCODING"] = req.get_header_value("Content-Encoding");
    }
    if (req.has_header("Git-Protocol")) env["GIT_PROTOCOL"] = req.get_header_value("Git-Protocol");
    auto out = Exec({"sh", "-c", absl::StrCat("exec ", kHttpBackend, " < \"$BODY_FILE\"")}, root_,
                    env, absl::Seconds(30));
    fs::remove(body_file);
    if (!out.ok() || out->exit_code != 0) {
      res.status = 500;
      return;
    }
    // CGI output: headers, a blank line, the body.
    const std::string& text = out->stdout_text;
    size_t split = text.find("\r\n\r\n");
    size_t skip = 4;
    if (split == std::string::npos) {
      split = text.find("\n\n");
      skip = 2;
    }
    if (split == std::string::npos) {
      res.status = 500;
      return;
    }
    res.status = 200;
    std::string content_type = "application/octet-stream";
    for (absl::string_view line : absl::StrSplit(text.substr(0, split), '\n')) {
      line = absl::StripSuffix(line, "\r");
      size_t colon = line.find(':');
      if (colon == line.npos) continue;
      std::string key(line.substr(0, colon));
      std::string value(absl::StripLeadingAsciiWhitespace(line.substr(colon + 1)));
      if (absl::EqualsIgnoreCase(key, "Status")) {
        int code = 0;
        if (absl::SimpleAtoi(value.substr(0, 3), &code)) res.status = code;
      } else if (absl::EqualsIgnoreCase(key, "Content-Type")) {
        content_type = value;
      } else {
        res.set_header(key, value);
      }
    }
    res.set_content(text.substr(split + skip), content_type);
  }

  std::string root_, expected_auth_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
};

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
