#include "lib/artifacts/http_driver.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "lib/artifacts/secret_ref.h"

namespace argonaut::artifacts {
namespace {

constexpr long kConnectTimeoutSeconds = 30;
// A transfer that moves no byte for this long is abandoned.
constexpr long kStallSeconds = 60;
constexpr long kMaxRedirects = 10;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One request's settings, taken from the location; holds Secret values, never printed.
struct HttpSpec {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string username, password;
  bool basic_auth = false;
};

bool HasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

absl::StatusOr<HttpSpec> ParseSpec(const nlohmann::json& artifact, const DriverOptions& options) {
  const nlohmann::json& loc =
      artifact.is_object() && artifact.contains("http") ? artifact["http"] : artifact;
  if (!loc.is_object()) return absl::InvalidArgumentError("http: want an object");
  HttpSpec spec;
  if (!loc.contains("url") || !loc["url"].is_string() || loc["url"].get<std::string>().empty()) {
    return absl::InvalidArgumentError("http.url: required");
  }
  spec.url = loc["url"].get<std::string>();
  if (!absl::StartsWithIgnoreCase(spec.url, "http://") &&
      !absl::StartsWithIgnoreCase(spec.url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("http.url: want an http:// or https:// URL, got ", UrlForMessages(spec.url)));
  }
  if (HasLineBreak(spec.url) || spec.url.find(' ') != std::string::npos) {
    return absl::InvalidArgumentError("http.url: contains whitespace");
  }
  if (loc.contains("headers") && !loc["headers"].is_null()) {
    if (!loc["headers"].is_array()) return absl::InvalidArgumentError("http.headers: want a list");
    for (size_t i = 0; i < loc["headers"].size(); ++i) {
      const nlohmann::json& h = loc["headers"][i];
      const std::string field = absl::StrCat("http.headers[", i, "]");
      if (!h.is_object() || !h.contains("name") || !h["name"].is_string() ||
          h["name"].get<std::string>().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(field, ".name: required"));
      }
      std::string name = h["name"].get<std::string>();
      std::string value = h.value("value", nlohmann::json("")).is_string()
                              ? h.value("value", std::string())
                              : std::string();
      if (HasLineBreak(name) || name.find(':') != std::string::npos ||
          name.find(' ') != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(field, ".name: not a header name"));
      }
      if (HasLineBreak(value)) {
        return absl::InvalidArgumentError(absl::StrCat(field, ".value: contains a line break"));
      }
      // "Name;" is curl's spelling of a header sent with an empty value.
      spec.headers.push_back(value.empty() ? absl::StrCat(name, ";")
                                           : absl::StrCat(name, ": ", value));
    }
  }
  if (loc.contains("auth") && !loc["auth"].is_null()) {
    const nlohmann::json& auth = loc["auth"];
    if (!auth.is_object()) return absl::InvalidArgumentError("http.auth: want an object");
    for (const char* unsupported : {"oauth2", "clientCert"}) {
      if (auth.contains(unsupported) && !auth[unsupported].is_null()) {
        return absl::UnimplementedError(
            absl::StrCat("http.auth.", unsupported,
                         ": not supported by Argonaut; use basicAuth or "
                         "an Authorization header"));
      }
    }
    if (auth.contains("basicAuth") && auth["basicAuth"].is_object()) {
      const nlohmann::json& basic = auth["basicAuth"];
      if (basic.contains("usernameSecret")) {
        auto user = ResolveSecretRef(basic["usernameSecret"], "http.auth.basicAuth.usernameSecret",
                                     options);
        if (!user.ok()) return user.status();
        spec.username = *std::move(user);
        spec.basic_auth = true;
      }
      if (basic.contains("passwordSecret")) {
        auto password = ResolveSecretRef(basic["passwordSecret"],
                                         "http.auth.basicAuth.passwordSecret", options);
        if (!password.ok()) return password.status();
        spec.password = *std::move(password);
        spec.basic_auth = true;
      }
      if (HasLineBreak(spec.username) || spec.username.find(':') != std::string::npos) {
        return absl::InvalidArgumentError(
            "http.auth.basicAuth.usernameSecret: the user name contains ':' or a line break");
      }
    }
  }
  return spec;
}

