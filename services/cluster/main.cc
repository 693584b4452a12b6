// The standalone cluster service: the cluster store (Pods, Services,
// Deployments ...), the LocalCluster runtime on this machine (kubelet,
// workload controllers, Service proxies, garbage collector), and over gRPC
// the ResourceService for the cluster kinds plus ClusterService.PodLogs —
// what `argonaut up` runs for "cluster", on port 7005 by default. The other
// services reach it through lib/cluster/remote_cluster.h.
//
// Pods of built-in images (argosay, argoexec ...) run this binary again as
// `cluster __image NAME ...`; argoexec uses its own small binary when one
// sits beside this one.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/cluster/grpc_service.h"
#include "lib/cluster/images/builtin.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/crypto/key.h"
#include "lib/resource/secret_sealing.h"
#include "lib/server/service_main.h"
#include "services/workflow/executor/executor.h"

ABSL_FLAG(std::string, runtime_dir, "",
          "directory of the pods (default: `runtime` beside --data_dir, as `argonaut up` lays "
          "it out); keep it outside /tmp, which isolated pods do not share");
ABSL_FLAG(std::string, isolation, "auto",
          "pods as namespaced sandboxes (namespaces), plain processes (plain), or namespaces "
          "when permitted (auto)");
ABSL_FLAG(bool, user_namespaces, true,
          "isolated pods get a user namespace of their own (pod root an unprivileged host uid), "
          "unless privileged or hostUsers: true; false: pod root is host root");
ABSL_FLAG(std::string, images, "", "image table (YAML) extending the built-in one");
ABSL_FLAG(std::string, argoexec, "",
          "the workflow executor binary (default: argoexec beside this binary, else this "
          "binary's built-in copy)");
ABSL_FLAG(std::string, service_address, "127.0.0.1", "address Services listen on");
ABSL_FLAG(std::vector<std::string>, host_path_allow, {},
          "absolute host paths (comma-separated) that pods' hostPath volumes may name, at or "
          "below; default none: a hostPath volume is refused at admission (--artifact_dir is "
          "always allowed). Pods with a user namespace act there as their mapped host uid");
ABSL_FLAG(std::string, artifact_dir, "",
          "the local artifact repository (the workflow service's --artifact_dir): allowed as a "
          "hostPath, hidden from pods' root filesystem, and idmapped for pods with a user "
          "namespace so that pod root writes there as it does under `argonaut up`");
ABSL_FLAG(std::string, encryption_key_file, "",
          "key sealing Secret values at rest (32 bytes, raw or base64, mode 0600; created when "
          "missing); default: $ARGONAUT_ENCRYPTION_KEY (base64), else "
          "$XDG_CONFIG_HOME/argonaut/encryption.key or ~/.config/argonaut/encryption.key. Keep "
          "it outside the data directory");

