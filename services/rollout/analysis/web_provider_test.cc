// The web provider against a real HTTP server on 127.0.0.1.
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/controller/clock.h"
#include "services/rollout/analysis/assess.h"
#include "services/rollout/analysis/provider.h"

namespace argonaut::rollout::analysis {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class WebProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok","data":{"items":[{"ratio":0.97}]},"n":3})",
                      "application/json");
    });
    server_.Get("/text", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("healthy", "text/plain");
    });
    server_.Get("/fail", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("down", "text/plain");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      absl::SleepFor(absl::Seconds(3));
      res.set_content("{}", "application/json");
    });
    server_.Get("/headers", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(json{{"auth", req.get_header_value("Authorization")}}.dump(),
                      "application/json");
    });
    auto echo = [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(json{{"method", req.method},
                           {"body", req.body},
                           {"type", req.get_header_value("Content-Type")}}
                          .dump(),
                      "application/json");
    };
    server_.Post("/echo", echo);
    server_.Put("/echo", echo);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  json Measure(json web, json metric_extra = json::object()) {
    json metric = {{"name", "m"}, {"provider", {{"web", web}}}};
    for (auto& [k, v] : metric_extra.items()) metric[k] = v;
    auto provider = NewProvider(metric, {.clock = &clock_});
    EXPECT_TRUE(provider.ok()) << provider.status();
    EXPECT_TRUE((*provider)->Blocking());
    return (*provider)->Run(RunRef{.ns = "ns", .name = "r", .uid = "u"}, metric);
  }

  controller::FakeClock clock_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
};

TEST_F(WebProviderTest, JsonPathAndConditions) {
  json m = Measure({{"url", Url("/ok")}, {"jsonPath", "{$.data.items[0].ratio}"}},
                   {{"successCondition", "result >= 0.95"}});
  EXPECT_EQ(m["phase"], kPhaseSuccessful) << m.dump();
  EXPECT_EQ(m["value"], "0.97");
  EXPECT_EQ(m["startedAt"], TimeText(clock_.Now()));
  EXPECT_EQ(m["finishedAt"], TimeText(clock_.Now()));

  m = Measure({{"url", Url("/ok")}, {"jsonPath", "{$.status}"}},
              {{"successCondition", "result == 'ok'"}});
  EXPECT_EQ(m["phase"], kPhaseSuccessful) << m.dump();
  EXPECT_EQ(m["value"], "\"ok\"");

  // Default {$}: the whole document.
  m = Measure({{"url", Url("/ok")}}, {{"failureCondition", "result.n > 2"}});
  EXPECT_EQ(m["phase"], kPhaseFailed) << m.dump();

  m = Measure({{"url", Url("/ok")}, {"jsonPath", "{$.missing}"}});
  EXPECT_EQ(m["phase"], kPhaseError);
  EXPECT_THAT(m["message"].get<std::string>(),
              HasSubstr("Could not find JSONPath in body: missing is not found"));
}

TEST_F(WebProviderTest, NonJsonBodyIsTheResult) {
  json m = Measure({{"url", Url("/text")}}, {{"successCondition", "result == 'healthy'"}});
  EXPECT_EQ(m["phase"], kPhaseSuccessful) << m.dump();
  EXPECT_EQ(m["value"], "healthy");
}

TEST_F(WebProviderTest, Non2xxIsError) {
  json m = Measure({{"url", Url("/fail")}});
  EXPECT_EQ(m["phase"], kPhaseError);
  EXPECT_EQ(m["message"], "received non 2xx response code: 503");
}