// The state one transfer's callbacks share.
struct Transfer {
  const ChunkSink* sink = nullptr;
  absl::Status sink_status;
  int upload_fd = -1;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->sink == nullptr) return n;
  absl::Status s = (*t->sink)(std::string_view(data, n));
  if (!s.ok()) {
    t->sink_status = std::move(s);
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  return n;
}

size_t OnUploadRead(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  for (;;) {
    ssize_t n = read(t->upload_fd, buffer, size * count);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) {
      t->sink_status = absl::InternalError(absl::StrCat("reading the file: ", strerror(errno)));
      return CURL_READFUNC_ABORT;
    }
  }
}

// Redirects (and 401 retries) rewind the upload.
int OnUploadSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  return lseek(t->upload_fd, static_cast<off_t>(offset), origin) < 0 ? CURL_SEEKFUNC_FAIL
                                                                     : CURL_SEEKFUNC_OK;
}

absl::Status StatusForHttp(long code, const std::string& what) {
  std::string text = absl::StrCat(what, ": HTTP ", code);
  if (code == 404 || code == 410) return absl::NotFoundError(text);
  if (code == 401) return absl::UnauthenticatedError(text);
  if (code == 403) return absl::PermissionDeniedError(text);
  if (code == 408 || code == 429 || code >= 500) return absl::UnavailableError(text);
  return absl::FailedPreconditionError(text);
}

enum class Method { kGet, kHead, kPut, kDelete };

// Runs one request. A status >= 400 becomes an error naming `what` and the status; for kDelete,
// 404 and 410 are success (deleting twice is fine) and for kHead they come back as NotFound.
absl::Status Perform(const HttpSpec& spec, Method method, Transfer* transfer, curl_off_t size,
                     const std::string& what) {
  GlobalInit();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  absl::Cleanup cleanup_curl = [curl] { curl_easy_cleanup(curl); };
  curl_slist* headers = nullptr;
  absl::Cleanup cleanup_headers = [&headers] { curl_slist_free_all(headers); };
  for (const std::string& h : spec.headers) headers = curl_slist_append(headers, h.c_str());
  if (method == Method::kPut) headers = curl_slist_append(headers, "Expect:");
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_URL, spec.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, kMaxRedirects);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (const char* ca = std::getenv("SSL_CERT_FILE"); ca != nullptr && *ca != '\0') {
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
  }
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "argonaut-artifacts");
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (spec.basic_auth) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, spec.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, spec.password.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, transfer);
  switch (method) {
    case Method::kGet:
      break;
    case Method::kHead:
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
      break;
    case Method::kPut:
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnUploadRead);
      curl_easy_setopt(curl, CURLOPT_READDATA, transfer);
      curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnUploadSeek);
      curl_easy_setopt(curl, CURLOPT_SEEKDATA, transfer);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, size);
      break;
    case Method::kDelete:
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
      break;
  }

  CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  if (rc == CURLE_OK) return absl::OkStatus();
  if (rc == CURLE_HTTP_RETURNED_ERROR) {
    if (method == Method::kDelete && (code == 404 || code == 410)) return absl::OkStatus();
    return StatusForHttp(code, what);
  }
  if ((rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_READ_ERROR) &&
      !transfer->sink_status.ok()) {
    return transfer->sink_status;
  }
  // curl's own message never holds the credentials, but a server-chosen redirect target might
  // carry a query: keep only what names the failure.
  std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
  if (!spec.password.empty()) detail = absl::StrReplaceAll(detail, {{spec.password, "***"}});
  std::string text = absl::StrCat(what, ": ", detail);
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
      return absl::FailedPreconditionError(absl::StrCat(text, " (TLS verification)"));
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(text);
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return absl::FailedPreconditionError(text);
    default:
      return absl::UnavailableError(text);
  }
}

