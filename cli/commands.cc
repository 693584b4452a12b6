#include "cli/commands.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "cli/printer.h"
#include "cli/workflow_printer.h"
#include "gateway/platform.h"
#include "lib/buildinfo/build_info.h"
#include "lib/crypto/key.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/grpc_service.h"
#include "lib/resource/kinds.h"
#include "lib/server/server.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;

const resource::KindInfo* ResolveKind(const std::string& name, std::ostream& err) {
  const resource::KindInfo* kind = resource::FindKind(name);
  if (kind == nullptr) {
    Fail(err, absl::StrCat("the server doesn't have a resource type \"", name, "\""));
  }
  return kind;
}

std::string NameOf(const json& o) {
  if (o.contains("metadata") && o["metadata"].is_object() && o["metadata"].contains("name") &&
      o["metadata"]["name"].is_string()) {
    return o["metadata"]["name"].get<std::string>();
  }
  return "";
}

}  // namespace

int RunApply(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace, {"filename", "f", true, true}});
  if (!args.ok()) return Fail(err, args.status());
  if (!args->Has("filename")) return Fail(err, "must specify -f FILE (or -f - for stdin)");
  Client client(ServerAddress(args->Get("server")));
  const std::string ns_flag = args->Get("namespace");
  int failures = 0;
  for (const std::string& path : args->All("filename")) {
    auto text = ReadInput(path);
    if (!text.ok()) {
      Fail(err, text.status());
      ++failures;
      continue;
    }
    auto docs = manifest::ParseDocuments(*text);
    if (!docs.ok()) {
      Fail(err, absl::StrCat(path, ": ", docs.status().message()));
      ++failures;
      continue;
    }
    for (size_t i = 0; i < docs->size(); ++i) {
      json& doc = (*docs)[i];
      const std::string where = absl::StrCat(path, ": doc ", i + 1, ": ");
      if (!doc.is_object()) {
        Fail(err, where + "expected an object");
        ++failures;
        continue;
      }
      if (!doc.contains("kind") || !doc["kind"].is_string()) {
        Fail(err, where + "kind: required");
        ++failures;
        continue;
      }
      const std::string kind_name = doc["kind"].get<std::string>();
      const resource::KindInfo* kind = resource::FindKind(kind_name);
      if (kind == nullptr || kind->kind != kind_name) {
        Fail(err, absl::StrCat(where, "kind: ", kind_name, " is not a kind Argonaut serves"));
        ++failures;
        continue;
      }
      if (!ns_flag.empty() && kind->namespaced && doc.contains("metadata") &&
          doc["metadata"].is_object() && !doc["metadata"].contains("namespace")) {
        doc["metadata"]["namespace"] = ns_flag;
      }
      const std::string name = NameOf(doc);
      std::string verb = "created";
      if (!name.empty()) {
        const json& meta = doc["metadata"];
        std::string ns = ns_flag;
        if (meta.contains("namespace") && meta["namespace"].is_string()) {
          ns = meta["namespace"].get<std::string>();
        }
        if (client.Get(kind->kind, ns, name).ok()) verb = "configured";
      }
      // An object with only generateName gets a new name each time, as
      // `kubectl create` does; one with a name is created or replaced.
      auto created = client.Create(kind->kind, doc, /*upsert=*/!name.empty());
      if (!created.ok()) {
        Fail(err, where + std::string(created.status().message()));
        ++failures;
        if (absl::IsUnavailable(created.status())) return 1;
        continue;
      }
      out << QualifiedName(*kind, NameOf(*created)) << " " << verb << "\n";
    }
  }
  return failures == 0 ? 0 : 1;
}

