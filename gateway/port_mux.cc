#include "gateway/port_mux.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/port_mux_http1.h"

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

// Chooses the protocol for a TLS client from the ones it offers: http/1.1
// whenever offered (browsers and curl offer h2 too, but the REST server
// speaks only HTTP/1.1), else h2 (gRPC clients offer only that and insist on
// it). Neither: no ALPN, and the first bytes decide.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static const unsigned char kH2[] = "h2";
  static const unsigned char kHttp11[] = "http/1.1";
  bool h2 = false, h1 = false;
  for (unsigned int i = 0; i < inlen;) {
    const unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    const std::string_view proto(reinterpret_cast<const char*>(in + i + 1), len);
    h2 = h2 || proto == "h2";
    h1 = h1 || proto == "http/1.1";
    i += 1 + len;
  }
  if (h1) {
    *out = kHttp11;
    *outlen = sizeof(kHttp11) - 1;
    return SSL_TLSEXT_ERR_OK;
  }
  if (h2) {
    *out = kH2;
    *outlen = sizeof(kH2) - 1;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::string OpenSslErrors() {
  std::string out;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

// Polls `fd` for what OpenSSL asked for (`err` is SSL_ERROR_WANT_READ or
// SSL_ERROR_WANT_WRITE).
void WaitFor(int fd, int err, int timeout_ms) {
  pollfd p{fd, static_cast<short>(err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
  ::poll(&p, 1, timeout_ms);
}

// Writes all of buf through TLS on a non-blocking socket; false when the
// peer is gone or `stopping` is set.
bool SslWriteAll(SSL* ssl, int fd, const char* buf, size_t n, const std::atomic<bool>& stopping) {
  while (n > 0) {
    const int w = SSL_write(ssl, buf, static_cast<int>(std::min<size_t>(n, 1 << 30)));
    if (w > 0) {
      buf += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    const int err = SSL_get_error(ssl, w);
    if ((err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) || stopping) return false;
    WaitFor(fd, err, 500);
  }
  return true;
}

// After a refusal: read (and drop) what the client still sends, for a while:
// closing with unread bytes resets the connection, and a client still
// uploading might never see the reply.
void DrainBriefly(int fd, absl::Duration how_long, size_t max_bytes) {
  char buf[16384];
  const absl::Time deadline = absl::Now() + how_long;
  size_t drained = 0;
  while (absl::Now() < deadline && drained < max_bytes) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t got = ::recv(fd, buf, sizeof(buf), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    drained += static_cast<size_t>(got);
  }
}

// A plaintext HTTP request on a TLS port: say so, as Go's and nginx's TLS
// servers do, instead of leaving the client with a reset.
void RefusePlainHttp(int fd) {
  static constexpr absl::string_view kBody = "This port speaks TLS only: use https://\n";
  const std::string reply = absl::StrCat(
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
      "Content-Length: ",
      kBody.size(), "\r\n\r\n", kBody);
  if (!WriteAll(fd, reply.data(), reply.size())) return;
  ::shutdown(fd, SHUT_WR);
  DrainBriefly(fd, absl::Seconds(1), 64u << 10);
}

// How long a refused upload is read and dropped so that its client sees the
// 413 (curl stops sending once it reads an early reply).
constexpr absl::Duration kRefusalDrain = absl::Seconds(2);

}  // namespace

PortMux::~PortMux() {
  Stop();
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
}

absl::Status PortMux::Start() {
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return absl::InvalidArgumentError("tls: both a certificate and a key file are needed");
    }
    if (ssl_ctx_ == nullptr) {
      ERR_clear_error();
      SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
      if (ctx == nullptr) return absl::InternalError("tls: " + OpenSslErrors());
      ssl_ctx_ = ctx;
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
      SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
      if (SSL_CTX_use_certificate_chain_file(ctx, options_.tls_cert_file.c_str()) != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("tls cert ", options_.tls_cert_file, ": ", OpenSslErrors()));
      }
      if (SSL_CTX_use_PrivateKey_file(ctx, options_.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("tls key ", options_.tls_key_file, ": ", OpenSslErrors()));
      }
      if (SSL_CTX_check_private_key(ctx) != 1) {
        return absl::InvalidArgumentError(absl::StrCat("tls key ", options_.tls_key_file,
                                                       " does not match ", options_.tls_cert_file));
      }
      SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
    }
  }
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
    sockaddr_in peer{};
    socklen_t peer_len = sizeof(peer);
    int client = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
    if (client < 0) {
      // Out of descriptors: the pending connection stays readable, so back
      // off instead of spinning until something closes.
      if (errno == EMFILE || errno == ENFILE) ::usleep(100 * 1000);
      continue;
    }
    const uint32_t ip = peer.sin_addr.s_addr;
    absl::MutexLock lock(&mu_);
    const int per_client_cap = options_.max_connections_per_client;
    if (active_ >= max_connections_ || stopping_ ||
        (per_client_cap > 0 && per_client_[ip] >= per_client_cap)) {
      if (per_client_[ip] == 0) per_client_.erase(ip);
      ::close(client);
      continue;
    }
    ++active_;
    ++per_client_[ip];
    open_fds_.push_back(client);
    // Detached: Stop waits for active_ to reach zero instead of joining, so
    // finished connections leave nothing behind in a long-running server.
    try {
      std::thread([this, client, ip] { Serve(client, ip); }).detach();
    } catch (const std::system_error&) {
      // No thread to be had (pids limit): refuse this connection, keep serving.
      --active_;
      if (--per_client_[ip] == 0) per_client_.erase(ip);
      open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), client), open_fds_.end());
      ::close(client);
    }
  }
}

