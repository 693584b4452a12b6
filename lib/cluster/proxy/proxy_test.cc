// ServiceProxy against real loopback backends run by this test.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/proxy/service_proxy.h"

namespace argonaut::cluster {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

void SetTimeouts(int fd) {
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

bool SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads until EOF (or error / the 10 s timeout), at most `limit` bytes.
std::string ReadToEof(int fd, size_t limit = 1 << 20) {
  std::string out;
  char buf[65536];
  while (out.size() < limit) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int ConnectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  SetTimeouts(fd);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int CountFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

// A loopback TCP server with one thread per connection.
class Backend {
 public:
  enum class Mode {
    kIdentify,  // writes its name, then closes
    kEcho,      // echoes until EOF, then closes
    kCount,     // reads until EOF, then writes "got N\n" and closes
  };

  Backend(std::string name, Mode mode) : name_(std::move(name)), mode_(mode) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 1024), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~Backend() {
    stop_ = true;
    acceptor_.join();
    close(fd_);
    for (auto& t : workers_) t.join();
  }

  int port() const { return port_; }
  Endpoint endpoint(std::string group = "") const { return {std::move(group), "127.0.0.1", port_}; }
  int accepted() const { return accepted_.load(); }
  int open_connections() const { return open_.load(); }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) != 1) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      SetTimeouts(c);
      accepted_++;
      open_++;
      workers_.emplace_back([this, c] {
        Serve(c);
        close(c);
        open_--;
      });
    }
  }

  void Serve(int c) {
    if (mode_ == Mode::kIdentify) {
      std::string line = name_ + "\n";
      SendAll(c, line.data(), line.size());
      return;
    }
    char buf[65536];
    size_t total = 0;
    for (;;) {
      ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      total += static_cast<size_t>(n);
      if (mode_ == Mode::kEcho && !SendAll(c, buf, static_cast<size_t>(n))) return;
    }
    if (mode_ == Mode::kCount) {
      std::string reply = "got " + std::to_string(total) + "\n";
      SendAll(c, reply.data(), reply.size());
    }
    shutdown(c, SHUT_WR);
  }

  std::string name_;
  Mode mode_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  // only touched by the acceptor and the destructor
};

std::unique_ptr<ServiceProxy> StartProxy(ProxyOptions o = {}) {
  o.name = "test";
  auto p = ServiceProxy::Start(o);
  EXPECT_OK(p);
  return p.ok() ? *std::move(p) : nullptr;
}

// Connects through the proxy and returns what an identifying backend said.
std::string Ask(int port) {
  int fd = ConnectTo(port);
  if (fd < 0) return "<connect failed>";
  std::string got = ReadToEof(fd);
  close(fd);
  return got;
}

template <typename Pred>
bool WaitFor(Pred pred, absl::Duration timeout = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return pred();
}

TEST(ServiceProxyTest, RoundRobinAcrossThreeBackends) {
  Backend a("a", Backend::Mode::kIdentify), b("b", Backend::Mode::kIdentify),
      c("c", Backend::Mode::kIdentify);
  auto proxy = StartProxy();
  ASSERT_OK(proxy->SetEndpoints({a.endpoint(), b.endpoint(), c.endpoint()}));
  std::string seq;
  for (int i = 0; i < 30; ++i) seq += Ask(proxy->port()).substr(0, 1);
  EXPECT_EQ(seq, "abcabcabcabcabcabcabcabcabcabc");
  EXPECT_EQ(a.accepted(), 10);
  EXPECT_EQ(proxy->stats().accepted, 30u);
}

TEST(ServiceProxyTest, WeightedSplitOverAThousandConnections) {
  Backend s1("stable", Backend::Mode::kIdentify), s2("stable", Backend::Mode::kIdentify),
      canary("canary", Backend::Mode::kIdentify);
  auto proxy = StartProxy();
  ASSERT_OK(proxy->SetEndpoints(
      {s1.endpoint("stable"), s2.endpoint("stable"), canary.endpoint("canary")}));
  ASSERT_OK(proxy->SetWeights({{"stable", 80}, {"canary", 20}}));
  std::map<std::string, int> counts;
  for (int i = 0; i < 1000; ++i) counts[Ask(proxy->port())]++;
  EXPECT_NEAR(counts["canary\n"], 200, 20);
  EXPECT_NEAR(counts["stable\n"], 800, 20);
  EXPECT_EQ(counts["canary\n"] + counts["stable\n"], 1000);
}

TEST(ServiceProxyTest, WeightZeroGetsNoConnections) {
  Backend stable("stable", Backend::Mode::kIdentify), canary("canary", Backend::Mode::kIdentify);
  auto proxy = StartProxy();
  ASSERT_OK(proxy->SetEndpoints({stable.endpoint("stable"), canary.endpoint("canary")}));
  ASSERT_OK(proxy->SetWeights({{"stable", 100}, {"canary", 0}}));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Ask(proxy->port()), "stable\n");
  EXPECT_EQ(canary.accepted(), 0);
  // Full promotion flips it.
  ASSERT_OK(proxy->SetWeights({{"stable", 0}, {"canary", 100}}));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Ask(proxy->port()), "canary\n");
}

