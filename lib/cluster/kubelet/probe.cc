#include "lib/cluster/kubelet/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace argonaut::cluster::kubelet {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

int RemainingMs(absl::Time deadline) {
  return static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
}

absl::Status Connect(const Fd& fd, const std::string& ip, int port, absl::Time deadline) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("bad pod address \"", ip, "\""));
  }
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    return absl::OkStatus();
  }
  if (errno != EINPROGRESS) {
    return absl::UnavailableError(absl::StrCat("dial tcp ", ip, ":", port, ": ", strerror(errno)));
  }
  pollfd p{fd.get(), POLLOUT, 0};
  if (poll(&p, 1, RemainingMs(deadline)) <= 0) {
    return absl::DeadlineExceededError(absl::StrCat("dial tcp ", ip, ":", port, ": i/o timeout"));
  }
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    return absl::UnavailableError(absl::StrCat("dial tcp ", ip, ":", port, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ProbeTcp(const std::string& ip, int port, absl::Duration timeout) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return absl::InternalError("socket failed");
  return Connect(fd, ip, port, absl::Now() + timeout);
}

absl::Status ProbeHttpGet(const std::string& ip, int port, const std::string& path,
                          absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return absl::InternalError("socket failed");
  if (absl::Status s = Connect(fd, ip, port, deadline); !s.ok()) return s;
  const std::string req =
      absl::StrCat("GET ", path.empty() ? "/" : path, " HTTP/1.1\r\nHost: ", ip, ":", port,
                   "\r\nUser-Agent: kube-probe/1.27\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < req.size()) {
    pollfd p{fd.get(), POLLOUT, 0};
    if (poll(&p, 1, RemainingMs(deadline)) <= 0) return absl::DeadlineExceededError("timeout");
    ssize_t n = send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0 && errno != EAGAIN) return absl::UnavailableError("connection reset");
    if (n > 0) sent += static_cast<size_t>(n);
  }
  // Only the status line matters; read until it is complete.
  std::string head;
  char buf[512];
  while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
    pollfd p{fd.get(), POLLIN, 0};
    if (poll(&p, 1, RemainingMs(deadline)) <= 0) {
      return absl::DeadlineExceededError("timeout awaiting response headers");
    }
    ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN) continue;
      return absl::UnavailableError("connection reset");
    }
    head.append(buf, static_cast<size_t>(n));
  }
  // "HTTP/1.1 200 OK"
  const size_t sp = head.find(' ');
  int code = 0;
  if (sp == std::string::npos || head.size() < sp + 4 ||
      !absl::SimpleAtoi(head.substr(sp + 1, 3), &code)) {
    return absl::UnavailableError("malformed HTTP response");
  }
  if (code >= 200 && code < 400) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("HTTP probe failed with statuscode: ", code));
}

}  // namespace argonaut::cluster::kubelet