ssize_t PortMux::PeekHead(int client, char* head, size_t size) {
  // Peek (without consuming) until `size` bytes are there, the peer stops
  // sending, or the timeout passes.
  ssize_t n = 0;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(options_.classify_timeout_ms);
  while (!stopping_ && absl::Now() < deadline) {
    pollfd p{client, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    do {
      n = ::recv(client, head, size, MSG_PEEK);
    } while (n < 0 && errno == EINTR);
    if (n <= 0 || n == static_cast<ssize_t>(size) || (p.revents & (POLLHUP | POLLRDHUP))) {
      break;
    }
    ::usleep(20 * 1000);  // a partial preface: give the rest a moment to arrive
  }
  return n;
}

int PortMux::Backend(bool http2) {
  const int fd = ConnectLoopback(http2 ? options_.http2_backend_port : options_.http1_backend_port);
  if (fd >= 0) {
    absl::MutexLock lock(&mu_);
    open_fds_.push_back(fd);
  }
  return fd;
}

void PortMux::Serve(int client, uint32_t client_ip) {
  int backend = -1;
  if (ssl_ctx_ != nullptr) {
    backend = ServeTls(client);
  } else {
    // Classify on the first bytes: gRPC clients open with the HTTP/2 preface
    // "PRI * HTTP/2.0".
    char head[4];
    const ssize_t n = PeekHead(client, head, sizeof(head));
    bool http2 = false;
    if (n > 0) {
      http2 = std::string_view(head, static_cast<size_t>(n)) ==
              std::string_view("PRI ", static_cast<size_t>(n));
      backend = Backend(http2);
    }
    std::unique_ptr<Http1BodyLimit> limit;
    if (!http2 && options_.http1_max_body_bytes > 0) {
      limit = std::make_unique<Http1BodyLimit>(options_.http1_max_body_bytes);
    }
    if (backend >= 0) Splice(client, backend, limit.get());
  }
  absl::MutexLock lock(&mu_);
  for (int fd : {client, backend}) {
    if (fd < 0) continue;
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
  }
  if (--per_client_[client_ip] <= 0) per_client_.erase(client_ip);
  --active_;
}

int PortMux::ServeTls(int client) {
  const absl::Time deadline = absl::Now() + absl::Milliseconds(options_.classify_timeout_ms);
  char head[4];
  const ssize_t n = PeekHead(client, head, sizeof(head));
  if (n <= 0) return -1;
  // Every TLS connection opens with a handshake record (content type 22).
  if (head[0] != 0x16) {
    const std::string_view start(head, static_cast<size_t>(n));
    if (start != std::string_view("PRI ", start.size()) && head[0] >= 'A' && head[0] <= 'Z') {
      RefusePlainHttp(client);
    }
    return -1;
  }
  const int flags = ::fcntl(client, F_GETFL);
  if (flags < 0 || ::fcntl(client, F_SETFL, flags | O_NONBLOCK) != 0) return -1;
  SSL* ssl = SSL_new(ssl_ctx_);
  if (ssl == nullptr) return -1;
  int backend = -1;
  SSL_set_fd(ssl, client);
  bool ready = false;
  while (!stopping_ && absl::Now() < deadline) {
    ERR_clear_error();
    const int r = SSL_accept(ssl);
    if (r == 1) {
      ready = true;
      break;
    }
    const int err = SSL_get_error(ssl, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) break;
    WaitFor(client, err, 100);
  }
  // The protocol the handshake settled on, else the first decrypted bytes.
  std::string first;
  bool http2 = false;
  if (ready) {
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len > 0) {
      http2 = std::string_view(reinterpret_cast<const char*>(alpn), alpn_len) == "h2";
    } else {
      char buf[4096];
      while (first.size() < 4 && !stopping_ && absl::Now() < deadline) {
        const int got = SSL_read(ssl, buf, sizeof(buf));
        if (got > 0) {
          first.append(buf, static_cast<size_t>(got));
          continue;
        }
        const int err = SSL_get_error(ssl, got);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) break;
        WaitFor(client, err, 100);
      }
      ready = !first.empty();
      const std::string_view start(first.data(), std::min<size_t>(first.size(), 4));
      http2 = start == std::string_view("PRI ", start.size());
    }
  }
  if (ready) backend = Backend(http2);
  std::unique_ptr<Http1BodyLimit> limit;
  if (!http2 && options_.http1_max_body_bytes > 0) {
    limit = std::make_unique<Http1BodyLimit>(options_.http1_max_body_bytes);
  }
  if (backend >= 0 && limit != nullptr && limit->Feed(first) != Http1BodyLimit::kForward) {
    const std::string reply = limit->RejectResponse();
    (void)SslWriteAll(ssl, client, reply.data(), reply.size(), stopping_);
    SSL_shutdown(ssl);
  } else if (backend >= 0 && WriteAll(backend, first.data(), first.size())) {
    SpliceTls(ssl, client, backend, limit.get());
  }
  SSL_free(ssl);
  return backend;
}