TEST(ServiceProxyTest, EndpointSwapKeepsEstablishedConnections) {
  Backend a("a", Backend::Mode::kEcho), b("b", Backend::Mode::kIdentify);
  auto proxy = StartProxy();
  ASSERT_OK(proxy->SetEndpoints({a.endpoint()}));
  int long_lived = ConnectTo(proxy->port());
  ASSERT_GE(long_lived, 0);
  ASSERT_TRUE(SendAll(long_lived, "ping", 4));
  char buf[4];
  ASSERT_EQ(recv(long_lived, buf, 4, MSG_WAITALL), 4);

  ASSERT_OK(proxy->SetEndpoints({b.endpoint()}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Ask(proxy->port()), "b\n");
  // The connection made before the swap still reaches a.
  ASSERT_TRUE(SendAll(long_lived, "pong", 4));
  ASSERT_EQ(recv(long_lived, buf, 4, MSG_WAITALL), 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
  close(long_lived);

  ASSERT_OK(proxy->SetEndpoints({}));
  EXPECT_EQ(Ask(proxy->port()), "");  // no endpoints: closed at once
  EXPECT_GE(proxy->stats().rejected_no_endpoint, 1u);
}

TEST(ServiceProxyTest, DeadEndpointIsSkippedTransparently) {
  // A bound but not listening socket: connects to it are refused.
  int dead = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(dead, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(dead, reinterpret_cast<sockaddr*>(&addr), &len);
  int dead_port = ntohs(addr.sin_port);

  Backend live("live", Backend::Mode::kIdentify);
  auto proxy = StartProxy();
  ASSERT_OK(proxy->SetEndpoints({{"", "127.0.0.1", dead_port}, live.endpoint()}));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Ask(proxy->port()), "live\n");
  EXPECT_GE(proxy->stats().failed_connects, 10u);
  // Only dead endpoints: the client is closed without data.
  ASSERT_OK(proxy->SetEndpoints({{"", "127.0.0.1", dead_port}}));
  EXPECT_EQ(Ask(proxy->port()), "");
  close(dead);
}

TEST(ServiceProxyTest, HangingConnectTimesOutThenNextIsUsed) {
  // A listener whose accept queue is full: further SYNs are dropped, so a
  // connect to it hangs, like one to a host that went away.
  int hang = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(hang, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(hang, 0), 0);
  socklen_t len = sizeof(addr);
  getsockname(hang, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int f = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    connect(f, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(f);
  }
  absl::SleepFor(absl::Milliseconds(50));

  Backend live("live", Backend::Mode::kIdentify);
  ProxyOptions o;
  o.connect_timeout = absl::Milliseconds(300);
  auto proxy = StartProxy(o);
  ASSERT_OK(proxy->SetEndpoints({{"", "127.0.0.1", ntohs(addr.sin_port)}, live.endpoint()}));
  absl::Time start = absl::Now();
  EXPECT_EQ(Ask(proxy->port()), "live\n");
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_EQ(proxy->stats().failed_connects, 1u);
  for (int f : fillers) close(f);
  close(hang);
}

uint64_t Next(uint64_t& state) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return state >> 33;
}

TEST(ServiceProxyTest, FiftyMegabytesBothWaysIntact) {
  Backend echo("echo", Backend::Mode::kEcho);
  auto proxy = StartProxy();
  ASSERT_OK(proxy->SetEndpoints({echo.endpoint()}));
  int fd = ConnectTo(proxy->port());
  ASSERT_GE(fd, 0);
  constexpr size_t kTotal = 50u << 20;
  std::thread writer([fd] {
    uint64_t state = 42;
    std::vector<char> chunk(1 << 16);
    for (size_t sent = 0; sent < kTotal; sent += chunk.size()) {
      for (char& ch : chunk) ch = static_cast<char>(Next(state));
      if (!SendAll(fd, chunk.data(), chunk.size())) return;
    }
    shutdown(fd, SHUT_WR);
  });
  uint64_t state = 42;
  size_t received = 0, mismatches = 0;
  char buf[65536];
  while (received < kTotal + 1) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (received + static_cast<size_t>(i) < kTotal && buf[i] != static_cast<char>(Next(state))) {
        ++mismatches;
      }
    }
    received += static_cast<size_t>(n);
  }
  writer.join();
  close(fd);
  EXPECT_EQ(received, kTotal);  // then EOF: the half-close came back too
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GE(proxy->stats().bytes_to_backends, kTotal);
  EXPECT_GE(proxy->stats().bytes_to_clients, kTotal);
}

