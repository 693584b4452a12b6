#include "lib/cluster/proxy/service_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"

namespace argonaut::cluster {
namespace {

enum class TagKind { kListen, kWake, kClient, kBackend };

// A fixed-capacity byte buffer; storage is allocated on first use so idle
// connections stay small.
class Buffer {
 public:
  size_t size() const { return tail_ - head_; }
  bool empty() const { return head_ == tail_; }
  bool full(size_t cap) const { return size() >= cap; }

  // Writable region at the end, compacting first when that helps.
  std::pair<char*, size_t> Space(size_t cap) {
    if (data_ == nullptr) data_ = std::make_unique<char[]>(cap);
    if (head_ == tail_) head_ = tail_ = 0;
    if (tail_ == cap && head_ > 0) {
      memmove(data_.get(), data_.get() + head_, tail_ - head_);
      tail_ -= head_;
      head_ = 0;
    }
    return {data_.get() + tail_, cap - tail_};
  }
  void Produced(size_t n) { tail_ += n; }
  const char* Data() const { return data_.get() + head_; }
  void Consumed(size_t n) {
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t head_ = 0;
  size_t tail_ = 0;
};

bool ParseAddress(const std::string& ip, int port, sockaddr_storage* out, socklen_t* len) {
  if (port <= 0 || port > 65535) return false;
  memset(out, 0, sizeof(*out));
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

// One direction of a proxied connection: bytes read from `src` wait in `buf`
// until written to `dst`.
struct Direction {
  Buffer buf;
  bool eof = false;   // src sent FIN
  bool shut = false;  // FIN forwarded to dst
};

struct ServiceProxy::Conn {
  int client_fd = -1;
  int backend_fd = -1;
  struct SideTag {
    TagKind kind;
    Conn* conn;
  };
  SideTag client_tag{TagKind::kClient, this};
  SideTag backend_tag{TagKind::kBackend, this};
  uint32_t client_events = 0;
  uint32_t backend_events = 0;
  bool client_registered = false;
  bool backend_registered = false;
  bool connecting = false;
  absl::Time connect_started;
  std::vector<Endpoint> tried;
  Direction up;    // client -> backend
  Direction down;  // backend -> client
  bool dead = false;
};

struct ServiceProxy::Loop {
  ServiceProxy* proxy = nullptr;
  int epoll_fd = -1;
  int wake_fd = -1;
  Conn::SideTag listen_tag{TagKind::kListen, nullptr};
  Conn::SideTag wake_tag{TagKind::kWake, nullptr};
  std::unordered_set<Conn*> conns;
  std::unordered_set<Conn*> connecting;
  std::vector<Conn*> graveyard;  // freed after the current event batch

  void Close(Conn* c) {
    if (c->dead) return;
    c->dead = true;
    if (c->client_fd >= 0) {
      epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->client_fd, nullptr);
      close(c->client_fd);
    }
    if (c->backend_fd >= 0) {
      epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->backend_fd, nullptr);
      close(c->backend_fd);
    }
    conns.erase(c);
    connecting.erase(c);
    graveyard.push_back(c);
    proxy->active_.fetch_sub(1);
  }

  void SetInterest(int fd, uint32_t want, uint32_t& have, bool& registered, Conn::SideTag* tag) {
    if (registered && want == have) return;
    if (want == 0) {
      // Nothing to read (buffer full) or write: unregister, because epoll
      // reports a closed peer (EPOLLHUP) whatever the mask, which would spin
      // the loop while a slow client leaves our buffer full.
      if (registered) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
      registered = false;
      have = 0;
      return;
    }
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = tag;
    epoll_ctl(epoll_fd, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    registered = true;
    have = want;
  }

  void UpdateInterest(Conn* c) {
    size_t cap = proxy->options_.buffer_bytes;
    uint32_t cw = 0;
    if (!c->connecting && !c->up.eof && !c->up.buf.full(cap)) cw |= EPOLLIN;
    if (!c->down.buf.empty()) cw |= EPOLLOUT;
    // A client whose both directions are finished is only waited on for the
    // backend side; leaving it registered would report EPOLLHUP forever.
    if (c->up.eof && c->down.shut) {
      if (c->client_registered) {
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->client_fd, nullptr);
        c->client_registered = false;
      }
    } else {
      SetInterest(c->client_fd, cw, c->client_events, c->client_registered, &c->client_tag);
    }
    if (c->backend_fd < 0) return;
    uint32_t bw = 0;
    if (c->connecting) {
      bw = EPOLLOUT;
    } else {
      if (!c->down.eof && !c->down.buf.full(cap)) bw |= EPOLLIN;
      if (!c->up.buf.empty()) bw |= EPOLLOUT;
    }
    if (!c->connecting && c->down.eof && c->up.shut) {
      if (c->backend_registered) {
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->backend_fd, nullptr);
        c->backend_registered = false;
      }
    } else {
      SetInterest(c->backend_fd, bw, c->backend_events, c->backend_registered, &c->backend_tag);
    }
  }

