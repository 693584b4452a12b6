// Test helpers for the broker sources: a free loopback port, a broker server
// process the test owns (started in its own process group, stopped with it),
// and waiting on a listener's state.
#pragma once

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/events/sources/source.h"

namespace argonaut::events::sources {

// A port nothing listens on right now (the kernel's pick for port 0).
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

inline bool PortOpen(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

// A directory for one test under TEST_TMPDIR, emptied first.
inline std::string TestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A server process; the destructor kills its whole process group.
class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess() { Stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts argv with extra environment, output to `log`; then waits until
  // `port` accepts connections. False (and the process killed) on timeout.
  bool Start(std::vector<std::string> argv, std::map<std::string, std::string> env, int port,
             const std::string& log, absl::Duration timeout = absl::Seconds(10)) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      FILE* out = fopen(log.c_str(), "a");
      if (out != nullptr) {
        dup2(fileno(out), 1);
        dup2(fileno(out), 2);
      }
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    setpgid(pid_, pid_);
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (PortOpen(port)) return true;
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    Stop();
    return false;
  }

  // SIGTERM to the group, SIGKILL after 10 s; waits for the server.
  void Stop() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    int st = 0;
    while (waitpid(pid_, &st, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        kill(-pid_, SIGKILL);
        waitpid(pid_, &st, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    // Children left in the group (none expected) go too.
    kill(-pid_, SIGKILL);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Waits until the runner's first listener reports `state`.
inline bool WaitForState(const EventSourceRunner& runner, const std::string& state,
                         absl::Duration timeout = absl::Seconds(15)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    const nlohmann::json s = runner.Status();
    bool all = !s["listeners"].empty();
    for (const auto& l : s["listeners"]) all = all && l.value("state", "") == state;
    if (all) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

// epmd (the Erlang port mapper, run by the test on its own port so that no
// system-wide one is needed or left behind) and the broker.
struct RabbitServer {
  int port = 0, epmd_port = 0, dist_port = 0;
  std::string dir;
  ServerProcess epmd, server;
  std::string failure;

  bool StartServer() {
    std::map<std::string, std::string> env = {
        {"HOME", dir},
        {"ERL_EPMD_PORT", std::to_string(epmd_port)},
        {"ERL_EPMD_ADDRESS", "127.0.0.1"},
        {"RABBITMQ_NODE_PORT", std::to_string(port)},
        {"RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"},
        {"RABBITMQ_DIST_PORT", std::to_string(dist_port)},
        {"RABBITMQ_NODENAME", absl::StrCat("argonaut-test-", port, "@localhost")},
        {"RABBITMQ_MNESIA_BASE", dir + "/mnesia"},
        {"RABBITMQ_LOG_BASE", dir + "/log"},
        {"RABBITMQ_CONFIG_FILE", dir + "/rabbitmq"},
        {"RABBITMQ_ENABLED_PLUGINS_FILE", dir + "/enabled_plugins"},
        {"RABBITMQ_FEATURE_FLAGS_FILE", dir + "/feature_flags"},
        {"RABBITMQ_PLUGINS_EXPAND_DIR", dir + "/plugins"},
        {"RABBITMQ_PID_FILE", dir + "/pid"},
        {"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}"},
    };
    // The library's script, not /usr/sbin's wrapper, which switches to the
    // rabbitmq user and its system directories.
    if (server.Start({"/usr/lib/rabbitmq/bin/rabbitmq-server"}, env, port, dir + "/server.log",
                     absl::Seconds(60))) {
      if (LoginWorks(absl::Seconds(60))) return true;
      failure =
          absl::StrCat("rabbitmq-server on 127.0.0.1:", port,
                       " listened but refused a guest login for 60 s; see ", dir, "/server.log");
      return false;
    }
    failure = absl::StrCat("rabbitmq-server did not listen on 127.0.0.1:", port,
                           " within 60 s; see ", dir, "/server.log");
    return false;
  }

  // The listener opens before the broker can finish a handshake on a loaded machine (its
  // handshake times out after 10 s), so a test's first login could fail: wait for one here.
  bool LoginWorks(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      amqp_connection_state_t conn = amqp_new_connection();
      amqp_socket_t* socket = amqp_tcp_socket_new(conn);
      bool ok = false;
      if (socket != nullptr && amqp_socket_open(socket, "127.0.0.1", port) == AMQP_STATUS_OK) {
        ok = amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest")
                 .reply_type == AMQP_RESPONSE_NORMAL;
        if (ok) amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
      }
      amqp_destroy_connection(conn);
      if (ok) return true;
      absl::SleepFor(absl::Milliseconds(500));
    }
    return false;
  }

  bool Start() {
    port = FreePort();
    epmd_port = FreePort();
    dist_port = FreePort();
    dir = TestDir("rabbitmq");
    std::ofstream(dir + "/enabled_plugins") << "[].\n";
    std::ofstream(dir + "/rabbitmq.conf") << "listeners.tcp.default = 127.0.0.1:" << port << "\n";
    if (!epmd.Start({"epmd", "-port", std::to_string(epmd_port), "-address", "127.0.0.1"}, {},
                    epmd_port, dir + "/epmd.log")) {
      failure = "epmd did not start";
      return false;
    }
    return StartServer();
  }
};

}  // namespace argonaut::events::sources
