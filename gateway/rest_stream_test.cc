#include "gateway/rest_stream.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>

#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

using Msg = ::grpc::health::v1::HealthCheckResponse;

// A server stream that yields `messages`, then ends with `end`.
class FakeReader final : public ::grpc::ClientReaderInterface<Msg> {
 public:
  FakeReader(std::deque<Msg> messages, ::grpc::Status end)
      : messages_(std::move(messages)), end_(std::move(end)) {}
  // An endless stream, counting what was read in `reads`.
  explicit FakeReader(std::atomic<int>* reads) : reads_(reads) {}
  bool Read(Msg* msg) override {
    if (reads_ != nullptr) {
      ++*reads_;
      return true;
    }
    if (messages_.empty()) return false;
    *msg = messages_.front();
    messages_.pop_front();
    return true;
  }
  ::grpc::Status Finish() override { return end_; }
  bool NextMessageSize(uint32_t* sz) override {
    *sz = 64;
    return !messages_.empty();
  }
  void WaitForInitialMetadata() override {}

 private:
  std::deque<Msg> messages_;
  ::grpc::Status end_;
  std::atomic<int>* reads_ = nullptr;
};

// Serves one stream at GET /s and returns the client's response.
httplib::Result Fetch(std::deque<Msg> messages, ::grpc::Status end) {
  httplib::Server http;
  http.Get("/s", [&](const httplib::Request&, httplib::Response& res) {
    auto pump = std::make_shared<StreamPump<Msg>>();
    pump->reader = std::make_unique<FakeReader>(messages, end);
    ServeStream<Msg>(
        pump,
        [](const Msg& m) {
          return nlohmann::json{{"status", static_cast<int>(m.status())}};
        },
        res);
  });
  const int port = http.bind_to_any_port("127.0.0.1");
  std::thread serve([&] { http.listen_after_bind(); });
  while (!http.is_running()) std::this_thread::yield();
  httplib::Client client("127.0.0.1", port);
  httplib::Result r = client.Get("/s");
  http.stop();
  serve.join();
  return r;
}

TEST(RestStreamTest, ExpiredVersionIsGone) {
  httplib::Result r =
      Fetch({}, ::grpc::Status(::grpc::StatusCode::OUT_OF_RANGE,
                               "version 3 is older than the change log, which starts at 90"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 410);
  const nlohmann::json body = nlohmann::json::parse(r->body);
  EXPECT_EQ(body["kind"], "Status");
  EXPECT_EQ(body["code"], 410);
  EXPECT_EQ(body["reason"], "Expired");
  EXPECT_EQ(body["status"], "Failure");
  EXPECT_EQ(body["message"], "version 3 is older than the change log, which starts at 90");
}

TEST(RestStreamTest, OtherErrorsStayInTheStream) {
  httplib::Result r = Fetch({}, ::grpc::Status(::grpc::StatusCode::NOT_FOUND, "no such pod"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"error":{"code":5,"message":"no such pod"}})"
                     "\n");
}

TEST(RestStreamTest, ExpiryAfterResultsIsAnErrorLine) {
  Msg serving;
  serving.set_status(Msg::SERVING);
  httplib::Result r =
      Fetch({serving, serving}, ::grpc::Status(::grpc::StatusCode::OUT_OF_RANGE, "fell behind"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            "{\"result\":{\"status\":1}}\n{\"result\":{\"status\":1}}\n"
            "{\"error\":{\"code\":11,\"message\":\"fell behind\"}}\n");
}

TEST(RestStreamTest, AClientThatDoesNotReadHoldsABoundedQueue) {
  std::atomic<int> reads{0};
  httplib::Server http;
  http.Get("/s", [&](const httplib::Request&, httplib::Response& res) {
    auto pump = std::make_shared<StreamPump<Msg>>();
    pump->reader = std::make_unique<FakeReader>(&reads);
    ServeStream<Msg>(
        pump, [](const Msg&) { return nlohmann::json(std::string(1000, 'x')); }, res);
  });
  const int port = http.bind_to_any_port("127.0.0.1");
  std::thread serve([&] { http.listen_after_bind(); });
  while (!http.is_running()) std::this_thread::yield();
  // A client that sends its request and never reads the endless stream.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string get = "GET /s HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, get.data(), get.size(), 0), static_cast<ssize_t>(get.size()));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // 1 KiB a message: the socket buffers and the 1 MiB queue, not the stream, bound the reads.
  EXPECT_GT(reads.load(), 1000);
  EXPECT_LT(reads.load(), 32 * 1024) << "the pump kept reading for a client that does not";
  ::close(fd);
  http.stop();
  serve.join();
}

}  // namespace
}  // namespace argonaut::gateway
