#include "lib/server/server.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"

namespace argonaut::server {
namespace {

// A service whose Get blocks until released, to observe graceful shutdown.
class SlowService final : public api::v1::ResourceService::Service {
 public:
  grpc::Status Get(grpc::ServerContext*, const api::v1::GetRequest*,
                   api::v1::Object* resp) override {
    entered.Notify();
    absl::SleepFor(absl::Milliseconds(300));
    resp->set_json("{}");
    return grpc::Status::OK;
  }
  absl::Notification entered;
};

TEST(ServerTest, ServesHealthReadinessAndMetrics) {
  Server server({.name = "test", .metrics_text = [] { return std::string("up 1\n"); }});
  ASSERT_OK(server.Start());
  ASSERT_GT(server.BoundHttpPort(), 0);
  httplib::Client http("127.0.0.1", server.BoundHttpPort());
  auto res = http.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = http.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = http.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "up 1\n");

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server.BoundGrpcPort()),
                                     grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  server.Shutdown(absl::Seconds(1));
}

TEST(ServerTest, ReadinessFollowsCallback) {
  std::atomic<bool> ready{false};
  Server server({.name = "test", .grpc_port = -1, .ready = [&] { return ready.load(); }});
  ASSERT_OK(server.Start());
  httplib::Client http("127.0.0.1", server.BoundHttpPort());
  EXPECT_EQ(http.Get("/readyz")->status, 503);
  ready = true;
  EXPECT_EQ(http.Get("/readyz")->status, 200);
}

TEST(ServerTest, ShutdownLetsInFlightCallsFinishAndRunsHooks) {
  SlowService slow;
  bool flushed = false;
  Server server({.name = "test", .http_port = -1});
  server.AddService(&slow);
  server.OnShutdown([&] { flushed = true; });
  ASSERT_OK(server.Start());
  // A TCP channel: the in-process transport closes at shutdown, which is why
  // `argonaut up` stops the gateway before the services behind it.
  auto stub = api::v1::ResourceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.BoundGrpcPort()), grpc::InsecureChannelCredentials()));
  grpc::Status status;
  api::v1::Object obj;
  std::thread call([&] {
    grpc::ClientContext ctx;
    status = stub->Get(&ctx, api::v1::GetRequest(), &obj);
  });
  slow.entered.WaitForNotification();
  server.Shutdown(absl::Seconds(5));
  call.join();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(obj.json(), "{}");
  EXPECT_TRUE(flushed);
}

TEST(ServerTest, BusyPortIsAClearError) {
  Server first({.name = "first", .grpc_port = -1});
  ASSERT_OK(first.Start());
  Server second({.name = "second", .grpc_port = -1, .http_port = first.BoundHttpPort()});
  EXPECT_THAT(second.Start(), ::argonaut::testing::StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace argonaut::server
