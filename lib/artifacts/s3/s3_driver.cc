#include "lib/artifacts/s3/s3_driver.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/artifacts/s3/s3_client.h"
#include "lib/base/log.h"

namespace argonaut::artifacts::s3 {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

absl::StatusOr<std::string> OptionalString(const json& loc, const char* field) {
  if (!loc.contains(field) || loc[field].is_null()) return std::string();
  if (!loc[field].is_string())
    return absl::InvalidArgumentError(absl::StrCat("s3.", field, ": must be a string"));
  return loc[field].get<std::string>();
}

absl::StatusOr<bool> OptionalBool(const json& loc, const char* field) {
  if (!loc.contains(field) || loc[field].is_null()) return false;
  if (!loc[field].is_boolean())
    return absl::InvalidArgumentError(absl::StrCat("s3.", field, ": must be true or false"));
  return loc[field].get<bool>();
}

// A Secret reference {name, key}; "" when the field is absent.
absl::StatusOr<std::string> ResolveSecret(const json& loc, const char* field,
                                          const DriverOptions& options, bool* present) {
  *present = false;
  if (!loc.contains(field) || loc[field].is_null()) return std::string();
  const json& ref = loc[field];
  if (!ref.is_object() || !ref.contains("name") || !ref["name"].is_string() ||
      !ref.contains("key") || !ref["key"].is_string() || ref["name"].get<std::string>().empty() ||
      ref["key"].get<std::string>().empty())
    return absl::InvalidArgumentError(absl::StrCat("s3.", field, ": needs a Secret name and key"));
  if (!options.secrets)
    return absl::FailedPreconditionError(
        absl::StrCat("s3.", field, ": no Secret resolver configured"));
  const std::string name = ref["name"].get<std::string>();
  const std::string key = ref["key"].get<std::string>();
  absl::StatusOr<std::string> value = options.secrets(name, key);
  if (!value.ok())
    return absl::Status(value.status().code(),
                        absl::StrCat("s3.", field, " (Secret ", name, " key ", key,
                                     "): ", value.status().message()));
  *present = true;
  return value;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string TrimSlashes(std::string key) {
  while (!key.empty() && key.back() == '/') key.pop_back();
  return key;
}

// A key below the prefix, as a path under the destination: no absolute
// paths, no "..", no empty or "." components.
absl::Status CheckRelative(const std::string& rel, const std::string& full_key) {
  if (rel.empty() || rel.front() == '/')
    return absl::InvalidArgumentError(absl::StrCat("s3: unsafe key \"", full_key, "\""));
  for (absl::string_view part : absl::StrSplit(rel, '/')) {
    if (part.empty() || part == "." || part == "..")
      return absl::InvalidArgumentError(
          absl::StrCat("s3: unsafe key \"", full_key, "\" (empty, '.' or '..' component)"));
  }
  return absl::OkStatus();
}

class S3Driver : public Driver {
 public:
  S3Driver(json base, DriverOptions options, S3DriverTuning tuning)
      : base_(std::move(base)), options_(std::move(options)), tuning_(std::move(tuning)) {}

  absl::Status Load(const json& artifact, const std::string& dst) override {
    absl::StatusOr<Target> t = TargetOf(artifact);
    if (!t.ok()) return t.status();
    if (t->key.back() != '/') {
      absl::Status s = t->client->GetToFile(t->key, dst);
      if (!absl::IsNotFound(s)) return s;
    }
    // Not an object: a "directory" of objects under key/.
    const std::string prefix = TrimSlashes(t->key) + "/";
    absl::StatusOr<std::vector<ObjectInfo>> objects = t->client->List(prefix);
    if (!objects.ok()) return objects.status();
    if (objects->empty())
      return absl::NotFoundError(
          absl::StrCat("s3: no object or prefix ", t->client->config().bucket, "/", t->key));
    // Every key is checked before anything is written.
    std::vector<std::pair<std::string, std::string>> files;  // key, relative path
    for (const ObjectInfo& o : *objects) {
      std::string rel = o.key.substr(prefix.size());
      if (!rel.empty() && rel.back() == '/') continue;  // a folder marker
      if (absl::Status s = CheckRelative(rel, o.key); !s.ok()) return s;
      files.emplace_back(o.key, std::move(rel));
    }
    std::error_code ec;
    fs::create_directories(dst, ec);
    if (ec)
      return absl::FailedPreconditionError(absl::StrCat("s3: mkdir ", dst, ": ", ec.message()));
    for (const auto& [key, rel] : files) {
      const fs::path path = fs::path(dst) / rel;
      fs::create_directories(path.parent_path(), ec);
      if (ec)
        return absl::FailedPreconditionError(
            absl::StrCat("s3: mkdir ", path.parent_path().string(), ": ", ec.message()));
      if (absl::Status s = t->client->GetToFile(key, path.string()); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status OpenStream(const json& artifact, const ChunkSink& sink) override {
    absl::StatusOr<Target> t = TargetOf(artifact);
    if (!t.ok()) return t.status();
    return t->client->Get(t->key, sink);
  }

  absl::Status Save(const std::string& src, const json& artifact) override {
    absl::StatusOr<Target> t = TargetOf(artifact);
    if (!t.ok()) return t.status();
    if (absl::Status s = EnsureBucket(*t); !s.ok()) return s;
    struct stat st {};
    if (lstat(src.c_str(), &st) != 0)
      return absl::NotFoundError(absl::StrCat("s3: ", src, " does not exist"));
    if (S_ISREG(st.st_mode)) return t->client->PutFile(t->key, src);
    if (!S_ISDIR(st.st_mode))
      return absl::InvalidArgumentError(
          absl::StrCat("s3: ", src, " is neither a regular file nor a directory"));
    const std::string prefix = TrimSlashes(t->key) + "/";
    std::error_code ec;
    int skipped = 0;
    for (fs::recursive_directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::file_status s = it->symlink_status();
      if (fs::is_symlink(s)) {
        ++skipped;
        continue;
      }
      if (!fs::is_regular_file(s)) continue;
      const std::string rel = fs::relative(it->path(), src).generic_string();
      if (absl::Status put = t->client->PutFile(prefix + rel, it->path().string()); !put.ok())
        return put;
    }
    if (ec) return absl::DataLossError(absl::StrCat("s3: walking ", src, ": ", ec.message()));
    if (skipped > 0)
      LogWarn("artifacts.s3", "symbolic links not uploaded",
              {{"dir", src}, {"count", std::to_string(skipped)}});
    return absl::OkStatus();
  }

  absl::Status Delete(const json& artifact) override {
    absl::StatusOr<Target> t = TargetOf(artifact);
    if (!t.ok()) return t.status();
    if (t->key.back() != '/') {
      if (absl::Status s = t->client->Delete(t->key); !s.ok()) return s;
    }
    absl::StatusOr<std::vector<ObjectInfo>> under = t->client->List(TrimSlashes(t->key) + "/");
    if (!under.ok()) return under.status();
    for (const ObjectInfo& o : *under)
      if (absl::Status s = t->client->Delete(o.key); !s.ok()) return s;
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListObjects(const json& artifact) override {
    absl::StatusOr<Target> t = TargetOf(artifact);
    if (!t.ok()) return t.status();
    const std::string key = TrimSlashes(t->key);
    absl::StatusOr<std::vector<ObjectInfo>> all = t->client->List(key);
    if (!all.ok()) return all.status();
    std::vector<std::string> keys;
    for (const ObjectInfo& o : *all)
      if (o.key == key || absl::StartsWith(o.key, key + "/")) keys.push_back(o.key);
    return keys;
  }

 private:
  struct Target {
    S3Client* client;
    std::string key;
    bool create_bucket;
  };

  absl::StatusOr<Target> TargetOf(const json& artifact) {
    json loc = base_;
    if (artifact.is_object() && artifact.contains("s3")) {
      if (!artifact["s3"].is_object())
        return absl::InvalidArgumentError("s3: the artifact's s3 location must be an object");
      for (const auto& [k, v] : artifact["s3"].items()) loc[k] = v;
    } else if (!(artifact.is_object() && artifact.empty())) {
      return absl::InvalidArgumentError(
          absl::StrCat("s3: artifact ", artifact.is_object() ? artifact.value("name", "") : "",
                       " has no s3 location"));
    }
    absl::StatusOr<std::string> key = OptionalString(loc, "key");
    if (!key.ok()) return key.status();
    if (TrimSlashes(*key).empty())
      return absl::InvalidArgumentError("s3.key: required (the object's key in the bucket)");
    json id = loc;
    id.erase("key");
    const std::string id_text = id.dump();
    if (client_ == nullptr || id_text != client_id_) {
      absl::StatusOr<std::unique_ptr<S3Client>> c = NewClient(loc);
      if (!c.ok()) return c.status();
      client_ = std::move(*c);
      client_id_ = id_text;
      bucket_checked_ = false;
    }
    const bool create = loc.contains("createBucketIfNotPresent") &&
                        !loc["createBucketIfNotPresent"].is_null() &&
                        !(loc["createBucketIfNotPresent"].is_boolean() &&
                          !loc["createBucketIfNotPresent"].get<bool>());
    return Target{client_.get(), *key, create};
  }

  absl::Status EnsureBucket(const Target& t) {
    if (!t.create_bucket || bucket_checked_) return absl::OkStatus();
    absl::StatusOr<bool> exists = t.client->BucketExists();
    if (!exists.ok()) return exists.status();
    if (!*exists) {
      if (absl::Status s = t.client->CreateBucket(); !s.ok()) return s;
    }
    bucket_checked_ = true;
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<S3Client>> NewClient(const json& loc) {
    S3Config c;
    c.multipart_threshold = tuning_.multipart_threshold;
    c.part_size = tuning_.part_size;
    c.max_attempts = tuning_.max_attempts;
    c.sleep = tuning_.sleep;
    absl::StatusOr<std::string> endpoint = OptionalString(loc, "endpoint");
    if (!endpoint.ok()) return endpoint.status();
    absl::StatusOr<std::string> bucket = OptionalString(loc, "bucket");
    if (!bucket.ok()) return bucket.status();
    if (bucket->empty()) return absl::InvalidArgumentError("s3.bucket: required");
    absl::StatusOr<std::string> region = OptionalString(loc, "region");
    if (!region.ok()) return region.status();
    absl::StatusOr<bool> insecure = OptionalBool(loc, "insecure");
    if (!insecure.ok()) return insecure.status();
    absl::StatusOr<bool> sdk = OptionalBool(loc, "useSDKCreds");
    if (!sdk.ok()) return sdk.status();
    c.endpoint = *endpoint;
    c.bucket = *bucket;
    c.insecure = *insecure;
    // A custom endpoint (MinIO, s3rver, ...) gets path-style requests; AWS's
    // own, virtual-hosted ones, as AWS recommends.
    c.path_style = !(endpoint->empty() || absl::EndsWith(*endpoint, "amazonaws.com"));
    if (*sdk) {
      c.access_key = Env("AWS_ACCESS_KEY_ID");
      c.secret_key = Env("AWS_SECRET_ACCESS_KEY");
      c.session_token = Env("AWS_SESSION_TOKEN");
      if (c.access_key.empty() || c.secret_key.empty())
        return absl::FailedPreconditionError(
            "s3.useSDKCreds: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (instance "
            "profiles and web identity are not supported)");
      if (region->empty()) *region = Env("AWS_REGION");
    } else {
      bool has_access = false, has_secret = false, has_token = false;
      absl::StatusOr<std::string> access =
          ResolveSecret(loc, "accessKeySecret", options_, &has_access);
      if (!access.ok()) return access.status();
      absl::StatusOr<std::string> secret =
          ResolveSecret(loc, "secretKeySecret", options_, &has_secret);
      if (!secret.ok()) return secret.status();
      if (has_access != has_secret)
        return absl::InvalidArgumentError(
            "s3: accessKeySecret and secretKeySecret go together (give both or neither)");
      absl::StatusOr<std::string> token =
          ResolveSecret(loc, "sessionTokenSecret", options_, &has_token);
      if (!token.ok()) return token.status();
      c.access_key = *access;
      c.secret_key = *secret;
      c.session_token = *token;
    }
    c.region = region->empty() ? "us-east-1" : *region;
    bool has_ca = false;
    absl::StatusOr<std::string> ca = ResolveSecret(loc, "caSecret", options_, &has_ca);
    if (!ca.ok()) return ca.status();
    c.ca_pem = *ca;
    if (loc.contains("encryptionOptions") && !loc["encryptionOptions"].is_null())
      LogWarn("artifacts.s3",
              "s3.encryptionOptions is not supported; objects are stored unencrypted",
              {{"bucket", c.bucket}});
    return S3Client::Create(std::move(c));
  }

  json base_;
  DriverOptions options_;
  S3DriverTuning tuning_;
  std::unique_ptr<S3Client> client_;
  std::string client_id_;
  bool bucket_checked_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Driver>> MakeS3Driver(const json& s3_location,
                                                     const DriverOptions& options) {
  return MakeS3Driver(s3_location, options, S3DriverTuning{});
}

absl::StatusOr<std::unique_ptr<Driver>> MakeS3Driver(const json& s3_location,
                                                     const DriverOptions& options,
                                                     const S3DriverTuning& tuning) {
  if (!s3_location.is_object())
    return absl::InvalidArgumentError("s3: the location must be an object");
  // The rest is checked (and Secrets resolved) on the first call, which
  // knows the artifact's own fields.
  if (s3_location.contains("bucket") && !s3_location["bucket"].is_string())
    return absl::InvalidArgumentError("s3.bucket: must be a string");
  return std::unique_ptr<Driver>(new S3Driver(s3_location, options, tuning));
}

}  // namespace argonaut::artifacts::s3
