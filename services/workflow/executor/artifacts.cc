// Pure half of argoexec's artifacts: plans, keys, complete locations.
#include "services/workflow/executor/artifacts.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "lib/artifacts/beneath.h"

namespace argonaut::workflow::executor {
namespace {

using nlohmann::json;

// Location fields an artifact may have (Argo's, and our `local`).
constexpr const char* kLocations[] = {"s3",  "gcs",         "azure", "oss",   "hdfs",  "http",
                                      "git", "artifactory", "raw",   "local", "plugin"};
// Kinds with a driver (the rest are refused when planned, naming the field).
constexpr const char* kSupported[] = {"s3", "http", "git", "raw", "local"};

std::string Field(const char* list, size_t i, const std::string& name, const char* field) {
  return absl::StrCat(list, "[", i, "]", name.empty() ? "" : " (" + name + ")",
                      *field != '\0' ? "." : "", field);
}

// The artifact's one location field, "" when it has none.
absl::StatusOr<std::string> KindOf(const json& a, const char* list, size_t i,
                                   const std::string& name) {
  std::string kind;
  for (const char* k : kLocations) {
    if (!a.contains(k) || a[k].is_null()) continue;
    if (!kind.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          Field(list, i, name, ""), ": has more than one location (", kind, ", ", k, ")"));
    }
    kind = k;
  }
  if (kind.empty()) return kind;
  bool supported = false;
  for (const char* k : kSupported) supported = supported || kind == k;
  if (!supported) {
    return absl::InvalidArgumentError(
        absl::StrCat(Field(list, i, name, kind.c_str()),
                     ": this artifact location is not supported (s3, http, git, raw and the "
                     "local repository are)"));
  }
  if (!a[kind].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Field(list, i, name, kind.c_str()), ": not an object"));
  }
  return kind;
}