class HttpDriver : public Driver {
 public:
  explicit HttpDriver(DriverOptions options) : options_(std::move(options)) {}

  absl::Status Load(const nlohmann::json& artifact, const std::string& dst) override {
    auto spec = ParseSpec(artifact, options_);
    if (!spec.ok()) return spec.status();
    int fd = open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("http artifact: create ", dst, ": ", strerror(errno)));
    }
    ChunkSink to_file = [fd, &dst](std::string_view chunk) -> absl::Status {
      while (!chunk.empty()) {
        ssize_t n = write(fd, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return absl::InternalError(absl::StrCat("write ", dst, ": ", strerror(errno)));
        chunk.remove_prefix(static_cast<size_t>(n));
      }
      return absl::OkStatus();
    };
    absl::Status s = Get(*spec, to_file);
    if (close(fd) != 0 && s.ok()) {
      s = absl::InternalError(absl::StrCat("close ", dst, ": ", strerror(errno)));
    }
    if (!s.ok()) unlink(dst.c_str());  // never leave half a download behind
    return s;
  }

  absl::Status OpenStream(const nlohmann::json& artifact, const ChunkSink& sink) override {
    auto spec = ParseSpec(artifact, options_);
    if (!spec.ok()) return spec.status();
    return Get(*spec, sink);
  }

  absl::Status Save(const std::string& src, const nlohmann::json& artifact) override {
    auto spec = ParseSpec(artifact, options_);
    if (!spec.ok()) return spec.status();
    int fd = open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(absl::StrCat("http artifact: open ", src, ": ", strerror(errno)));
    }
    absl::Cleanup close_fd = [fd] { close(fd); };
    struct stat st;
    if (fstat(fd, &st) != 0) return absl::InternalError(absl::StrCat("stat ", src));
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("http artifact: ", src,
                       " is not a regular file; an HTTP location stores one object "
                       "(archive a directory with tar or zip)"));
    }
    Transfer transfer;
    transfer.upload_fd = fd;
    return Perform(*spec, Method::kPut, &transfer, static_cast<curl_off_t>(st.st_size),
                   absl::StrCat("PUT ", UrlForMessages(spec->url)));
  }

  absl::Status Delete(const nlohmann::json& artifact) override {
    auto spec = ParseSpec(artifact, options_);
    if (!spec.ok()) return spec.status();
    Transfer transfer;
    return Perform(*spec, Method::kDelete, &transfer, 0,
                   absl::StrCat("DELETE ", UrlForMessages(spec->url)));
  }

  absl::StatusOr<std::vector<std::string>> ListObjects(const nlohmann::json& artifact) override {
    auto spec = ParseSpec(artifact, options_);
    if (!spec.ok()) return spec.status();
    Transfer transfer;
    absl::Status s = Perform(*spec, Method::kHead, &transfer, 0,
                             absl::StrCat("HEAD ", UrlForMessages(spec->url)));
    if (absl::IsNotFound(s)) return std::vector<std::string>{};
    if (!s.ok()) return s;
    return std::vector<std::string>{spec->url};
  }

 private:
  absl::Status Get(const HttpSpec& spec, const ChunkSink& sink) {
    Transfer transfer;
    transfer.sink = &sink;
    return Perform(spec, Method::kGet, &transfer, 0,
                   absl::StrCat("GET ", UrlForMessages(spec.url)));
  }

  DriverOptions options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Driver>> MakeHttpDriver(const nlohmann::json& artifact,
                                                       const DriverOptions& options) {
  // Checks the location now, so a bad one fails before any transfer starts.
  auto spec = ParseSpec(artifact, options);
  if (!spec.ok()) return spec.status();
  return std::unique_ptr<Driver>(new HttpDriver(options));
}

}  // namespace argonaut::artifacts