void PortMux::SpliceTls(SSL* ssl, int client, int backend, Http1BodyLimit* limit) {
  char buf[16384];
  bool c_open = true, b_open = true;
  constexpr absl::Duration kHalfCloseGrace = absl::Seconds(5);
  absl::Time half_closed_at = absl::InfiniteFuture();
  while ((c_open || b_open) && !stopping_) {
    if (!(c_open && b_open)) {
      if (half_closed_at == absl::InfiniteFuture()) half_closed_at = absl::Now();
      if (absl::Now() - half_closed_at > kHalfCloseGrace) return;
    }
    pollfd fds[2] = {{client, static_cast<short>(c_open ? POLLIN : 0), 0},
                     {backend, static_cast<short>(b_open ? POLLIN : 0), 0}};
    // Bytes OpenSSL has decrypted already are invisible to poll.
    const bool buffered = c_open && SSL_pending(ssl) > 0;
    const int r = ::poll(fds, 2, buffered ? 0 : 500);
    if (r < 0 && errno != EINTR) return;
    if (c_open && (buffered || (r > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))))) {
      // Everything readable now, up to the record that is still incomplete.
      for (;;) {
        ERR_clear_error();
        const int got = SSL_read(ssl, buf, sizeof(buf));
        if (got > 0) {
          if (limit != nullptr && limit->Feed(std::string_view(buf, static_cast<size_t>(got))) !=
                                      Http1BodyLimit::kForward) {
            ::shutdown(backend, SHUT_RDWR);  // the REST server drops the partial request
            const std::string reply = limit->RejectResponse();
            (void)SslWriteAll(ssl, client, reply.data(), reply.size(), stopping_);
            SSL_shutdown(ssl);
            DrainBriefly(client, kRefusalDrain, SIZE_MAX);
            return;
          }
          if (!WriteAll(backend, buf, static_cast<size_t>(got))) return;
          continue;
        }
        const int err = SSL_get_error(ssl, got);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
        if (err != SSL_ERROR_ZERO_RETURN) return;  // reset, or not TLS any more
        ::shutdown(backend, SHUT_WR);              // close_notify: a clean half-close
        c_open = false;
        break;
      }
    }
    if (b_open && r > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t got = ::recv(backend, buf, sizeof(buf), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return;
      if (got == 0) {
        SSL_shutdown(ssl);  // sends close_notify; the client may still send
        b_open = false;
        continue;
      }
      if (!SslWriteAll(ssl, client, buf, static_cast<size_t>(got), stopping_)) return;
    }
  }
}

void PortMux::Splice(int a, int b, Http1BodyLimit* limit) {
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
      if (i == 0 && limit != nullptr &&
          limit->Feed(std::string_view(buf, static_cast<size_t>(got))) !=
              Http1BodyLimit::kForward) {
        ::shutdown(b, SHUT_RDWR);  // the REST server drops the partial request
        const std::string reply = limit->RejectResponse();
        if (WriteAll(a, reply.data(), reply.size())) {
          ::shutdown(a, SHUT_WR);
          DrainBriefly(a, kRefusalDrain, SIZE_MAX);
        }
        return;
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
