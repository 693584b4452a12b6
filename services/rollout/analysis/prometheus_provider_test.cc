// The prometheus provider against a real Prometheus (Debian package
// 'prometheus') on loopback, scraping a small HTTP server that exposes a
// counter.
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/clock.h"
#include "lib/metrics/test_process.h"
#include "services/rollout/analysis/assess.h"
#include "services/rollout/analysis/provider.h"

namespace argonaut::rollout::analysis {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
namespace mt = ::argonaut::metrics::testing;

constexpr char kPrometheus[] = "/usr/bin/prometheus";

TEST(PrometheusProviderTest, QueriesARealPrometheus) {
  ASSERT_EQ(access(kPrometheus, X_OK), 0)
      << kPrometheus << " is missing: install the 'prometheus' package";

  // The scraped application: one counter with two series.
  httplib::Server app;
  app.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        "# HELP demo_requests_total Requests.\n# TYPE demo_requests_total counter\n"
        "demo_requests_total{code=\"200\"} 5\ndemo_requests_total{code=\"500\"} 2\n",
        "text/plain; version=0.0.4");
  });
  const int app_port = app.bind_to_any_port("127.0.0.1");
  ASSERT_GT(app_port, 0);
  std::thread app_thread([&app] { app.listen_after_bind(); });
  while (!app.is_running()) absl::SleepFor(absl::Milliseconds(1));
  struct Stop {
    httplib::Server& s;
    std::thread& t;
    ~Stop() {
      s.stop();
      t.join();
    }
  } stop{app, app_thread};

  absl::StatusOr<std::unique_ptr<mt::TempDir>> dir = mt::TempDir::Create();
  ASSERT_OK(dir);
  const std::string root = (*dir)->path();
  ASSERT_OK(mt::WriteFile(root + "/prometheus.yml", absl::Substitute(R"(global:
  scrape_interval: 1s
scrape_configs:
  - job_name: demo
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ["127.0.0.1:$0"]
)",
                                                                     app_port)));
  absl::StatusOr<int> port = mt::PickUnusedLoopbackPort();
  ASSERT_OK(port);
  const std::string log_path = root + "/prometheus.log";
  absl::StatusOr<std::unique_ptr<mt::ChildProcess>> prometheus = mt::ChildProcess::Start(
      {kPrometheus, "--config.file=" + root + "/prometheus.yml",
       "--storage.tsdb.path=" + root + "/data",
       absl::StrCat("--web.listen-address=127.0.0.1:", *port), "--log.level=warn"},
      log_path);
  ASSERT_OK(prometheus);
  auto log = [&log_path] {
    absl::StatusOr<std::string> text = mt::ReadFile(log_path);
    return text.ok() ? *text : std::string("(no log)");
  };

  controller::FakeClock clock;
  const std::string address = absl::StrCat("http://127.0.0.1:", *port);
  auto measure = [&](const std::string& query, const std::string& condition) {
    json metric = {
        {"name", "m"},
        {"successCondition", condition},
        {"provider", {{"prometheus", {{"address", address}, {"query", query}, {"timeout", 5}}}}}};
    auto provider = NewProvider(metric, {.clock = &clock});
    EXPECT_TRUE(provider.ok());
    return (*provider)->Run(RunRef{.ns = "ns", .name = "r", .uid = "u"}, metric);
  };

  // Until the first scrape lands the vector is empty and the condition
  // cannot be evaluated (Error, "no data"); then it is Successful.
  json m;
  const absl::Time give_up = absl::Now() + absl::Seconds(40);
  while (absl::Now() < give_up && (*prometheus)->Running()) {
    m = measure("sum(demo_requests_total)", "result[0] == 7");
    if (m["phase"] == kPhaseSuccessful) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_EQ(m["phase"], kPhaseSuccessful) << m.dump() << "\n" << log();
  EXPECT_EQ(m["value"], "[7]");

  // A vector of several samples; a failing condition.
  m = measure("demo_requests_total", "len(result) == 2 && all(result, {# < 3})");
  EXPECT_EQ(m["phase"], kPhaseFailed) << m.dump();
  EXPECT_THAT(m["value"].get<std::string>(), HasSubstr(","));

  // A scalar is a number, not a list.
  m = measure("scalar(sum(demo_requests_total{code=\"500\"})) / 7", "result < 0.3");
  EXPECT_EQ(m["phase"], kPhaseSuccessful) << m.dump();

  // A query Prometheus refuses is an Error carrying its message.
  m = measure("sum(", "result[0] > 0");
  EXPECT_EQ(m["phase"], kPhaseError);
  EXPECT_THAT(m["message"].get<std::string>(), HasSubstr("bad_data"));

  // No data at all: Error naming the empty result.
  m = measure("sum(no_such_metric)", "result[0] > 0");
  EXPECT_EQ(m["phase"], kPhaseError);
  EXPECT_THAT(m["message"].get<std::string>(), HasSubstr("metric result is nil or empty"));
}

TEST(PrometheusProviderTest, NoAddressIsError) {
  controller::FakeClock clock;
  json metric = {{"name", "m"}, {"provider", {{"prometheus", {{"query", "up"}}}}}};
  unsetenv("ARGO_ROLLOUTS_PROMETHEUS_ADDRESS");
  auto provider = NewProvider(metric, {.clock = &clock});
  ASSERT_OK(provider.status());
  json m = (*provider)->Run(RunRef{}, metric);
  EXPECT_EQ(m["phase"], kPhaseError);
  EXPECT_EQ(m["message"], "prometheus address is not configured");
}

}  // namespace
}  // namespace argonaut::rollout::analysis
