#include "services/cd/cd_server.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"

namespace argonaut::cd {
namespace {

std::string DataDir(const std::string& given) {
  if (!given.empty()) return given;
  return (std::filesystem::temp_directory_path() / "argonaut-cd").string();
}

}  // namespace

CdServer::CdServer(resource::ResourceApi* apps, CdServerOptions options)
    : apps_(apps), options_(std::move(options)), data_dir_(DataDir(options_.data_dir)) {
  repos_ = std::make_unique<repo::RepoServer>(
      repo::RepoServerOptions{.cache_dir = absl::StrCat(data_dir_, "/repos"),
                              .metrics = options_.metrics,
                              .clock = options_.clock});
  if (options_.cluster != nullptr) {
    routed_ = std::make_unique<cluster::RoutedCluster>(options_.cluster, options_.resources);
    std::error_code ec;
    std::filesystem::create_directories(data_dir_, ec);
    if (ec) {
      open_status_ =
          absl::InternalError(absl::StrCat("cd data dir ", data_dir_, ": ", ec.message()));
    } else {
      // Secrets are Kubernetes objects: the base cluster, never routed.
      absl::StatusOr<std::unique_ptr<repo::RepositoryStore>> store =
          repo::RepositoryStore::Open(options_.cluster, absl::StrCat(data_dir_, "/repository.key"));
      if (store.ok()) {
        repositories_ = std::move(*store);
      } else {
        open_status_ = store.status();
      }
    }
    controller_ = std::make_unique<CdController>(
        apps_, routed_.get(), repos_.get(), repositories_.get(),
        CdControllerOptions{.clock = options_.clock,
                            .metrics = options_.metrics,
                            .repo_poll_interval = options_.repo_poll_interval});
  }
  api_ = std::make_unique<api::CdApi>(
      apps_, api::CdApiOptions{.state = controller_.get(),
                               .cluster = options_.cluster,
                               .webhook_secrets = options_.webhook_secrets});
}

CdServer::~CdServer() { Stop(); }

std::vector<grpc::Service*> CdServer::grpc_services() { return api_->services(); }

absl::Status CdServer::Start() {
  if (controller_ == nullptr) {
    LogWarn("cd",
            "no cluster: the application controller does not run; applications are stored but "
            "never synced");
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(open_status_);
  return controller_->Start();
}

void CdServer::Stop() {
  if (controller_) controller_->Stop();
}

}  // namespace argonaut::cd
