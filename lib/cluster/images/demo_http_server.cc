#include "lib/cluster/images/demo_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <set>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/strings.h"

namespace argonaut::cluster {
namespace {

constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kMaxBodyBytes = 1 << 20;
// Past this much unsent output a client that pipelines without reading is
// not read from until it catches up.
constexpr size_t kMaxPendingOutput = 1 << 20;

// An answer that is not due yet (DemoHttpResponse::delay).
struct Held {
  absl::Time ready;
  std::string data;
};

struct Conn {
  int fd = -1;
  std::string in;
  std::string out;
  size_t out_off = 0;
  bool close_after_flush = false;
  uint32_t events = 0;
  std::deque<Held> held;  // in request order; released into `out` from the front
};

std::string_view Reason(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return code < 400 ? "OK" : "Error";
  }
}

std::string Response(int code, std::string_view content_type, std::string_view body,
                     bool keep_alive, bool head) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", code, " ", AbslView(Reason(code)), "\r\nContent-Type: ", AbslView(content_type),
      "\r\nContent-Length: ", body.size(), "\r\nConnection: ", keep_alive ? "keep-alive" : "close",
      "\r\n\r\n");
  if (!head) out.append(body);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

struct DemoHttpServer::Loop {
  int epoll_fd = -1;
  int listen_fd = -1;
  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  std::set<int> holding;  // connections with held answers
};

std::string KubernetesBootcampBody(const std::string& pod_name, const std::string& version) {
  return absl::StrCat("Hello Kubernetes bootcamp! | Running on: ", pod_name, " | v=", version,
                      "\n");
}