int RunGet(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(
      argv,
      {kServer, kNamespace, {"selector", "l"}, {"output", "o"}, {"all-namespaces", "A", false}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.empty()) {
    return Fail(err, "you must specify the type of resource to get, e.g. `argonaut get wf`");
  }
  std::string kind_arg = args->positional[0];
  std::string name = args->positional.size() > 1 ? args->positional[1] : "";
  // kubectl also accepts `get wf/name`.
  if (size_t slash = kind_arg.find('/'); slash != std::string::npos && name.empty()) {
    name = kind_arg.substr(slash + 1);
    kind_arg = kind_arg.substr(0, slash);
  }
  const resource::KindInfo* kind = ResolveKind(kind_arg, err);
  if (kind == nullptr) return 1;
  const bool all_ns = args->Has("all-namespaces");
  const std::string ns = all_ns ? "" : args->Get("namespace", "default");
  Client client(ServerAddress(args->Get("server")));
  std::vector<json> items;
  bool is_list = name.empty();
  if (is_list) {
    auto listed = client.List(kind->kind, ns, args->Get("selector"));
    if (!listed.ok()) return Fail(err, listed.status());
    items = std::move(listed->first);
    if (items.empty() && args->Get("output").empty()) {
      err << (all_ns ? std::string("No resources found\n")
                     : absl::StrCat("No resources found in ", ns, " namespace.\n"));
      return 0;
    }
  } else {
    auto got = client.Get(kind->kind, ns, name);
    if (!got.ok()) return Fail(err, got.status());
    items.push_back(std::move(*got));
  }
  // A single workflow without -o prints as `argo get` does.
  if (!is_list && kind->kind == "Workflow" && args->Get("output").empty()) {
    out << FormatWorkflow(items[0], absl::Now());
    return 0;
  }
  auto text = FormatObjects(*kind, items, is_list, args->Get("output"), all_ns, absl::Now());
  if (!text.ok()) return Fail(err, text.status());
  out << *text;
  return 0;
}

int RunDelete(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace});
  if (!args.ok()) return Fail(err, args.status());
  std::vector<std::string> pos = args->positional;
  if (pos.size() == 1 && pos[0].find('/') != std::string::npos) {
    size_t slash = pos[0].find('/');
    pos = {pos[0].substr(0, slash), pos[0].substr(slash + 1)};
  }
  if (pos.size() < 2) return Fail(err, "usage: argonaut delete KIND NAME [NAME...] [-n NS]");
  const resource::KindInfo* kind = ResolveKind(pos[0], err);
  if (kind == nullptr) return 1;
  Client client(ServerAddress(args->Get("server")));
  int rc = 0;
  for (size_t i = 1; i < pos.size(); ++i) {
    absl::Status s = client.Delete(kind->kind, args->Get("namespace", "default"), pos[i]);
    if (!s.ok()) {
      rc = Fail(err, s);
      continue;
    }
    out << KindWithGroup(*kind) << " \"" << pos[i] << "\" deleted\n";
  }
  return rc;
}

int RunLogs(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace, {"container", "c"}, {"follow", "f", false}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.size() != 1) {
    return Fail(err, "usage: argonaut logs pod/NAME [-c CONTAINER] [-f] [-n NS]");
  }
  std::string target = args->positional[0];
  const size_t slash = target.find('/');
  const resource::KindInfo* kind =
      slash == std::string::npos ? nullptr : resource::FindKind(target.substr(0, slash));
  if (kind == nullptr || kind->kind != "Pod") {
    // A bare name is a workflow in Argo's CLI; that needs the workflow controller.
    return Fail(err, absl::StrCat("logs of \"", target,
                                  "\": only pod logs are served so far; use pod/NAME"));
  }
  Client client(ServerAddress(args->Get("server")));
  absl::Status s = client.PodLogs(args->Get("namespace", "default"), target.substr(slash + 1),
                                  args->Get("container"), args->Has("follow"),
                                  [&out](std::string_view chunk) { out << chunk << std::flush; });
  return s.ok() ? 0 : Fail(err, s);
}

