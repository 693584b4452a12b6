#include "gateway/port_mux.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace argonaut::gateway {
namespace {

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Writes all of buf; false when the peer is gone.
bool WriteAll(int fd, const char* buf, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, buf, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    buf += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

absl::Status PortMux::Start() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (inet_pton(AF_INET, options_.bind_address.c_str(), &addr.sin_addr) != 1) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    return absl::InvalidArgumentError(
        absl::StrCat("bind address \"", options_.bind_address, "\" is not an IPv4 address"));
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    const std::string why = strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.bind_address, ":", options_.port, ": ", why));
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  // Each connection holds two descriptors; leave most of the process' limit
  // to the stores and servers that share it.
  max_connections_ = options_.max_connections;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    max_connections_ = std::min<int>(max_connections_, static_cast<int>(limit.rlim_cur / 4));
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void PortMux::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      // Out of descriptors: the pending connection stays readable, so back
      // off instead of spinning until something closes.
      if (errno == EMFILE || errno == ENFILE) ::usleep(100 * 1000);
      continue;
    }
    absl::MutexLock lock(&mu_);
    if (active_ >= max_connections_ || stopping_) {
      ::close(client);
      continue;
    }
    ++active_;
    open_fds_.push_back(client);
    // Detached: Stop waits for active_ to reach zero instead of joining, so
    // finished connections leave nothing behind in a long-running server.
    try {
      std::thread([this, client] { Serve(client); }).detach();
    } catch (const std::system_error&) {
      // No thread to be had (pids limit): refuse this connection, keep serving.
      --active_;
      open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), client), open_fds_.end());
      ::close(client);
    }
  }
}

void PortMux::Serve(int client) {
  // Classify on the first bytes: gRPC clients open with the HTTP/2 preface
  // "PRI * HTTP/2.0". Peek (without consuming) until 4 bytes are there, the
  // peer stops sending, or the timeout passes.
  char head[4];
  ssize_t n = 0;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(options_.classify_timeout_ms);
  while (!stopping_ && absl::Now() < deadline) {
    pollfd p{client, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    do {
      n = ::recv(client, head, sizeof(head), MSG_PEEK);
    } while (n < 0 && errno == EINTR);
    if (n <= 0 || n == static_cast<ssize_t>(sizeof(head)) || (p.revents & (POLLHUP | POLLRDHUP))) {
      break;
    }
    ::usleep(20 * 1000);  // a partial preface: give the rest a moment to arrive
  }
  int backend = -1;
  if (n > 0) {
    const bool http2 = std::string_view(head, static_cast<size_t>(n)) ==
                       std::string_view("PRI ", static_cast<size_t>(n));
    backend = ConnectLoopback(http2 ? options_.http2_backend_port : options_.http1_backend_port);
  }
  if (backend >= 0) {
    {
      absl::MutexLock lock(&mu_);
      open_fds_.push_back(backend);
    }
    Splice(client, backend);
  }
  absl::MutexLock lock(&mu_);
  for (int fd : {client, backend}) {
    if (fd < 0) continue;
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
  }
  --active_;
}

void PortMux::Splice(int a, int b) {
  char buf[16384];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  bool a_open = true, b_open = true;
  // Half-closes are forwarded so request/response protocols finish cleanly,
  // but a side that keeps its half open after the other closed cannot hold
  // the connection (and its slot) longer than this.
  constexpr absl::Duration kHalfCloseGrace = absl::Seconds(5);
  absl::Time half_closed_at = absl::InfiniteFuture();
  while ((a_open || b_open) && !stopping_) {
    if (!(a_open && b_open)) {
      if (half_closed_at == absl::InfiniteFuture()) half_closed_at = absl::Now();
      if (absl::Now() - half_closed_at > kHalfCloseGrace) return;
    }
    fds[0].events = a_open ? POLLIN : 0;
    fds[1].events = b_open ? POLLIN : 0;
    int r = ::poll(fds, 2, 500);
    if (r < 0 && errno != EINTR) return;
    for (int i = 0; i < 2 && r > 0; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const int from = fds[i].fd;
      const int to = i == 0 ? b : a;
      ssize_t got = ::recv(from, buf, sizeof(buf), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        if (got < 0) return;  // reset: drop both sides
        ::shutdown(to, SHUT_WR);
        (i == 0 ? a_open : b_open) = false;
        continue;
      }
      if (!WriteAll(to, buf, static_cast<size_t>(got))) return;
    }
  }
}

void PortMux::Stop() {
  if (listen_fd_ < 0 || stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  absl::MutexLock lock(&mu_);
  // Wake every splice blocked in poll; its thread closes the fds.
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  mu_.Await(absl::Condition(
      +[](int* active) { return *active == 0; }, &active_));
}

}  // namespace argonaut::gateway
