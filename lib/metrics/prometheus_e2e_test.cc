// End to end: a real Prometheus server scrapes a MetricsRegistry served over
// HTTP, and the values come back through Prometheus' query API. Catches what
// promtool cannot: content type, HTTP serving, and that a live scraper
// ingests the series with the labels we expect. Loopback only.
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lib/base/status_matchers.h"
#include "lib/metrics/metrics.h"
#include "lib/metrics/test_process.h"
#include "nlohmann/json.hpp"

namespace argonaut::metrics {
namespace {

constexpr char kPrometheus[] = "/usr/bin/prometheus";
// Upper bound on how long Prometheus may take to start and scrape once.
constexpr absl::Duration kScrapeTimeout = absl::Seconds(30);

// Serves `registry` at /metrics on 127.0.0.1, on a port chosen by the kernel.
class MetricsServer {
 public:
  explicit MetricsServer(const MetricsRegistry& registry) {
    server_.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
      res.set_content(registry.Serialize(), kMetricsContentType);
    });
  }
  ~MetricsServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return absl::UnavailableError("cannot bind 127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the server runs, so the destructor could
    // otherwise hang in join().
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!server_.is_running()) {
      if (absl::Now() > give_up) return absl::DeadlineExceededError("HTTP server did not start");
      absl::SleepFor(absl::Milliseconds(1));
    }
    return absl::OkStatus();
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
};

struct Sample {
  nlohmann::json labels;
  std::string value;
};

// The single sample of an instant query, or nullopt while there is none yet.
std::optional<Sample> QueryOne(httplib::Client& client, const std::string& metric) {
  httplib::Result res = client.Get(absl::StrCat("/api/v1/query?query=", metric).c_str());
  if (!res || res->status != 200) return std::nullopt;
  const nlohmann::json body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || body.value("status", "") != "success") return std::nullopt;
  const nlohmann::json& result = body["data"]["result"];
  if (!result.is_array() || result.size() != 1) return std::nullopt;
  const nlohmann::json& value = result[0]["value"];
  if (!value.is_array() || value.size() != 2 || !value[1].is_string()) return std::nullopt;
  return Sample{.labels = result[0]["metric"], .value = value[1].get<std::string>()};
}

TEST(PrometheusE2eTest, PrometheusScrapesTheRegistry) {
  ASSERT_EQ(access(kPrometheus, X_OK), 0)
      << kPrometheus
      << " is missing: install the 'prometheus' package (apt-get install prometheus)";

  MetricsRegistry registry;
  absl::StatusOr<CounterFamily*> events =
      registry.AddCounter("argonaut_e2e_events_total", "Events seen by the e2e test.");
  ASSERT_OK(events);
  prometheus::Counter& counter = (*events)->Add({{"source", "e2e"}});
  counter.Increment(42);

  MetricsServer server(registry);
  ASSERT_OK(server.Start());

  absl::StatusOr<std::unique_ptr<testing::TempDir>> dir = testing::TempDir::Create();
  ASSERT_OK(dir);
  const std::string root = (*dir)->path();
  const std::string config = absl::Substitute(R"(global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: argonaut
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ["127.0.0.1:$0"]
)",
                                              server.port());
  ASSERT_OK(testing::WriteFile(root + "/prometheus.yml", config));
  absl::StatusOr<int> prometheus_port = testing::PickUnusedLoopbackPort();
  ASSERT_OK(prometheus_port);

  const std::string log_path = root + "/prometheus.log";
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> prometheus = testing::ChildProcess::Start(
      {kPrometheus, "--config.file=" + root + "/prometheus.yml",
       "--storage.tsdb.path=" + root + "/data",
       absl::StrCat("--web.listen-address=127.0.0.1:", *prometheus_port), "--log.level=warn"},
      log_path);
  ASSERT_OK(prometheus);
  // Included in every failure message: the usual culprit is in Prometheus' log.
  auto prometheus_log = [&log_path] {
    absl::StatusOr<std::string> log = testing::ReadFile(log_path);
    return log.ok() ? *log : std::string("(no log)");
  };

  httplib::Client client("127.0.0.1", *prometheus_port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(5, 0);
  // Polls until the query returns `expected`; the last sample seen, if any,
  // is left in `last`.
  auto wait_for_value = [&](const std::string& metric, const std::string& expected,
                            absl::Duration timeout, std::optional<Sample>& last) {
    const absl::Time give_up = absl::Now() + timeout;
    while (absl::Now() < give_up && (*prometheus)->Running()) {
      last = QueryOne(client, metric);
      if (last.has_value() && last->value == expected) return true;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  };

  std::optional<Sample> sample;
  ASSERT_TRUE(wait_for_value("argonaut_e2e_events_total", "42", kScrapeTimeout, sample))
      << "last sample: " << (sample ? sample->value : "none") << "\nprometheus log:\n"
      << prometheus_log();
  EXPECT_EQ(sample->labels.value("job", ""), "argonaut");
  EXPECT_EQ(sample->labels.value("source", ""), "e2e");
  EXPECT_EQ(sample->labels.value("instance", ""), absl::StrCat("127.0.0.1:", server.port()));

  // A later scrape sees the new value: Prometheus keeps scraping, not a one-off.
  counter.Increment();
  ASSERT_TRUE(wait_for_value("argonaut_e2e_events_total", "43", kScrapeTimeout, sample))
      << "last sample: " << (sample ? sample->value : "none") << "\nprometheus log:\n"
      << prometheus_log();

  // Process metrics make it through too (e.g. to watch idle memory).
  std::optional<Sample> rss = QueryOne(client, "process_resident_memory_bytes");
  ASSERT_TRUE(rss.has_value()) << prometheus_log();
  EXPECT_GT(std::stod(rss->value), 0);

  (*prometheus)->Stop();
  EXPECT_FALSE((*prometheus)->Running());
}

}  // namespace
}  // namespace argonaut::metrics
