#include "lib/artifacts/s3/s3_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "lib/artifacts/s3/s3_xml.h"

namespace argonaut::artifacts::s3 {
namespace {

// Debian's abseil has its own string_view: convert for StrCat and friends.
absl::string_view V(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr size_t kMaxErrorBody = 64 << 10;
constexpr int kMaxParts = 10000;
constexpr size_t kMaxKeyBytes = 1024;

// curl_global_init is not thread-safe; run it once before any easy handle.
void GlobalInitOnce() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

bool Unreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '~';
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Server-supplied text put into an error: printable, bounded.
std::string Printable(std::string_view s, size_t max = 200) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(absl::ascii_isprint(c) ? c : '?');
  if (s.size() > max) out += "...";
  return out;
}

absl::StatusCode CodeForHttp(long status, const std::string& s3_code) {
  if (s3_code == "NoSuchKey" || s3_code == "NoSuchBucket" || s3_code == "NoSuchUpload")
    return absl::StatusCode::kNotFound;
  if (s3_code == "BucketAlreadyExists") return absl::StatusCode::kAlreadyExists;
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
    case 412:
      return absl::StatusCode::kFailedPrecondition;
    case 416:
      return absl::StatusCode::kOutOfRange;
    case 429:
      return absl::StatusCode::kUnavailable;
    default:
      return status >= 500 ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown;
  }
}

bool RetryableHttp(long status, const std::string& s3_code) {
  return status == 500 || status == 502 || status == 503 || status == 504 || status == 429 ||
         s3_code == "SlowDown" || s3_code == "InternalError" || s3_code == "RequestTimeout" ||
         s3_code == "ServiceUnavailable";
}

bool RetryableCurl(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool ValidEndpoint(std::string_view e) {
  if (e.empty() || e.size() > 255) return false;
  for (char c : e)
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '[' || c == ']'))
      return false;
  return true;
}

bool ValidBucket(std::string_view b) {
  if (b.empty() || b.size() > 255) return false;
  for (char c : b)
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
      return false;
  return true;
}

bool ValidRegion(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  for (char c : r)
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
  return true;
}

absl::Status CheckKey(std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("s3: empty object key");
  if (key.size() > kMaxKeyBytes)
    return absl::InvalidArgumentError(
        absl::StrCat("s3: object key longer than ", kMaxKeyBytes, " bytes"));
  return absl::OkStatus();
}

}  // namespace

