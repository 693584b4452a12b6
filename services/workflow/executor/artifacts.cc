// Pure half of argoexec's artifacts: plans, keys, member paths, tar headers.
#include "services/workflow/executor/artifacts.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace argonaut::workflow::executor {
namespace {

using nlohmann::json;

constexpr size_t kMaxKeyBytes = 1024;
// Location kinds Argo knows but the local repository cannot reach.
constexpr const char* kForeignLocations[] = {"s3",          "gcs", "azure", "oss",   "hdfs",
                                             "artifactory", "git", "http",  "plugin"};

std::string Field(const char* list, size_t i, const std::string& name, const char* field) {
  return absl::StrCat(list, "[", i, "]", name.empty() ? "" : " (" + name + ")",
                      *field != '\0' ? "." : "", field);
}

absl::Status ForeignLocation(const json& a, const char* list, size_t i, const std::string& name) {
  for (const char* kind : kForeignLocations) {
    if (a.contains(kind)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Field(list, i, name, kind),
                       ": this artifact location is not supported; only raw artifacts and the "
                       "local artifact repository are"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AbsolutePath(const json& a, const char* list, size_t i,
                                         const std::string& name) {
  const json p = a.value("path", json(""));
  if (!p.is_string() || p.get<std::string>().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Field(list, i, name, "path"), ": is required"));
  }
  const std::string path = p.get<std::string>();
  if (path[0] != '/' || path.find('\0') != std::string::npos || path.size() > kMaxTarNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(Field(list, i, name, "path"), ": \"", path, "\" is not an absolute path"));
  }
  std::string clean = std::filesystem::path(path).lexically_normal().string();
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  if (clean == "/") {
    return absl::InvalidArgumentError(absl::StrCat(Field(list, i, name, "path"), ": may not be /"));
  }
  return clean;
}

// Octal digits of a tar numeric field; base-256 (GNU) for large sizes.
absl::StatusOr<uint64_t> ParseNumber(std::string_view f) {
  if (!f.empty() && (static_cast<unsigned char>(f[0]) & 0x80)) {
    uint64_t v = static_cast<unsigned char>(f[0]) & 0x7f;
    for (size_t i = 1; i < f.size(); ++i) {
      if (v > (UINT64_MAX >> 8)) return absl::InvalidArgumentError("tar: number too large");
      v = (v << 8) | static_cast<unsigned char>(f[i]);
    }
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < f.size() && (f[i] == ' ' || f[i] == '\0')) ++i;
  for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v > (UINT64_MAX >> 3)) return absl::InvalidArgumentError("tar: number too large");
    v = v * 8 + static_cast<uint64_t>(f[i] - '0');
  }
  for (; i < f.size(); ++i) {
    if (f[i] != ' ' && f[i] != '\0') return absl::InvalidArgumentError("tar: bad number field");
  }
  return v;
}

std::string CString(std::string_view f) { return std::string(f.substr(0, f.find('\0'))); }

void PutOctal(char* dst, size_t width, uint64_t v) {
  // width includes the terminating NUL; digits are filled from the right
  // (callers keep v within width - 1 octal digits).
  dst[width - 1] = '\0';
  for (size_t i = width - 1; i > 0; --i) {
    dst[i - 1] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
}

}  // namespace

absl::Status ValidateRepositoryKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact key: must be 1 to ", kMaxKeyBytes, " bytes"));
  }
  if (key.find('\0') != std::string_view::npos || key[0] == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact key \"", std::string(key), "\": must be a relative path"));
  }
  for (absl::string_view part : absl::StrSplit(absl::string_view(key.data(), key.size()), '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("artifact key \"", std::string(key),
                                                     "\": empty, \".\" or \"..\" component"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SafeMemberPath(std::string_view name) {
  if (name.size() > kMaxTarNameBytes || name.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("tar member name is too long or holds a NUL byte");
  }
  if (!name.empty() && name[0] == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("tar member \"", std::string(name), "\": absolute path"));
  }
  std::vector<std::string> parts;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(name.data(), name.size()), '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("tar member \"", std::string(name), "\": \"..\" component"));
    }
    parts.emplace_back(part);
  }
  if (parts.empty()) return std::string(".");
  return absl::StrJoin(parts, "/");
}