TEST(ServiceProxyTest, HalfCloseIsForwarded) {
  Backend counter("count", Backend::Mode::kCount);
  auto proxy = StartProxy();
  ASSERT_OK(proxy->SetEndpoints({counter.endpoint()}));
  int fd = ConnectTo(proxy->port());
  ASSERT_GE(fd, 0);
  std::string data(1 << 20, 'x');
  ASSERT_TRUE(SendAll(fd, data.data(), data.size()));
  ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
  // The backend answers only after it sees our FIN.
  EXPECT_EQ(ReadToEof(fd), "got 1048576\n");
  close(fd);
  EXPECT_TRUE(WaitFor([&] { return proxy->stats().active == 0; }));
}

TEST(ServiceProxyTest, ClientAbortsDoNotLeakDescriptors) {
  Backend echo("echo", Backend::Mode::kEcho);
  auto proxy = StartProxy();
  ASSERT_OK(proxy->SetEndpoints({echo.endpoint()}));
  {
    // Warm up, so that lazily made state does not count as a leak.
    int fd = ConnectTo(proxy->port());
    ASSERT_TRUE(SendAll(fd, "x", 1));
    char c;
    ASSERT_EQ(recv(fd, &c, 1, 0), 1);
    close(fd);
  }
  ASSERT_TRUE(WaitFor([&] { return echo.open_connections() == 0; }));
  int baseline = CountFds();
  std::vector<int> fds;
  for (int i = 0; i < 100; ++i) {
    int fd = ConnectTo(proxy->port());
    ASSERT_GE(fd, 0);
    SendAll(fd, "hello", 5);
    fds.push_back(fd);
  }
  ASSERT_TRUE(WaitFor([&] { return echo.accepted() >= 101; }));
  for (size_t i = 0; i < fds.size(); ++i) {
    if (i % 2 == 0) {
      linger l{1, 0};  // abort with RST
      setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    close(fds[i]);
  }
  EXPECT_TRUE(WaitFor([&] { return proxy->stats().active == 0; }));
  EXPECT_TRUE(WaitFor([&] { return echo.open_connections() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return CountFds() <= baseline; }))
      << CountFds() << " fds open, " << baseline << " before";
}

TEST(ServiceProxyTest, ConnectionLimitClosesExtraClients) {
  Backend echo("echo", Backend::Mode::kEcho);
  ProxyOptions o;
  o.max_connections = 10;
  auto proxy = StartProxy(o);
  ASSERT_OK(proxy->SetEndpoints({echo.endpoint()}));
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) fds.push_back(ConnectTo(proxy->port()));
  ASSERT_TRUE(WaitFor([&] { return proxy->stats().rejected_over_limit >= 10; }));
  EXPECT_EQ(proxy->stats().active, 10u);
  int served = 0;
  for (int fd : fds) {
    if (SendAll(fd, "x", 1)) {
      pollfd p{fd, POLLIN, 0};
      char c;
      if (poll(&p, 1, 2000) == 1 && recv(fd, &c, 1, 0) == 1 && c == 'x') ++served;
    }
  }
  EXPECT_EQ(served, 10);
  for (int fd : fds) close(fd);
  EXPECT_TRUE(WaitFor([&] { return proxy->stats().active == 0; }));
}

TEST(ServiceProxyTest, StopClosesEverything) {
  Backend echo("echo", Backend::Mode::kEcho);
  auto proxy = StartProxy();
  ASSERT_OK(proxy->SetEndpoints({echo.endpoint()}));
  int fd = ConnectTo(proxy->port());
  ASSERT_TRUE(SendAll(fd, "x", 1));
  char c;
  ASSERT_EQ(recv(fd, &c, 1, 0), 1);
  int port = proxy->port();
  proxy->Stop();
  EXPECT_EQ(ReadToEof(fd), "");
  close(fd);
  EXPECT_EQ(ConnectTo(port), -1);
  proxy->Stop();  // idempotent
}

TEST(ServiceProxyTest, RejectsBadInput) {
  auto proxy = StartProxy();
  EXPECT_THAT(proxy->SetEndpoints({{"", "127.0.0.1", 80}, {"", "not-an-ip", 80}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("endpoints[1]")));
  EXPECT_THAT(proxy->SetEndpoints({{"", "127.0.0.1", 0}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("endpoints[0]")));
  EXPECT_THAT(proxy->SetWeights({{"canary", -1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weights[canary]")));
  ProxyOptions bad;
  bad.bind_address = "localhost";
  EXPECT_THAT(ServiceProxy::Start(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  ProxyOptions taken;
  taken.port = proxy->port();
  EXPECT_THAT(ServiceProxy::Start(taken), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(ServiceProxyTest, TwoLoopsShareTheWork) {
  Backend a("a", Backend::Mode::kIdentify);
  ProxyOptions o;
  o.threads = 2;
  auto proxy = StartProxy(o);
  ASSERT_OK(proxy->SetEndpoints({a.endpoint()}));
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 50; ++i) ok += Ask(proxy->port()) == "a\n";
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 200);
}

}  // namespace
}  // namespace argonaut::cluster
