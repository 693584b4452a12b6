#include "gateway/port_mux_http1.h"

#include <zlib.h>

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace argonaut::gateway {
namespace {

// absl here has its own string_view: convert at the calls.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool ConsumeSuffix(std::string_view* s, std::string_view suffix) {
  if (s->size() < suffix.size() || s->substr(s->size() - suffix.size()) != suffix) return false;
  s->remove_suffix(suffix.size());
  return true;
}

constexpr std::string_view kHeadEnd = "\n\r\n";
// A chunk-size line: up to 16 hex digits and CRLF; longer is not a size a client would send.
constexpr size_t kMaxChunkLine = 32;

// The first value of `key` (case-insensitive) among the header lines, as httplib reads a
// header: trailing blanks dropped, leading blanks after the colon skipped, a value that is
// empty after that is no header at all, and %XX escapes decoded. nullopt: absent.
// `conflict` is set when the header appears again with another value.
std::optional<std::string> HeaderValue(std::string_view head, std::string_view key,
                                       bool* conflict) {
  std::optional<std::string> first;
  bool seen_request_line = false;
  for (absl::string_view piece : absl::StrSplit(A(head), '\n')) {
    std::string_view line(piece.data(), piece.size());
    if (!seen_request_line) {
      seen_request_line = true;
      continue;
    }
    if (!ConsumeSuffix(&line, "\r")) continue;  // httplib skips lines without CRLF
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos ||
        !absl::EqualsIgnoreCase(A(line.substr(0, colon)), A(key))) {
      continue;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    if (value.empty()) continue;
    std::string decoded;
    for (size_t i = 0; i < value.size(); ++i) {
      int v = 0;
      if (value[i] == '%' && i + 2 < value.size() && absl::ascii_isxdigit(value[i + 1]) &&
          absl::ascii_isxdigit(value[i + 2]) &&
          absl::SimpleHexAtoi(A(value.substr(i + 1, 2)), &v)) {
        decoded.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
      decoded.push_back(value[i]);
    }
    if (!first.has_value()) {
      first = std::move(decoded);
    } else if (*first != decoded) {
      *conflict = true;
    }
  }
  return first;
}

}  // namespace

// Inflates only to count: the output is thrown away a buffer at a time.
struct Http1BodyLimit::Inflater {
  z_stream z{};
  bool ok = false;
  bool failed = false;
  Inflater() { ok = inflateInit2(&z, 15 + 32) == Z_OK; }  // gzip or zlib, as httplib's
  ~Inflater() {
    if (ok) inflateEnd(&z);
  }
  // Adds the inflated size of `data` to *count, stopping once it passes `limit`.
  void Count(std::string_view data, uint64_t* count, uint64_t limit) {
    if (!ok || failed) return;  // the server refuses a stream this broken anyway
    unsigned char out[16384];
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    while (z.avail_in > 0 && *count <= limit) {
      z.next_out = out;
      z.avail_out = sizeof(out);
      const int r = inflate(&z, Z_NO_FLUSH);
      *count += sizeof(out) - z.avail_out;
      if (r == Z_STREAM_END) {
        // Another member may follow; counting it too only errs on the safe side.
        if (inflateReset(&z) != Z_OK) failed = true;
        continue;
      }
      if (r != Z_OK && r != Z_BUF_ERROR) {
        failed = true;
        return;
      }
      if (r == Z_BUF_ERROR && z.avail_out != 0) return;  // needs more input
    }
  }
};

Http1BodyLimit::Http1BodyLimit(uint64_t max_body, size_t max_header_bytes)
    : max_body_(max_body), max_header_bytes_(max_header_bytes) {}

Http1BodyLimit::~Http1BodyLimit() = default;

Http1BodyLimit::Verdict Http1BodyLimit::Fail(Verdict v) {
  verdict_ = v;
  return v;
}

bool Http1BodyLimit::TakeLine(std::string_view& in) {
  const size_t nl = in.find('\n');
  const size_t take = nl == std::string_view::npos ? in.size() : nl + 1;
  line_buf_.append(in.substr(0, take));
  in.remove_prefix(take);
  return nl != std::string_view::npos;
}

Http1BodyLimit::Verdict Http1BodyLimit::CountBody(std::string_view data) {
  if (inflater_ != nullptr) {
    inflater_->Count(data, &body_bytes_, max_body_);
  } else {
    body_bytes_ += data.size();
  }
  return body_bytes_ > max_body_ ? Fail(kTooLarge) : kForward;
}

Http1BodyLimit::Verdict Http1BodyLimit::StartBody() {
  const std::string_view head = head_;
  const std::string_view method = head.substr(0, head.find(' '));
  bool conflict = false;
  const std::optional<std::string> te = HeaderValue(head, "Transfer-Encoding", &conflict);
  const std::optional<std::string> cl = HeaderValue(head, "Content-Length", &conflict);
  const std::optional<std::string> ce = HeaderValue(head, "Content-Encoding", &conflict);
  if (conflict) return Fail(kBadRequest);
  body_bytes_ = 0;
  inflater_.reset();
  const bool chunked = te.has_value() && absl::EqualsIgnoreCase(*te, "chunked");
  if (te.has_value() && !chunked) return Fail(kBadRequest);  // framing httplib would not follow
  uint64_t length = 0;
  if (cl.has_value() && (cl->empty() || cl->size() > 19 || !absl::SimpleAtoi(*cl, &length) ||
                         !std::all_of(cl->begin(), cl->end(), absl::ascii_isdigit))) {
    return Fail(kBadRequest);
  }
  // Which requests httplib reads a body for (detail::expect_content).
  const bool has_body = method == "POST" || method == "PUT" || method == "PATCH" ||
                        method == "PRI" || (method == "DELETE" && cl.has_value());
  head_.clear();
  if (!has_body) {
    state_ = kHeaders;
    return kForward;
  }
  if (ce.has_value()) {
    if (*ce == "gzip" || *ce == "deflate") {
      inflater_ = std::make_unique<Inflater>();
    } else if (absl::StrContains(*ce, "br")) {
      return Fail(kUnsupportedEncoding);  // brotli: not counted here, so not accepted
    }
  }
  if (chunked) {
    state_ = kChunkSize;
    line_buf_.clear();
    return kForward;
  }
  if (!cl.has_value()) {
    state_ = kBodyUntilEof;
    return kForward;
  }
  if (inflater_ == nullptr && length > max_body_) return Fail(kTooLarge);
  remaining_ = length;
  state_ = length == 0 ? kHeaders : kBodyLength;
  return kForward;
}

Http1BodyLimit::Verdict Http1BodyLimit::Feed(std::string_view in) {
  if (verdict_ != kForward) return verdict_;
  while (!in.empty()) {
    switch (state_) {
      case kHeaders: {
        // The head ends with an empty CRLF line; search from just before the new bytes, so an
        // end split across two feeds is found.
        const size_t old = head_.size();
        const size_t take =
            std::min(in.size(), max_header_bytes_ + 1 - std::min(old, max_header_bytes_ + 1));
        head_.append(in.data(), take);
        const size_t first_nl = head_.find('\n');
        const size_t end = first_nl == std::string::npos
                               ? std::string::npos
                               : head_.find(kHeadEnd, std::max(first_nl, old >= 2 ? old - 2 : 0));
        if (end == std::string::npos) {
          if (head_.size() > max_header_bytes_) return Fail(kHeadersTooLarge);
          in.remove_prefix(take);
          break;
        }
        const size_t head_len = end + kHeadEnd.size();
        in.remove_prefix(head_len - old);  // what follows the head is the body (or a next request)
        head_.resize(head_len);
        if (Verdict v = StartBody(); v != kForward) return v;
        break;
      }
      case kBodyLength: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        if (Verdict v = CountBody(in.substr(0, n)); v != kForward) return v;
        remaining_ -= n;
        in.remove_prefix(n);
        if (remaining_ == 0) state_ = kHeaders;
        break;
      }
      case kBodyUntilEof: {
        if (Verdict v = CountBody(in); v != kForward) return v;
        in = {};
        break;
      }
      case kChunkSize: {
        if (!TakeLine(in)) {
          if (line_buf_.size() > kMaxChunkLine) return Fail(kBadRequest);
          break;
        }
        std::string_view line = line_buf_;
        // Strictly "<hex>\r\n": no extensions, signs or blanks, which parsers read differently.
        if (line.size() > kMaxChunkLine || !ConsumeSuffix(&line, "\r\n") || line.empty() ||
            line.size() > 16 || !std::all_of(line.begin(), line.end(), absl::ascii_isxdigit)) {
          return Fail(kBadRequest);
        }
        uint64_t size = 0;
        if (!absl::SimpleHexAtoi(A(line), &size)) return Fail(kBadRequest);
        line_buf_.clear();
        if (size == 0) {
          state_ = kLastCrlf;
          break;
        }
        if (inflater_ == nullptr && body_bytes_ + size > max_body_) return Fail(kTooLarge);
        remaining_ = size;
        state_ = kChunkData;
        break;
      }
      case kChunkData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        if (Verdict v = CountBody(in.substr(0, n)); v != kForward) return v;
        remaining_ -= n;
        in.remove_prefix(n);
        if (remaining_ == 0) {
          state_ = kChunkCrlf;
          line_buf_.clear();
        }
        break;
      }
      case kChunkCrlf:
      case kLastCrlf: {
        if (!TakeLine(in)) {
          if (line_buf_.size() > 2) return Fail(kBadRequest);
          break;
        }
        if (line_buf_ != "\r\n") return Fail(kBadRequest);  // trailers included
        line_buf_.clear();
        state_ = state_ == kChunkCrlf ? kChunkSize : kHeaders;
        break;
      }
    }
  }
  return kForward;
}

