#include "cli/cp_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "lib/artifacts/archive.h"
#include "lib/manifest/json_text.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;
namespace wf = ::argonaut::workflow::v1;
namespace fs = std::filesystem;

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

constexpr const char* kLocations[] = {"local", "s3",          "gcs",  "azure", "oss",
                                      "hdfs",  "artifactory", "http", "git",   "raw"};

// Each component of a relative path from --path must stay below DIR.
bool SafeRelative(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  for (absl::string_view c : absl::StrSplit(p, '/')) {
    if (c.empty() || c == "." || c == "..") return false;
  }
  return true;
}

// Streams one artifact to `tmp`; returns the object's file name.
absl::StatusOr<std::string> Download(Client& client, const std::string& ns, const std::string& name,
                                     const CpTarget& t, const std::string& tmp) {
  grpc::ClientContext ctx;
  wf::GetArtifactRequest req;
  req.set_namespace_(ns);
  req.set_name(name);
  req.set_node_id(t.node_id);
  req.set_artifact_name(t.artifact_name);
  auto reader = client.workflows().GetArtifact(&ctx, req);
  std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
  if (!file) return absl::InternalError(absl::StrCat(tmp, ": cannot create"));
  std::string file_name;
  wf::ArtifactChunk c;
  bool write_failed = false;
  while (reader->Read(&c)) {
    if (!c.file_name().empty()) file_name = c.file_name();
    if (!write_failed && !file.write(c.data().data(), c.data().size())) {
      write_failed = true;
      ctx.TryCancel();
    }
  }
  absl::Status s = client.Convert(reader->Finish());
  file.close();
  if (write_failed || !file) return absl::InternalError(absl::StrCat(tmp, ": write failed"));
  if (!s.ok()) return s;
  return file_name;
}

absl::Status Place(const std::string& tmp, const std::string& file_name,
                   const std::string& target) {
  std::error_code ec;
  fs::remove_all(target, ec);
  if (absl::EndsWith(file_name, ".tgz") || absl::EndsWith(file_name, ".tar.gz")) {
    const int fd = open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::InternalError(absl::StrCat(tmp, ": cannot open"));
    absl::Status s = artifacts::Unpack(fd, target, "");
    close(fd);
    fs::remove(tmp, ec);
    return s;
  }
  fs::rename(tmp, target, ec);
  if (ec) return absl::InternalError(absl::StrCat(target, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

std::vector<CpTarget> SelectCpTargets(const json& wf, const std::string& node_id,
                                      const std::string& template_name,
                                      const std::string& artifact_name,
                                      const std::string& path_format) {
  std::vector<CpTarget> out;
  const json meta = wf.value("metadata", json::object());
  const json status = wf.value("status", json::object());
  const json nodes = status.is_object() ? status.value("nodes", json::object()) : json::object();
  if (!nodes.is_object()) return out;
  for (const auto& [id, node] : nodes.items()) {
    if (!node_id.empty() && id != node_id) continue;
    if (!template_name.empty() && Str(node, "templateName") != template_name) continue;
    const json outputs = node.value("outputs", json::object());
    const json arts =
        outputs.is_object() ? outputs.value("artifacts", json::array()) : json::array();
    if (!arts.is_array()) continue;
    for (const json& a : arts) {
      if (!artifact_name.empty() && Str(a, "name") != artifact_name) continue;
      if (Str(a, "name").empty() || a.value("deleted", false)) continue;
      bool located = false;
      for (const char* k : kLocations) located = located || (a.contains(k) && a[k].is_object());
      if (!located) continue;
      CpTarget t{id, Str(node, "templateName"), Str(a, "name"), ""};
      t.relative_path = absl::StrReplaceAll(path_format, {{"{workflowName}", Str(meta, "name")},
                                                          {"{namespace}", Str(meta, "namespace")},
                                                          {"{nodeId}", t.node_id},
                                                          {"{templateName}", t.template_name},
                                                          {"{artifactName}", t.artifact_name}});
      out.push_back(std::move(t));
    }
  }
  std::sort(out.begin(), out.end(), [](const CpTarget& a, const CpTarget& b) {
    return std::tie(a.node_id, a.artifact_name) < std::tie(b.node_id, b.artifact_name);
  });
  return out;
}

int RunCp(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kNamespace,
                               {"artifact-name", ""},
                               {"node-id", ""},
                               {"template-name", ""},
                               {"path", ""}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.size() != 2) {
    return Fail(err,
                "usage: argonaut cp WORKFLOW DIR [--artifact-name N] [--node-id ID] "
                "[--template-name T] [--path {nodeId}/{artifactName}]");
  }
  const std::string ns = args->Get("namespace", "default");
  const std::string name = args->positional[0];
  const std::string dir = args->positional[1];
  Client client(ServerAddress(args->Get("server")));
  wf::GetWorkflowRequest get;
  get.set_namespace_(ns);
  get.set_name(name);
  wf::WorkflowReply reply;
  grpc::ClientContext ctx;
  if (absl::Status s = client.Convert(client.workflows().GetWorkflow(&ctx, get, &reply)); !s.ok()) {
    return Fail(err, s);
  }
  absl::StatusOr<json> workflow = manifest::ParseJsonText(reply.json());
  if (!workflow.ok()) return Fail(err, workflow.status());
  const std::vector<CpTarget> targets =
      SelectCpTargets(*workflow, args->Get("node-id"), args->Get("template-name"),
                      args->Get("artifact-name"), args->Get("path", "{nodeId}/{artifactName}"));
  if (targets.empty()) {
    err << "No output artifacts found for workflow " << name << "\n";
    return 0;
  }
  int rc = 0;
  for (const CpTarget& t : targets) {
    if (!SafeRelative(t.relative_path)) {
      rc = Fail(err, absl::StrCat("--path: \"", t.relative_path,
                                  "\" is not a relative path "
                                  "below DIR"));
      continue;
    }
    const std::string target = (fs::path(dir) / t.relative_path).string();
    std::error_code ec;
    fs::create_directories(fs::path(target).parent_path(), ec);
    if (ec) {
      rc = Fail(err, absl::StrCat(target, ": ", ec.message()));
      continue;
    }
    const std::string tmp = (fs::path(target).parent_path() /
                             absl::StrCat(".", fs::path(target).filename().string(), ".download"))
                                .string();
    absl::StatusOr<std::string> file_name = Download(client, ns, name, t, tmp);
    absl::Status placed = file_name.ok() ? Place(tmp, *file_name, target) : file_name.status();
    if (!placed.ok()) {
      fs::remove(tmp, ec);
      rc = Fail(err, absl::StrCat("artifact \"", t.artifact_name, "\" of node ", t.node_id, ": ",
                                  placed.message()));
      continue;
    }
    out << "Created \"" << target << "\"\n";
  }
  return rc;
}

}  // namespace argonaut::cli
