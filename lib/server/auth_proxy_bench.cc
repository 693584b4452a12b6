// What the authorizing proxy adds to a unary call: the same ResourceService
// Get over loopback TCP, to a server without an authorizer (direct) and to one
// with (proxied: token check, policy check, relay through the in-process
// channel). Prints both latencies and their ratio.
//
//   bazel run -c opt //lib/server:auth_proxy_bench
#include <stdlib.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "benchmark/benchmark.h"
#include "lib/auth/authorizer.h"
#include "lib/auth/policy.h"
#include "lib/auth/token_store.h"
#include "lib/controller/clock.h"
#include "lib/server/server.h"

namespace argonaut::server {
namespace {

class EchoService final : public api::v1::ResourceService::Service {
 public:
  grpc::Status Get(grpc::ServerContext*, const api::v1::GetRequest* req,
                   api::v1::Object* resp) override {
    resp->set_json(req->name());
    return grpc::Status::OK;
  }
};

struct Fixture {
  std::unique_ptr<auth::TokenStore> tokens;
  std::unique_ptr<auth::Authorizer> authorizer;
  std::string token;
  EchoService service;
  std::unique_ptr<Server> direct;
  std::unique_ptr<Server> proxied;

  Fixture() {
    char tmpl[] = "/tmp/auth_proxy_bench_XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    tokens = *auth::TokenStore::Open(dir + "/tokens.json");
    token = *tokens->CreateToken("admin", absl::ZeroDuration(), absl::Now());
    authorizer = std::make_unique<auth::Authorizer>(tokens.get(), auth::Policy::BuiltIn(),
                                                    controller::RealClock::Get(), nullptr);
    direct = std::make_unique<Server>(ServerOptions{.name = "direct", .http_port = -1});
    direct->AddService(&service);
    proxied = std::make_unique<Server>(
        ServerOptions{.name = "proxied", .http_port = -1, .authorizer = authorizer.get()});
    proxied->AddService(&service);
    if (!direct->Start().ok() || !proxied->Start().ok()) abort();
  }
};

Fixture& Get() {
  static Fixture* fixture = new Fixture();
  return *fixture;
}

void RunGets(benchmark::State& state, Server& server, bool with_token) {
  auto stub = api::v1::ResourceService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server.BoundGrpcPort()), grpc::InsecureChannelCredentials()));
  api::v1::GetRequest req;
  req.set_kind("Workflow");
  req.set_namespace_("default");
  req.set_name("hello");
  for (auto _ : state) {
    grpc::ClientContext ctx;
    if (with_token) ctx.AddMetadata("authorization", "Bearer " + Get().token);
    api::v1::Object obj;
    grpc::Status status = stub->Get(&ctx, req, &obj);
    if (!status.ok()) {
      state.SkipWithError(status.error_message().c_str());
      break;
    }
  }
}

void BM_UnaryDirect(benchmark::State& state) { RunGets(state, *Get().direct, false); }
void BM_UnaryProxied(benchmark::State& state) { RunGets(state, *Get().proxied, true); }
BENCHMARK(BM_UnaryDirect)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_UnaryProxied)->UseRealTime()->MinTime(2.0);

// Keeps each benchmark's real time per iteration to print the ratio.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}  // no colour codes
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) real_ns_[run.benchmark_name()] = run.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> real_ns_;
};

}  // namespace
}  // namespace argonaut::server

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  argonaut::server::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  double direct = 0, proxied = 0;
  for (const auto& [name, ns] : reporter.real_ns_) {
    if (name.rfind("BM_UnaryDirect", 0) == 0) direct = ns;
    if (name.rfind("BM_UnaryProxied", 0) == 0) proxied = ns;
  }
  if (direct > 0 && proxied > 0) {
    printf("unary Get: direct %.1f us, proxied %.1f us, ratio %.2f (+%.1f us per call)\n",
           direct / 1000, proxied / 1000, proxied / direct, (proxied - direct) / 1000);
  }
  return 0;
}