absl::Duration BackoffDelay(const S3Config& config, int retry) {
  absl::Duration d = config.initial_backoff;
  for (int i = 1; i < retry && d < config.max_backoff; ++i) d *= 2;
  return std::min(d, config.max_backoff);
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

struct S3Client::Request {
  std::string op;      // S3's operation name, for messages
  std::string method;  // GET HEAD PUT POST DELETE
  std::string key;     // "" for the bucket itself
  std::string query;   // canonical: sorted by name, values UriEncoded
  std::vector<std::string> headers;
  // The body: `fd` from `offset` for `length` bytes, else `memory`.
  bool has_body = false;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string_view memory;
  // A 2xx answer's body goes here (resumed with Range on a retry); any
  // other answer's body is kept in Response::body.
  const ByteSink* sink = nullptr;
  size_t max_body = kMaxXmlBytes;
};

struct S3Client::Response {
  long status = 0;
  std::string body;
  std::string etag;
  uint64_t content_length = 0;
};

namespace {

// One attempt's state, shared with libcurl's callbacks.
struct Transfer {
  CURL* curl = nullptr;
  const ByteSink* sink = nullptr;
  size_t max_body = 0;
  // Upload position, relative to the request's offset.
  int fd = -1;
  uint64_t offset = 0, length = 0, pos = 0;
  std::string_view memory;
  bool read_failed = false;
  std::string read_error;
  // Download: bytes the sink already has (earlier attempts), and how many of
  // this answer's leading bytes repeat them (a server that ignored Range).
  uint64_t* delivered = nullptr;
  uint64_t skip = 0;
  bool skip_decided = false;
  absl::Status sink_status;
  bool body_too_large = false;
  long* status_out = nullptr;
  std::string body;
  std::string etag;
  uint64_t content_length = 0;
};

long ResponseCode(CURL* c) {
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t total = size * n;
  const long code = ResponseCode(t->curl);
  if (t->sink != nullptr && code >= 200 && code < 300) {
    if (!t->skip_decided) {
      // 206 continues where the last attempt stopped; 200 starts over.
      t->skip = code == 206 ? 0 : *t->delivered;
      t->skip_decided = true;
    }
    std::string_view chunk(data, total);
    const size_t drop = static_cast<size_t>(std::min<uint64_t>(t->skip, chunk.size()));
    t->skip -= drop;
    chunk.remove_prefix(drop);
    if (chunk.empty()) return total;
    t->sink_status = (*t->sink)(chunk);
    if (!t->sink_status.ok()) return 0;
    *t->delivered += chunk.size();
    return total;
  }
  if (t->body.size() + total > t->max_body) {
    t->body_too_large = true;
    return 0;
  }
  t->body.append(data, total);
  return total;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (absl::StartsWith(V(line), "HTTP/")) {
    // A new answer (after a 100 Continue): forget the previous headers.
    t->etag.clear();
    t->content_length = 0;
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  const std::string name = absl::AsciiStrToLower(V(line.substr(0, colon)));
  const absl::string_view value = absl::StripAsciiWhitespace(V(line.substr(colon + 1)));
  if (name == "etag") t->etag = std::string(value);
  if (name == "content-length") {
    uint64_t v = 0;
    if (absl::SimpleAtoi(value, &v)) t->content_length = v;
  }
  return size * n;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const uint64_t want = std::min<uint64_t>(size * n, t->length - t->pos);
  if (want == 0) return 0;
  if (t->fd < 0) {
    std::memcpy(buf, t->memory.data() + t->pos, want);
    t->pos += want;
    return want;
  }
  ssize_t got;
  do {
    got = pread(t->fd, buf, want, static_cast<off_t>(t->offset + t->pos));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    t->read_failed = true;
    t->read_error = got == 0 ? "the file shrank during the upload" : std::strerror(errno);
    return CURL_READFUNC_ABORT;
  }
  t->pos += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > t->length)
    return CURL_SEEKFUNC_CANTSEEK;
  t->pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

}  // namespace

S3Client::S3Client(S3Config config) : config_(std::move(config)) {}

S3Client::~S3Client() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

absl::StatusOr<std::unique_ptr<S3Client>> S3Client::Create(S3Config config) {
  if (config.region.empty()) config.region = "us-east-1";
  if (!ValidRegion(config.region))
    return absl::InvalidArgumentError(
        absl::StrCat("s3.region \"", Printable(config.region), "\": letters, digits and '-'"));
  if (config.endpoint.empty())
    config.endpoint = config.region == "us-east-1"
                          ? "s3.amazonaws.com"
                          : absl::StrCat("s3.", config.region, ".amazonaws.com");
  if (absl::StrContains(config.endpoint, "://"))
    return absl::InvalidArgumentError(
        absl::StrCat("s3.endpoint \"", Printable(config.endpoint),
                     "\": host[:port] without a scheme (set insecure: true for http)"));
  if (!ValidEndpoint(config.endpoint))
    return absl::InvalidArgumentError(
        absl::StrCat("s3.endpoint \"", Printable(config.endpoint), "\": must be host[:port]"));
  if (!ValidBucket(config.bucket))
    return absl::InvalidArgumentError(absl::StrCat("s3.bucket \"", Printable(config.bucket),
                                                   "\": required, letters, digits, '.', '-', '_'"));
  if (config.max_attempts < 1) config.max_attempts = 1;
  if (config.part_size == 0) config.part_size = 64ull << 20;
  if (config.multipart_threshold == 0) config.multipart_threshold = config.part_size;
  if (!config.sleep) config.sleep = [](absl::Duration d) { absl::SleepFor(d); };
  GlobalInitOnce();
  std::unique_ptr<S3Client> client(new S3Client(std::move(config)));
  client->curl_ = curl_easy_init();
  if (client->curl_ == nullptr) return absl::InternalError("s3: curl_easy_init failed");
  const S3Config& c = client->config_;
  const char* scheme = c.insecure ? "http://" : "https://";
  if (c.path_style) {
    client->host_ = c.endpoint;
    client->prefix_ = absl::StrCat(scheme, c.endpoint, "/", UriEncode(c.bucket, false));
  } else {
    client->host_ = absl::StrCat(c.bucket, ".", c.endpoint);
    client->prefix_ = absl::StrCat(scheme, client->host_);
  }
  return client;
}

std::string S3Client::ObjectUrl(std::string_view key) const {
  return absl::StrCat(prefix_, "/", UriEncode(key, true));
}

absl::StatusOr<S3Client::Response> S3Client::Perform(Request& r) {
  CURL* h = static_cast<CURL*>(curl_);
  const std::string what = absl::StrCat("s3 ", r.op, " ", config_.bucket, r.key.empty() ? "" : "/",
                                        Printable(r.key), " at ", config_.endpoint);
  std::string url = r.key.empty() ? prefix_ : ObjectUrl(r.key);
  if (r.key.empty() && !config_.path_style) url += "/";
  if (!r.query.empty()) absl::StrAppend(&url, "?", r.query);
  const std::string sigv4 = absl::StrCat("aws:amz:", config_.region, ":s3");
  uint64_t delivered = 0;
  absl::Status last;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    if (attempt > 1) config_.sleep(BackoffDelay(config_, attempt - 1));
    curl_easy_reset(h);
    Transfer t;
    t.curl = h;
    t.sink = r.sink;
    t.max_body = r.sink != nullptr ? kMaxErrorBody : r.max_body;
    t.fd = r.fd;
    t.offset = r.offset;
    t.length = r.has_body ? (r.fd >= 0 ? r.length : r.memory.size()) : 0;
    t.memory = r.memory;
    t.delivered = &delivered;

    curl_slist* headers = nullptr;
    // libcurl 7.88 signs a caller-set payload hash as given (and without one
    // would hash nothing for a streamed body); S3 wants the header anyway.
    headers = curl_slist_append(
        headers,
        absl::StrCat("x-amz-content-sha256: ", r.has_body ? "UNSIGNED-PAYLOAD" : kEmptySha256)
            .c_str());
    if (!config_.session_token.empty())
      headers = curl_slist_append(
          headers, absl::StrCat("x-amz-security-token: ", config_.session_token).c_str());
    for (const std::string& hd : r.headers) headers = curl_slist_append(headers, hd.c_str());
    if (r.sink != nullptr && delivered > 0)
      headers = curl_slist_append(headers, absl::StrCat("Range: bytes=", delivered, "-").c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                            curl_slist_free_all);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    // A key is opaque: "a/../b" must reach S3 as it is, not as "b".
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(config_.connect_timeout)));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>(absl::ToInt64Seconds(config_.stall_timeout))));
    if (!config_.access_key.empty()) {
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
      curl_easy_setopt(h, CURLOPT_USERNAME, config_.access_key.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, config_.secret_key.c_str());
    }
    curl_blob ca{};
    if (!config_.ca_pem.empty()) {
      ca.data = const_cast<char*>(config_.ca_pem.data());
      ca.len = config_.ca_pem.size();
      ca.flags = CURL_BLOB_COPY;
      curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnWrite);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    if (r.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (r.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t.length));
    } else if (r.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.length));
    } else if (r.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    if (r.method == "PUT" || r.method == "POST") {
      curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, OnSeek);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
    }
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);

    const CURLcode rc = curl_easy_perform(h);
    if (config_.on_attempt) config_.on_attempt(r.op, rc == CURLE_OK ? ResponseCode(h) : 0);
    if (!t.sink_status.ok()) return t.sink_status;
    if (t.read_failed)
      return absl::DataLossError(absl::StrCat(what, ": reading the upload: ", t.read_error));
    if (t.body_too_large)
      return absl::ResourceExhaustedError(
          absl::StrCat(what, ": answer larger than ", t.max_body, " bytes"));
    if (rc != CURLE_OK) {
      last = absl::UnavailableError(
          absl::StrCat(what, ": ", error[0] != '\0' ? Printable(error) : curl_easy_strerror(rc)));
      if (RetryableCurl(rc)) continue;
      return last;
    }
    Response resp;
    resp.status = ResponseCode(h);
    resp.etag = std::move(t.etag);
    resp.content_length = t.content_length;
    if (resp.status >= 200 && resp.status < 300) {
      resp.body = std::move(t.body);
      return resp;
    }
    std::string code, message;
    if (!t.body.empty()) {
      absl::StatusOr<XmlElement> doc = ParseXml(t.body);
      if (doc.ok() && doc->name == "Error") {
        code = doc->ChildText("Code");
        message = doc->ChildText("Message");
      } else {
        message = "(the error body is not S3's XML)";
      }
    }
    last = absl::Status(
        CodeForHttp(resp.status, code),
        absl::StrCat(what, ": HTTP ", resp.status, code.empty() ? "" : " ", Printable(code, 64),
                     message.empty() ? "" : ": ", Printable(message)));
    if (!RetryableHttp(resp.status, code)) return last;
  }
  return absl::Status(last.code(), absl::StrCat(last.message(), " (gave up after ",
                                                config_.max_attempts, " attempts)"));
}

