// The contract suite against a real nats-server -js, started here on a free
// loopback port with its store in the test's temp dir.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/events/bus/bus_contract_test.h"
#include "services/events/bus/jetstream.h"
#include "services/events/bus/test_util.h"

namespace argonaut::events::bus {
namespace {

std::string FindNatsServer() {
  for (const char* path : {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                           "/usr/local/bin/nats-server", "/usr/local/sbin/nats-server"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// One server for the whole binary; each test gets its own stream.
class NatsServer {
 public:
  static NatsServer& Get() {
    static NatsServer* server = new NatsServer();
    return *server;
  }
  const std::string& error() const { return error_; }
  std::string url() const { return absl::StrCat("nats://127.0.0.1:", port_); }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  NatsServer() {
    std::string binary = FindNatsServer();
    if (binary.empty()) {
      error_ = "nats-server is not installed (Debian package nats-server; scripts/install-deps.sh)";
      return;
    }
    std::string dir = NewTempDir("nats");
    port_ = FreePort();
    if (dir.empty() || port_ == 0) {
      error_ = "no temp dir or free port";
      return;
    }
    std::string port = absl::StrCat(port_);
    std::string log = absl::StrCat(dir, "/nats.log");
    pid_ = fork();
    if (pid_ == 0) {
      execl(binary.c_str(), "nats-server", "-js", "-a", "127.0.0.1", "-p", port.c_str(), "-sd",
            dir.c_str(), "-l", log.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (!CanConnect(port_) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
    if (!CanConnect(port_)) error_ = absl::StrCat("nats-server did not listen; see ", log);
  }

  int port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

class JetStreamBackend : public BusBackend {
 public:
  explicit JetStreamBackend(JetStreamOptions options) : options_(std::move(options)) {}
  absl::StatusOr<std::unique_ptr<EventBus>> Open() override { return ConnectJetStream(options_); }

 private:
  JetStreamOptions options_;
};

std::unique_ptr<BusBackend> MakeJetStream(std::string* skip) {
  NatsServer& server = NatsServer::Get();
  if (!server.error().empty()) {
    *skip = server.error();
    return nullptr;
  }
  static std::atomic<int> counter{0};
  JetStreamOptions options;
  options.url = server.url();
  options.stream = absl::StrCat("bus", getpid(), "t", counter.fetch_add(1));
  return std::make_unique<JetStreamBackend>(options);
}

INSTANTIATE_TEST_SUITE_P(JetStream, BusContractTest,
                         ::testing::Values(BusFactory{"JetStream", MakeJetStream}), BusFactoryName);

TEST(JetStreamBusTest, RefusesABadStreamName) {
  JetStreamOptions options;
  options.stream = "a.b";
  EXPECT_EQ(ConnectJetStream(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JetStreamBusTest, UnreachableServerIsUnavailable) {
  JetStreamOptions options;
  options.url = absl::StrCat("nats://127.0.0.1:", FreePort());
  options.timeout = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<EventBus>> bus = ConnectJetStream(options);
  EXPECT_EQ(bus.status().code(), absl::StatusCode::kUnavailable) << bus.status();
}

class StopServer : public ::testing::Environment {
 public:
  void TearDown() override { NatsServer::Get().Stop(); }
};
const auto* const kStopServer = ::testing::AddGlobalTestEnvironment(new StopServer);

}  // namespace
}  // namespace argonaut::events::bus
