// CdController: Argo CD's application controller, the I/O half. For each
// Application it checks the project and the destination, renders the source
// through the repo-server, reads the app's live objects from the destination
// cluster, asks the pure engine (services/cd/engine) to compare, writes the
// status, and then either advances the sync operation one step (executing
// the engine's actions) or lets the engine decide an automated sync.
//
// Level-triggered: driven by watches on Applications and AppProjects (the cd
// store) and on every live object carrying the app.kubernetes.io/instance
// label (one cluster watch per kind the apps use: a change made by hand
// requeues its app, which is how self-heal sees it), plus a poll timer that
// re-resolves the apps' revisions every repo_poll_interval. All progress of
// an operation lives in status.operationState, so a restarted controller
// resumes where it stopped; every action is an idempotent apply/delete.
//
// Time: the engine's "now" (operation times, self-heal backoff, history) and
// the poll timer come from the injected clock; the work queue's own delays
// (requeue-after between sync waves, retries) run on real time, so a test on
// a FakeClock advances it and calls Enqueue().
//
// Statuses are written only when they change (or on a poll/refresh, to move
// reconciledAt), so the controller's own writes do not keep it busy.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/cluster/cluster.h"
#include "lib/cluster/informer.h"
#include "lib/controller/clock.h"
#include "lib/controller/controller.h"
#include "lib/metrics/metrics.h"
#include "lib/resource/resource_api.h"
#include "nlohmann/json.hpp"
#include "services/cd/app_state.h"
#include "services/cd/destination.h"
#include "services/cd/engine/compare.h"
#include "services/cd/engine/health_scripts.h"
#include "services/cd/metrics.h"
#include "services/cd/repo/repo.h"

namespace argonaut::cd {

// Argo CD's names the controller acts on.
inline constexpr char kRefreshAnnotation[] = "argocd.argoproj.io/refresh";
inline constexpr char kResourcesFinalizer[] = "resources-finalizer.argocd.argoproj.io";
inline constexpr char kResourcesFinalizerBackground[] =
    "resources-finalizer.argocd.argoproj.io/background";
// Argo CD's own namespace: the default project, argocd-cm, repository Secrets.
inline constexpr char kArgoCdNamespace[] = "argocd";

struct CdControllerOptions {
  int workers = 4;
  // Null: the real clock. See the header comment for what it drives.
  controller::Clock* clock = nullptr;
  // May be null: no metrics.
  metrics::MetricsRegistry* metrics = nullptr;
  // How often every app's revision is resolved again (Argo CD's
  // timeout.reconciliation and the repo-server's revision cache together).
  absl::Duration repo_poll_interval = absl::Minutes(3);
  // Every app is reconciled again this often even without events (real time).
  absl::Duration resync_period = absl::Minutes(10);
  // Wait between passes of a cascading delete (higher waves first).
  absl::Duration delete_poll = absl::Seconds(1);
};

class CdController : public controller::Reconciler, public AppStateSource {
 public:
  // `apps` is the cd store (Application, AppProject). `destination` is the
  // cluster apps deploy to (a RoutedCluster, so that Argo kinds reach their
  // own service). `repos` and `repositories` belong to the CdServer.
  // Everything must outlive the controller; `repositories` may be null (no
  // credentials).
  CdController(resource::ResourceApi* apps, cluster::Cluster* destination, repo::RepoServer* repos,
               repo::RepositoryStore* repositories, CdControllerOptions options = {});
  ~CdController() override;

  // Creates the `default` AppProject in argocd when missing, then starts the
  // watches, the workers and the poll timer.
  absl::Status Start();
  // Idempotent.
  void Stop();

  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override;
  // Asks for the app "namespace/name" to be reconciled.
  void Enqueue(const std::string& key);

