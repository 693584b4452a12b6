// The S3 protocol on libcurl: requests signed with SigV4 by libcurl itself
// (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3"), bodies streamed from and to files
// so an object is never held whole in memory, multipart upload past a size
// threshold, bounded retries with exponential backoff on 5xx, throttling
// (429, SlowDown) and connection errors.
//
//   S3Config c;
//   c.endpoint = "127.0.0.1:9000"; c.bucket = "my-bucket"; c.insecure = true;
//   c.access_key = ...; c.secret_key = ...;
//   ASSIGN_OR_RETURN(auto client, S3Client::Create(c));
//   RETURN_IF_ERROR(client->PutFile("wf/out.tgz", "/tmp/out.tgz"));
//
// Errors name the operation, bucket/key, HTTP status and S3 error code,
// never the credentials. A client is not thread-safe (it reuses one curl
// handle, and so its connection); use one per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace argonaut::artifacts::s3 {

// Receives an object's bytes in order; a non-OK status stops the transfer.
using ByteSink = std::function<absl::Status(std::string_view chunk)>;

struct S3Config {
  // host[:port], no scheme. Empty: AWS's regional endpoint
  // (s3.REGION.amazonaws.com).
  std::string endpoint;
  std::string bucket;
  std::string region = "us-east-1";
  bool insecure = false;   // http instead of https
  bool path_style = true;  // endpoint/bucket/key; false: bucket.endpoint/key
  // Empty access_key: unsigned (anonymous) requests.
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  // PEM of the CA(s) to trust instead of the system's (https only).
  std::string ca_pem;

  // Files of at least multipart_threshold bytes go up in parts of part_size
  // bytes (raised when needed to stay within S3's 10000 parts).
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 64ull << 20;

  // Attempts per request (1 = no retry) and the wait before retry n (1, 2,
  // ...). `sleep` is injectable so tests do not wait.
  int max_attempts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(10);
  std::function<void(absl::Duration)> sleep;

  // Called after every attempt with S3's operation name ("PutObject",
  // "UploadPart 2", ...) and the HTTP status (0: no answer). For tests and
  // metrics; never sees credentials.
  std::function<void(std::string_view op, long status)> on_attempt;

  // A connection that cannot be made in connect_timeout, or a transfer
  // slower than 1 byte/s for stall_timeout, fails the attempt.
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration stall_timeout = absl::Seconds(60);
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;
};

// Wait before retry `retry` (1-based): initial * 2^(retry-1), capped.
absl::Duration BackoffDelay(const S3Config& config, int retry);

// RFC 3986 encoding as SigV4 canonicalizes it: unreserved characters kept,
// everything else %XX (uppercase); '/' kept when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);

class S3Client {
 public:
  // InvalidArgument naming the field for a bad endpoint, bucket or region.
  static absl::StatusOr<std::unique_ptr<S3Client>> Create(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Config& config() const { return config_; }
  // The object's URL (no credentials): for messages and tests.
  std::string ObjectUrl(std::string_view key) const;

  // Uploads `size` bytes of `fd` from offset 0 (read with pread, never whole
  // in memory); multipart when size >= multipart_threshold.
  absl::Status PutFd(std::string_view key, int fd, uint64_t size);
  // PutFd of the file at `path`.
  absl::Status PutFile(std::string_view key, const std::string& path);
  // A small in-memory object (for tests and markers).
  absl::Status PutString(std::string_view key, std::string_view data);

  // Streams the object to `sink`; a retried download resumes where it
  // stopped (Range), so the sink sees every byte exactly once.
  absl::Status Get(std::string_view key, const ByteSink& sink);
  // Get into the file `path` (created or truncated).
  absl::Status GetToFile(std::string_view key, const std::string& path);

  // NotFound when there is no such object.
  absl::StatusOr<ObjectInfo> Head(std::string_view key);
  // OK when the object did not exist.
  absl::Status Delete(std::string_view key);
  // Every object whose key starts with `prefix`, following continuation
  // tokens; `page_size` keys per request (max-keys).
  absl::StatusOr<std::vector<ObjectInfo>> List(std::string_view prefix, int page_size = 1000);

  absl::StatusOr<bool> BucketExists();
  // OK when the bucket exists already and is ours.
  absl::Status CreateBucket();

 private:
  struct Request;
  struct Response;
  explicit S3Client(S3Config config);
  absl::StatusOr<Response> Perform(Request& request);
  absl::Status PutSingle(std::string_view key, int fd, uint64_t size);
  absl::Status PutMultipart(std::string_view key, int fd, uint64_t size);

  S3Config config_;
  std::string host_;    // what the URL names (bucket.endpoint or endpoint)
  std::string prefix_;  // scheme://host[/bucket]
  void* curl_ = nullptr;
};

}  // namespace argonaut::artifacts::s3