namespace {

using argonaut::cluster::LocalClusterOptions;

// Destroyed in reverse: the log service before the runtime it reads.
struct Parts {
  std::unique_ptr<argonaut::cluster::LocalCluster> local;
  std::unique_ptr<argonaut::cluster::ClusterGrpcService> logs;
};

std::string SelfDir() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  const std::string path(buf, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string ArtifactDir() {
  std::error_code ec;
  const std::filesystem::path dir =
      std::filesystem::absolute(absl::GetFlag(FLAGS_artifact_dir), ec);
  return ec ? absl::GetFlag(FLAGS_artifact_dir) : dir.lexically_normal().string();
}

absl::StatusOr<LocalClusterOptions> RuntimeOptions(const std::string& data_dir) {
  LocalClusterOptions o;
  const std::string isolation = absl::GetFlag(FLAGS_isolation);
  if (isolation == "auto") {
    o.isolation = LocalClusterOptions::Isolation::kAuto;
  } else if (isolation == "namespaces") {
    o.isolation = LocalClusterOptions::Isolation::kNamespaces;
  } else if (isolation == "plain") {
    o.isolation = LocalClusterOptions::Isolation::kPlain;
  } else {
    return absl::InvalidArgumentError("--isolation: expected auto, namespaces or plain");
  }
  o.user_namespaces = absl::GetFlag(FLAGS_user_namespaces);
  std::error_code ec;
  // Absolute, because the pod network's bridge name derives from it.
  std::filesystem::path runtime = absl::GetFlag(FLAGS_runtime_dir);
  if (runtime.empty()) runtime = std::filesystem::path(data_dir).parent_path() / "runtime";
  runtime = std::filesystem::absolute(runtime, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--runtime_dir: ", ec.message()));
  o.data_dir = runtime.lexically_normal().string();
  // Pods see none of the service's data (the store) nor the runtime's.
  o.hidden_paths = {o.data_dir};
  const std::filesystem::path store = std::filesystem::absolute(data_dir, ec).lexically_normal();
  if (!ec && store != "/") o.hidden_paths.push_back(store.string());
  // Hidden trees are idmapped where pods mount them as volumes.
  if (!absl::GetFlag(FLAGS_artifact_dir).empty()) o.hidden_paths.push_back(ArtifactDir());
  // The kubelet resolves hostPaths below what admission allows (symlinks
  // planted there cannot lead out); nothing allowed: admission refuses all.
  if (!absl::GetFlag(FLAGS_artifact_dir).empty()) o.host_path_allow.push_back(ArtifactDir());
  for (const std::string& p : absl::GetFlag(FLAGS_host_path_allow)) {
    if (!p.empty()) o.host_path_allow.push_back(p);
  }
  o.image_table = absl::GetFlag(FLAGS_images);
  o.service_address = absl::GetFlag(FLAGS_service_address);
  std::string argoexec = absl::GetFlag(FLAGS_argoexec);
  if (argoexec.empty()) {
    const std::string beside = SelfDir() + "/argoexec";
    if (access(beside.c_str(), X_OK) == 0) argoexec = beside;
  } else if (access(argoexec.c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--argoexec: ", argoexec, " is not executable"));
  }
  if (!argoexec.empty()) o.builtin_programs["argoexec"] = argoexec;
  return o;
}

// The allow list comes from a flag, parsed after the validator is handed
// over, so it is read on first use.
argonaut::resource::Validator HostPathValidator() {
  return [](const argonaut::resource::KindInfo& kind,
            google::protobuf::Message& object) -> absl::Status {
    static const absl::StatusOr<argonaut::resource::Validator> validator =
        []() -> absl::StatusOr<argonaut::resource::Validator> {
      std::vector<std::string> allow;
      if (!absl::GetFlag(FLAGS_artifact_dir).empty()) allow.push_back(ArtifactDir());
      for (const std::string& p : absl::GetFlag(FLAGS_host_path_allow)) {
        if (p.empty()) continue;
        if (p[0] != '/') {
          return absl::InvalidArgumentError(
              absl::StrCat("--host_path_allow: \"", p, "\" is not an absolute path"));
        }
        allow.push_back(p);
      }
      return argonaut::cluster::KubernetesValidator({.host_path_allow = std::move(allow)});
    }();
    if (!validator.ok()) return validator.status();
    return (*validator)(kind, object);
  };
}

}  // namespace

int main(int argc, char** argv) {
  using namespace argonaut;  // NOLINT: a main of wiring only
  // Before anything else: a pod's process, not the service.
  if (argc > 1 && std::string(argv[1]) == "__image") {
    return cluster::RunBuiltinImage(argc - 2, argv + 2,
                                    {{"argoexec", [](const std::vector<std::string>& a) {
                                        return workflow::executor::RunArgoexec(a, {});
                                      }}});
  }
  return server::RunServiceMain(
      argc, argv, "cluster",
      server::ServiceMainOptions{
          .validator = HostPathValidator(),
          .setup = [](resource::ServiceBundle& bundle, server::Server& srv,
                      metrics::MetricsRegistry&) -> absl::StatusOr<server::StopFn> {
            // Before anything reads or writes a Secret.
            std::string key_source;
            absl::StatusOr<std::string> key =
                crypto::ResolveEncryptionKey(absl::GetFlag(FLAGS_encryption_key_file), &key_source);
            if (!key.ok()) return key.status();
            if (absl::Status s = resource::SealSecretsAtRest(bundle.api(), *key); !s.ok()) return s;
            LogInfo("cluster", "secrets sealed at rest", {{"key", key_source}});
            for (const std::string& p : absl::GetFlag(FLAGS_host_path_allow)) {
              if (!p.empty() && p[0] != '/') {
                return absl::InvalidArgumentError(
                    absl::StrCat("--host_path_allow: \"", p, "\" is not an absolute path"));
              }
            }
            absl::StatusOr<LocalClusterOptions> options =
                RuntimeOptions(server::ServiceDataDir("cluster"));
            if (!options.ok()) return options.status();
            auto parts = std::make_shared<Parts>();
            absl::StatusOr<std::unique_ptr<cluster::LocalCluster>> started =
                cluster::LocalCluster::Start(&bundle.api(), *options);
            if (!started.ok()) return started.status();
            parts->local = std::move(*started);
            parts->logs = std::make_unique<cluster::ClusterGrpcService>(parts->local.get());
            srv.AddService(parts->logs.get());
            LogInfo("cluster", "runtime started",
                    {{"runtime_dir", options->data_dir},
                     {"isolated", parts->local->isolated() ? "true" : "false"}});
            // Every pod stops with the service, as under `argonaut up`.
            return [parts] { parts->local->Stop(); };
          }});
}
