#include "services/workflow/api/artifact_download.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/manifest/json_text.h"
#include "lib/server/grpc_status.h"

namespace argonaut::workflow::api {
namespace {

using nlohmann::json;

constexpr size_t kMaxChunk = 1 << 20;

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

constexpr const char* kLocations[] = {"local", "s3",          "gcs",  "azure", "oss",
                                      "hdfs",  "artifactory", "http", "git",   "raw"};

}  // namespace

absl::StatusOr<json> FindNodeArtifact(const json& wf, const std::string& node_id,
                                      const std::string& name, bool input) {
  const std::string wf_name = Str(wf.value("metadata", json::object()), "name");
  const json status = wf.value("status", json::object());
  const json nodes = status.is_object() ? status.value("nodes", json::object()) : json::object();
  const json* node = nullptr;
  if (nodes.is_object()) {
    if (auto it = nodes.find(node_id); it != nodes.end() && it->is_object()) node = &*it;
    for (auto it = nodes.begin(); node == nullptr && it != nodes.end(); ++it) {
      if (Str(*it, "name") == node_id) node = &*it;
    }
  }
  if (node == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("workflow \"", wf_name, "\" has no node \"", node_id, "\""));
  }
  const char* side = input ? "inputs" : "outputs";
  const json io = node->value(side, json::object());
  const json arts = io.is_object() ? io.value("artifacts", json::array()) : json::array();
  for (const json& a : arts.is_array() ? arts : json::array()) {
    if (Str(a, "name") != name) continue;
    if (a.value("deleted", false)) {
      return absl::FailedPreconditionError(absl::StrCat("artifact \"", name, "\" of node \"",
                                                        node_id, "\" was deleted by artifact GC"));
    }
    bool located = false;
    for (const char* k : kLocations) located = located || (a.contains(k) && a[k].is_object());
    if (!located) {
      return absl::InvalidArgumentError(
          absl::StrCat("artifact \"", name, "\" of node \"", node_id, "\" has no stored location"));
    }
    return a;
  }
  return absl::NotFoundError(absl::StrCat("node \"", node_id, "\" of workflow \"", wf_name,
                                          "\" has no ", input ? "input" : "output", " artifact \"",
                                          name, "\""));
}

std::string ArtifactFileName(const json& artifact) {
  for (const char* k : kLocations) {
    if (!artifact.contains(k) || !artifact[k].is_object()) continue;
    std::string key = Str(artifact[k], "key");
    if (key.empty()) key = Str(artifact[k], "url");
    while (!key.empty() && key.back() == '/') key.pop_back();
    const size_t slash = key.rfind('/');
    const std::string base = slash == std::string::npos ? key : key.substr(slash + 1);
    if (!base.empty()) return base;
  }
  return Str(artifact, "name");
}

std::string ContentTypeFor(std::string_view file_name) {
  const size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  const std::string ext = absl::AsciiStrToLower(std::string(file_name.substr(dot)));
  // Go's built-in table (mime.TypeByExtension), which Argo Server uses, plus archives.
  static const std::pair<const char*, const char*> kTypes[] = {
      {".avif", "image/avif"},
      {".css", "text/css; charset=utf-8"},
      {".gif", "image/gif"},
      {".htm", "text/html; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},
      {".jpeg", "image/jpeg"},
      {".jpg", "image/jpeg"},
      {".js", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".pdf", "application/pdf"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".wasm", "application/wasm"},
      {".webp", "image/webp"},
      {".xml", "text/xml; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},
      {".tgz", "application/gzip"},
      {".gz", "application/gzip"},
      {".tar", "application/x-tar"},
      {".zip", "application/zip"},
  };
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return "application/octet-stream";
}

absl::StatusOr<json> WorkflowForArtifact(resource::ResourceApi* workflows,
                                         const v1::GetArtifactRequest& req,
                                         const ArchivedWorkflowLookup& archived) {
  if (!req.name().empty()) {
    const std::string ns = req.namespace_().empty() ? "default" : req.namespace_();
    absl::StatusOr<json> live = workflows->GetObject("Workflow", ns, req.name());
    if (live.ok() || live.status().code() != absl::StatusCode::kNotFound || !archived) return live;
    // Deleted from the live list (TTL, delete): its archived copy still names the artifacts.
    absl::StatusOr<json> copy = archived(ns, req.name(), "");
    return copy.ok() ? copy : live;
  }
  if (req.uid().empty()) return absl::InvalidArgumentError("name or uid is required");
  absl::StatusOr<std::vector<json>> all = workflows->ListObjects("Workflow", req.namespace_(), "");
  if (!all.ok()) return all.status();
  for (json& wf : *all) {
    if (Str(wf.value("metadata", json::object()), "uid") == req.uid()) return std::move(wf);
  }
  if (archived) {
    absl::StatusOr<json> copy = archived(req.namespace_(), "", req.uid());
    if (copy.ok() || copy.status().code() != absl::StatusCode::kNotFound) return copy;
  }
  return absl::NotFoundError(absl::StrCat("workflow with uid \"", req.uid(), "\" not found"));
}

grpc::Status ServeArtifact(resource::ResourceApi* workflows, const ArtifactStreamer& streamer,
                           grpc::ServerContext* ctx, const v1::GetArtifactRequest& req,
                           grpc::ServerWriterInterface<v1::ArtifactChunk>* writer,
                           const ArchivedWorkflowLookup& archived) {
  if (req.node_id().empty() || req.artifact_name().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("node_id and artifact_name are required"));
  }
  absl::StatusOr<json> wf = WorkflowForArtifact(workflows, req, archived);
  if (!wf.ok()) return ToGrpcStatus(wf.status());
  absl::StatusOr<json> artifact =
      FindNodeArtifact(*wf, req.node_id(), req.artifact_name(), req.input());
  if (!artifact.ok()) return ToGrpcStatus(artifact.status());
  if (!streamer) {
    return ToGrpcStatus(absl::UnimplementedError("this server has no artifact drivers"));
  }
  const std::string file_name = ArtifactFileName(*artifact);
  bool first = true;
  auto sink = [&](std::string_view chunk) -> absl::Status {
    while (!chunk.empty() || first) {
      if (ctx != nullptr && ctx->IsCancelled()) return absl::CancelledError("client went away");
      v1::ArtifactChunk msg;
      if (first) {
        msg.set_file_name(file_name);
        msg.set_content_type(ContentTypeFor(file_name));
        first = false;
      }
      const size_t n = std::min(chunk.size(), kMaxChunk);
      msg.set_data(std::string(chunk.substr(0, n)));
      chunk.remove_prefix(n);
      if (!writer->Write(msg)) return absl::CancelledError("client went away");
    }
    return absl::OkStatus();
  };
  const std::string ns = Str(wf->value("metadata", json::object()), "namespace").empty()
                             ? "default"
                             : Str(wf->value("metadata", json::object()), "namespace");
  absl::Status s = streamer(*artifact, ns, sink);
  if (s.ok() && first) s = sink("");
  return ToGrpcStatus(s);
}

}  // namespace argonaut::workflow::api