absl::StatusOr<std::unique_ptr<DemoHttpServer>> DemoHttpServer::Start(
    const DemoHttpServerOptions& options) {
  std::unique_ptr<DemoHttpServer> server(new DemoHttpServer());
  server->options_ = options;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, options.bind_address.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("bind_address: not an IPv4 address: ", options.bind_address));
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("port: out of range: ", options.port));
  }
  server->stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (server->stop_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  int threads = std::clamp(options.threads, 1, 64);
  int port = options.port;
  for (int i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>();
    server->loops_.push_back(std::move(loop));
    Loop* l = server->loops_.back().get();
    l->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->listen_fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
    int one = 1;
    setsockopt(l->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(l->listen_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(l->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return absl::UnavailableError(
          absl::StrCat("bind ", options.bind_address, ":", port, ": ", strerror(errno)));
    }
    if (listen(l->listen_fd, 1024) != 0) {
      return absl::InternalError(absl::StrCat("listen: ", strerror(errno)));
    }
    if (port == 0) {
      // The other threads' listeners join the port the kernel picked.
      sockaddr_in bound{};
      socklen_t len = sizeof(bound);
      getsockname(l->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
      port = ntohs(bound.sin_port);
    }
    l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epoll_fd < 0) return absl::InternalError(absl::StrCat("epoll: ", strerror(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = l->listen_fd;
    epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->listen_fd, &ev);
    ev.data.fd = server->stop_fd_;
    epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, server->stop_fd_, &ev);
  }
  server->port_ = port;
  for (auto& loop : server->loops_) {
    Loop* l = loop.get();
    server->threads_.emplace_back([s = server.get(), l] { s->Run(l); });
  }
  return server;
}

DemoHttpServer::~DemoHttpServer() { Stop(); }

void DemoHttpServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (stop_fd_ >= 0) {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof(one));
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  for (auto& loop : loops_) {
    for (auto& [fd, conn] : loop->conns) close(fd);
    loop->conns.clear();
    if (loop->listen_fd >= 0) close(loop->listen_fd);
    if (loop->epoll_fd >= 0) close(loop->epoll_fd);
  }
  loops_.clear();
  if (stop_fd_ >= 0) close(stop_fd_);
  stop_fd_ = -1;
}

void DemoHttpServer::Run(Loop* loop) {
  const std::string ok_keep = Response(200, "text/plain", options_.body, true, false);
  const std::string ok_close = Response(200, "text/plain", options_.body, false, false);
  const std::string head_keep = Response(200, "text/plain", options_.body, true, true);
  const std::string head_close = Response(200, "text/plain", options_.body, false, true);
  const std::string bad_request = Response(400, "text/plain", "bad request\n", false, false);
  const std::string too_large = Response(431, "text/plain", "request too large\n", false, false);

  auto close_conn = [&](int fd) {
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    loop->conns.erase(fd);
    loop->holding.erase(fd);
    connections_.fetch_sub(1);
  };
  auto set_events = [&](Conn& c) {
    size_t pending = c.out.size() - c.out_off;
    uint32_t want = 0;
    if (!c.close_after_flush && pending < kMaxPendingOutput) want |= EPOLLIN;
    if (pending > 0) want |= EPOLLOUT;
    if (want != c.events) {
      epoll_event ev{};
      ev.events = want;
      ev.data.fd = c.fd;
      epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
      c.events = want;
    }
  };
  // Returns false when the connection is gone.
  auto flush = [&](Conn& c) -> bool {
    while (c.out_off < c.out.size()) {
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) {
        close_conn(c.fd);
        return false;
      }
      c.out_off += static_cast<size_t>(n);
    }
    if (c.out_off == c.out.size()) {
      c.out.clear();
      c.out_off = 0;
      if (c.close_after_flush && c.held.empty()) {
        close_conn(c.fd);
        return false;
      }
    } else if (c.out_off > (1 << 16)) {
      c.out.erase(0, c.out_off);
      c.out_off = 0;
    }
    set_events(c);
    return true;
  };
  // Answers every complete request in c.in.
  auto process = [&](Conn& c) {
    size_t pos = 0;
    while (!c.close_after_flush) {
      size_t end = c.in.find("\r\n\r\n", pos);
      if (end == std::string::npos) {
        if (c.in.size() - pos > kMaxHeaderBytes) {
          c.out += too_large;
          c.close_after_flush = true;
        }
        break;
      }
      std::string_view head(c.in.data() + pos, end - pos);
      size_t line_end = head.find("\r\n");
      std::string_view line = head.substr(0, line_end);
      size_t sp1 = line.find(' ');
      size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos ||
          !absl::StartsWith(AbslView(line.substr(sp2 + 1)), "HTTP/1.")) {
        c.out += bad_request;
        c.close_after_flush = true;
        break;
      }
      std::string_view method = line.substr(0, sp1);
      bool http10 = line.substr(sp2 + 1) == "HTTP/1.0";
      bool keep_alive = !http10;
      size_t body_len = 0;
      bool bad = false;
      std::string_view rest =
          line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
      while (!rest.empty()) {
        size_t nl = rest.find("\r\n");
        std::string_view h = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 2);
        size_t colon = h.find(':');
        if (colon == std::string_view::npos) {
          bad = true;
          break;
        }
        absl::string_view name = AbslView(h.substr(0, colon));
        std::string_view value = Trim(h.substr(colon + 1));
        if (absl::EqualsIgnoreCase(name, "connection")) {
          if (absl::EqualsIgnoreCase(AbslView(value), "close")) keep_alive = false;
          if (absl::EqualsIgnoreCase(AbslView(value), "keep-alive")) keep_alive = true;
        } else if (absl::EqualsIgnoreCase(name, "content-length")) {
          if (!absl::SimpleAtoi(AbslView(value), &body_len) || body_len > kMaxBodyBytes) bad = true;
        } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
          bad = true;  // chunked uploads are not something a demo page needs
        }
      }
      if (bad) {
        c.out += bad_request;
        c.close_after_flush = true;
        break;
      }
      size_t request_end = end + 4 + body_len;
      if (request_end > c.in.size()) break;  // body still arriving
      bool is_head = method == "HEAD";
      if (options_.handler) {
        DemoHttpRequest request{method, line.substr(sp1 + 1, sp2 - sp1 - 1),
                                std::string_view(c.in).substr(end + 4, body_len)};
        DemoHttpResponse response = options_.handler(request);
        std::string data =
            Response(response.status, response.content_type, response.body, keep_alive, is_head);
        if (response.delay > absl::ZeroDuration() || !c.held.empty()) {
          c.held.push_back(
              {absl::Now() + std::max(response.delay, absl::ZeroDuration()), std::move(data)});
          loop->holding.insert(c.fd);
        } else {
          c.out += data;
        }
        if (!keep_alive) c.close_after_flush = true;
      } else if (keep_alive) {
        c.out += is_head ? head_keep : ok_keep;
      } else {
        c.out += is_head ? head_close : ok_close;
        c.close_after_flush = true;
      }
      pos = request_end;
    }
    c.in.erase(0, pos);
  };

  // Moves the answers that are due into their connections' output; returns
  // the epoll timeout until the next one (-1: none held).
  auto release_held = [&]() -> int {
    if (loop->holding.empty()) return -1;
    absl::Time now = absl::Now();
    absl::Time next = absl::InfiniteFuture();
    std::vector<int> fds(loop->holding.begin(), loop->holding.end());
    for (int fd : fds) {
      auto it = loop->conns.find(fd);
      if (it == loop->conns.end()) {
        loop->holding.erase(fd);
        continue;
      }
      Conn& c = *it->second;
      bool released = false;
      while (!c.held.empty() && c.held.front().ready <= now) {
        c.out += c.held.front().data;
        c.held.pop_front();
        released = true;
      }
      if (c.held.empty()) {
        loop->holding.erase(fd);
      } else {
        next = std::min(next, c.held.front().ready);
      }
      if (released) flush(c);  // may close the connection
    }
    if (next == absl::InfiniteFuture()) return -1;
    // Rounded up so that the wake-up finds the answer due.
    return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(next - now), 3600000)) + 1;
  };

  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  char buf[65536];
  for (;;) {
    int n = epoll_wait(loop->epoll_fd, events, kMaxEvents, release_held());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == stop_fd_) return;
      if (fd == loop->listen_fd) {
        for (int k = 0; k < 64; ++k) {
          int cfd = accept4(loop->listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break;
          if (connections_.fetch_add(1) >= options_.max_connections) {
            connections_.fetch_sub(1);
            close(cfd);
            continue;
          }
          int one = 1;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          auto conn = std::make_unique<Conn>();
          conn->fd = cfd;
          conn->events = EPOLLIN;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = cfd;
          epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, cfd, &ev);
          loop->conns[cfd] = std::move(conn);
        }
        continue;
      }
      auto it = loop->conns.find(fd);
      if (it == loop->conns.end()) continue;
      Conn& c = *it->second;
      if (events[i].events & EPOLLOUT) {
        if (!flush(c)) continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (c.close_after_flush) {
          // A peer that hung up gets no held answers; without this its
          // HUP would wake the loop until they are due.
          if ((events[i].events & (EPOLLHUP | EPOLLERR)) && !c.held.empty()) close_conn(fd);
          continue;
        }
        bool closed = false;
        for (int k = 0; k < 4; ++k) {
          ssize_t r = recv(fd, buf, sizeof(buf), 0);
          if (r < 0 && errno == EINTR) continue;
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          if (r <= 0) {
            closed = true;
            break;
          }
          c.in.append(buf, static_cast<size_t>(r));
          if (static_cast<size_t>(r) < sizeof(buf)) break;
        }
        process(c);
        if (closed && c.out.size() == c.out_off && c.held.empty()) {
          close_conn(fd);
          continue;
        }
        if (closed) c.close_after_flush = true;
        flush(c);
      }
    }
  }
}

