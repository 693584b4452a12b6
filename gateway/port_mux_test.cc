#include "gateway/port_mux.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/auth/tls.h"
#include "lib/base/status_matchers.h"

namespace argonaut::gateway {
namespace {

// A loopback server that answers every connection with its tag and what it read.
class TagServer {
 public:
  explicit TagServer(std::string tag) : tag_(std::move(tag)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 16);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[256];
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        std::string reply = tag_ + ":" + std::string(buf, n > 0 ? n : 0);
        ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~TagServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::string tag_;
  int fd_;
  int port_;
  std::thread thread_;
};

std::string RoundTrip(int port, const std::string& payload) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return "connect failed";
  ::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) out.append(buf, n);
  ::close(fd);
  return out;
}

TEST(PortMuxTest, RoutesByPreface) {
  TagServer h2("h2"), h1("h1");
  PortMux mux({.http2_backend_port = h2.port(), .http1_backend_port = h1.port()});
  ASSERT_OK(mux.Start());
  EXPECT_EQ(RoundTrip(mux.port(), "PRI * HTTP/2.0\r\n"), "h2:PRI * HTTP/2.0\r\n");
  EXPECT_EQ(RoundTrip(mux.port(), "GET / HTTP/1.1\r\n"), "h1:GET / HTTP/1.1\r\n");
  // The preface arriving in pieces is still recognised.
  EXPECT_EQ(RoundTrip(mux.port(), "PR"), "h2:PR");
  mux.Stop();
}

TEST(PortMuxTest, RealHttpThroughTheMux) {
  httplib::Server http;
  http.Get("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello", "text/plain");
  });
  int http_port = http.bind_to_any_port("127.0.0.1");
  std::thread t([&] { http.listen_after_bind(); });
  PortMux mux({.http2_backend_port = 1, .http1_backend_port = http_port});
  ASSERT_OK(mux.Start());
  httplib::Client client("127.0.0.1", mux.port());
  for (int i = 0; i < 20; ++i) {
    auto res = client.Get("/x");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "hello");
  }
  mux.Stop();
  http.stop();
  t.join();
}

// Connects from `source` (any 127.0.0.0/8 address) to the mux.
int ConnectFrom(const char* source, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when the peer closes `fd` within `ms`.
bool ClosedWithin(int fd, int ms) {
  timeval tv{.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char c;
  return ::recv(fd, &c, 1, 0) == 0;
}

TEST(PortMuxTest, CapsConnectionsPerClientAddress) {
  TagServer h1("h1");
  PortMux mux({.http1_backend_port = h1.port(),
               .max_connections_per_client = 2,
               .classify_timeout_ms = 60000});
  ASSERT_OK(mux.Start());
  const int a = ConnectFrom("127.0.0.7", mux.port());
  const int b = ConnectFrom("127.0.0.7", mux.port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  absl::SleepFor(absl::Milliseconds(200));  // both accepted and counted
  const int c = ConnectFrom("127.0.0.7", mux.port());
  ASSERT_GE(c, 0);
  EXPECT_TRUE(ClosedWithin(c, 2000)) << "a third connection from one address";
  EXPECT_FALSE(ClosedWithin(a, 200));
  // Another address is served meanwhile.
  EXPECT_EQ(RoundTrip(mux.port(), "GET / HTTP/1.1\r\n"), "h1:GET / HTTP/1.1\r\n");
  // A slot freed is a slot again.
  ::close(a);
  absl::SleepFor(absl::Milliseconds(300));
  const int d = ConnectFrom("127.0.0.7", mux.port());
  EXPECT_FALSE(ClosedWithin(d, 300));
  for (int fd : {b, c, d}) ::close(fd);
  mux.Stop();
}

TEST(PortMuxTest, RefusesAnOversizedChunkedBodyWhileItArrives) {
  httplib::Server http;
  size_t seen = 0;
  http.Post("/x", [&](const httplib::Request& req, httplib::Response& res) {
    seen = req.body.size();
    res.set_content("ok", "text/plain");
  });
  int http_port = http.bind_to_any_port("127.0.0.1");
  std::thread t([&] { http.listen_after_bind(); });
  PortMux mux({.http1_backend_port = http_port, .http1_max_body_bytes = 1000});
  ASSERT_OK(mux.Start());
  httplib::Client client("127.0.0.1", mux.port());
  auto chunked = [&](size_t size) {
    return client.Post(
        "/x",
        [size](size_t offset, httplib::DataSink& sink) {
          const std::string part(std::min<size_t>(100, size - offset), 'a');
          sink.write(part.data(), part.size());
          if (offset + part.size() == size) sink.done();
          return true;
        },
        "application/json");
  };
  auto small = chunked(900);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
  EXPECT_EQ(seen, 900u);
  seen = 0;
  auto big = chunked(5000);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(big->body,
            R"({"code":8,"message":"request body is larger than the limit of 1000 bytes",)"
            R"("details":[]})");
  EXPECT_EQ(seen, 0u) << "the handler never ran";
  mux.Stop();
  http.stop();
  t.join();
}

TEST(PortMuxTest, BusyPortIsAnError) {
  PortMux a({});
  ASSERT_OK(a.Start());
  PortMux b({.port = a.port()});
  EXPECT_THAT(b.Start(), ::argonaut::testing::StatusIs(absl::StatusCode::kUnavailable));
}

TEST(PortMuxTest, StopClosesIdleConnections) {
  TagServer h1("h1");
  PortMux mux({.http1_backend_port = h1.port(), .classify_timeout_ms = 60000});
  ASSERT_OK(mux.Start());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(mux.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  // The connection sends nothing; Stop must not wait for its 60 s timeout.
  absl::Time start = absl::Now();
  mux.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ::close(fd);
}

// The gateway's two backends behind a TLS mux: a gRPC server (grpc.health)
// and an HTTP/1.1 server (/healthz).
class TlsMuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string dir = std::string(base != nullptr ? base : "/tmp") + "/muxXXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    auto pair = auth::EnsureSelfSignedCert(dir + "/tls", {});
    ASSERT_OK(pair.status());
    ca_ = pair->first;
    key_ = pair->second;
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int grpc_port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port);
    grpc_ = builder.BuildAndStart();
    ASSERT_NE(grpc_, nullptr);
    http_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
    const int http_port = http_.bind_to_any_port("127.0.0.1");
    http_thread_ = std::thread([this] { http_.listen_after_bind(); });
    mux_ = std::make_unique<PortMux>(PortMuxOptions{.http2_backend_port = grpc_port,
                                                    .http1_backend_port = http_port,
                                                    .classify_timeout_ms = 3000,
                                                    .tls_cert_file = ca_,
                                                    .tls_key_file = key_});
    ASSERT_OK(mux_->Start());
  }
  void TearDown() override {
    if (mux_) mux_->Stop();
    http_.stop();
    if (http_thread_.joinable()) http_thread_.join();
    if (grpc_) grpc_->Shutdown();
  }

  grpc::Status Check(std::shared_ptr<grpc::ChannelCredentials> creds) {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(mux_->port()), std::move(creds)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse resp;
    return stub->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp);
  }

  // curl's exit code and output.
  std::pair<int, std::string> Curl(const std::string& args) {
    const std::string cmd = "curl -sS --max-time 5 " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return {-1, ""};
    std::string out;
    char buf[512];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
    const int rc = pclose(p);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
  }

  std::string ca_, key_;
  std::unique_ptr<grpc::Server> grpc_;
  httplib::Server http_;
  std::thread http_thread_;
  std::unique_ptr<PortMux> mux_;
};

