// web and prometheus metric providers over cpp-httplib.
#include "services/rollout/analysis/http_providers.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "httplib.h"
#include "lib/base/status_macros.h"
#include "services/rollout/analysis/assess.h"
#include "services/rollout/analysis/json_fields.h"

namespace argonaut::rollout::analysis {
namespace {

using json_fields::Bool;
using json_fields::Field;
using json_fields::Str;
using nlohmann::json;

struct Url {
  std::string scheme_host_port;  // what httplib::Client takes
  std::string path;              // path and query, "/" at least
};

absl::StatusOr<Url> ParseUrl(const std::string& url) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("parse \"", url, "\": missing scheme"));
  }
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported protocol scheme \"", scheme, "\" in \"", url, "\""));
  }
  const size_t path_start = url.find_first_of("/?", sep + 3);
  std::string host = url.substr(
      sep + 3, path_start == std::string::npos ? std::string::npos : path_start - sep - 3);
  if (host.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in \"", url, "\""));
  Url out;
  out.scheme_host_port = absl::StrCat(scheme, "://", host);
  out.path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (out.path[0] == '?') out.path = "/" + out.path;
  return out;
}

std::unique_ptr<httplib::Client> NewClient(const Url& url, int timeout_seconds, bool insecure) {
  auto client = std::make_unique<httplib::Client>(url.scheme_host_port);
  client->set_connection_timeout(timeout_seconds, 0);
  client->set_read_timeout(timeout_seconds, 0);
  client->set_write_timeout(timeout_seconds, 0);
  client->set_follow_location(true);
  if (insecure) client->enable_server_certificate_verification(false);
  return client;
}

std::string RequestError(const std::string& method, const std::string& url, httplib::Error e) {
  return absl::StrCat(method, " \"", url, "\": ", httplib::to_string(e));
}

class WebProvider final : public MetricProvider {
 public:
  explicit WebProvider(controller::Clock* clock) : clock_(clock) {}
  std::string Type() const override { return "Web"; }
  bool Blocking() const override { return true; }

  json Run(const RunRef&, const json& metric) override {
    const absl::Time started = clock_->Now();
    auto error = [&](std::string_view message) {
      return ErrorMeasurement(message, started, clock_->Now());
    };
    const json& web = Field(Field(metric, "provider"), "web");
    std::string method = Str(web, "method");
    if (method.empty()) method = "GET";
    if (method != "GET" && method != "POST" && method != "PUT") {
      return error(
          absl::StrCat("web.method: unsupported method \"", method, "\" (GET, POST or PUT)"));
    }
    const std::string body = Str(web, "body");
    const json& json_body = Field(web, "jsonBody");
    if (!body.empty() && !json_body.is_null()) {
      return error("use either Body or JSONBody; both cannot exists for WebMetric payload");
    }
    if ((!body.empty() || !json_body.is_null()) && method == "GET") {
      return error("Body/JSONBody can only be used with POST or PUT WebMetric Method types");
    }
    if (const json& auth = Field(web, "authentication"); auth.is_object() && !auth.empty()) {
      return error("web.authentication is not supported by this implementation");
    }
    const std::string url_text = Str(web, "url");
    absl::StatusOr<Url> url = ParseUrl(url_text);
    if (!url.ok()) return error(std::string(url.status().message()));
    int timeout = 10;
    if (const json& t = Field(web, "timeoutSeconds"); t.is_number() && t.get<int64_t>() > 0) {
      timeout = static_cast<int>(t.get<int64_t>());
    }
    httplib::Headers headers;
    const json& hs = Field(web, "headers");
    if (hs.is_array()) {
      for (const json& h : hs) {
        if (!Str(h, "key").empty()) headers.emplace(Str(h, "key"), Str(h, "value"));
      }
    }
    std::string payload = body;
    std::string content_type;
    if (!json_body.is_null()) {
      payload = json_body.dump();
      content_type = "application/json";
    }
    for (auto it = headers.begin(); it != headers.end();) {
      if (absl::EqualsIgnoreCase(it->first, "Content-Type")) {
        if (content_type.empty()) content_type = it->second;
        it = headers.erase(it);
      } else {
        ++it;
      }
    }
    std::unique_ptr<httplib::Client> client = NewClient(*url, timeout, Bool(web, "insecure"));
    httplib::Result res = method == "GET" ? client->Get(url->path, headers)
                          : method == "POST"
                              ? client->Post(url->path, headers, payload, content_type)
                              : client->Put(url->path, headers, payload, content_type);
    if (!res) return error(RequestError(method, url_text, res.error()));
    if (res->status < 200 || res->status >= 300) {
      return error(absl::StrCat("received non 2xx response code: ", res->status));
    }
    const absl::Time finished = clock_->Now();
    const json doc = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      // Not JSON: the raw body is the result.
      json m = MeasurementFromResult(metric, res->body, started, finished);
      m["value"] = res->body;
      return m;
    }
    std::string path = Str(web, "jsonPath");
    if (path.empty()) path = "{$}";
    absl::StatusOr<json> value = JsonPathSelect(doc, path);
    if (!value.ok()) {
      return error(absl::StrCat("Could not find JSONPath in body: ", value.status().message()));
    }
    json m = MeasurementFromResult(metric, *value, started, finished);
    m["value"] = value->dump();
    return m;
  }
  json Resume(const RunRef&, const json&, const json& measurement) override { return measurement; }
  json Terminate(const RunRef&, const json&, const json& measurement) override {
    return measurement;
  }

 private:
  controller::Clock* const clock_;
};

