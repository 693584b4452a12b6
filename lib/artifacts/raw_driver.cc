#include "lib/artifacts/raw_driver.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace argonaut::artifacts {
namespace {

absl::StatusOr<std::string> RawData(const nlohmann::json& artifact) {
  const nlohmann::json& loc =
      artifact.is_object() && artifact.contains("raw") ? artifact["raw"] : artifact;
  if (!loc.is_object() || !loc.contains("data") || !loc["data"].is_string()) {
    return absl::InvalidArgumentError("raw.data: required, a string");
  }
  return loc["data"].get<std::string>();
}

class RawDriver : public Driver {
 public:
  absl::Status Load(const nlohmann::json& artifact, const std::string& dst) override {
    auto data = RawData(artifact);
    if (!data.ok()) return data.status();
    int fd = open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::InternalError(absl::StrCat("raw artifact: create ", dst, ": ", strerror(errno)));
    }
    std::string_view rest = *data;
    absl::Status s;
    while (!rest.empty()) {
      ssize_t n = write(fd, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        s = absl::InternalError(absl::StrCat("raw artifact: write ", dst, ": ", strerror(errno)));
        break;
      }
      rest.remove_prefix(static_cast<size_t>(n));
    }
    if (close(fd) != 0 && s.ok()) {
      s = absl::InternalError(absl::StrCat("raw artifact: close ", dst, ": ", strerror(errno)));
    }
    return s;
  }

  absl::Status OpenStream(const nlohmann::json& artifact, const ChunkSink& sink) override {
    auto data = RawData(artifact);
    if (!data.ok()) return data.status();
    return sink(*data);
  }

  absl::Status Save(const std::string&, const nlohmann::json&) override {
    return absl::UnimplementedError("raw: a raw artifact cannot be written (it is input only)");
  }

  absl::Status Delete(const nlohmann::json&) override {
    return absl::UnimplementedError("raw: a raw artifact is not stored anywhere to delete");
  }

  absl::StatusOr<std::vector<std::string>> ListObjects(const nlohmann::json&) override {
    return std::vector<std::string>{};
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Driver>> MakeRawDriver(const nlohmann::json& artifact,
                                                      const DriverOptions&) {
  auto data = RawData(artifact);
  if (!data.ok()) return data.status();
  return std::unique_ptr<Driver>(new RawDriver());
}

}  // namespace argonaut::artifacts
