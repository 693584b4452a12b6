#include "services/cd/api/test_env.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "services/cd/validation/validate.h"

namespace argonaut::cd::test_env {
namespace {

constexpr char kService[] = R"(apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
)";

}  // namespace

CdTestEnv::~CdTestEnv() {
  if (server) server->Shutdown(absl::Seconds(5));
  if (cd) cd->Stop();
  if (cluster.cluster) cluster.cluster->Stop(absl::Seconds(2));
}

absl::Status CdTestEnv::Git(const std::string& args) const {
  const std::string cmd =
      absl::StrCat("cd '", repo_dir, "' && git -c user.name=test -c user.email=test@example.com ",
                   args, " >/dev/null 2>&1");
  if (std::system(cmd.c_str()) != 0) return absl::InternalError(absl::StrCat("failed: ", cmd));
  return absl::OkStatus();
}

absl::StatusOr<std::string> CdTestEnv::CommitColor(const std::string& color) const {
  std::filesystem::create_directories(repo_dir + "/app");
  std::ofstream(repo_dir + "/app/configmap.yaml")
      << "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  color: " << color
      << "\n";
  std::ofstream(repo_dir + "/app/service.yaml") << kService;
  RETURN_IF_ERROR(Git("add -A"));
  RETURN_IF_ERROR(Git(absl::StrCat("commit -q -m 'color ", color, "'")));
  const std::string out = repo_dir + "/../head.txt";
  RETURN_IF_ERROR(Git(absl::StrCat("rev-parse HEAD > '", out, "'")));
  std::ifstream in(out);
  std::string sha;
  in >> sha;
  return sha;
}

nlohmann::json CdTestEnv::App(const std::string& name, const std::string& dest_ns,
                              bool automated) const {
  nlohmann::json app = {
      {"apiVersion", "argoproj.io/v1alpha1"},
      {"kind", "Application"},
      {"metadata", {{"name", name}, {"namespace", "argocd"}}},
      {"spec",
       {{"project", "default"},
        {"source", {{"repoURL", RepoUrl()}, {"path", "app"}, {"targetRevision", "HEAD"}}},
        {"destination", {{"server", "https://kubernetes.default.svc"}, {"namespace", dest_ns}}}}}};
  if (automated) app["spec"]["syncPolicy"] = {{"automated", {{"prune", true}}}};
  return app;
}

absl::StatusOr<nlohmann::json> CdTestEnv::WaitApp(
    const std::string& name, const std::function<bool(const nlohmann::json&)>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (;;) {
    ASSIGN_OR_RETURN(nlohmann::json app, apps->GetObject("Application", "argocd", name));
    if (done(app)) return app;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "app ", name, " never got there: ", app.value("status", nlohmann::json()).dump()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::StatusOr<std::unique_ptr<CdTestEnv>> Start(
    const std::string& prefix, bool with_controller,
    std::function<void(httplib::Server&, std::shared_ptr<grpc::Channel>)> http,
    bool grpc_listener) {
  auto env = std::make_unique<CdTestEnv>();
  ASSIGN_OR_RETURN(env->cluster, rollout::test_util::StartTestCluster(prefix));
  auto kinds = resource::KindsOfService("cd");
  ASSIGN_OR_RETURN(env->store, store::InMemoryStore::Create(
                                   {.kinds = resource::ResourceApi::ColumnFamilies(kinds)}));
  env->apps =
      std::make_unique<resource::ResourceApi>(env->store.get(), kinds, validation::CdValidator());
  env->repo_dir = env->cluster.dir + "/git/apps";
  std::filesystem::create_directories(env->repo_dir);
  RETURN_IF_ERROR(env->Git("init -q -b main ."));
  RETURN_IF_ERROR(env->CommitColor("blue").status());
  env->cd = std::make_unique<CdServer>(
      env->apps.get(),
      CdServerOptions{.data_dir = env->cluster.dir + "/cd",
                      .cluster = with_controller ? env->cluster.cluster.get() : nullptr});
  env->server = std::make_unique<server::Server>(server::ServerOptions{
      .name = "cd-test", .grpc_port = grpc_listener ? 0 : -1, .http_port = http ? 0 : -1});
  for (grpc::Service* s : env->cd->grpc_services()) env->server->AddService(s);
  if (http) {
    server::Server* raw = env->server.get();
    env->server->ConfigureHttp(
        [raw, http](httplib::Server& h) { http(h, raw->InProcessChannel()); });
  }
  RETURN_IF_ERROR(env->server->Start());
  RETURN_IF_ERROR(env->cd->Start());
  return env;
}

}  // namespace argonaut::cd::test_env
