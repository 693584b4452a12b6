#include "gateway/port_mux_http1.h"

#include <zlib.h>

#include <string>

#include "gtest/gtest.h"

namespace argonaut::gateway {
namespace {

constexpr uint64_t kLimit = 1000;

// Feeds `bytes` in pieces of `step` (1 exercises every split point).
Http1BodyLimit::Verdict FeedIn(Http1BodyLimit& l, const std::string& bytes, size_t step) {
  Http1BodyLimit::Verdict v = Http1BodyLimit::kForward;
  for (size_t i = 0; i < bytes.size() && v == Http1BodyLimit::kForward; i += step) {
    v = l.Feed(std::string_view(bytes).substr(i, step));
  }
  return v;
}

std::string Chunked(const std::string& body, size_t chunk) {
  std::string out;
  char size[32];
  for (size_t i = 0; i < body.size(); i += chunk) {
    const std::string part = body.substr(i, chunk);
    snprintf(size, sizeof(size), "%zx\r\n", part.size());
    out += size + part + "\r\n";
  }
  return out + "0\r\n\r\n";
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

const std::string kPostChunked =
    "POST /api/v1/workflows/argo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

struct Case {
  std::string name;
  std::string bytes;
  Http1BodyLimit::Verdict want;
};

TEST(Http1BodyLimitTest, Table) {
  const std::string small(kLimit, 'a'), big(kLimit + 1, 'a');
  const std::string get = "GET /api/v1/version HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::vector<Case> cases = {
      {"get", get, Http1BodyLimit::kForward},
      {"keep-alive gets", get + get + get, Http1BodyLimit::kForward},
      {"length at the limit", "POST /a HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + small + get,
       Http1BodyLimit::kForward},
      {"length past the limit", "POST /a HTTP/1.1\r\nContent-Length: 1001\r\n\r\n",
       Http1BodyLimit::kTooLarge},
      {"length not a number", "POST /a HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",
       Http1BodyLimit::kBadRequest},
      {"two lengths", "POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
       Http1BodyLimit::kBadRequest},
      {"chunked at the limit", kPostChunked + Chunked(small, 300) + get, Http1BodyLimit::kForward},
      {"chunked past the limit", kPostChunked + Chunked(big, 300), Http1BodyLimit::kTooLarge},
      {"one huge chunk", kPostChunked + "ffffffff\r\n", Http1BodyLimit::kTooLarge},
      {"chunk extension", kPostChunked + "3;x=y\r\nabc\r\n0\r\n\r\n", Http1BodyLimit::kBadRequest},
      {"trailer", kPostChunked + "3\r\nabc\r\n0\r\nX: y\r\n\r\n", Http1BodyLimit::kBadRequest},
      {"escaped chunked",
       "POST /a HTTP/1.1\r\nTransfer-Encoding: %63hunked  \r\n\r\n" + Chunked(big, 300),
       Http1BodyLimit::kTooLarge},
      {"other transfer coding", "POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       Http1BodyLimit::kBadRequest},
      {"body until close", "POST /a HTTP/1.1\r\nHost: x\r\n\r\n" + big, Http1BodyLimit::kTooLarge},
      {"get ignores its length", "GET /a HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + get,
       Http1BodyLimit::kForward},
      {"delete without length has no body", "DELETE /a HTTP/1.1\r\n\r\n" + get,
       Http1BodyLimit::kForward},
      {"gzip bomb by length",
       "POST /a HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
           std::to_string(Gzip(std::string(100000, 'a')).size()) + "\r\n\r\n" +
           Gzip(std::string(100000, 'a')),
       Http1BodyLimit::kTooLarge},
      {"gzip bomb chunked",
       "POST /a HTTP/1.1\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" +
           Chunked(Gzip(std::string(100000, 'a')), 50),
       Http1BodyLimit::kTooLarge},
      {"small gzip body",
       "POST /a HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
           std::to_string(Gzip(small).size()) + "\r\n\r\n" + Gzip(small) + get,
       Http1BodyLimit::kForward},
      {"brotli", "POST /a HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx",
       Http1BodyLimit::kUnsupportedEncoding},
      {"endless headers", "GET /a HTTP/1.1\r\nX: " + std::string(70000, 'h'),
       Http1BodyLimit::kHeadersTooLarge},
  };
  for (const Case& c : cases) {
    for (size_t step : {size_t{1}, size_t{7}, size_t{4096}}) {
      Http1BodyLimit limit(kLimit);
      EXPECT_EQ(FeedIn(limit, c.bytes, step), c.want) << c.name << " fed " << step << " at a time";
    }
  }
}

TEST(Http1BodyLimitTest, EachRequestHasItsOwnBudget) {
  Http1BodyLimit limit(kLimit);
  const std::string req = kPostChunked + Chunked(std::string(600, 'a'), 100);
  EXPECT_EQ(limit.Feed(req), Http1BodyLimit::kForward);
  EXPECT_EQ(limit.Feed(req), Http1BodyLimit::kForward);  // 1200 in all, 600 each
}

TEST(Http1BodyLimitTest, RefusalIsFinalAndNamesTheLimit) {
  Http1BodyLimit limit(kLimit);
  EXPECT_EQ(limit.Feed("POST /a HTTP/1.1\r\nContent-Length: 5000\r\n\r\n"),
            Http1BodyLimit::kTooLarge);
  EXPECT_EQ(limit.Feed("GET / HTTP/1.1\r\n\r\n"), Http1BodyLimit::kTooLarge);
  const std::string reply = limit.RejectResponse();
  EXPECT_EQ(reply.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos);
  EXPECT_NE(
      reply.find(R"({"code":8,"message":"request body is larger than the limit of 1000 bytes")"),
      std::string::npos)
      << reply;
}

}  // namespace
}  // namespace argonaut::gateway
