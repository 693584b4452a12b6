#include "lib/cluster/kubelet/volumes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"

namespace argonaut::cluster::kubelet {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Keys become file names: refuse anything that could climb out of the
// volume directory.
bool SafeFileName(const std::string& key) {
  return !key.empty() && key != "." && key != ".." && key.find('/') == std::string::npos &&
         key.find('\0') == std::string::npos;
}

bool SafeRelativePath(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  for (const fs::path& part : fs::path(p)) {
    if (part == "..") return false;
  }
  return true;
}

// Secret files are 0600 from the moment they exist (no window in which the
// umask's mode applies); a link planted at the name is not followed.
absl::Status WriteFile(const fs::path& file, const std::string& content, mode_t mode) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", file.string()));
  bool ok = fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < content.size();) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = close(fd) == 0 && ok;
  if (!ok) return absl::InternalError(absl::StrCat("cannot write ", file.string()));
  return absl::OkStatus();
}

// Writes the keys of a ConfigMap/Secret into `dir`, honouring `items`.
absl::Status Project(const json& source, const json& data, bool base64, const fs::path& dir,
                     const std::string& path, mode_t mode) {
  std::map<std::string, std::string> values;
  if (data.is_object()) {
    for (const auto& [k, v] : data.items()) {
      if (!v.is_string()) continue;
      std::string value = v.get<std::string>();
      if (base64) {
        std::string decoded;
        if (!absl::Base64Unescape(value, &decoded)) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ": data key \"", k, "\" is not valid base64"));
        }
        value = std::move(decoded);
      }
      values[k] = std::move(value);
    }
  }
  if (source.contains("items") && source["items"].is_array()) {
    size_t i = 0;
    for (const json& item : source["items"]) {
      const std::string key = item.value("key", "");
      const std::string rel = item.value("path", "");
      if (!SafeRelativePath(rel)) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ".items[", i, "].path: must be a relative path without '..'"));
      }
      auto it = values.find(key);
      if (it == values.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ".items[", i, "].key: \"", key, "\" not found"));
      }
      RETURN_IF_ERROR(WriteFile(dir / rel, it->second, mode));
      ++i;
    }
    return absl::OkStatus();
  }
  for (const auto& [k, v] : values) {
    if (!SafeFileName(k)) continue;
    RETURN_IF_ERROR(WriteFile(dir / k, v, mode));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> PrepareVolumes(const json& pod,
                                                                  const std::string& pod_dir,
                                                                  const ObjectLookup& lookup) {
  std::map<std::string, std::string> out;
  const json spec = pod.value("spec", json::object());
  if (!spec.contains("volumes") || !spec["volumes"].is_array()) return out;
  size_t i = 0;
  for (const json& v : spec["volumes"]) {
    const std::string path = absl::StrCat("spec.volumes[", i++, "]");
    const std::string name = v.is_object() ? v.value("name", "") : "";
    if (!SafeFileName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".name: invalid volume name"));
    }
    const fs::path dir = fs::path(pod_dir) / "volumes" / name;
    std::error_code ec;
    if (v.contains("hostPath")) {
      const std::string host = v["hostPath"].value("path", "");
      if (host.empty() || host[0] != '/') {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ".hostPath.path: must be an absolute path"));
      }
      fs::create_directories(host, ec);
      out[name] = host;
      continue;
    }
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir.string()));
    if (v.contains("configMap") || v.contains("secret")) {
      const bool secret = v.contains("secret");
      const json& src = secret ? v["secret"] : v["configMap"];
      const std::string obj_name =
          secret ? src.value("secretName", "") : src.value("name", std::string());
      const std::string field = absl::StrCat(path, secret ? ".secret" : ".configMap");
      std::optional<json> obj = lookup(secret ? "Secret" : "ConfigMap", obj_name);
      if (!obj) {
        if (src.value("optional", false)) {
          out[name] = dir.string();
          continue;
        }
        return absl::FailedPreconditionError(absl::StrCat(
            field, ": ", secret ? "secret" : "configmap", " \"", obj_name, "\" not found"));
      }
      const mode_t mode = secret ? 0600 : 0644;
      RETURN_IF_ERROR(Project(src, obj->value("data", json::object()), secret, dir, field, mode));
      if (secret) {
        RETURN_IF_ERROR(Project(src.contains("items") ? json::object() : src,
                                obj->value("stringData", json::object()), false, dir, field, mode));
      }
    }
    // emptyDir and anything else (downwardAPI, projected...) start empty.
    out[name] = dir.string();
  }
  return out;
}

absl::StatusOr<std::vector<VolumeMount>> ContainerMounts(
    const json& container, const std::map<std::string, std::string>& volumes,
    const std::string& path) {
  std::vector<VolumeMount> out;
  if (!container.contains("volumeMounts") || !container["volumeMounts"].is_array()) return out;
  size_t i = 0;
  for (const json& m : container["volumeMounts"]) {
    const std::string field = absl::StrCat(path, ".volumeMounts[", i++, "]");
    const std::string name = m.value("name", "");
    auto it = volumes.find(name);
    if (it == volumes.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: no volume named \"", name, "\""));
    }
    const std::string mount_path = m.value("mountPath", "");
    if (mount_path.empty() || mount_path[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".mountPath: must be an absolute path"));
    }
    std::string host = it->second;
    const std::string sub = m.value("subPath", "");
    if (!sub.empty()) {
      if (!SafeRelativePath(sub)) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".subPath: must be a relative path without '..'"));
      }
      host = (fs::path(host) / sub).string();
      std::error_code ec;
      if (!fs::exists(host, ec)) fs::create_directories(host, ec);
    }
    out.push_back({host, mount_path, m.value("readOnly", false)});
  }
  return out;
}

}  // namespace argonaut::cluster::kubelet