absl::StatusOr<double> SampleValue(const json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) {
    return absl::InvalidArgumentError("malformed sample in Prometheus response");
  }
  const std::string text = pair[1].get<std::string>();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) {
    return absl::InvalidArgumentError(absl::StrCat("malformed sample value \"", text, "\""));
  }
  return v;
}

std::string SampleText(const json& pair) { return pair[1].get<std::string>(); }

class PrometheusProvider final : public MetricProvider {
 public:
  explicit PrometheusProvider(controller::Clock* clock) : clock_(clock) {}
  std::string Type() const override { return "Prometheus"; }
  bool Blocking() const override { return true; }

  json Run(const RunRef&, const json& metric) override {
    const absl::Time started = clock_->Now();
    auto error = [&](std::string_view message) {
      return ErrorMeasurement(message, started, clock_->Now());
    };
    const json& prom = Field(Field(metric, "provider"), "prometheus");
    std::string address = Str(prom, "address");
    if (address.empty()) {
      if (const char* env = std::getenv("ARGO_ROLLOUTS_PROMETHEUS_ADDRESS"); env != nullptr) {
        address = env;
      }
    }
    if (address.empty()) return error("prometheus address is not configured");
    absl::StatusOr<Url> url = ParseUrl(address);
    if (!url.ok()) return error("prometheus address is not is url format");
    int timeout = 30;
    if (const json& t = Field(prom, "timeout"); t.is_number()) {
      if (t.get<int64_t>() < 0) return error("prometheus timeout should not be negative");
      if (t.get<int64_t>() > 0) timeout = static_cast<int>(t.get<int64_t>());
    }
    if (const json& auth = Field(prom, "authentication"); auth.is_object() && !auth.empty()) {
      return error("prometheus.authentication is not supported by this implementation");
    }
    if (!Field(prom, "rangeQuery").is_null()) {
      return error("prometheus.rangeQuery is not supported by this implementation");
    }
    httplib::Headers headers;
    const json& hs = Field(prom, "headers");
    if (hs.is_array()) {
      for (const json& h : hs) {
        if (!Str(h, "key").empty()) headers.emplace(Str(h, "key"), Str(h, "value"));
      }
    }
    std::string base = url->path;
    const size_t q = base.find('?');
    if (q != std::string::npos) base.resize(q);
    while (!base.empty() && base.back() == '/') base.pop_back();
    std::unique_ptr<httplib::Client> client = NewClient(*url, timeout, Bool(prom, "insecure"));
    httplib::Params params{{"query", Str(prom, "query")}};
    httplib::Result res = client->Get(base + "/api/v1/query", params, headers);
    if (!res) return error(RequestError("GET", address, res.error()));
    const json body = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return error(absl::StrCat("server error: ", res->status));
    }
    if (Str(body, "status") != "success") {
      return error(absl::StrCat(Str(body, "errorType"), ": ", Str(body, "error")));
    }
    const json& data = Field(body, "data");
    const std::string type = Str(data, "resultType");
    const json& result = Field(data, "result");
    json value;
    std::string text;
    if (type == "scalar") {
      absl::StatusOr<double> v = SampleValue(result);
      if (!v.ok()) return error(std::string(v.status().message()));
      value = *v;
      text = SampleText(result);
    } else if (type == "vector" || type == "matrix") {
      value = json::array();
      std::vector<std::string> texts;
      if (result.is_array()) {
        for (const json& series : result) {
          std::vector<const json*> samples;
          if (type == "vector") {
            samples.push_back(&Field(series, "value"));
          } else if (const json& vs = Field(series, "values"); vs.is_array()) {
            for (const json& s : vs) samples.push_back(&s);
          }
          for (const json* s : samples) {
            absl::StatusOr<double> v = SampleValue(*s);
            if (!v.ok()) return error(std::string(v.status().message()));
            value.push_back(*v);
            texts.push_back(SampleText(*s));
          }
        }
      }
      text = absl::StrCat("[", absl::StrJoin(texts, ","), "]");
    } else {
      return error("Prometheus metric type not supported");
    }
    json m = MeasurementFromResult(metric, value, started, clock_->Now());
    m["value"] = text;
    if (const json& w = Field(body, "warnings"); w.is_array() && !w.empty()) {
      std::vector<std::string> quoted;
      for (const json& s : w)
        quoted.push_back(absl::StrCat("\"", s.is_string() ? s.get<std::string>() : s.dump(), "\""));
      m["metadata"] = {{"warnings", absl::StrJoin(quoted, ", ")}};
    }
    return m;
  }
  json Resume(const RunRef&, const json&, const json& measurement) override { return measurement; }
  json Terminate(const RunRef&, const json&, const json& measurement) override {
    return measurement;
  }

 private:
  controller::Clock* const clock_;
};

}  // namespace