absl::Status S3Client::PutSingle(std::string_view key, int fd, uint64_t size) {
  Request r;
  r.op = "PutObject";
  r.method = "PUT";
  r.key = std::string(key);
  r.has_body = true;
  r.fd = fd;
  r.length = size;
  return Perform(r).status();
}

absl::Status S3Client::PutMultipart(std::string_view key, int fd, uint64_t size) {
  uint64_t part = config_.part_size;
  if ((size + part - 1) / part > kMaxParts) part = (size + kMaxParts - 1) / kMaxParts;
  Request init;
  init.op = "CreateMultipartUpload";
  init.method = "POST";
  init.key = std::string(key);
  init.query = "uploads=";
  absl::StatusOr<Response> started = Perform(init);
  if (!started.ok()) return started.status();
  absl::StatusOr<XmlElement> doc = ParseXml(started->body);
  const std::string what = absl::StrCat("s3 multipart upload ", config_.bucket, "/", V(key));
  if (!doc.ok())
    return absl::DataLossError(absl::StrCat(what, ": bad answer: ", doc.status().message()));
  const std::string upload_id = doc->ChildText("UploadId");
  if (upload_id.empty()) return absl::DataLossError(absl::StrCat(what, ": answer has no UploadId"));
  const std::string id_query = absl::StrCat("uploadId=", UriEncode(upload_id, false));

  auto abort = [&](absl::Status cause) {
    Request a;
    a.op = "AbortMultipartUpload";
    a.method = "DELETE";
    a.key = std::string(key);
    a.query = id_query;
    (void)Perform(a);  // best effort: the cause is what the caller needs
    return cause;
  };

  std::string complete = "<CompleteMultipartUpload>";
  int number = 0;
  for (uint64_t offset = 0; offset < size; offset += part) {
    ++number;
    Request p;
    p.op = absl::StrCat("UploadPart ", number);
    p.method = "PUT";
    p.key = std::string(key);
    p.query = absl::StrCat("partNumber=", number, "&", id_query);
    p.has_body = true;
    p.fd = fd;
    p.offset = offset;
    p.length = std::min(part, size - offset);
    absl::StatusOr<Response> put = Perform(p);
    if (!put.ok()) return abort(put.status());
    if (put->etag.empty())
      return abort(absl::DataLossError(absl::StrCat(what, ": part ", number, " has no ETag")));
    absl::StrAppend(&complete, "<Part><PartNumber>", number, "</PartNumber><ETag>",
                    XmlEscape(put->etag), "</ETag></Part>");
  }
  complete += "</CompleteMultipartUpload>";
  Request c;
  c.op = "CompleteMultipartUpload";
  c.method = "POST";
  c.key = std::string(key);
  c.query = id_query;
  c.headers = {"Content-Type: application/xml"};
  c.has_body = true;
  c.memory = complete;
  absl::StatusOr<Response> done = Perform(c);
  if (!done.ok()) return abort(done.status());
  // S3 may answer 200 and still report an error in the body.
  absl::StatusOr<XmlElement> result = ParseXml(done->body);
  if (!result.ok())
    return abort(absl::DataLossError(
        absl::StrCat(what, ": bad completion answer: ", result.status().message())));
  if (result->name == "Error")
    return abort(
        absl::UnavailableError(absl::StrCat(what, ": ", Printable(result->ChildText("Code"), 64),
                                            ": ", Printable(result->ChildText("Message")))));
  return absl::OkStatus();
}