  // Starts a connect to the next untried endpoint. False when the client was
  // closed because no endpoint is left.
  bool Connect(Conn* c) {
    for (size_t attempt = 0; attempt < kMaxProxyEndpoints; ++attempt) {
      std::optional<Endpoint> e;
      {
        absl::MutexLock lock(&proxy->mu_);
        e = proxy->picker_.Pick(c->tried);
      }
      if (!e) break;
      c->tried.push_back(*e);
      sockaddr_storage addr;
      socklen_t len = 0;
      if (!ParseAddress(e->ip, e->port, &addr, &len)) continue;  // validated on Set
      int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      int r = connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
      if (r == 0 || errno == EINPROGRESS) {
        c->backend_fd = fd;
        c->backend_registered = false;
        c->backend_events = 0;
        c->connecting = true;
        c->connect_started = absl::Now();
        connecting.insert(c);
        UpdateInterest(c);
        return true;
      }
      proxy->failed_connects_.fetch_add(1);
      close(fd);
    }
    proxy->rejected_no_endpoint_.fetch_add(1);
    Close(c);
    return false;
  }

  void ConnectFailed(Conn* c) {
    proxy->failed_connects_.fetch_add(1);
    if (c->backend_registered) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->backend_fd, nullptr);
    close(c->backend_fd);
    c->backend_fd = -1;
    c->backend_registered = false;
    c->connecting = false;
    connecting.erase(c);
    Connect(c);
  }

  // Moves bytes src -> buf -> dst until both sides would block. False on a
  // connection error (the caller closes the connection).
  bool Pump(Direction& d, int src, int dst, std::atomic<uint64_t>& counter) {
    size_t cap = proxy->options_.buffer_bytes;
    for (int round = 0; round < 16; ++round) {
      bool progress = false;
      // A short read means the socket is drained: reading again would only
      // cost a syscall returning EAGAIN.
      bool drained = false;
      if (!d.eof && !d.buf.full(cap)) {
        auto [p, n] = d.buf.Space(cap);
        ssize_t r = recv(src, p, n, 0);
        if (r > 0) {
          d.buf.Produced(static_cast<size_t>(r));
          progress = true;
          drained = static_cast<size_t>(r) < n;
        } else if (r == 0) {
          d.eof = true;
          progress = true;
        } else if (errno != EINTR && !WouldBlock(errno)) {
          return false;
        }
      }
      if (!d.buf.empty()) {
        ssize_t w = send(dst, d.buf.Data(), d.buf.size(), MSG_NOSIGNAL);
        if (w > 0) {
          d.buf.Consumed(static_cast<size_t>(w));
          counter.fetch_add(static_cast<uint64_t>(w), std::memory_order_relaxed);
          progress = true;
        } else if (w < 0 && errno != EINTR && !WouldBlock(errno)) {
          return false;
        }
      }
      if (d.eof && d.buf.empty() && !d.shut) {
        shutdown(dst, SHUT_WR);
        d.shut = true;
      }
      if (!progress || (drained && d.buf.empty())) break;
    }
    return true;
  }