absl::StatusOr<std::string> AbsolutePath(const json& a, const char* list, size_t i,
                                         const std::string& name) {
  const json p = a.value("path", json(""));
  if (!p.is_string() || p.get<std::string>().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Field(list, i, name, "path"), ": is required"));
  }
  const std::string path = p.get<std::string>();
  if (path[0] != '/' || path.find('\0') != std::string::npos ||
      path.size() > artifacts::kMaxNameBytes) {
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

// archiveLocation's kind and location object (with its key), from the template.
struct Repository {
  std::string kind;
  json location;
  std::string key;
};

absl::StatusOr<Repository> ArchiveLocation(const json& tmpl, const char* what) {
  const json loc = tmpl.is_object() ? tmpl.value("archiveLocation", json::object()) : json();
  Repository repo;
  if (loc.is_object()) {
    for (const char* k : kLocations) {
      if (loc.contains(k) && loc[k].is_object()) {
        repo.kind = k;
        repo.location = loc[k];
        break;
      }
    }
  }
  if (repo.kind.empty() || !repo.location.contains("key") || !repo.location["key"].is_string() ||
      repo.location["key"].get<std::string>().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": no artifact repository is configured (archiveLocation.<kind>.key)"));
  }
  repo.key = repo.location["key"].get<std::string>();
  while (!repo.key.empty() && repo.key.back() == '/') repo.key.pop_back();
  if (repo.kind == "local") {
    if (absl::Status s = artifacts::ValidateKey(repo.key); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("archiveLocation.local.key: ", s.message()));
    }
  } else if (repo.kind == "raw" || repo.kind == "git") {
    return absl::InvalidArgumentError(
        absl::StrCat("archiveLocation.", repo.kind, ": outputs cannot be stored there"));
  }
  return repo;
}

}  // namespace

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
    absl::StatusOr<std::string> kind = KindOf(a, "inputs.artifacts", i, p.name);
    if (!kind.ok()) return kind.status();
    const bool optional = a.value("optional", json(false)) == json(true);
    if (kind->empty()) {
      if (optional) continue;
      return absl::InvalidArgumentError(absl::StrCat(Field("inputs.artifacts", i, p.name, ""),
                                                     ": has no location (raw, from, s3, ...)"));
    }
    p.kind = *kind;
    p.artifact = a;
    absl::StatusOr<artifacts::ArchiveStrategy> how = artifacts::ParseArchiveStrategy(a);
    if (!how.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Field("inputs.artifacts", i, p.name, ""), " ", how.status().message()));
    }
    p.archived = how->format != artifacts::ArchiveFormat::kNone;
    if (p.kind == "raw") {
      const json& raw = a["raw"];
      if (!raw.contains("data") || !raw["data"].is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Field("inputs.artifacts", i, p.name, "raw.data"), ": must be a string"));
      }
      p.from_raw = true;
      p.raw_data = raw["data"].get<std::string>();
    } else if (p.kind == "local") {
      const json k = a["local"].value("key", json(""));
      p.key = k.is_string() ? k.get<std::string>() : "";
      if (absl::Status s = artifacts::ValidateKey(p.key); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Field("inputs.artifacts", i, p.name, "local.key"), ": ", s.message()));
      }
    }
    absl::StatusOr<std::string> path = AbsolutePath(a, "inputs.artifacts", i, p.name);
    if (!path.ok()) return path.status();
    p.path = *path;
    if (a.contains("subPath") && a["subPath"].is_string() &&
        !a["subPath"].get<std::string>().empty()) {
      const std::string sub = a["subPath"].get<std::string>();
      absl::StatusOr<std::string> clean = artifacts::SafeMemberPath(sub);
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
  std::optional<Repository> repo;  // looked up only when an output needs it
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
    absl::StatusOr<std::string> kind = KindOf(a, "outputs.artifacts", i, p.name);
    if (!kind.ok()) return kind.status();
    if (*kind == "raw" || *kind == "git") {
      return absl::InvalidArgumentError(
          absl::StrCat(Field("outputs.artifacts", i, p.name, kind->c_str()),
                       ": an output cannot be stored there"));
    }
    absl::StatusOr<std::string> path = AbsolutePath(a, "outputs.artifacts", i, p.name);
    if (!path.ok()) return path.status();
    p.path = *path;
    p.optional = a.value("optional", json(false)) == json(true);
    absl::StatusOr<artifacts::ArchiveStrategy> how = artifacts::ParseArchiveStrategy(a);
    if (!how.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Field("outputs.artifacts", i, p.name, ""), " ", how.status().message()));
    }
    p.archive = *how;
    p.record = a;
    p.record.erase("from");
    p.record.erase("fromExpression");
    // Its own location: a complete one the controller resolved (key-only ones it filled from
    // the repository). `local` is never the author's to choose.
    const bool own = !kind->empty() && *kind != "local" && a[*kind].contains("key") &&
                     a[*kind]["key"].is_string() && !a[*kind]["key"].get<std::string>().empty();
    const bool own_url = *kind == "http" && a["http"].contains("url");
    if (own || own_url) {
      p.kind = *kind;
      p.key = own ? a[*kind]["key"].get<std::string>() : "";
    } else {
      if (!repo.has_value()) {
        absl::StatusOr<Repository> r = ArchiveLocation(tmpl, "outputs.artifacts");
        if (!r.ok()) return r.status();
        repo = *std::move(r);
      }
      p.kind = repo->kind;
      const std::string file =
          p.archive.format == artifacts::ArchiveFormat::kNone
              ? std::filesystem::path(p.path).filename().string()
              : p.name + std::string(artifacts::ArchiveSuffix(p.archive.format));
      p.key = absl::StrCat(repo->key, "/", file);
      if (p.kind == "local") {
        if (absl::Status s = artifacts::ValidateKey(p.key); !s.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(Field("outputs.artifacts", i, p.name, "path"), ": ", s.message()));
        }
      }
      if (!kind->empty()) p.record.erase(*kind);
      json loc = repo->location;
      loc["key"] = p.key;
      p.record[p.kind] = std::move(loc);
    }
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::optional<OutputArtifactPlan>> PlanLogArtifact(const json& tmpl,
                                                                  const std::string& log_path) {
  if (!tmpl.is_object() || !tmpl.contains("archiveLocation") ||
      !tmpl["archiveLocation"].is_object() ||
      tmpl["archiveLocation"].value("archiveLogs", json(false)) != json(true)) {
    return std::nullopt;
  }
  absl::StatusOr<Repository> repo = ArchiveLocation(tmpl, "archiveLocation.archiveLogs");
  if (!repo.ok()) return repo.status();
  OutputArtifactPlan p;
  p.name = kMainLogsArtifact;
  p.path = log_path;
  p.kind = repo->kind;
  p.key = absl::StrCat(repo->key, "/", kMainLogFile);
  p.archive.format = artifacts::ArchiveFormat::kNone;
  json loc = repo->location;
  loc["key"] = p.key;
  p.record = {{"name", p.name}, {p.kind, std::move(loc)}};
  return p;
}

std::string RepositoryRoot(const char* mount_env, const char* host_env) {
  std::error_code ec;
  if (mount_env != nullptr && *mount_env != '\0' && std::filesystem::is_directory(mount_env, ec)) {
    return mount_env;
  }
  if (host_env != nullptr && *host_env != '\0') return host_env;
  return mount_env != nullptr ? mount_env : "";
}

}  // namespace argonaut::workflow::executor
