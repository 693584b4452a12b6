// The HTTP driver against a real HTTP(S) server on loopback (cpp-httplib in this process).
#include "lib/artifacts/http_driver.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/artifacts/testing_files.h"
#include "lib/artifacts/testing_http.h"
#include "lib/base/status_matchers.h"

namespace argonaut::artifacts {
namespace {

namespace fs = std::filesystem;
using ::argonaut::artifacts::testing::MakeTempDir;
using ::argonaut::artifacts::testing::Slurp;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// A 3 MiB body with no repeating 64 KiB window, so a chunking mistake shows.
std::string BigBody() {
  std::string s;
  s.reserve(3 << 20);
  uint32_t x = 12345;
  while (s.size() < (3u << 20)) {
    x = x * 1103515245u + 12345u;
    s.push_back(static_cast<char>(x >> 24));
  }
  return s;
}

class FileServer {
 public:
  explicit FileServer(std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>())
      : http_(std::move(server)), big_(BigBody()) {
    httplib::Server& s = http_.server();
    s.Get("/big", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(big_, "application/octet-stream");
    });
    s.Get("/hello.txt", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello world\n", "text/plain");
    });
    s.Get("/redirect", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/hello.txt", 302);
    });
    s.Get("/loop",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/loop", 302); });
    s.Get("/to-file", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("file:///etc/passwd", 302);
    });
    s.Get("/basic", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") !=
          "Basic " + absl::Base64Escape("alice:open-sesame-42")) {
        res.status = 401;
        res.set_header("WWW-Authenticate", "Basic realm=\"files\"");
        return;
      }
      res.set_content("secret file", "text/plain");
    });
    s.Get("/bearer", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != "Bearer tok-123") {
        res.status = 403;
        return;
      }
      res.set_content("token file", "text/plain");
    });
    s.Get("/boom", [](const httplib::Request&, httplib::Response& res) { res.status = 503; });
    http_.ServeObjects("/store/");
    http_.Start();
  }
  std::string Url(const std::string& path, const std::string& scheme = "http") const {
    return http_.Url(path, scheme);
  }
  const std::string& big() const { return big_; }
  bool Stored(const std::string& key) { return http_.Stored(key); }

 private:
  testing::LoopbackHttpServer http_;
  std::string big_;
};

nlohmann::json Artifact(const std::string& url) {
  return {{"name", "a"}, {"http", {{"url", url}}}};
}

DriverOptions Secrets() {
  return DriverOptions{
      .secrets = [](std::string_view name, std::string_view key) -> absl::StatusOr<std::string> {
        if (name == "creds" && key == "user") return std::string("alice");
        if (name == "creds" && key == "pass") return std::string("open-sesame-42");
        if (name == "creds" && key == "bad") return std::string("wrong-pass-99");
        return absl::NotFoundError(
            absl::StrCat("secret ", std::string(name), " has no key ", std::string(key)));
      }};
}

class HttpDriverTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<Driver>> Make(const nlohmann::json& a) {
    return MakeHttpDriver(a, Secrets());
  }
  FileServer server_;
  std::string dir_ = MakeTempDir("http_driver");
};

TEST_F(HttpDriverTest, LoadStreamsTheBodyToAFile) {
  auto a = Artifact(server_.Url("/big"));
  auto d = Make(a);
  ASSERT_OK(d);
  ASSERT_OK((*d)->Load(a, dir_ + "/big"));
  EXPECT_EQ(Slurp(dir_ + "/big"), server_.big());

  size_t chunks = 0, bytes = 0;
  ASSERT_OK((*d)->OpenStream(a, [&](std::string_view c) {
    ++chunks;
    bytes += c.size();
    return absl::OkStatus();
  }));
  EXPECT_EQ(bytes, server_.big().size());
  EXPECT_GT(chunks, 1u);  // delivered piecewise, not as one buffer

  // A sink's error stops the transfer and comes back unchanged.
  EXPECT_THAT((*d)->OpenStream(a, [](std::string_view) { return absl::AbortedError("enough"); }),
              StatusIs(absl::StatusCode::kAborted, "enough"));
}

TEST_F(HttpDriverTest, RedirectsAreFollowedWithinBounds) {
  auto a = Artifact(server_.Url("/redirect"));
  auto d = Make(a);
  ASSERT_OK(d);
  ASSERT_OK((*d)->Load(a, dir_ + "/r"));
  EXPECT_EQ(Slurp(dir_ + "/r"), "hello world\n");
  EXPECT_THAT((*d)->Load(Artifact(server_.Url("/loop")), dir_ + "/loop"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("/loop")));
  EXPECT_FALSE(fs::exists(dir_ + "/loop"));  // no half download left behind
  EXPECT_FALSE((*d)->Load(Artifact(server_.Url("/to-file")), dir_ + "/f").ok());
  EXPECT_FALSE(fs::exists(dir_ + "/f"));
}