absl::Status S3Client::PutFd(std::string_view key, int fd, uint64_t size) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  if (size >= config_.multipart_threshold && size > 0) return PutMultipart(key, fd, size);
  return PutSingle(key, fd, size);
}

absl::Status S3Client::PutFile(std::string_view key, const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return absl::NotFoundError(absl::StrCat("s3: open ", path, ": ", std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat("s3: ", path, " is not a regular file"));
  }
  absl::Status s = PutFd(key, fd, static_cast<uint64_t>(st.st_size));
  close(fd);
  return s;
}

absl::Status S3Client::PutString(std::string_view key, std::string_view data) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  Request r;
  r.op = "PutObject";
  r.method = "PUT";
  r.key = std::string(key);
  r.has_body = true;
  r.memory = data;
  return Perform(r).status();
}

absl::Status S3Client::Get(std::string_view key, const ByteSink& sink) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  Request r;
  r.op = "GetObject";
  r.method = "GET";
  r.key = std::string(key);
  r.sink = &sink;
  return Perform(r).status();
}

absl::Status S3Client::GetToFile(std::string_view key, const std::string& path) {
  // The file is created with the first byte (or after an empty object), so
  // a missing object leaves nothing behind.
  int fd = -1;
  auto open_file = [&]() -> absl::Status {
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      return absl::FailedPreconditionError(
          absl::StrCat("s3: create ", path, ": ", std::strerror(errno)));
    return absl::OkStatus();
  };
  absl::Status s = Get(key, [&](std::string_view chunk) -> absl::Status {
    if (fd < 0) {
      if (absl::Status o = open_file(); !o.ok()) return o;
    }
    while (!chunk.empty()) {
      const ssize_t n = write(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return absl::DataLossError(absl::StrCat("s3: write ", path, ": ", std::strerror(errno)));
      chunk.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  });
  if (s.ok() && fd < 0) s = open_file();
  if (fd >= 0) {
    if (close(fd) != 0 && s.ok())
      s = absl::DataLossError(absl::StrCat("s3: close ", path, ": ", std::strerror(errno)));
    if (!s.ok()) unlink(path.c_str());
  }
  return s;
}

absl::StatusOr<ObjectInfo> S3Client::Head(std::string_view key) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  Request r;
  r.op = "HeadObject";
  r.method = "HEAD";
  r.key = std::string(key);
  absl::StatusOr<Response> resp = Perform(r);
  if (!resp.ok()) return resp.status();
  return ObjectInfo{std::string(key), resp->content_length, resp->etag};
}

absl::Status S3Client::Delete(std::string_view key) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  Request r;
  r.op = "DeleteObject";
  r.method = "DELETE";
  r.key = std::string(key);
  absl::StatusOr<Response> resp = Perform(r);
  if (!resp.ok() && absl::IsNotFound(resp.status()) &&
      !absl::StrContains(resp.status().message(), "NoSuchBucket"))
    return absl::OkStatus();
  return resp.status();
}

