// The `s3` artifact driver: Argo's S3 location (endpoint, bucket, region,
// insecure, key, accessKeySecret / secretKeySecret / sessionTokenSecret,
// useSDKCreds, createBucketIfNotPresent, caSecret) over S3Client.
//
// A key names one object, or a "directory": Save of a directory puts each
// regular file under key/ (symbolic links are skipped, so a link cannot
// smuggle a file from outside the tree into the bucket); Load of a key that
// is not an object but a prefix writes the tree under key/ to dst; Delete
// removes the object and everything under key/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/artifacts/driver.h"
#include "nlohmann/json.hpp"

namespace argonaut::artifacts::s3 {

// Transfer knobs that are not part of Argo's location (tests shrink the
// multipart parts and skip the backoff waits).
struct S3DriverTuning {
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 64ull << 20;
  int max_attempts = 5;
  std::function<void(absl::Duration)> sleep;  // default: really sleep
};

// `s3_location` is the artifact's `s3` object (with or without `key`); the
// driver's calls take the artifact ({"s3": {...}}) and use its `s3.key`
// (and its other fields when they differ from `s3_location`).
// InvalidArgument names the bad field; secrets are resolved on first use.
absl::StatusOr<std::unique_ptr<Driver>> MakeS3Driver(const nlohmann::json& s3_location,
                                                     const DriverOptions& options);
absl::StatusOr<std::unique_ptr<Driver>> MakeS3Driver(const nlohmann::json& s3_location,
                                                     const DriverOptions& options,
                                                     const S3DriverTuning& tuning);

}  // namespace argonaut::artifacts::s3
