// Runs //lib/cluster/images:builtin_images as a subprocess (argosay, the
// kubernetes-bootcamp server) and DemoHttpServer in-process, on loopback.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/images/argosay.h"
#include "lib/cluster/images/demo_http_server.h"
#include "lib/cluster/images/nginx_image.h"
#include "lib/cluster/images/rollouts_demo.h"

extern char** environ;

namespace argonaut::cluster {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kBinary[] = "lib/cluster/images/builtin_images";

std::string TmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A child with its stdout and stderr on pipes; killed on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
    int out[2], err[2];
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::vector<std::string> argv_s = {kBinary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = extra_env;
    for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, kBinary, &fa, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  // Reads output until `done` holds for stdout, EOF on both, or the deadline.
  void Pump(absl::Duration timeout, const std::function<bool(const std::string&)>& done) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline && (out_fd_ >= 0 || err_fd_ >= 0)) {
      if (done && done(out)) return;
      pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
      int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (poll(fds, 2, std::max(ms, 1)) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        int& fd = i == 0 ? out_fd_ : err_fd_;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
          close(fd);
          fd = -1;
        } else {
          (i == 0 ? out : err).append(buf, static_cast<size_t>(n));
        }
      }
    }
  }

  // Exit code (128+signal if killed), or -1 if still running after `timeout`.
  int Wait(absl::Duration timeout) {
    Pump(timeout, nullptr);
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return -1;
  }

  pid_t pid() const { return pid_; }
  std::string out;
  std::string err;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int out_fd_ = -1;
  int err_fd_ = -1;
};

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result RunImage(const std::vector<std::string>& args) {
  Child c(args, {});
  int code = c.Wait(absl::Seconds(20));
  return {code, c.out, c.err};
}

// --- argosay ----------------------------------------------------------------