absl::StatusOr<std::vector<ObjectInfo>> S3Client::List(std::string_view prefix, int page_size) {
  std::vector<ObjectInfo> out;
  std::string token;
  page_size = std::clamp(page_size, 1, 1000);
  const std::string what =
      absl::StrCat("s3 ListObjectsV2 ", config_.bucket, " prefix \"", Printable(prefix), "\"");
  while (true) {
    Request r;
    r.op = "ListObjectsV2";
    r.method = "GET";
    // Sorted by name, as SigV4's canonical query string needs (libcurl 7.88
    // signs the query as given).
    r.query = absl::StrCat(
        token.empty() ? "" : "continuation-token=", token.empty() ? "" : UriEncode(token, false),
        token.empty() ? "" : "&", "list-type=2&max-keys=", page_size,
        prefix.empty() ? "" : "&prefix=", UriEncode(prefix, false));
    absl::StatusOr<Response> resp = Perform(r);
    if (!resp.ok()) return resp.status();
    absl::StatusOr<XmlElement> doc = ParseXml(resp->body);
    if (!doc.ok())
      return absl::DataLossError(absl::StrCat(what, ": bad answer: ", doc.status().message()));
    if (doc->name != "ListBucketResult")
      return absl::DataLossError(
          absl::StrCat(what, ": answer is <", Printable(doc->name, 64), ">, not ListBucketResult"));
    for (const XmlElement& c : doc->children) {
      if (c.name != "Contents") continue;
      ObjectInfo info;
      info.key = c.ChildText("Key");
      info.etag = c.ChildText("ETag");
      const std::string size = c.ChildText("Size");
      if (info.key.empty() || (!size.empty() && !absl::SimpleAtoi(size, &info.size)))
        return absl::DataLossError(
            absl::StrCat(what, ": an entry without a key or with a bad size"));
      out.push_back(std::move(info));
    }
    if (doc->ChildText("IsTruncated") != "true") break;
    std::string next = doc->ChildText("NextContinuationToken");
    if (next.empty() || next == token)
      return absl::DataLossError(
          absl::StrCat(what, ": truncated answer without a new continuation token"));
    token = std::move(next);
  }
  return out;
}

absl::StatusOr<bool> S3Client::BucketExists() {
  Request r;
  r.op = "HeadBucket";
  r.method = "HEAD";
  absl::StatusOr<Response> resp = Perform(r);
  if (resp.ok()) return true;
  if (absl::IsNotFound(resp.status())) return false;
  return resp.status();
}

absl::Status S3Client::CreateBucket() {
  Request r;
  r.op = "CreateBucket";
  r.method = "PUT";
  r.has_body = true;
  std::string body;
  if (config_.region != "us-east-1") {
    body = absl::StrCat(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>",
        config_.region, "</LocationConstraint></CreateBucketConfiguration>");
    r.headers = {"Content-Type: application/xml"};
  }
  r.memory = body;
  absl::StatusOr<Response> resp = Perform(r);
  if (!resp.ok() && absl::StrContains(resp.status().message(), "BucketAlreadyOwnedByYou"))
    return absl::OkStatus();
  return resp.status();
}

}  // namespace argonaut::artifacts::s3