TEST_F(TlsMuxTest, GrpcOverTls) {
  grpc::SslCredentialsOptions ssl;
  std::ifstream in(ca_);
  ssl.pem_root_certs.assign(std::istreambuf_iterator<char>(in), {});
  for (int i = 0; i < 3; ++i) {
    grpc::Status s = Check(grpc::SslCredentials(ssl));
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  // Without the CA the client refuses the certificate.
  EXPECT_FALSE(Check(grpc::SslCredentials({})).ok());
}

TEST_F(TlsMuxTest, HttpsWithCurl) {
  const std::string url = "https://127.0.0.1:" + std::to_string(mux_->port()) + "/healthz";
  auto [rc, out] = Curl("--cacert " + ca_ + " " + url);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "ok");
  // By name, and with curl offering h2 first: REST still reaches HTTP/1.1.
  std::tie(rc, out) = Curl("--http2 --cacert " + ca_ +
                           " https://localhost:" + std::to_string(mux_->port()) + "/healthz");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "ok");
  // Unknown CA: curl's "peer certificate cannot be authenticated" (60).
  std::tie(rc, out) = Curl(url);
  EXPECT_EQ(rc, 60) << out;
  std::tie(rc, out) = Curl("-k " + url);
  EXPECT_EQ(rc, 0) << out;
  // Many requests on one connection.
  std::tie(rc, out) = Curl("--cacert " + ca_ + " " + url + " " + url + " " + url);
  EXPECT_EQ(out, "okokok");
}

TEST_F(TlsMuxTest, PlaintextIsRefused) {
  const std::string reply = RoundTrip(mux_->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(reply, ::testing::HasSubstr("https://"));
  auto [rc, out] = Curl("http://127.0.0.1:" + std::to_string(mux_->port()) + "/healthz");
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("ok")));
  // Plaintext gRPC gets nothing.
  EXPECT_FALSE(Check(grpc::InsecureChannelCredentials()).ok());
  // The mux still serves TLS afterwards.
  std::tie(rc, out) =
      Curl("--cacert " + ca_ + " https://127.0.0.1:" + std::to_string(mux_->port()) + "/healthz");
  EXPECT_EQ(out, "ok");
}

TEST(PortMuxTlsTest, BadPairIsAnError) {
  PortMux missing({.tls_cert_file = "/nonexistent/tls.crt", .tls_key_file = "/nonexistent/k"});
  EXPECT_THAT(missing.Start(),
              ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                            ::testing::HasSubstr("/nonexistent/tls.crt")));
  PortMux half({.tls_cert_file = "/nonexistent/tls.crt"});
  EXPECT_THAT(half.Start(), ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  const char* base = std::getenv("TEST_TMPDIR");
  std::string a = std::string(base != nullptr ? base : "/tmp") + "/muxaXXXXXX";
  std::string b = std::string(base != nullptr ? base : "/tmp") + "/muxbXXXXXX";
  ASSERT_NE(mkdtemp(a.data()), nullptr);
  ASSERT_NE(mkdtemp(b.data()), nullptr);
  auto one = auth::EnsureSelfSignedCert(a, {});
  auto two = auth::EnsureSelfSignedCert(b, {});
  ASSERT_OK(one.status());
  ASSERT_OK(two.status());
  PortMux mismatched({.tls_cert_file = one->first, .tls_key_file = two->second});
  EXPECT_THAT(mismatched.Start(),
              ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::gateway