int RunVersion(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, {"client", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  // As `argo version`: the version, then what the build stamped (lib/buildinfo).
  const buildinfo::BuildInfo& b = buildinfo::Stamp();
  out << "argonaut: " << resource::kArgonautVersion << "\n"
      << "  BuildDate: " << b.build_date << "\n"
      << "  GitCommit: " << b.git_commit << "\n"
      << "  GitTreeState: " << b.git_tree_state << "\n"
      << "  GitTag: " << b.git_tag << "\n";
  if (args->Has("client")) return 0;
  Client client(ServerAddress(args->Get("server")));
  auto v = client.Version();
  if (!v.ok()) {
    out << "server: unreachable (" << v.status().message() << ")\n";
    return 0;
  }
  auto known = [](const std::string& s) { return s.empty() ? std::string("unknown") : s; };
  out << "server: " << v->version() << "\n"
      << "  BuildDate: " << known(v->build_date()) << "\n"
      << "  GitCommit: " << known(v->git_commit()) << "\n";
  return 0;
}

// The directory of this executable, or "" if unknown.
std::string SelfDir() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// --archive true|false, --archive-ttl 7d, --default-ttl SECONDS
// (ttlStrategy.secondsAfterCompletion),
// --default-pod-gc STRATEGY: the workflow controller's defaults, which its ConfigMap overrides.
absl::Status ApplyRetentionFlags(const Args& args, workflow::gc::RetentionConfig& config) {
  if (args.Has("archive")) {
    const std::string v = args.Get("archive");
    if (v != "true" && v != "false") {
      return absl::InvalidArgumentError("--archive: expected true or false");
    }
    config.archive = v == "true";
  }
  if (args.Has("archive-ttl")) {
    absl::StatusOr<absl::Duration> ttl = workflow::gc::ParseArchiveTtl(args.Get("archive-ttl"));
    if (!ttl.ok()) return absl::InvalidArgumentError(absl::StrCat("--", ttl.status().message()));
    config.archive_ttl = *ttl;
  }
  if (args.Has("default-ttl")) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(args.Get("default-ttl"), &seconds) || seconds < 0) {
      return absl::InvalidArgumentError("--default-ttl: expected a number of seconds");
    }
    config.default_ttl_strategy = {{"secondsAfterCompletion", seconds}};
  }
  if (args.Has("default-pod-gc")) {
    config.default_pod_gc = {{"strategy", args.Get("default-pod-gc")}};
    absl::StatusOr<workflow::gc::PodGcPolicy> checked =
        workflow::gc::EffectivePodGc(nlohmann::json::object(), config.default_pod_gc);
    if (!checked.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--default-pod-gc: ", checked.status().message()));
    }
  }
  return absl::OkStatus();
}

