// Test helpers: a real s3rver (npm) on a free loopback port, owned by the
// test, and the loopback Python servers in testdata/.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "lib/metrics/test_process.h"

namespace argonaut::artifacts::s3::testing {

using metrics::testing::ChildProcess;
using metrics::testing::PickUnusedLoopbackPort;
using metrics::testing::RunCommand;
using metrics::testing::TempDir;

// Where scripts/install-deps.sh puts the pinned npm packages.
inline constexpr char kNpmPrefix[] = "/opt/argonaut-npm";
inline constexpr char kS3rverKey[] = "S3RVER";  // s3rver's fixed credentials

// Node's path, or "" when node is not installed.
inline std::string NodeBinary() {
  for (const char* p : {"/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs"})
    if (access(p, X_OK) == 0) return p;
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    std::string candidate = absl::StrCat(dir, "/node");
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

inline bool PortOpen(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

// Starts argv, waits until `port` accepts connections.
inline absl::StatusOr<std::unique_ptr<ChildProcess>> StartServer(
    const std::vector<std::string>& argv, int port, const std::string& log,
    absl::Duration timeout = absl::Seconds(60)) {
  auto child = ChildProcess::Start(argv, log);
  if (!child.ok()) return child.status();
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (PortOpen(port)) return child;
    if (!(*child)->Running()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return absl::UnavailableError(
      absl::StrCat(argv[0], " did not listen on 127.0.0.1:", port, "; its log:\n", text.str()));
}

// s3rver on 127.0.0.1 with its data in a fresh directory.
struct S3rver {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ChildProcess> process;
  int port = 0;
  std::string endpoint;  // 127.0.0.1:port

  // FailedPrecondition when node is missing (the caller skips); any other
  // error fails the test.
  absl::Status Start(const std::vector<std::string>& extra_args = {}) {
    const std::string node = NodeBinary();
    if (node.empty()) return absl::FailedPreconditionError("node is not installed");
    const std::string script = absl::StrCat(kNpmPrefix, "/node_modules/s3rver/bin/s3rver.js");
    if (access(script.c_str(), R_OK) != 0)
      return absl::NotFoundError(absl::StrCat(
          script, " missing: run scripts/install-deps.sh (npm ci into ", kNpmPrefix, ")"));
    auto d = TempDir::Create();
    if (!d.ok()) return d.status();
    dir = std::move(*d);
    auto p = PickUnusedLoopbackPort();
    if (!p.ok()) return p.status();
    port = *p;
    endpoint = absl::StrCat("127.0.0.1:", port);
    // s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 only
    // offers through its legacy provider.
    std::vector<std::string> argv = {node,
                                     "--openssl-legacy-provider",
                                     script,
                                     "-d",
                                     dir->path() + "/data",
                                     "-a",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port),
                                     "--silent"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto child = StartServer(argv, port, dir->path() + "/s3rver.log");
    if (!child.ok()) return child.status();
    process = std::move(*child);
    return absl::OkStatus();
  }
};

// Runs testdata/sdk_interop.js (the AWS SDK's S3 client) with `args`.
inline absl::StatusOr<std::string> RunSdk(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/env",
                                   absl::StrCat("NODE_PATH=", kNpmPrefix, "/node_modules"),
                                   NodeBinary(), "lib/artifacts/s3/testdata/sdk_interop.js"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv, "", absl::Seconds(120));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0)
    return absl::InternalError(
        absl::StrCat("sdk_interop.js exited ", r->exit_code, ": ", r->output));
  return r->output;
}

}  // namespace argonaut::artifacts::s3::testing