bool DemoPortFromEnv(const char* prog, int* port) {
  const char* p = std::getenv("PORT");
  if (p == nullptr || *p == '\0') return true;
  if (!absl::SimpleAtoi(p, port) || *port < 0 || *port > 65535) {
    fprintf(stderr, "%s: PORT=%s is not a port number\n", prog, p);
    return false;
  }
  return true;
}

std::string DemoPodName() {
  std::string pod_name;
  if (const char* p = std::getenv("POD_NAME"); p != nullptr && *p != '\0') pod_name = p;
  if (pod_name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0) pod_name = host;
  }
  if (pod_name.empty()) {
    if (const char* p = std::getenv("HOSTNAME"); p != nullptr) pod_name = p;
  }
  return pod_name;
}

sigset_t BlockDemoStopSignals() {
  // An inherited SIG_IGN would discard them, so reset the dispositions first.
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

int WaitDemoStopSignal(const sigset_t& set) {
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

int RunKubernetesBootcamp(const std::vector<std::string>& args) {
  std::string version = args.empty() ? "1" : args[0];
  int port = 8080;
  if (!DemoPortFromEnv("kubernetes-bootcamp", &port)) return 2;
  const std::string pod_name = DemoPodName();

  const sigset_t set = BlockDemoStopSignals();

  DemoHttpServerOptions options;
  options.port = port;
  options.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  options.body = KubernetesBootcampBody(pod_name, version);
  absl::StatusOr<std::unique_ptr<DemoHttpServer>> server = DemoHttpServer::Start(options);
  if (!server.ok()) {
    fprintf(stderr, "kubernetes-bootcamp: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  printf("Kubernetes Bootcamp App Started At: listening on port %d | Running On: %s\n",
         (*server)->port(), pod_name.c_str());
  fflush(stdout);
  const int sig = WaitDemoStopSignal(set);
  (*server)->Stop();
  printf("Kubernetes Bootcamp App stopped on signal %d\n", sig);
  fflush(stdout);
  return 0;
}

}  // namespace argonaut::cluster