std::string Http1BodyLimit::RejectResponse() const {
  int status = 400;
  std::string reason = "Bad Request";
  int code = 3;  // INVALID_ARGUMENT
  std::string message =
      "request framing not understood (chunk extensions and trailers are "
      "not accepted)";
  switch (verdict_) {
    case kTooLarge:
      status = 413;
      reason = "Payload Too Large";
      code = 8;  // RESOURCE_EXHAUSTED
      message = absl::StrCat("request body is larger than the limit of ", max_body_, " bytes");
      break;
    case kHeadersTooLarge:
      status = 431;
      reason = "Request Header Fields Too Large";
      code = 8;
      message = absl::StrCat("request headers are larger than the limit of ", max_header_bytes_,
                             " bytes");
      break;
    case kUnsupportedEncoding:
      status = 415;
      reason = "Unsupported Media Type";
      message = "Content-Encoding: only gzip and deflate are accepted";
      break;
    default:
      break;
  }
  const std::string body =
      absl::StrCat(R"({"code":)", code, R"(,"message":")", message, R"(","details":[]})");
  return absl::StrCat("HTTP/1.1 ", status, " ", reason,
                      "\r\nContent-Type: application/json\r\nConnection: close\r\n"
                      "Content-Length: ",
                      body.size(), "\r\n\r\n", body);
}

}  // namespace argonaut::gateway