absl::StatusOr<std::vector<InputArtifactPlan>> PlanInputArtifacts(const json& tmpl) {
  std::vector<InputArtifactPlan> out;
  if (!tmpl.is_object() || !tmpl.contains("inputs") || !tmpl["inputs"].is_object()) return out;
  const json& list = tmpl["inputs"].value("artifacts", json::array());
  if (!list.is_array()) return absl::InvalidArgumentError("inputs.artifacts: not a list");
  for (size_t i = 0; i < list.size(); ++i) {
    const json& a = list[i];
    if (!a.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Field("inputs.artifacts", i, "", ""), ": not an object"));
    }
    InputArtifactPlan p;
    p.name = a.value("name", json("")).is_string() ? a.value("name", "") : "";
    if (p.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Field("inputs.artifacts", i, "", "name"), ": is required"));
    }
    if (absl::Status s = ForeignLocation(a, "inputs.artifacts", i, p.name); !s.ok()) return s;
    const bool optional = a.value("optional", json(false)) == json(true);
    if (a.contains("raw")) {
      const json& raw = a["raw"];
      if (!raw.is_object() || !raw.contains("data") || !raw["data"].is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Field("inputs.artifacts", i, p.name, "raw.data"), ": must be a string"));
      }
      p.from_raw = true;
      p.raw_data = raw["data"].get<std::string>();
    } else if (a.contains("local")) {
      const json& loc = a["local"];
      const json k = loc.is_object() ? loc.value("key", json("")) : json("");
      p.key = k.is_string() ? k.get<std::string>() : "";
      if (absl::Status s = ValidateRepositoryKey(p.key); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Field("inputs.artifacts", i, p.name, "local.key"), ": ", s.message()));
      }
      p.archived =
          !(a.contains("archive") && a["archive"].is_object() && a["archive"].contains("none"));
    } else if (optional) {
      continue;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(Field("inputs.artifacts", i, p.name, ""),
                                                     ": has no location (raw, from or local)"));
    }
    absl::StatusOr<std::string> path = AbsolutePath(a, "inputs.artifacts", i, p.name);
    if (!path.ok()) return path.status();
    p.path = *path;
    if (a.contains("subPath") && a["subPath"].is_string() &&
        !a["subPath"].get<std::string>().empty()) {
      const std::string sub = a["subPath"].get<std::string>();
      absl::StatusOr<std::string> clean = SafeMemberPath(sub);
      if (!clean.ok() || sub[0] == '/') {
        return absl::InvalidArgumentError(
            absl::StrCat(Field("inputs.artifacts", i, p.name, "subPath"), ": \"", sub,
                         "\" must be a relative path without \"..\""));
      }
      if (*clean != ".") p.sub_path = *clean;
    }
    if (a.contains("mode")) {
      const json& m = a["mode"];
      if (!m.is_number_integer() || m.get<int64_t>() < 0 || m.get<int64_t>() > 07777) {
        return absl::InvalidArgumentError(absl::StrCat(Field("inputs.artifacts", i, p.name, "mode"),
                                                       ": must be an integer from 0 to 4095"));
      }
      p.mode = static_cast<uint32_t>(m.get<int64_t>());
      p.recurse_mode = a.value("recurseMode", json(false)) == json(true);
    }
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::vector<OutputArtifactPlan>> PlanOutputArtifacts(const json& tmpl) {
  std::vector<OutputArtifactPlan> out;
  if (!tmpl.is_object() || !tmpl.contains("outputs") || !tmpl["outputs"].is_object()) return out;
  const json& list = tmpl["outputs"].value("artifacts", json::array());
  if (!list.is_array()) return absl::InvalidArgumentError("outputs.artifacts: not a list");
  if (list.empty()) return out;
  std::string base;
  if (tmpl.contains("archiveLocation") && tmpl["archiveLocation"].is_object()) {
    const json& loc = tmpl["archiveLocation"].value("local", json::object());
    if (loc.is_object() && loc.contains("key") && loc["key"].is_string()) {
      base = loc["key"].get<std::string>();
    }
  }
  if (base.empty()) {
    return absl::FailedPreconditionError(
        "outputs.artifacts: no artifact repository is configured (archiveLocation.local.key)");
  }
  if (absl::Status s = ValidateRepositoryKey(base); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("archiveLocation.local.key: ", s.message()));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const json& a = list[i];
    if (!a.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Field("outputs.artifacts", i, "", ""), ": not an object"));
    }
    OutputArtifactPlan p;
    p.name = a.value("name", json("")).is_string() ? a.value("name", "") : "";
    if (p.name.empty() || p.name.find('/') != std::string::npos || p.name == "." ||
        p.name == "..") {
      return absl::InvalidArgumentError(absl::StrCat(Field("outputs.artifacts", i, p.name, "name"),
                                                     ": must be a non-empty name without '/'"));
    }
    if (absl::Status s = ForeignLocation(a, "outputs.artifacts", i, p.name); !s.ok()) return s;
    if (a.contains("raw")) {
      return absl::InvalidArgumentError(absl::StrCat(Field("outputs.artifacts", i, p.name, "raw"),
                                                     ": an output artifact cannot be raw"));
    }
    absl::StatusOr<std::string> path = AbsolutePath(a, "outputs.artifacts", i, p.name);
    if (!path.ok()) return path.status();
    p.path = *path;
    p.optional = a.value("optional", json(false)) == json(true);
    const json archive = a.value("archive", json::object());
    if (!archive.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Field("outputs.artifacts", i, p.name, "archive"), ": not an object"));
    }
    if (archive.contains("zip")) {
      return absl::InvalidArgumentError(
          absl::StrCat(Field("outputs.artifacts", i, p.name, "archive.zip"),
                       ": zip archives are not supported"));
    }
    p.archived = !archive.contains("none");
    if (p.archived && archive.contains("tar") && archive["tar"].is_object() &&
        archive["tar"].contains("compressionLevel")) {
      const json& lvl = archive["tar"]["compressionLevel"];
      if (!lvl.is_number_integer() || lvl.get<int64_t>() < -1 || lvl.get<int64_t>() > 9) {
        return absl::InvalidArgumentError(
            absl::StrCat(Field("outputs.artifacts", i, p.name, "archive.tar.compressionLevel"),
                         ": must be an integer from -1 to 9"));
      }
      p.compression_level = static_cast<int>(lvl.get<int64_t>());
    }
    const std::string file =
        p.archived ? p.name + ".tgz" : std::filesystem::path(p.path).filename().string();
    p.key = absl::StrCat(base, "/", file);
    if (absl::Status s = ValidateRepositoryKey(p.key); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Field("outputs.artifacts", i, p.name, "path"), ": ", s.message()));
    }
    p.record = {{"name", p.name}, {"path", p.path}, {"local", {{"key", p.key}}}};
    if (!p.archived) p.record["archive"] = {{"none", json::object()}};
    out.push_back(std::move(p));
  }
  return out;
}