  void OnAccept(int listen_fd) {
    for (int k = 0; k < 64; ++k) {
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      proxy->accepted_.fetch_add(1);
      if (proxy->active_.fetch_add(1) >= static_cast<uint64_t>(proxy->options_.max_connections)) {
        proxy->active_.fetch_sub(1);
        proxy->rejected_over_limit_.fetch_add(1);
        close(fd);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      Conn* c = new Conn();
      c->client_fd = fd;
      conns.insert(c);
      Connect(c);
    }
  }

  void OnEvent(Conn* c, bool is_client, uint32_t events) {
    if (c->dead) return;
    if (!is_client && c->connecting) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c->backend_fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
        ConnectFailed(c);
        return;
      }
      c->connecting = false;
      connecting.erase(c);
      // The client may have sent its request while we were connecting.
      if (!Pump(c->up, c->client_fd, c->backend_fd, proxy->bytes_to_backends_)) {
        Close(c);
        return;
      }
      UpdateInterest(c);
      return;
    }
    if (events & EPOLLERR) {
      Close(c);
      return;
    }
    if (c->connecting) {
      // Client-side event while the backend is not there yet: only a dying
      // client matters, and it is noticed when the connect completes.
      if (events & EPOLLHUP) Close(c);
      return;
    }
    // Readable client or writable backend moves bytes up; the other two down.
    bool readable = events & (EPOLLIN | EPOLLHUP);
    bool writable = events & (EPOLLOUT | EPOLLHUP);
    bool pump_up = is_client ? readable : writable;
    bool pump_down = is_client ? writable : readable;
    bool ok = (!pump_up || Pump(c->up, c->client_fd, c->backend_fd, proxy->bytes_to_backends_)) &&
              (!pump_down || Pump(c->down, c->backend_fd, c->client_fd, proxy->bytes_to_clients_));
    if (!ok) {
      Close(c);
      return;
    }
    if (c->up.shut && c->down.shut) {
      Close(c);
      return;
    }
    if (events & EPOLLHUP) {
      // The peer closed. Bytes it sent before closing may still wait in the
      // socket (our buffer toward the other side was full): keep reading to
      // EOF. Only when everything from it is read and it can no longer take
      // what we still owe it is the connection done.
      const Direction& from = is_client ? c->up : c->down;
      const Direction& to = is_client ? c->down : c->up;
      if (from.eof && !to.shut) {
        Close(c);
        return;
      }
    }
    UpdateInterest(c);
  }

  void SweepConnectTimeouts() {
    absl::Time now = absl::Now();
    std::vector<Conn*> expired;
    for (Conn* c : connecting) {
      if (now - c->connect_started >= proxy->options_.connect_timeout) expired.push_back(c);
    }
    for (Conn* c : expired) {
      if (!c->dead && c->connecting) ConnectFailed(c);
    }
  }
};

absl::StatusOr<std::unique_ptr<ServiceProxy>> ServiceProxy::Start(const ProxyOptions& options) {
  if (options.max_connections <= 0) {
    return absl::InvalidArgumentError("max_connections: must be positive");
  }
  if (options.buffer_bytes < 1024 || options.buffer_bytes > (64u << 20)) {
    return absl::InvalidArgumentError("buffer_bytes: must be between 1 KiB and 64 MiB");
  }
  if (options.threads < 1 || options.threads > 64) {
    return absl::InvalidArgumentError("threads: must be between 1 and 64");
  }
  sockaddr_storage addr;
  socklen_t len = 0;
  if (options.port < 0 || options.port > 65535 ||
      !ParseAddress(options.bind_address, options.port == 0 ? 1 : options.port, &addr, &len)) {
    return absl::InvalidArgumentError(absl::StrCat("bind_address/port: cannot listen on ",
                                                   options.bind_address, ":", options.port));
  }
  if (options.port == 0) {
    // ParseAddress wants a real port; 0 asks the kernel for one.
    if (addr.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&addr)->sin_port = 0;
    if (addr.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = 0;
  }
  std::unique_ptr<ServiceProxy> proxy(new ServiceProxy());
  proxy->options_ = options;
  proxy->listen_fd_ = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (proxy->listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(proxy->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return absl::UnavailableError(absl::StrCat("proxy ", options.name, ": bind ",
                                               options.bind_address, ":", options.port, ": ",
                                               strerror(errno)));
  }
  if (listen(proxy->listen_fd_, 4096) != 0) {
    return absl::InternalError(absl::StrCat("listen: ", strerror(errno)));
  }
  sockaddr_storage bound;
  socklen_t blen = sizeof(bound);
  getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  proxy->port_ =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  for (int i = 0; i < options.threads; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->proxy = proxy.get();
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epoll_fd < 0 || loop->wake_fd < 0) {
      if (loop->epoll_fd >= 0) close(loop->epoll_fd);
      if (loop->wake_fd >= 0) close(loop->wake_fd);
      return absl::InternalError(absl::StrCat("epoll/eventfd: ", strerror(errno)));
    }
    epoll_event ev{};
    // Each loop waits on the listener; EPOLLEXCLUSIVE wakes only one of them.
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.ptr = &loop->listen_tag;
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, proxy->listen_fd_, &ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &loop->wake_tag;
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd, &ev);
    proxy->loops_.push_back(std::move(loop));
  }
  for (auto& loop : proxy->loops_) {
    Loop* l = loop.get();
    proxy->threads_.emplace_back([p = proxy.get(), l] { p->Run(l); });
  }
  LogInfo("proxy", "listening",
          {{"service", options.name},
           {"address", absl::StrCat(options.bind_address, ":", proxy->port_)}});
  return proxy;
}

