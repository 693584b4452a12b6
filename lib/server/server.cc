#include "lib/server/server.h"

#include <signal.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/resource_quota.h"
#include "httplib.h"
#include "lib/base/log.h"
#include "lib/server/auth_proxy.h"

namespace argonaut::server {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.", std::string(what), ": cannot read ", path));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  if (buf.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.", std::string(what), ": ", path, " is empty"));
  }
  return buf.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ListenerCredentials(
    const TlsOptions& tls) {
  if (tls.cert_file.empty() && tls.key_file.empty()) return grpc::InsecureServerCredentials();
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError("tls: cert_file and key_file must be set together");
  }
  absl::StatusOr<std::string> cert = ReadPem(tls.cert_file, "cert_file");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(tls.key_file, "key_file");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  return grpc::SslServerCredentials(ssl);
}

// The proxy serves nothing itself: reflection and health must come from the
// internal server (through the proxy), which knows the real services.
// Limits on every listening connection (and so on the port mux's HTTP/2 side): an idle
// connection is closed, a silent peer is found by pings, and one connection cannot open
// unbounded streams.
void LimitConnections(grpc::ServerBuilder& builder, absl::Duration max_idle) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 256);
  // No call for max_idle: GOAWAY and close. An open watch is a call, so it is not idle.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(max_idle)));
  // Ping a connection quiet for a minute; no answer in 20 s closes it (a peer gone without a FIN).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  // Clients' own keepalive pings: allowed every 10 s, even without calls (grpc-go's and
  // grpc-java's clients' minimum), beyond that they are strikes and GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
}

class NoPluginsOption final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->clear();
  }
};

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::AddService(grpc::Service* service) { services_.push_back(service); }

void Server::ConfigureHttp(std::function<void(httplib::Server&)> configure) {
  http_config_.push_back(std::move(configure));
}

void Server::OnShutdown(std::function<void()> fn) { on_shutdown_.push_back(std::move(fn)); }