TEST_F(WebProviderTest, TimeoutIsError) {
  const absl::Time start = absl::Now();
  json m = Measure({{"url", Url("/slow")}, {"timeoutSeconds", 1}});
  EXPECT_EQ(m["phase"], kPhaseError) << m.dump();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(WebProviderTest, ConnectionRefusedIsError) {
  json m = Measure({{"url", "http://127.0.0.1:1/x"}, {"timeoutSeconds", 1}});
  EXPECT_EQ(m["phase"], kPhaseError);
  EXPECT_THAT(m["message"].get<std::string>(), HasSubstr("GET \"http://127.0.0.1:1/x\""));
}

TEST_F(WebProviderTest, HeadersBodiesAndMethods) {
  json m = Measure({{"url", Url("/headers")},
                    {"headers", {{{"key", "Authorization"}, {"value", "Bearer t"}}}},
                    {"jsonPath", "{$.auth}"}},
                   {{"successCondition", "result == 'Bearer t'"}});
  EXPECT_EQ(m["phase"], kPhaseSuccessful) << m.dump();

  m = Measure({{"url", Url("/echo")}, {"method", "POST"}, {"jsonBody", {{"a", 1}}}},
              {{"successCondition",
                "result.method == 'POST' && result.body == '{\"a\":1}' && "
                "result.type == 'application/json'"}});
  EXPECT_EQ(m["phase"], kPhaseSuccessful) << m.dump();

  m = Measure({{"url", Url("/echo")}, {"method", "PUT"}, {"body", "plain"}},
              {{"successCondition", "result.method == 'PUT' && result.body == 'plain'"}});
  EXPECT_EQ(m["phase"], kPhaseSuccessful) << m.dump();

  m = Measure({{"url", Url("/echo")}, {"body", "x"}});
  EXPECT_EQ(m["message"], "Body/JSONBody can only be used with POST or PUT WebMetric Method types");
  m = Measure({{"url", Url("/echo")}, {"method", "POST"}, {"body", "x"}, {"jsonBody", {{"a", 1}}}});
  EXPECT_EQ(m["phase"], kPhaseError);
  m = Measure({{"url", Url("/echo")}, {"method", "DELETE"}});
  EXPECT_THAT(m["message"].get<std::string>(), HasSubstr("unsupported method"));
  m = Measure({{"url", Url("/ok")}, {"authentication", {{"oauth2", {{"tokenUrl", "http://x"}}}}}});
  EXPECT_THAT(m["message"].get<std::string>(), HasSubstr("authentication is not supported"));
  m = Measure({{"url", "ftp://x/"}});
  EXPECT_THAT(m["message"].get<std::string>(), HasSubstr("unsupported protocol scheme"));
}

TEST_F(WebProviderTest, BrokenConditionIsErrorWithTheParseMessage) {
  json m = Measure({{"url", Url("/ok")}}, {{"successCondition", "result.n >"}});
  EXPECT_EQ(m["phase"], kPhaseError);
  EXPECT_THAT(m["message"].get<std::string>(),
              HasSubstr("could not evaluate successCondition \"result.n >\""));
}

TEST(JsonPathTest, Subset) {
  const json doc = json::parse(R"({"a":{"b":[{"c":1},{"c":2}]},"x-y":true})");
  EXPECT_EQ(*JsonPathSelect(doc, "{$}"), doc);
  EXPECT_EQ(*JsonPathSelect(doc, "{.a.b[1].c}"), 2);
  EXPECT_EQ(*JsonPathSelect(doc, "{$.a.b[0]}"), json({{"c", 1}}));
  EXPECT_EQ(*JsonPathSelect(doc, "{$['x-y']}"), true);
  EXPECT_FALSE(JsonPathSelect(doc, "{$.a.b[5]}").ok());
  EXPECT_FALSE(JsonPathSelect(doc, "{$..c}").ok());
  EXPECT_FALSE(JsonPathSelect(doc, "{$.a.b[*]}").ok());
}

TEST(ProviderTest, UnsupportedProviderNamed) {
  auto p = NewProvider({{"name", "m"}, {"provider", {{"datadog", json::object()}}}}, {});
  EXPECT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("Datadog"));
}

TEST(JobNameTest, ArgoNamingTruncatedTo63) {
  EXPECT_EQ(JobName("0c7a", "sleep-job", 1), "0c7a.sleep-job.1");
  const std::string uid = "12345678-1234-1234-1234-123456789012";
  const std::string name = JobName(uid, "a-very-long-metric-name-that-goes-on-and-on", 12);
  EXPECT_EQ(name.size(), 63u);
  EXPECT_EQ(name, uid + ".a-very-long-metric-name.12");
  // A cut that would end a DNS label with "-" drops it.
  EXPECT_EQ(JobName(uid, "a-very-long-metric-name-x", 1), uid + ".a-very-long-metric-name.1");
  EXPECT_EQ(JobName("u", "My_Metric", 2), "u.my-metric.2");
}

}  // namespace
}  // namespace argonaut::rollout::analysis