  // AppStateSource.
  absl::StatusOr<repo::ManifestResponse> Manifests(const nlohmann::json& app,
                                                   std::string_view revision) override;
  absl::StatusOr<engine::CompareResult> CompareNow(const nlohmann::json& app) override;
  absl::StatusOr<nlohmann::json> LiveObject(const engine::ResourceKey& key) override;
  absl::Status OnPush(const repo::PushEvent& event) override;
  repo::RepositoryStore* repositories() override { return repositories_; }
  repo::RepoServer* repo_server() override { return repos_; }

 private:
  // What the app's source(s) render to at one revision.
  struct Rendered {
    std::string revision;                // first source's commit
    std::vector<std::string> revisions;  // per source
    std::vector<std::string> source_types;
    std::vector<nlohmann::json> targets;  // PrepareTarget()ed
    std::string error;                    // non-empty: generation failed
  };
  struct RenderOptions {
    std::string revision;    // "" = each source's targetRevision
    nlohmann::json sources;  // null: the app's spec.source(s)
    bool force_resolve = false;
    bool no_cache = false;
  };

  // `observed` receives the app as read (for the reconcile metric's labels).
  absl::StatusOr<controller::Result> ReconcileApp(const std::string& ns, const std::string& name,
                                                  nlohmann::json& observed);
  Rendered Render(const nlohmann::json& app, const RenderOptions& options);
  absl::StatusOr<repo::ManifestResponse> RenderSources(const nlohmann::json& app,
                                                       const RenderOptions& options);
  // Live objects of the app: kinds of `targets`, of status.resources and of
  // the running operation's results. Starts watches for new kinds.
  absl::StatusOr<std::vector<nlohmann::json>> Live(const nlohmann::json& app,
                                                   const std::vector<nlohmann::json>& targets);
  engine::HealthScripts Scripts();
  // The project of the app; the `default` project is created when missing.
  absl::StatusOr<nlohmann::json> Project(const nlohmann::json& app);
  // One sync step on `next` (status.operationState, history, operation):
  // renders at the operation's revision, executes the engine's actions.
  absl::StatusOr<controller::Result> RunOperation(nlohmann::json& next, const Rendered& current,
                                                  const engine::HealthScripts& scripts);
  // A cascading delete pass; then the finalizer goes, then the app.
  absl::StatusOr<controller::Result> Finalize(const nlohmann::json& app);
  // Writes what changed between `before` and `after` (status, metadata,
  // operation), with before's resourceVersion as precondition.
  absl::Status Write(const nlohmann::json& before, nlohmann::json after);
  // Write, and on a conflict with the API carry this reconcile's status and
  // operation over to the fresh app (a few times) rather than lose a sync
  // step's record of actions already taken.
  absl::Status WriteMerging(const nlohmann::json& app, nlohmann::json next);

  void WatchKinds(const KindSet& kinds);
  void OnLiveEvent(const cluster::WatchEvent& e);
  void TrackApp(const nlohmann::json& app, bool deleted);
  std::vector<std::string> AllAppKeys();
  void PollLoop();
  bool PollDue(const std::string& key);
  void MarkResolved(const std::string& key);

  resource::ResourceApi* const apps_;
  cluster::Cluster* const destination_;
  repo::RepoServer* const repos_;
  repo::RepositoryStore* const repositories_;
  const CdControllerOptions options_;
  controller::Clock* const clock_;
  std::unique_ptr<AppMetrics> metrics_;

  absl::Mutex mu_;
  // App name -> "namespace/name" keys (live objects name their app only).
  std::map<std::string, std::set<std::string>> keys_by_name_ ABSL_GUARDED_BY(mu_);
  // When each app's revision was last resolved against git.
  std::map<std::string, absl::Time> resolved_at_ ABSL_GUARDED_BY(mu_);
  KindSet watched_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<cluster::Informer>> live_informers_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::unique_ptr<controller::Controller> controller_;
  std::vector<std::unique_ptr<cluster::Informer>> informers_;
  std::thread poll_thread_;
};

}  // namespace argonaut::cd
