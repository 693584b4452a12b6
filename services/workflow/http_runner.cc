#include "services/workflow/http_runner.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;

std::string Field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// curl_global_init is not thread-safe: once, before the first handle.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// "https://user:pw@h/x?sig=..." -> "https://h/x": messages end up in the workflow status.
std::string UrlForMessage(const std::string& url) {
  std::string out = url.substr(0, url.find_first_of("?#"));
  const size_t scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  const size_t host = scheme + 3;
  const size_t path = out.find('/', host);
  const size_t at = out.rfind('@', path == std::string::npos ? out.size() : path);
  if (at != std::string::npos && at >= host) out.erase(host, at + 1 - host);
  return out;
}

// Go's textproto.CanonicalMIMEHeaderKey: "content-type" -> "Content-Type" (Argo's
// response.headers keys).
std::string CanonicalHeader(std::string_view name) {
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    if (c == ' ' || static_cast<unsigned char>(c) >= 0x80) return std::string(name);
    c = upper ? absl::ascii_toupper(static_cast<unsigned char>(c))
              : absl::ascii_tolower(static_cast<unsigned char>(c));
    upper = c == '-';
  }
  return out;
}

struct Transfer {
  size_t max_body = 0;
  bool too_large = false;
  std::string body;
  std::map<std::string, std::vector<std::string>> headers;
  const std::atomic<bool>* cancel = nullptr;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (t->body.size() + bytes > t->max_body) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  std::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    t->headers.clear();  // a new response (after a redirect or a 100 Continue)
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return bytes;
  std::string value(absl::StripAsciiWhitespace(AbslView(line.substr(colon + 1))));
  t->headers[CanonicalHeader(line.substr(0, colon))].push_back(std::move(value));
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->cancel != nullptr && t->cancel->load() ? 1 : 0;
}

engine::HttpResult Failure(std::string message) {
  engine::HttpResult r;
  r.done = true;
  r.error = std::move(message);
  return r;
}

}  // namespace

