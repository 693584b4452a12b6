#include "gateway/port_mux.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "httplib.h"
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

}  // namespace
}  // namespace argonaut::gateway