ServiceProxy::~ServiceProxy() { Stop(); }

void ServiceProxy::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& loop : loops_) {
    uint64_t one = 1;
    (void)!write(loop->wake_fd, &one, sizeof(one));
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  for (auto& loop : loops_) {
    std::vector<Conn*> all(loop->conns.begin(), loop->conns.end());
    for (Conn* c : all) loop->Close(c);
    for (Conn* c : loop->graveyard) delete c;
    loop->graveyard.clear();
    close(loop->epoll_fd);
    close(loop->wake_fd);
  }
  loops_.clear();
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
}

absl::Status ServiceProxy::SetEndpoints(std::vector<Endpoint> endpoints) {
  if (endpoints.size() > kMaxProxyEndpoints) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoints: more than ", kMaxProxyEndpoints, " entries"));
  }
  for (size_t i = 0; i < endpoints.size(); ++i) {
    sockaddr_storage addr;
    socklen_t len;
    if (!ParseAddress(endpoints[i].ip, endpoints[i].port, &addr, &len)) {
      return absl::InvalidArgumentError(
          absl::StrCat("endpoints[", i, "]: not an IP address and port 1-65535: \"",
                       endpoints[i].ip.substr(0, 64), "\":", endpoints[i].port));
    }
  }
  absl::MutexLock lock(&mu_);
  picker_.SetEndpoints(std::move(endpoints));
  return absl::OkStatus();
}

absl::Status ServiceProxy::SetWeights(std::map<std::string, int> group_weights) {
  for (const auto& [group, weight] : group_weights) {
    if (weight < 0 || weight > kMaxGroupWeight) {
      return absl::InvalidArgumentError(
          absl::StrCat("weights[", group.substr(0, 64), "]: must be 0 to ", kMaxGroupWeight));
    }
  }
  absl::MutexLock lock(&mu_);
  picker_.SetWeights(std::move(group_weights));
  return absl::OkStatus();
}

ProxyStats ServiceProxy::stats() const {
  ProxyStats s;
  s.accepted = accepted_.load();
  s.active = active_.load();
  s.failed_connects = failed_connects_.load();
  s.rejected_no_endpoint = rejected_no_endpoint_.load();
  s.rejected_over_limit = rejected_over_limit_.load();
  s.bytes_to_backends = bytes_to_backends_.load();
  s.bytes_to_clients = bytes_to_clients_.load();
  return s;
}

void ServiceProxy::Run(Loop* loop) {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  for (;;) {
    int timeout_ms = loop->connecting.empty() ? -1 : 100;
    int n = epoll_wait(loop->epoll_fd, events, kMaxEvents, timeout_ms);
    if (n < 0 && errno != EINTR) {
      LogError("proxy", "epoll_wait failed",
               {{"service", options_.name}, {"error", strerror(errno)}});
      return;
    }
    for (int i = 0; i < n; ++i) {
      auto* tag = static_cast<Conn::SideTag*>(events[i].data.ptr);
      switch (tag->kind) {
        case TagKind::kWake:
          return;  // Stop() closes the connections after the join
        case TagKind::kListen:
          loop->OnAccept(listen_fd_);
          break;
        case TagKind::kClient:
          loop->OnEvent(tag->conn, true, events[i].events);
          break;
        case TagKind::kBackend:
          loop->OnEvent(tag->conn, false, events[i].events);
          break;
      }
    }
    if (!loop->connecting.empty()) loop->SweepConnectTimeouts();
    for (Conn* c : loop->graveyard) delete c;
    loop->graveyard.clear();
  }
}

}  // namespace argonaut::cluster
