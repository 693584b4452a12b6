#include "lib/server/server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

// An HTTP/2 connection that opens and then asks for nothing is closed by the server: idle
// connections cannot pile up on the gateway's port.
TEST(ServerTest, ClosesIdleGrpcConnections) {
  Server server(
      {.name = "idle", .http_port = -1, .grpc_max_connection_idle = absl::Milliseconds(300)});
  ASSERT_OK(server.Start());
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(server.BoundGrpcPort()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  // The client preface and an empty SETTINGS frame, then silence.
  const std::string hello =
      std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\0\0\0\4\0\0\0\0\0", 9);
  ASSERT_EQ(::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(hello.size()));
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  const absl::Time start = absl::Now();
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) {
  }  // the server's SETTINGS, then GOAWAY, then the close
  EXPECT_EQ(n, 0) << "the connection was not closed";
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ::close(fd);
  server.Shutdown(absl::ZeroDuration());
}

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