std::unique_ptr<MetricProvider> NewWebProvider(controller::Clock* clock) {
  return std::make_unique<WebProvider>(clock);
}

std::unique_ptr<MetricProvider> NewPrometheusProvider(controller::Clock* clock) {
  return std::make_unique<PrometheusProvider>(clock);
}

absl::StatusOr<json> JsonPathSelect(const json& doc, std::string_view path_text) {
  std::string path(absl::StripAsciiWhitespace(std::string(path_text)));
  if (path.size() >= 2 && path.front() == '{' && path.back() == '}') {
    path = path.substr(1, path.size() - 2);
  }
  size_t i = 0;
  if (i < path.size() && path[i] == '$') ++i;
  const json* cur = &doc;
  auto unsupported = [&]() {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported jsonPath \"", std::string(path_text),
                     "\" (supported: {$}, {$.a.b}, {$.a[0].b}, {$['a']})"));
  };
  while (i < path.size()) {
    std::string key;
    bool is_index = false;
    size_t index = 0;
    if (path[i] == '.') {
      ++i;
      if (i < path.size() && (path[i] == '.' || path[i] == '*')) return unsupported();
      const size_t start = i;
      while (i < path.size() && path[i] != '.' && path[i] != '[') ++i;
      key = path.substr(start, i - start);
      if (key.empty()) {
        if (i == path.size()) break;  // "{.}" or "{$.}": the document
        return unsupported();
      }
    } else if (path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string::npos) return unsupported();
      std::string inner = path.substr(i + 1, close - i - 1);
      i = close + 1;
      if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"') &&
          inner.back() == inner.front()) {
        key = inner.substr(1, inner.size() - 2);
      } else if (absl::SimpleAtoi(inner, &index)) {
        is_index = true;
      } else {
        return unsupported();
      }
    } else {
      return unsupported();
    }
    if (is_index) {
      if (!cur->is_array())
        return absl::NotFoundError(absl::StrCat("[", index, "] is not an array index"));
      if (index >= cur->size()) {
        return absl::NotFoundError(
            absl::StrCat("array index out of bounds: index ", index, ", length ", cur->size()));
      }
      cur = &(*cur)[index];
    } else {
      if (!cur->is_object() || !cur->contains(key)) {
        return absl::NotFoundError(absl::StrCat(key, " is not found"));
      }
      cur = &(*cur)[key];
    }
  }
  return *cur;
}

}  // namespace argonaut::rollout::analysis
