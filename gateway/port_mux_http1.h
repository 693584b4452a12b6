// Http1BodyLimit: the request side of one HTTP/1.1 connection, followed just far enough to
// know each request body's size as the REST server will hold it (de-chunked, and inflated
// when it is Content-Encoding gzip/deflate), so that PortMux can refuse a body past the
// limit while it is still arriving. httplib checks its payload limit against Content-Length
// only: a chunked body, a body without a length (read until the connection closes) and a
// small gzip body that inflates to gigabytes all reached the handler whole.
//
// It frames requests the way httplib 0.11 does (headers end at an empty CRLF line; a body
// only for POST, PUT, PATCH, DELETE and PRI; Transfer-Encoding: chunked over
// Content-Length; neither: until EOF), and refuses framing it cannot follow exactly (a
// malformed chunk line, trailers) rather than risk reading a body differently than the
// server does.
//
//   Http1BodyLimit limit(16 << 20);
//   if (limit.Feed(bytes) != Http1BodyLimit::kForward) reply(limit.RejectResponse()), close;
//
// Not thread-safe: one per connection, fed in order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace argonaut::gateway {

class Http1BodyLimit {
 public:
  enum Verdict { kForward, kTooLarge, kBadRequest, kHeadersTooLarge, kUnsupportedEncoding };

  explicit Http1BodyLimit(uint64_t max_body, size_t max_header_bytes = 64 << 10);
  ~Http1BodyLimit();
  Http1BodyLimit(const Http1BodyLimit&) = delete;
  Http1BodyLimit& operator=(const Http1BodyLimit&) = delete;

  // Takes the next bytes from the client. kForward: pass them on. Anything else is final:
  // answer RejectResponse() and close the connection.
  Verdict Feed(std::string_view bytes);
  // The full HTTP response for the verdict Feed returned: the status, Connection: close and a
  // grpc-gateway style JSON error body.
  std::string RejectResponse() const;
  Verdict verdict() const { return verdict_; }

 private:
  enum State {
    kHeaders,
    kBodyLength,
    kBodyUntilEof,
    kChunkSize,
    kChunkData,
    kChunkCrlf,
    kLastCrlf
  };
  Verdict Fail(Verdict v);
  // The request head is complete in line_buf_: decide how its body is framed.
  Verdict StartBody();
  // Counts body bytes as the handler will see them.
  Verdict CountBody(std::string_view data);
  // Moves bytes of `in` into line_buf_ up to and including a '\n'; false while incomplete.
  bool TakeLine(std::string_view& in);

  const uint64_t max_body_;
  const size_t max_header_bytes_;
  State state_ = kHeaders;
  Verdict verdict_ = kForward;
  std::string head_;         // the request line and headers so far
  std::string line_buf_;     // a chunk-size or CRLF line so far
  uint64_t remaining_ = 0;   // of a Content-Length body or of the current chunk
  uint64_t body_bytes_ = 0;  // this request's body as the handler gets it
  struct Inflater;
  std::unique_ptr<Inflater> inflater_;  // set while the body is compressed
};

}  // namespace argonaut::gateway