engine::HttpResult PerformHttpRequest(const json& request, const std::string& ns,
                                      const HttpSecretReader& secrets, size_t max_body_bytes,
                                      const std::atomic<bool>* cancel) {
  if (!request.is_object()) return Failure("http: malformed request");
  const std::string url = Field(request, "url");
  const std::string method = Field(request, "method").empty() ? "GET" : Field(request, "method");
  const std::string what = absl::StrCat(method, " ", UrlForMessage(url));
  int64_t timeout = 30;
  if (auto t = request.find("timeoutSeconds"); t != request.end() && t->is_number_integer()) {
    timeout = std::max<int64_t>(1, t->get<int64_t>());
  }
  std::string body;
  if (auto b64 = request.find("bodyBase64"); b64 != request.end() && b64->is_string()) {
    if (!absl::Base64Unescape(b64->get<std::string>(), &body)) {
      return Failure("http.bodyFrom.bytes: not base64");
    }
  } else {
    body = Field(request, "body");
  }
  InitCurlOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Failure(absl::StrCat(what, ": could not start libcurl"));
  curl_slist* list = nullptr;
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  auto add_header = [&](const std::string& line) {
    list = curl_slist_append(list, line.c_str());
    headers.release();
    headers.reset(list);
  };
  // No "Expect: 100-continue" round trip before a body (Go's client does not wait either).
  add_header("Expect:");
  if (auto hs = request.find("headers"); hs != request.end() && hs->is_array()) {
    for (size_t i = 0; i < hs->size(); ++i) {
      const json& h = (*hs)[i];
      if (!h.is_object()) continue;
      const std::string name = Field(h, "name");
      std::string value = Field(h, "value");
      if (auto ref = h.find("secretKeyRef"); ref != h.end() && ref->is_object()) {
        if (!secrets) {
          return Failure(absl::StrCat("http.headers[", i, "] (", name, "): no Secrets to read"));
        }
        absl::StatusOr<std::string> v = secrets(ns, Field(*ref, "name"), Field(*ref, "key"));
        if (!v.ok()) {
          return Failure(
              absl::StrCat("http.headers[", i, "] (", name, "): ", v.status().message()));
        }
        value = *std::move(v);
        if (value.find_first_of("\r\n") != std::string::npos) {
          return Failure(absl::StrCat("http.headers[", i, "] (", name,
                                      "): the Secret's value contains a line break"));
        }
      }
      // "Name;" is how libcurl sends a header with an empty value.
      add_header(value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value));
    }
  }
  Transfer t;
  t.max_body = max_body_bytes;
  t.cancel = cancel;
  char error[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout * 1000));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method != "GET" || !body.empty()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (request.value("insecureSkipVerify", false) == true) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(h);
  if (t.too_large) {
    return Failure(absl::StrCat(what, ": response body larger than ", max_body_bytes, " bytes"));
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Failure(
        absl::StrCat(what, ": no complete response within ", timeout, " s (http.timeoutSeconds)"));
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    return Failure(absl::StrCat(what, ": aborted, the controller is stopping"));
  }
  if (rc != CURLE_OK) {
    return Failure(absl::StrCat(what, ": ", error[0] != '\0' ? error : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  engine::HttpResult r;
  r.done = true;
  r.status_code = static_cast<int>(status);
  r.body = std::move(t.body);
  r.headers = std::move(t.headers);
  return r;
}

HttpRunner::HttpRunner(HttpRunnerOptions options) : options_(std::move(options)) {
  const int n = options_.workers > 0 ? options_.workers : 1;
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
}

HttpRunner::~HttpRunner() { Stop(); }

void HttpRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    queue_.clear();
  }
  cancel_ = true;
  cv_.notify_all();
  for (std::thread& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

void HttpRunner::Work() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    engine::HttpResult result = PerformHttpRequest(task.request, task.ns, options_.secrets,
                                                   options_.max_body_bytes, &cancel_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;  // an aborted transfer is no answer
      auto wf = entries_.find(task.wf_key);
      if (wf == entries_.end()) continue;
      auto e = wf->second.find(task.node_id);
      if (e == wf->second.end() || e->second.generation != task.generation) continue;
      e->second.done = true;
      e->second.result = std::move(result);
    }
    if (options_.on_done) options_.on_done(task.wf_key);
  }
}

std::map<std::string, engine::HttpResult> HttpRunner::Observe(const std::string& wf_key) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, engine::HttpResult> out;
  auto wf = entries_.find(wf_key);
  if (wf == entries_.end()) return out;
  for (const auto& [id, e] : wf->second) {
    engine::HttpResult r = e.done ? e.result : engine::HttpResult{};
    r.done = e.done;
    out.emplace(id, std::move(r));
  }
  return out;
}

void HttpRunner::Run(const std::string& wf_key, const std::string& ns,
                     const std::map<std::string, json>& requests) {
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    auto wf = entries_.find(wf_key);
    if (wf != entries_.end()) {
      // An answer the engine no longer asks for has been judged and stored.
      for (auto e = wf->second.begin(); e != wf->second.end();) {
        e = e->second.done && requests.count(e->first) == 0 ? wf->second.erase(e) : std::next(e);
      }
      if (wf->second.empty() && requests.empty()) entries_.erase(wf);
    }
    if (requests.empty()) return;
    auto& mine = entries_[wf_key];
    for (const auto& [id, request] : requests) {
      if (mine.count(id) > 0) continue;
      Entry& e = mine[id];
      e.generation = next_generation_++;
      queue_.push_back(Task{wf_key, id, ns, request, e.generation});
      queued = true;
    }
  }
  if (queued) cv_.notify_all();
}

void HttpRunner::Forget(const std::string& wf_key) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(wf_key);
  for (auto it = queue_.begin(); it != queue_.end();) {
    it = it->wf_key == wf_key ? queue_.erase(it) : std::next(it);
  }
}

}  // namespace argonaut::workflow
