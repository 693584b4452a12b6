#include "lib/server/server.h"

#include <signal.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "httplib.h"
#include "lib/base/log.h"

namespace argonaut::server {

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
  grpc::ServerBuilder builder;
  int selected = -1;
  if (options_.grpc_port >= 0) {
    builder.AddListeningPort(absl::StrCat(options_.bind_address, ":", options_.grpc_port),
                             grpc::InsecureServerCredentials(), &selected);
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
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 256);
  grpc_ = builder.BuildAndStart();
  if (grpc_ == nullptr || (options_.grpc_port >= 0 && selected <= 0)) {
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
      grpc_->Shutdown();
      return absl::UnavailableError(absl::StrCat(options_.name, ": cannot listen for HTTP on ",
                                                 options_.bind_address, ":", options_.http_port));
    }
    http_thread_ = std::thread([this] { http_->listen_after_bind(); });
  }
  started_ = true;
  LogInfo(options_.name, "serving",
          {{"grpc_port", absl::StrCat(grpc_port_)}, {"http_port", absl::StrCat(http_port_)}});
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> Server::InProcessChannel() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc_->InProcessChannel(args);
}

void Server::Shutdown(absl::Duration grace) {
  if (!started_ || stopped_.exchange(true)) return;
  // Shutdown(deadline) lets in-flight calls finish until the deadline and
  // then cancels them; open watch streams notice through IsCancelled(). It
  // runs beside the HTTP stop because httplib's stop waits for its handlers,
  // and a REST watch handler ends only when its gRPC stream is cancelled.
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::milliseconds(absl::ToInt64Milliseconds(grace));
  std::thread grpc_stop([this, deadline] { grpc_->Shutdown(deadline); });
  if (http_) {
    http_->stop();
    if (http_thread_.joinable()) http_thread_.join();
  }
  grpc_stop.join();
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