TEST_F(HttpDriverTest, ErrorsNameTheUrlAndStatusButNoSecrets) {
  auto a = Artifact(server_.Url("/nope?X-Amz-Signature=deadbeef-secret"));
  a["http"]["url"] =
      absl::StrCat("http://bob:hunter2-pw@", server_.Url("/nope?sig=deadbeef").substr(7));
  auto d = Make(a);
  ASSERT_OK(d);
  absl::Status s = (*d)->Load(a, dir_ + "/x");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, HasSubstr("HTTP 404")));
  EXPECT_THAT(s.message(), HasSubstr(server_.Url("/nope")));
  EXPECT_THAT(s.message(), Not(HasSubstr("hunter2-pw")));
  EXPECT_THAT(s.message(), Not(HasSubstr("deadbeef")));
  EXPECT_THAT((*d)->Load(Artifact(server_.Url("/boom")), dir_ + "/y"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP 503")));
}

TEST_F(HttpDriverTest, BasicAuthFromSecretsAndHeaders) {
  nlohmann::json a = Artifact(server_.Url("/basic"));
  a["http"]["auth"] = {{"basicAuth",
                        {{"usernameSecret", {{"name", "creds"}, {"key", "user"}}},
                         {"passwordSecret", {{"name", "creds"}, {"key", "pass"}}}}}};
  auto d = Make(a);
  ASSERT_OK(d);
  ASSERT_OK((*d)->Load(a, dir_ + "/b"));
  EXPECT_EQ(Slurp(dir_ + "/b"), "secret file");

  a["http"]["auth"]["basicAuth"]["passwordSecret"]["key"] = "bad";
  absl::Status s = (*d)->Load(a, dir_ + "/b2");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("HTTP 401")));
  EXPECT_THAT(s.message(), Not(HasSubstr("wrong-pass-99")));

  a["http"]["auth"]["basicAuth"]["passwordSecret"]["key"] = "missing";
  EXPECT_THAT(Make(a), StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));

  nlohmann::json bearer = Artifact(server_.Url("/bearer"));
  bearer["http"]["headers"] = {{{"name", "Authorization"}, {"value", "Bearer tok-123"}}};
  ASSERT_OK((*d)->Load(bearer, dir_ + "/t"));
  EXPECT_EQ(Slurp(dir_ + "/t"), "token file");
  bearer["http"]["headers"][0]["value"] = "Bearer wrong";
  EXPECT_THAT((*d)->Load(bearer, dir_ + "/t2"), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(HttpDriverTest, SavePutsDeleteDeletes) {
  const std::string src = dir_ + "/out.tgz";
  std::ofstream(src, std::ios::binary) << server_.big();
  auto a = Artifact(server_.Url("/store/wf/out.tgz"));
  auto d = Make(a);
  ASSERT_OK(d);
  ASSERT_OK((*d)->Save(src, a));
  ASSERT_OK((*d)->Load(a, dir_ + "/back"));
  EXPECT_EQ(Slurp(dir_ + "/back"), server_.big());
  auto listed = (*d)->ListObjects(a);
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), 1u);

  ASSERT_OK((*d)->Delete(a));
  EXPECT_FALSE(server_.Stored("wf/out.tgz"));
  EXPECT_OK((*d)->Delete(a));  // twice is fine
  listed = (*d)->ListObjects(a);
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->empty());
  EXPECT_THAT((*d)->Load(a, dir_ + "/gone"), StatusIs(absl::StatusCode::kNotFound));

  EXPECT_THAT((*d)->Save(dir_, a), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT((*d)->Save(dir_ + "/absent", a), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HttpDriverTest, BadLocationsNameTheField) {
  EXPECT_THAT(Make({{"name", "a"}, {"http", nlohmann::json::object()}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("http.url")));
  EXPECT_THAT(Make(Artifact("file:///etc/passwd")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("http.url")));
  auto injected = Artifact(server_.Url("/hello.txt"));
  injected["http"]["headers"] = {{{"name", "X"}, {"value", "a\r\nHost: evil"}}};
  EXPECT_THAT(Make(injected),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("http.headers[0].value")));
  auto oauth = Artifact(server_.Url("/hello.txt"));
  oauth["http"]["auth"] = {{"oauth2", {{"clientIDSecret", {{"name", "x"}, {"key", "y"}}}}}};
  EXPECT_THAT(Make(oauth),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("http.auth.oauth2")));
}

// https: the peer's certificate is verified; a self-signed one is refused unless it is the CA
// named by $SSL_CERT_FILE.
TEST(HttpsDriverTest, CertificatesAreVerified) {
  const std::string tls = MakeTempDir("http_driver_tls");
  const std::string cmd = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ", tls, "/key.pem -out ", tls,
      "/cert.pem -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  FileServer server(std::make_unique<httplib::SSLServer>((tls + "/cert.pem").c_str(),
                                                         (tls + "/key.pem").c_str()));
  auto a = Artifact(server.Url("/hello.txt", "https"));
  auto d = MakeHttpDriver(a, {});
  ASSERT_OK(d);
  unsetenv("SSL_CERT_FILE");
  EXPECT_THAT((*d)->Load(a, tls + "/out"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("TLS")));
  setenv("SSL_CERT_FILE", (tls + "/cert.pem").c_str(), 1);
  EXPECT_OK((*d)->Load(a, tls + "/out"));
  unsetenv("SSL_CERT_FILE");
  EXPECT_EQ(Slurp(tls + "/out"), "hello world\n");
}

}  // namespace
}  // namespace argonaut::artifacts