int RunUp(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {{"data", "d"},
                               {"port", "p"},
                               {"bind"},
                               {"isolation"},
                               {"images"},
                               {"repo-poll-interval"},
                               {"archive"},
                               {"archive-ttl"},
                               {"default-ttl"},
                               {"default-pod-gc"},
                               {"auth-mode"},
                               {"rbac-policy"},
                               {"rbac-default-role"},
                               {"tls-cert"},
                               {"tls-key"},
                               {"encryption-key-file"},
                               {"user-namespaces"},
                               {.name = "host-path-allow", .repeated = true}});
  if (!args.ok()) return Fail(err, args.status());
  // The CLI's other commands find the admin token in the same default place.
  std::string data = args->Get("data");
  if (data.empty()) data = DefaultDataDir();
  int port = 0;
  if (!absl::SimpleAtoi(args->Get("port", "2746"), &port) || port < 0 || port > 65535) {
    return Fail(err, "--port: expected a port number");
  }
  gateway::PlatformOptions options{
      .data_dir = data, .bind_address = args->Get("bind", "127.0.0.1"), .port = port};
  // Opt-in while a pod in a user namespace can hold up a graceful stop and outlive a
  // SIGKILLed runtime (tests/cluster_rollover_test).
  if (args->Has("user-namespaces")) {
    const std::string v = args->Get("user-namespaces");
    if (v != "true" && v != "false") return Fail(err, "--user-namespaces: expected true or false");
    options.cluster.user_namespaces = v == "true";
  }
  // Pods: isolated in namespaces when privileged (auto), or forced either way.
  const std::string isolation = args->Get("isolation", "auto");
  using Isolation = cluster::LocalClusterOptions::Isolation;
  if (isolation == "auto") {
    options.cluster.isolation = Isolation::kAuto;
  } else if (isolation == "namespaces") {
    options.cluster.isolation = Isolation::kNamespaces;
  } else if (isolation == "plain") {
    options.cluster.isolation = Isolation::kPlain;
  } else {
    return Fail(err, "--isolation: expected auto, namespaces or plain");
  }
  options.cluster.image_table = args->Get("images");
  // hostPath volumes only under these (default: the artifact repository).
  for (const std::string& v : args->All("host-path-allow")) {
    for (absl::string_view p : absl::StrSplit(v, ',', absl::SkipEmpty())) {
      if (p.empty() || p[0] != '/') return Fail(err, "--host-path-allow: expected absolute paths");
      options.cluster.host_path_allow.emplace_back(p);
    }
  }
  // Secret values are sealed at rest with a key kept outside the data
  // directory, as Kubernetes keeps its encryption config outside etcd.
  absl::StatusOr<std::string> key = crypto::ResolveEncryptionKey(args->Get("encryption-key-file"));
  if (!key.ok()) return Fail(err, key.status());
  options.encryption_key = std::move(*key);
  options.auth_mode = args->Get("auth-mode", "client");
  if (options.auth_mode != "client" && options.auth_mode != "server") {
    return Fail(err,
                "--auth-mode: expected client (tokens required) or server (no authentication)");
  }
  options.rbac_policy_file = args->Get("rbac-policy");
  options.rbac_default_role = args->Get("rbac-default-role");
  options.tls_cert_file = args->Get("tls-cert");
  options.tls_key_file = args->Get("tls-key");
  if (args->Has("repo-poll-interval")) {
    absl::Duration poll;
    if (!absl::ParseDuration(args->Get("repo-poll-interval"), &poll) ||
        poll <= absl::ZeroDuration()) {
      return Fail(err, "--repo-poll-interval: expected a duration such as 3m or 30s");
    }
    options.cd_repo_poll_interval = poll;
  }
  if (absl::Status s = ApplyRetentionFlags(*args, options.workflow_retention); !s.ok()) {
    return Fail(err, s);
  }
  // The workflow executor starts once per step: use its own small binary
  // when it sits beside this one, else this binary's `__image argoexec`.
  if (std::string dir = SelfDir(); !dir.empty()) {
    const std::string argoexec = dir + "/argoexec";
    if (access(argoexec.c_str(), X_OK) == 0) {
      options.cluster.builtin_programs["argoexec"] = argoexec;
    }
  }
  auto platform = gateway::Platform::Start(options);
  if (!platform.ok()) return Fail(err, platform.status());
  const std::string& cert = (*platform)->tls_cert_file();
  out << "Argonaut is up on " << options.bind_address << ":" << (*platform)->port()
      << " (gRPC, and REST under " << (cert.empty() ? "http" : "https")
      << "://localhost:" << (*platform)->port() << "/api/v1), data in " << data << "\n";
  if (!cert.empty()) {
    out << "TLS with the certificate " << cert << " (clients: --secure --tls-ca " << cert << ")\n";
  }
  if ((*platform)->admin_token_file().empty()) {
    out << "Authentication is off (--auth-mode server): anyone who reaches the port is admin.\n";
  } else {
    // Where the token is, never the token: this output often ends up in logs.
    out << "The admin token is in " << (*platform)->admin_token_file()
        << " (the CLI reads it from there; for curl: -H \"Authorization: Bearer $(cat "
        << (*platform)->admin_token_file() << ")\")\n";
  }
  out << "Press Ctrl-C to stop.\n" << std::flush;
  server::WaitForShutdownSignal();
  out << "Shutting down...\n" << std::flush;
  (*platform)->Shutdown();
  return 0;
}

}  // namespace argonaut::cli