absl::Status Server::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ListenerCredentials(options_.tls);
  if (!credentials.ok()) return credentials.status();
  const bool proxied = options_.authorizer != nullptr;
  const std::string address = absl::StrCat(options_.bind_address, ":", options_.grpc_port);
  grpc::ServerBuilder builder;
  int selected = -1;
  if (options_.grpc_port >= 0 && !proxied) {
    builder.AddListeningPort(address, *credentials, &selected);
  }
  for (grpc::Service* s : services_) builder.RegisterService(s);
  builder.SetMaxReceiveMessageSize(16 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  // Sync handlers (and so open watches) each hold a thread: bound them, so
  // a client opening streams in a loop meets RESOURCE_EXHAUSTED, not an
  // unbounded thread count.
  grpc::ResourceQuota quota(options_.name);
  quota.SetMaxThreads(512);
  builder.SetResourceQuota(quota);
  LimitConnections(builder, options_.grpc_max_connection_idle);
  grpc_ = builder.BuildAndStart();
  if (grpc_ != nullptr && proxied) {
    proxy_service_ = std::make_unique<AuthProxy>(options_.authorizer, InProcessChannel());
    grpc::ServerBuilder proxy_builder;
    if (options_.grpc_port >= 0) proxy_builder.AddListeningPort(address, *credentials, &selected);
    proxy_builder.RegisterCallbackGenericService(proxy_service_.get());
    proxy_builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    proxy_builder.SetOption(std::make_unique<NoPluginsOption>());
    proxy_builder.SetMaxReceiveMessageSize(16 << 20);
    proxy_builder.SetMaxSendMessageSize(64 << 20);
    LimitConnections(proxy_builder, options_.grpc_max_connection_idle);
    proxy_ = proxy_builder.BuildAndStart();
    if (proxy_ == nullptr) {
      grpc_->Shutdown();
      grpc_.reset();
    }
  }
  if (grpc_ == nullptr || (options_.grpc_port >= 0 && selected <= 0)) {
    if (proxy_) proxy_->Shutdown();
    if (grpc_) grpc_->Shutdown();
    return absl::UnavailableError(absl::StrCat(options_.name, ": cannot listen for gRPC on ",
                                               options_.bind_address, ":", options_.grpc_port));
  }
  grpc_port_ = options_.grpc_port >= 0 ? selected : -1;

  if (options_.http_port >= 0) {
    http_ = std::make_unique<httplib::Server>();
    http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    http_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      const bool ready = started_ && !stopped_ && (!options_.ready || options_.ready());
      res.status = ready ? 200 : 503;
      res.set_content(ready ? "ok\n" : "not ready\n", "text/plain");
    });
    http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(options_.metrics_text ? options_.metrics_text() : std::string(),
                      "text/plain; version=0.0.4");
    });
    // httplib sets SO_REUSEPORT by default, which would let a second process
    // bind the same port silently; keep only SO_REUSEADDR.
    http_->set_socket_options([](int sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    for (auto& configure : http_config_) configure(*http_);
    if (options_.http_port == 0) {
      http_port_ = http_->bind_to_any_port(options_.bind_address);
    } else if (http_->bind_to_port(options_.bind_address, options_.http_port)) {
      http_port_ = options_.http_port;
    }
    if (http_port_ <= 0) {
      if (proxy_) proxy_->Shutdown();
      grpc_->Shutdown();
      return absl::UnavailableError(absl::StrCat(options_.name, ": cannot listen for HTTP on ",
                                                 options_.bind_address, ":", options_.http_port));
    }
    http_thread_ = std::thread([this] { http_->listen_after_bind(); });
    // httplib's stop() does nothing until the listen loop has started, so a
    // Shutdown right after Start would leave that loop running forever.
    const absl::Time limit = absl::Now() + absl::Seconds(5);
    while (!http_->is_running() && absl::Now() < limit) absl::SleepFor(absl::Milliseconds(1));
  }
  started_ = true;
  LogInfo(options_.name, "serving",
          {{"grpc_port", absl::StrCat(grpc_port_)},
           {"http_port", absl::StrCat(http_port_)},
           {"auth", proxied ? "on" : "off"},
           {"tls", options_.tls.cert_file.empty() ? "off" : "on"}});
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> Server::InProcessChannel() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc_->InProcessChannel(args);
}

std::shared_ptr<grpc::Channel> Server::AuthenticatedInProcessChannel() {
  if (proxy_ == nullptr) return InProcessChannel();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MakeCallerTokenInterceptorFactory());
  return proxy_->experimental().InProcessChannelWithInterceptors(args, std::move(interceptors));
}

void Server::Shutdown(absl::Duration grace) {
  if (!started_ || stopped_.exchange(true)) return;
  // Shutdown(deadline) lets in-flight calls finish until the deadline and
  // then cancels them; open watch streams notice through IsCancelled(). It
  // runs beside the HTTP stop because httplib's stop waits for its handlers,
  // and a REST watch handler ends only when its gRPC stream is cancelled.
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::milliseconds(absl::ToInt64Milliseconds(grace));
  // The proxy and the internal server drain side by side: a relayed call
  // ends when either side ends it, and in-process callers of grpc_ get the
  // same grace as remote ones.
  std::thread proxy_stop;
  if (proxy_) proxy_stop = std::thread([this, deadline] { proxy_->Shutdown(deadline); });
  std::thread grpc_stop([this, deadline] { grpc_->Shutdown(deadline); });
  if (http_) {
    http_->stop();
    if (http_thread_.joinable()) http_thread_.join();
  }
  grpc_stop.join();
  if (proxy_stop.joinable()) proxy_stop.join();
  if (proxy_) proxy_->Wait();
  grpc_->Wait();
  for (auto& fn : on_shutdown_) fn();
  LogInfo(options_.name, "stopped");
}

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that disappears mid-response must not kill the process.
  signal(SIGPIPE, SIG_IGN);
}

int WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace argonaut::server
