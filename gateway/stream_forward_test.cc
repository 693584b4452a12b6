#include "gateway/stream_forward.h"

#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace argonaut::gateway {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

// The service behind the gateway: remembers the authorization it was sent.
class Backend final : public Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* ctx, const HealthCheckRequest*,
                     HealthCheckResponse* resp) override {
    Record(*ctx);
    resp->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
  grpc::Status Watch(grpc::ServerContext* ctx, const HealthCheckRequest*,
                     grpc::ServerWriter<HealthCheckResponse>* writer) override {
    Record(*ctx);
    HealthCheckResponse resp;
    resp.set_status(HealthCheckResponse::SERVING);
    writer->Write(resp);
    return grpc::Status::OK;
  }
  std::string seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  void Record(const grpc::ServerContext& ctx) {
    auto it = ctx.client_metadata().find("authorization");
    absl::MutexLock lock(&mu_);
    seen_ = it == ctx.client_metadata().end() ? "<none>"
                                              : std::string(it->second.data(), it->second.size());
  }
  absl::Mutex mu_;
  std::string seen_;
};

// The gateway's side: relays both calls with the stream_forward helpers.
class Relay final : public Health::Service {
 public:
  explicit Relay(std::shared_ptr<grpc::Channel> backend) : stub_(Health::NewStub(backend)) {}
  grpc::Status Check(grpc::ServerContext* ctx, const HealthCheckRequest* req,
                     HealthCheckResponse* resp) override {
    return ForwardUnary(ctx, stub_.get(), &Health::Stub::Check, req, resp);
  }
  grpc::Status Watch(grpc::ServerContext* ctx, const HealthCheckRequest* req,
                     grpc::ServerWriter<HealthCheckResponse>* writer) override {
    return ForwardStream(ctx, stub_.get(), &Health::Stub::Watch, *req, writer);
  }

 private:
  std::unique_ptr<Health::Stub> stub_;
};

TEST(StreamForwardTest, RelaysTheCallersAuthorization) {
  Backend backend;
  grpc::ServerBuilder b1;
  b1.RegisterService(&backend);
  std::unique_ptr<grpc::Server> backend_server = b1.BuildAndStart();
  Relay relay(backend_server->InProcessChannel({}));
  grpc::ServerBuilder b2;
  b2.RegisterService(&relay);
  std::unique_ptr<grpc::Server> relay_server = b2.BuildAndStart();
  auto stub = Health::NewStub(relay_server->InProcessChannel({}));

  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer argn_caller");
    HealthCheckResponse resp;
    ASSERT_TRUE(stub->Check(&ctx, HealthCheckRequest(), &resp).ok());
    EXPECT_EQ(backend.seen(), "Bearer argn_caller");
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer argn_watcher");
    auto reader = stub->Watch(&ctx, HealthCheckRequest());
    HealthCheckResponse resp;
    EXPECT_TRUE(reader->Read(&resp));
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_EQ(backend.seen(), "Bearer argn_watcher");
  }
  {
    // No token: none is invented.
    grpc::ClientContext ctx;
    HealthCheckResponse resp;
    ASSERT_TRUE(stub->Check(&ctx, HealthCheckRequest(), &resp).ok());
    EXPECT_EQ(backend.seen(), "<none>");
  }
  relay_server->Shutdown();
  backend_server->Shutdown();
}

}  // namespace
}  // namespace argonaut::gateway