std::string EncodeTarHeader(const TarHeader& h) {
  std::string b(512, '\0');
  std::memcpy(&b[0], h.name.data(), std::min<size_t>(h.name.size(), 100));
  PutOctal(&b[100], 8, h.mode & 07777);
  PutOctal(&b[108], 8, 0);
  PutOctal(&b[116], 8, 0);
  PutOctal(&b[124], 12, h.size);
  PutOctal(&b[136], 12, static_cast<uint64_t>(h.mtime < 0 ? 0 : h.mtime));
  std::memset(&b[148], ' ', 8);
  b[156] = h.type;
  std::memcpy(&b[157], h.link.data(), std::min<size_t>(h.link.size(), 100));
  std::memcpy(&b[257], "ustar", 6);
  b[263] = '0';
  b[264] = '0';
  unsigned sum = 0;
  for (char c : b) sum += static_cast<unsigned char>(c);
  std::snprintf(&b[148], 8, "%06o", sum);
  b[155] = ' ';
  return b;
}

absl::StatusOr<TarHeader> DecodeTarHeader(std::string_view block) {
  if (block.size() != 512) return absl::InvalidArgumentError("tar: short header block");
  bool zero = true;
  for (char c : block) zero = zero && c == '\0';
  if (zero) return absl::NotFoundError("tar: end of archive");
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
  }
  absl::StatusOr<uint64_t> want = ParseNumber(block.substr(148, 8));
  if (!want.ok() || *want != sum) return absl::InvalidArgumentError("tar: bad header checksum");
  TarHeader h;
  h.name = CString(block.substr(0, 100));
  if (block.substr(257, 5) == "ustar") {
    const std::string prefix = CString(block.substr(345, 155));
    if (!prefix.empty()) h.name = prefix + "/" + h.name;
  }
  h.type = block[156] == '\0' ? '0' : block[156];
  h.link = CString(block.substr(157, 100));
  absl::StatusOr<uint64_t> size = ParseNumber(block.substr(124, 12));
  absl::StatusOr<uint64_t> mode = ParseNumber(block.substr(100, 8));
  absl::StatusOr<uint64_t> mtime = ParseNumber(block.substr(136, 12));
  if (!size.ok() || !mode.ok() || !mtime.ok()) {
    return absl::InvalidArgumentError("tar: bad numeric field in header");
  }
  h.size = *size;
  h.mode = static_cast<uint32_t>(*mode & 07777);
  h.mtime = static_cast<int64_t>(*mtime & 0x7fffffffffffffffULL);
  return h;
}

std::string RepositoryRoot(const char* mount_env, const char* host_env) {
  std::error_code ec;
  if (host_env != nullptr && *host_env != '\0' && std::filesystem::is_directory(host_env, ec)) {
    return host_env;
  }
  if (mount_env != nullptr && *mount_env != '\0') return mount_env;
  return host_env != nullptr ? host_env : "";
}

}  // namespace argonaut::workflow::executor