TEST(ArgosayTest, NoArgumentsSaysHelloArgoOnStderr) {
  Result r = RunImage({"argosay"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "hello argo\n");
  EXPECT_EQ(r.out, "");
}

TEST(ArgosayTest, EchoToStderrAndToFile) {
  EXPECT_EQ(RunImage({"argosay", "echo", "hi there"}).err, "hi there\n");
  std::string file = TmpDir() + "/echo/nested/out.txt";
  Result r = RunImage({"argosay", "echo", "payload", file});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(file), "payload");  // no newline, like the Go program
  Result bad = RunImage({"argosay", "echo", "a", "b", "c"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("panic: usage: argosay echo [string] [file]"));
}

TEST(ArgosayTest, CatConcatenatesToStdout) {
  std::string a = TmpDir() + "/cat_a", b = TmpDir() + "/cat_b";
  std::ofstream(a) << "one\n";
  std::ofstream(b) << "two";
  Result r = RunImage({"argosay", "cat", a, b});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "one\ntwo");
  Result missing = RunImage({"argosay", "cat", TmpDir() + "/missing"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("panic: open " + TmpDir() + "/missing: No such file"));
}

TEST(ArgosayTest, ExitCodes) {
  EXPECT_EQ(RunImage({"argosay", "exit"}).code, 0);
  EXPECT_EQ(RunImage({"argosay", "exit", "0"}).code, 0);
  EXPECT_EQ(RunImage({"argosay", "exit", "1"}).code, 1);
  EXPECT_EQ(RunImage({"argosay", "exit", "13"}).code, 13);
  Result bad = RunImage({"argosay", "exit", "x"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("strconv.Atoi: parsing \"x\": invalid syntax"));
}

TEST(ArgosayTest, SleepWaitsTheDuration) {
  absl::Time start = absl::Now();
  EXPECT_EQ(RunImage({"argosay", "sleep", "300ms"}).code, 0);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  Result bad = RunImage({"argosay", "sleep", "10"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("time: missing unit in duration \"10\""));
  EXPECT_EQ(RunImage({"argosay", "sleep"}).code, 2);
}

TEST(ArgosayTest, AssertContains) {
  std::string f = TmpDir() + "/assert";
  std::ofstream(f) << "the quick fox";
  EXPECT_EQ(RunImage({"argosay", "assert_contains", f, "quick"}).code, 0);
  Result miss = RunImage({"argosay", "assert_contains", f, "slow"});
  EXPECT_EQ(miss.code, 2);
  EXPECT_THAT(miss.err, HasSubstr("to contain \"slow\", but was \"the quick fox\""));
  EXPECT_EQ(RunImage({"argosay", "assert_contains", f}).code, 2);
  EXPECT_EQ(RunImage({"argosay", "assert_contains", TmpDir() + "/nope", "x"}).code, 2);
}

TEST(ArgosayTest, UnknownSubcommandPanicsWithUsage) {
  Result r = RunImage({"argosay", "garbage"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("usage: argosay [assert_contains"));
}

TEST(BuiltinTest, UnknownProgram) {
  Result r = RunImage({"no-such-image"});
  EXPECT_EQ(r.code, 127);
  EXPECT_THAT(r.err, HasSubstr("known: argosay, kubernetes-bootcamp"));
}

// Forks builtin_images with SIGTERM and SIGINT blocked and SIGPIPE ignored, as
// `argonaut __image` has them from its main(); stdout is `out_fd` (closed in
// the parent), stderr is discarded. Returns the child's pid.
pid_t SpawnWithShutdownSignalsBlocked(const std::vector<std::string>& args, int out_fd) {
  std::vector<std::string> argv_s = {kBinary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    dup2(out_fd, 1);
    dup2(devnull, 2);
    execv(kBinary, argv.data());
    _exit(127);
  }
  close(out_fd);
  close(devnull);
  return pid;
}

// The signal that ended `pid`, 0 if it exited, -1 if still running after `timeout`.
int WaitSignal(pid_t pid, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    absl::SleepFor(absl::Milliseconds(5));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

TEST(BuiltinTest, SigtermEndsTheProgramEvenIfTheCallerBlockedIt) {
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_t pid = SpawnWithShutdownSignalsBlocked({"argosay", "sleep", "30s"}, devnull);
  ASSERT_GT(pid, 0);
  absl::SleepFor(absl::Milliseconds(200));
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitSignal(pid, absl::Seconds(10)), SIGTERM);
}

TEST(BuiltinTest, WritingToAClosedPipeRaisesSigpipeEvenIfTheCallerIgnoredIt) {
  std::string big = TmpDir() + "/big";
  std::ofstream(big) << std::string(1 << 20, 'x');
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  close(p[0]);  // nobody reads: the first write fails
  pid_t pid = SpawnWithShutdownSignalsBlocked({"argosay", "cat", big}, p[1]);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitSignal(pid, absl::Seconds(10)), SIGPIPE);
}

TEST(ParseGoDurationTest, GoSemantics) {
  EXPECT_EQ(*ParseGoDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParseGoDuration("1s"), absl::Seconds(1));
  EXPECT_EQ(*ParseGoDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(*ParseGoDuration("2h45m30.5s"),
            absl::Hours(2) + absl::Minutes(45) + absl::Milliseconds(30500));
  EXPECT_EQ(*ParseGoDuration("-300ms"), -absl::Milliseconds(300));
  EXPECT_EQ(*ParseGoDuration(".5us"), absl::Nanoseconds(500));
  EXPECT_EQ(*ParseGoDuration("1\xc2\xb5s"), absl::Microseconds(1));
  EXPECT_EQ(*ParseGoDuration("10ns"), absl::Nanoseconds(10));
  EXPECT_THAT(ParseGoDuration(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseGoDuration("1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing unit")));
  EXPECT_THAT(ParseGoDuration("1d"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown unit \"d\"")));
  EXPECT_THAT(ParseGoDuration("."), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseGoDuration("s"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseGoDuration("9999999999999999999h"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid duration")));
  EXPECT_THAT(ParseGoDuration("3000000h"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(ParseGoDuration("2562047h"));
}

// --- HTTP -------------------------------------------------------------------

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    off += static_cast<size_t>(n);
  }
}

// Reads until `count` occurrences of `marker`, EOF, or the 5 s receive timeout.
std::string ReadUntil(int fd, const std::string& marker, int count) {
  std::string got;
  char buf[8192];
  for (int i = 0; i < 100000; ++i) {
    int seen = 0;
    for (size_t p = got.find(marker); p != std::string::npos; p = got.find(marker, p + 1)) ++seen;
    if (seen >= count) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

std::string Get(int port) {
  int fd = Connect(port);
  if (fd < 0) return "";
  SendAll(fd, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string r = ReadUntil(fd, "\n\n", 1000);
  close(fd);
  return r;
}

TEST(KubernetesBootcampTest, ServesPodNameAndVersionThenStopsOnSigterm) {
  Child c({"kubernetes-bootcamp", "2"}, {"PORT=0", "POD_NAME=bootcamp-7d9f-abc"});
  c.Pump(absl::Seconds(10), [](const std::string& out) { return absl::StrContains(out, "\n"); });
  size_t at = c.out.find("listening on port ");
  ASSERT_NE(at, std::string::npos) << c.out << c.err;
  int port = std::atoi(c.out.c_str() + at + 18);
  ASSERT_GT(port, 0);
  std::string r = Get(port);
  EXPECT_THAT(r, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("Content-Type: text/plain\r\n"));
  EXPECT_TRUE(absl::EndsWith(
      r, "\r\n\r\nHello Kubernetes bootcamp! | Running on: bootcamp-7d9f-abc | v=2\n"))
      << r;
  absl::Time start = absl::Now();
  ASSERT_EQ(kill(c.pid(), SIGTERM), 0);
  EXPECT_EQ(c.Wait(absl::Seconds(5)), 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(KubernetesBootcampTest, BadPortIsAnError) {
  Child c({"kubernetes-bootcamp", "1"}, {"PORT=http"});
  EXPECT_EQ(c.Wait(absl::Seconds(10)), 2);
  EXPECT_THAT(c.err, HasSubstr("PORT=http"));
}

class DemoServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DemoHttpServerOptions o;
    o.bind_address = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.max_connections = 200;
    o.body = "hello\n";
    auto s = DemoHttpServer::Start(o);
    ASSERT_OK(s);
    server_ = *std::move(s);
  }
  std::unique_ptr<DemoHttpServer> server_;
};

TEST_F(DemoServerTest, KeepAliveAndPipelining) {
  int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    SendAll(fd, req);
    std::string r = ReadUntil(fd, "hello\n", 1);
    EXPECT_THAT(r, HasSubstr("Connection: keep-alive"));
  }
  // 50 pipelined requests in one write, one with a body.
  std::string burst;
  for (int i = 0; i < 49; ++i) burst += req;
  burst += "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde";
  SendAll(fd, burst);
  std::string r = ReadUntil(fd, "hello\n", 50);
  int n = 0;
  for (size_t p = r.find("HTTP/1.1 200"); p != std::string::npos; p = r.find("HTTP/1.1 200", p + 1))
    ++n;
  EXPECT_EQ(n, 50);
  close(fd);
}

TEST_F(DemoServerTest, Http10ClosesAndHeadHasNoBody) {
  int fd = Connect(server_->port());
  SendAll(fd, "HEAD / HTTP/1.0\r\n\r\n");
  std::string r = ReadUntil(fd, "never", 1);  // until EOF
  EXPECT_THAT(r, HasSubstr("Content-Length: 6\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(absl::EndsWith(r, "\r\n\r\n"));
  close(fd);
}

TEST_F(DemoServerTest, HostileRequestsGetErrorsNotCrashes) {
  int fd = Connect(server_->port());
  SendAll(fd, "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a'));
  EXPECT_THAT(ReadUntil(fd, "never", 1), HasSubstr("431"));
  close(fd);
  fd = Connect(server_->port());
  SendAll(fd, "garbage\r\n\r\n");
  EXPECT_THAT(ReadUntil(fd, "never", 1), HasSubstr("400 Bad Request"));
  close(fd);
  fd = Connect(server_->port());
  SendAll(fd, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_THAT(ReadUntil(fd, "never", 1), HasSubstr("400 Bad Request"));
  close(fd);
  EXPECT_THAT(Get(server_->port()), HasSubstr("hello\n"));
}

TEST_F(DemoServerTest, ConnectionLimitHolds) {
  std::vector<int> fds;
  for (int i = 0; i < 300; ++i) {
    int fd = Connect(server_->port());
    if (fd >= 0) fds.push_back(fd);
  }
  // Connections past the limit are accepted and closed at once.
  absl::SleepFor(absl::Milliseconds(200));
  int closed = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) == 1) {
      char c;
      if (recv(fd, &c, 1, MSG_DONTWAIT) == 0) ++closed;
    }
  }
  EXPECT_GE(closed, 100);
  for (int fd : fds) close(fd);
  // Slots come back once the clients go away.
  bool ok = false;
  for (int i = 0; i < 100 && !ok; ++i) {
    ok = absl::StrContains(Get(server_->port()), "hello\n");
    if (!ok) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(ok);
}

// --- argoproj/rollouts-demo ---------------------------------------------------

struct HttpResult {
  int status = 0;
  std::string headers;
  std::string body;
};

// One request on its own connection (Connection: close); status 0 on failure.
HttpResult Request(int port, const std::string& method, const std::string& path) {
  HttpResult r;
  int fd = Connect(port);
  if (fd < 0) return r;
  SendAll(fd, method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string raw = ReadUntil(fd, "never", 1);  // until EOF
  close(fd);
  size_t end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + 9);
  r.headers = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  return r;
}

int StartedPort(Child& c) {
  c.Pump(absl::Seconds(10),
         [](const std::string& out) { return absl::StrContains(out, "Started server on :"); });
  size_t at = c.out.find("Started server on :");
  if (at == std::string::npos) return -1;
  return std::atoi(c.out.c_str() + at + 19);
}

const char* NoEnv(const char*) { return nullptr; }

TEST(RolloutsDemoConfigTest, TagsAndEnvironment) {
  auto blue = RolloutsDemoConfigFor("blue", NoEnv);
  ASSERT_OK(blue);
  EXPECT_EQ(blue->color, "blue");
  EXPECT_EQ(blue->error_percent, 0);
  EXPECT_EQ(blue->latency, absl::ZeroDuration());
  auto bad = RolloutsDemoConfigFor("bad-red", NoEnv);
  ASSERT_OK(bad);
  EXPECT_EQ(bad->color, "red");
  EXPECT_EQ(bad->error_percent, 50);
  auto slow = RolloutsDemoConfigFor("slow-green", NoEnv);
  ASSERT_OK(slow);
  EXPECT_EQ(slow->color, "green");
  EXPECT_EQ(slow->latency, absl::Seconds(2));
  EXPECT_EQ(RolloutsDemoConfigFor("latest", NoEnv)->color, "");
  auto env = [](const char* name) -> const char* {
    std::string n = name;
    if (n == "COLOR") return "purple";
    if (n == "ERROR_RATE") return "15";
    if (n == "LATENCY") return "0.5";
    return nullptr;
  };
  auto over = RolloutsDemoConfigFor("blue", env);
  ASSERT_OK(over);
  EXPECT_EQ(over->color, "purple");
  EXPECT_EQ(over->error_percent, 15);
  EXPECT_EQ(over->latency, absl::Milliseconds(500));
  EXPECT_THAT(RolloutsDemoConfigFor("blue",
                                    [](const char* n) -> const char* {
                                      return std::string(n) == "ERROR_RATE" ? "lots" : nullptr;
                                    }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ERROR_RATE=lots")));
  EXPECT_THAT(RolloutsDemoConfigFor("blue",
                                    [](const char* n) -> const char* {
                                      return std::string(n) == "COLOR" ? "<b>" : nullptr;
                                    }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("COLOR")));
}

TEST(RolloutsDemoAppTest, ErrorsAreSpreadEvenly) {
  RolloutsDemoConfig config;
  config.color = "blue";
  config.error_percent = 15;
  RolloutsDemoApp app(config);
  int failed = 0;
  for (int i = 0; i < 200; ++i) {
    DemoHttpResponse r = app.Handle({"GET", "/color", ""});
    EXPECT_EQ(r.body, "\"blue\"");
    if (r.status == 500) ++failed;
    // Never more than one failure more than the exact share so far.
    EXPECT_LE(failed, (i + 1) * 15 / 100 + 1);
  }
  EXPECT_EQ(failed, 30);
  EXPECT_THAT(app.Metrics(), HasSubstr("requests_total{color=\"blue\",status=\"500\"} 30\n"));
  EXPECT_THAT(app.Metrics(), HasSubstr("requests_total{color=\"blue\",status=\"200\"} 170\n"));
  RolloutsDemoConfig random;
  RolloutsDemoApp any(random);
  std::string body = any.Handle({"GET", "/color", ""}).body;
  EXPECT_THAT(body, ::testing::MatchesRegex("\"(red|orange|yellow|green|blue|purple)\""));
}

TEST(RolloutsDemoTest, ServesColorPageAndMetrics) {
  Child c({"rollouts-demo", "blue"}, {"PORT=0", "POD_NAME=demo-abc"});
  int port = StartedPort(c);
  ASSERT_GT(port, 0) << c.out << c.err;
  HttpResult page = Request(port, "GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.headers, HasSubstr("Content-Type: text/html"));
  EXPECT_THAT(page.body, HasSubstr("<b id=\"color\">blue</b>"));
  EXPECT_THAT(page.body, HasSubstr("demo-abc"));
  for (int i = 0; i < 3; ++i) {
    HttpResult color = Request(port, "GET", "/color");
    EXPECT_EQ(color.status, 200);
    EXPECT_EQ(color.body, "\"blue\"");
  }
  EXPECT_EQ(Request(port, "POST", "/color?x=1").body, "\"blue\"");
  EXPECT_EQ(Request(port, "GET", "/nope").status, 404);
  HttpResult metrics = Request(port, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.headers, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(metrics.body, HasSubstr("# TYPE requests_total counter\n"));
  EXPECT_THAT(metrics.body, HasSubstr("requests_total{color=\"blue\",status=\"200\"} 4\n"));
  EXPECT_THAT(metrics.body, HasSubstr("requests_total{color=\"blue\",status=\"500\"} 0\n"));
  EXPECT_THAT(metrics.body,
              HasSubstr("http_requests_total{color=\"blue\",path=\"/\",status=\"200\"} 1\n"));
  EXPECT_THAT(metrics.body,
              HasSubstr("http_requests_total{color=\"blue\",path=\"other\",status=\"404\"} 1\n"));
  ASSERT_EQ(kill(c.pid(), SIGTERM), 0);
  EXPECT_EQ(c.Wait(absl::Seconds(5)), 0);
}

TEST(RolloutsDemoTest, BadTagFailsHalfOfColorRequests) {
  Child c({"rollouts-demo", "bad-blue"}, {"PORT=0"});
  int port = StartedPort(c);
  ASSERT_GT(port, 0) << c.out << c.err;
  std::vector<int> codes;
  for (int i = 0; i < 20; ++i) {
    HttpResult r = Request(port, "GET", "/color");
    EXPECT_EQ(r.body, "\"blue\"");
    codes.push_back(r.status);
  }
  // Every second answer fails, starting with the second.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(codes[i], i % 2 == 1 ? 500 : 200) << i;
  EXPECT_EQ(Request(port, "GET", "/").status, 200);  // probes on / pass
  std::string m = Request(port, "GET", "/metrics").body;
  EXPECT_THAT(m, HasSubstr("requests_total{color=\"blue\",status=\"200\"} 10\n"));
  EXPECT_THAT(m, HasSubstr("requests_total{color=\"blue\",status=\"500\"} 10\n"));
}

TEST(RolloutsDemoTest, SlowTagDelaysColorWithoutBlockingOthers) {
  Child c({"rollouts-demo", "slow-green"}, {"PORT=0"});
  int port = StartedPort(c);
  ASSERT_GT(port, 0) << c.out << c.err;
  // Two pipelined /color requests on one connection, then / on another.
  int fd = Connect(port);
  ASSERT_GE(fd, 0);
  absl::Time start = absl::Now();
  SendAll(fd, "GET /color HTTP/1.1\r\nHost: x\r\n\r\nGET /color HTTP/1.1\r\nHost: x\r\n\r\n");
  HttpResult page = Request(port, "GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  std::string both = ReadUntil(fd, "\"green\"", 2);
  absl::Duration took = absl::Now() - start;
  close(fd);
  EXPECT_GE(took, absl::Milliseconds(1990));
  EXPECT_LT(took, absl::Seconds(4));
  int answers = 0;
  for (size_t p = both.find("HTTP/1.1 200 OK"); p != std::string::npos;
       p = both.find("HTTP/1.1 200 OK", p + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 2) << both;
}

TEST(RolloutsDemoTest, BadArgumentsAreErrors) {
  Child port({"rollouts-demo", "blue"}, {"PORT=http"});
  EXPECT_EQ(port.Wait(absl::Seconds(10)), 2);
  EXPECT_THAT(port.err, HasSubstr("PORT=http"));
  Child flag({"rollouts-demo", "blue", "--frobnicate"}, {"PORT=0"});
  EXPECT_EQ(flag.Wait(absl::Seconds(10)), 2);
  EXPECT_THAT(flag.err, HasSubstr("unknown flag --frobnicate"));
  Child rate({"rollouts-demo", "blue"}, {"PORT=0", "ERROR_RATE=200"});
  EXPECT_EQ(rate.Wait(absl::Seconds(10)), 2);
  EXPECT_THAT(rate.err, HasSubstr("ERROR_RATE=200"));
}

// --- nginx ------------------------------------------------------------------

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(NginxImageTest, ConfigKeepsWritesPrivate) {
  NginxImageConfig config;
  config.dir = "/tmp/nginx-abc";
  config.port = 8081;
  config.root = "/usr/share/nginx/html";
  config.user = "www-data";
  std::string conf = NginxImageConf(config);
  EXPECT_THAT(conf, HasSubstr("pid /tmp/nginx-abc/nginx.pid;"));
  EXPECT_THAT(conf, HasSubstr("client_body_temp_path /tmp/nginx-abc/client_body;"));
  EXPECT_THAT(conf, HasSubstr("listen 8081;"));
  EXPECT_THAT(conf, HasSubstr("root /usr/share/nginx/html;"));
  EXPECT_THAT(conf, HasSubstr("user www-data;"));
  EXPECT_THAT(conf, ::testing::Not(HasSubstr("/var/log")));
  EXPECT_THAT(conf, ::testing::Not(HasSubstr("conf.d")));
  config.conf_d_default = true;
  EXPECT_THAT(NginxImageConf(config), HasSubstr("include /etc/nginx/conf.d/*.conf;"));
  EXPECT_THAT(NginxImageConf(config), ::testing::Not(HasSubstr("listen 8081;")));
}

TEST(NginxImageTest, ServesTheDefaultPageInTheForeground) {
  int port = FreePort();
  Child c({"nginx", "nginx", "-g", "daemon off;"},
          {"PORT=" + std::to_string(port), "TMPDIR=" + TmpDir()});
  if (access(kNginxBinary, X_OK) != 0) {
    EXPECT_EQ(c.Wait(absl::Seconds(10)), 127);
    EXPECT_THAT(c.err, HasSubstr("ImageNotRunnableLocally"));
    return;
  }
  HttpResult page;
  for (int i = 0; i < 200 && page.status == 0; ++i) {
    page = Request(port, "GET", "/");
    if (page.status == 0) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(page.status, 200) << c.err;
  EXPECT_THAT(page.body, HasSubstr("Welcome to nginx!"));
  EXPECT_EQ(Request(port, "GET", "/missing").status, 404);
  ASSERT_EQ(kill(c.pid(), SIGTERM), 0);
  EXPECT_EQ(c.Wait(absl::Seconds(10)), 0) << c.err;
  // The access log went to the container's stdout.
  EXPECT_THAT(c.out, HasSubstr("\"GET / HTTP/1.1\" 200"));
}

TEST(NginxImageTest, OtherCommandsRunAsGiven) {
  Child c({"nginx", "/docker-entrypoint.sh", "echo", "plain command"}, {});
  EXPECT_EQ(c.Wait(absl::Seconds(10)), 0);
  EXPECT_EQ(c.out, "plain command\n");
}

}  // namespace
}  // namespace argonaut::cluster
