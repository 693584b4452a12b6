#include "lib/cluster/images/rollouts_demo.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::cluster {
namespace {

// Upstream's palette, used when the image has no color.
constexpr const char* kColors[] = {"red", "orange", "yellow", "green", "blue", "purple"};

// Colors come from image tags and $COLOR; they go into HTML, JSON and label
// values, so anything outside this set is refused rather than escaped.
bool SafeColor(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string_view PathOf(std::string_view target) {
  size_t q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

// Label value for http_requests_total: a fixed set, so that scanners cannot
// grow the metric without bound.
std::string_view PathLabel(std::string_view path) {
  for (std::string_view known : {"/", "/color", "/metrics"}) {
    if (path == known) return known;
  }
  return "other";
}

std::string Page(const std::string& color, const std::string& pod) {
  std::string shown = color.empty() ? "random" : color;
  return absl::StrCat("<!DOCTYPE html>\n<html><head><title>rollouts-demo: ", shown,
                      "</title></head>\n<body style=\"border: 12px solid ",
                      color.empty() ? "gray" : color,
                      "\">\n<h1>Argo Rollouts demo</h1>\n<p>color: <b id=\"color\">", shown,
                      "</b></p>\n<p>pod: ", pod,
                      "</p>\n<p><code>GET /color</code> answers the color.</p>\n</body></html>\n");
}

}  // namespace

absl::StatusOr<RolloutsDemoConfig> RolloutsDemoConfigFor(
    std::string_view tag, const std::function<const char*(const char*)>& getenv) {
  RolloutsDemoConfig config;
  std::string_view color = tag;
  if (absl::StartsWith(AbslView(color), "bad-")) {
    color.remove_prefix(4);
    config.error_percent = kRolloutsDemoBadErrorPercent;
  } else if (absl::StartsWith(AbslView(color), "slow-")) {
    color.remove_prefix(5);
    config.latency = kRolloutsDemoSlowLatency;
  }
  // The untagged (latest) image has no color and picks one per request.
  if (color != "latest") config.color = std::string(color);
  auto env = [&getenv](const char* name) -> std::string_view {
    const char* v = getenv(name);
    return v == nullptr ? std::string_view() : std::string_view(v);
  };
  if (std::string_view v = env("COLOR"); !v.empty()) config.color = std::string(v);
  if (!config.color.empty() && !SafeColor(config.color)) {
    return absl::InvalidArgumentError(
        absl::StrCat("color \"", config.color.substr(0, 64),
                     "\" (image tag or COLOR): only letters, digits, '-', '_' and '.'"));
  }
  if (std::string_view v = env("ERROR_RATE"); !v.empty()) {
    int rate = 0;
    if (!absl::SimpleAtoi(AbslView(v), &rate) || rate < 0 || rate > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("ERROR_RATE=", AbslView(v), ": want a percentage from 0 to 100"));
    }
    config.error_percent = rate;
  }
  if (std::string_view v = env("LATENCY"); !v.empty()) {
    double seconds = 0;
    if (!absl::SimpleAtod(AbslView(v), &seconds) || !(seconds >= 0) || seconds > 3600) {
      return absl::InvalidArgumentError(
          absl::StrCat("LATENCY=", AbslView(v), ": want seconds from 0 to 3600"));
    }
    config.latency = absl::Seconds(seconds);
  }
  return config;
}

RolloutsDemoApp::RolloutsDemoApp(RolloutsDemoConfig config) : config_(std::move(config)) {
  random_state_ = static_cast<uint64_t>(getpid()) * 0x9E3779B97F4A7C15ull ^
                  static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
}

bool RolloutsDemoApp::Fails(uint64_t n) const {
  const uint64_t p = static_cast<uint64_t>(std::clamp(config_.error_percent, 0, 100));
  return (n + 1) * p / 100 > n * p / 100;
}

std::string RolloutsDemoApp::ColorFor() {
  if (!config_.color.empty()) return config_.color;
  absl::MutexLock lock(&mu_);
  // xorshift64: a per-request random color, as the untagged upstream image does.
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  return kColors[random_state_ % (sizeof(kColors) / sizeof(kColors[0]))];
}

void RolloutsDemoApp::Count(std::string_view path, int status) {
  absl::MutexLock lock(&mu_);
  ++counts_[{std::string(PathLabel(path)), status}];
}

DemoHttpResponse RolloutsDemoApp::Handle(const DemoHttpRequest& request) {
  const std::string_view path = PathOf(request.target);
  const bool read = request.method == "GET" || request.method == "HEAD";
  DemoHttpResponse r;
  if (path == "/color") {
    uint64_t n;
    {
      absl::MutexLock lock(&mu_);
      n = color_requests_++;
    }
    r.status = Fails(n) ? 500 : 200;
    // Upstream writes the JSON string with this content type, also for 500s.
    r.content_type = "text/plain; charset=utf-8";
    r.body = absl::StrCat("\"", ColorFor(), "\"");
    r.delay = config_.latency;
  } else if ((path == "/" || path == "/index.html") && read) {
    r.content_type = "text/html; charset=utf-8";
    r.body = Page(config_.color, config_.pod_name);
  } else if (path == "/metrics" && read) {
    // Counted before rendering so that a scrape sees itself, as client
    // libraries do.
    Count(path, 200);
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = Metrics();
    return r;
  } else if (path == "/" || path == "/index.html" || path == "/metrics") {
    r.status = 405;
    r.body = "method not allowed\n";
  } else {
    r.status = 404;
    r.body = "404 page not found\n";
  }
  Count(path, r.status);
  return r;
}

std::string RolloutsDemoApp::Metrics() const {
  std::map<std::pair<std::string, int>, uint64_t> counts;
  {
    absl::MutexLock lock(&mu_);
    counts = counts_;
  }
  const std::string color = config_.color.empty() ? "random" : config_.color;
  std::string out =
      "# HELP requests_total Answers to /color by HTTP status code.\n"
      "# TYPE requests_total counter\n";
  // 200 and 500 are always present so that an error-rate query has both
  // series from the first scrape on.
  std::map<int, uint64_t> color_counts = {{200, 0}, {500, 0}};
  for (const auto& [key, n] : counts) {
    if (key.first == "/color") color_counts[key.second] += n;
  }
  for (const auto& [status, n] : color_counts) {
    absl::StrAppend(&out, "requests_total{color=\"", color, "\",status=\"", status, "\"} ", n,
                    "\n");
  }
  absl::StrAppend(&out,
                  "# HELP http_requests_total Answers by path and HTTP status code.\n"
                  "# TYPE http_requests_total counter\n");
  for (const auto& [key, n] : counts) {
    absl::StrAppend(&out, "http_requests_total{color=\"", color, "\",path=\"", key.first,
                    "\",status=\"", key.second, "\"} ", n, "\n");
  }
  return out;
}

int RunRolloutsDemo(const std::vector<std::string>& args) {
  if (args.empty()) {
    fprintf(stderr, "rollouts-demo: usage: rollouts-demo TAG [--listen-addr ADDR]\n");
    return 2;
  }
  int port = 8080;
  int termination_delay = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    if (size_t eq = flag.find('='); absl::StartsWith(flag, "-") && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[i + 1];
      if (flag == "--listen-addr" || flag == "-listen-addr" || flag == "--termination-delay" ||
          flag == "-termination-delay" || flag == "--cpu-burn" || flag == "-cpu-burn") {
        ++i;
      }
    }
    if (flag == "--listen-addr" || flag == "-listen-addr") {
      size_t colon = value.rfind(':');
      std::string p = colon == std::string::npos ? value : value.substr(colon + 1);
      if (!absl::SimpleAtoi(p, &port) || port < 0 || port > 65535) {
        fprintf(stderr, "rollouts-demo: --listen-addr %s: want [HOST]:PORT\n", value.c_str());
        return 2;
      }
    } else if (flag == "--termination-delay" || flag == "-termination-delay") {
      if (!absl::SimpleAtoi(value, &termination_delay) || termination_delay < 0) {
        fprintf(stderr, "rollouts-demo: --termination-delay %s: want seconds\n", value.c_str());
        return 2;
      }
    } else if (flag == "--cpu-burn" || flag == "-cpu-burn") {
      fprintf(stderr, "rollouts-demo: --cpu-burn is not reproduced here; ignored\n");
    } else {
      fprintf(stderr,
              "rollouts-demo: unknown flag %s (known: --listen-addr, --termination-delay)\n",
              args[i].c_str());
      return 2;
    }
  }
  if (!DemoPortFromEnv("rollouts-demo", &port)) return 2;
  absl::StatusOr<RolloutsDemoConfig> config =
      RolloutsDemoConfigFor(args[0], [](const char* name) { return std::getenv(name); });
  if (!config.ok()) {
    fprintf(stderr, "rollouts-demo: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  config->pod_name = DemoPodName();

  const sigset_t set = BlockDemoStopSignals();

  auto app = std::make_shared<RolloutsDemoApp>(*config);
  DemoHttpServerOptions options;
  options.port = port;
  options.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  options.handler = [app](const DemoHttpRequest& r) { return app->Handle(r); };
  absl::StatusOr<std::unique_ptr<DemoHttpServer>> server = DemoHttpServer::Start(options);
  if (!server.ok()) {
    fprintf(stderr, "rollouts-demo: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  printf("Started server on :%d (color %s, %d%% errors, latency %s)\n", (*server)->port(),
         config->color.empty() ? "random" : config->color.c_str(), config->error_percent,
         absl::FormatDuration(config->latency).c_str());
  fflush(stdout);
  const int sig = WaitDemoStopSignal(set);
  if (termination_delay > 0) {
    printf("Signal %d caught. Shutting down in %ds\n", sig, termination_delay);
    fflush(stdout);
    timespec ts{termination_delay, 0};
    if (sigtimedwait(&set, nullptr, &ts) > 0) printf("Second signal caught. Shutting down NOW\n");
  }
  (*server)->Stop();
  printf("Server stopped\n");
  fflush(stdout);
  return 0;
}

}  // namespace argonaut::cluster
