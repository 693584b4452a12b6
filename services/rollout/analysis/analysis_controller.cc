#include "services/rollout/analysis/analysis_controller.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/informer.h"
#include "services/rollout/analysis/analysis_metrics.h"
#include "services/rollout/analysis/assess.h"
#include "services/rollout/analysis/build.h"
#include "services/rollout/analysis/json_fields.h"
#include "services/rollout/analysis/provider.h"

namespace argonaut::rollout::analysis {
namespace {

using json_fields::Field;
using json_fields::Str;
using nlohmann::json;

constexpr char kKind[] = "AnalysisRun";
constexpr char kLog[] = "analysis";

// A web/prometheus measurement handed to the worker pool.
struct InFlight {
  std::string key;  // namespace/name of the run, to wake it
  bool done = false;
  json measurement;
};

// The status as the store gives it back: empty strings, lists and objects
// are not kept by the protobuf round trip, so they must not count as a
// change (or every reconcile would write, and every write reconcile).
json Normalized(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, e] : v.items()) {
      json n = Normalized(e);
      if (n.is_null() || (n.is_string() && n.get_ref<const std::string&>().empty()) ||
          ((n.is_array() || n.is_object()) && n.empty())) {
        continue;
      }
      out[k] = std::move(n);
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const json& e : v) out.push_back(Normalized(e));
    return out;
  }
  return v;
}

void RedactMessage(json& m, const std::vector<std::string>& secrets) {
  if (m.is_object() && m.contains("message") && m["message"].is_string()) {
    m["message"] = Redact(m["message"].get<std::string>(), secrets);
  }
}

}  // namespace

struct AnalysisRunController::Impl {
  Impl(resource::ResourceApi* s, cluster::Cluster* c, AnalysisControllerOptions o)
      : store(s),
        cluster(c),
        options(o),
        clock(o.clock != nullptr ? o.clock : controller::RealClock::Get()) {}

  resource::ResourceApi* const store;
  cluster::Cluster* const cluster;
  const AnalysisControllerOptions options;
  controller::Clock* const clock;

  std::unique_ptr<AnalysisMetrics> metrics;
  std::unique_ptr<controller::Controller> controller;
  std::vector<std::unique_ptr<cluster::Informer>> informers;

  absl::Mutex mu;
  std::deque<std::function<void()>> queue ABSL_GUARDED_BY(mu);
  bool stopping ABSL_GUARDED_BY(mu) = false;
  // By "<run uid>/<metric>": at most one measurement of a metric is in flight.
  std::map<std::string, InFlight> in_flight ABSL_GUARDED_BY(mu);
  std::vector<std::thread> workers;

  void WorkerLoop() {
    while (true) {
      std::function<void()> job;
      {
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(
            +[](Impl* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu) {
              return self->stopping || !self->queue.empty();
            },
            this));
        if (stopping) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      job();
    }
  }

  // Queues a blocking measurement; its result is picked up by the next
  // reconcile of the run, which the worker triggers.
  void Submit(const std::string& id, const std::string& key, std::shared_ptr<MetricProvider> p,
              RunRef run, json metric, std::vector<std::string> secrets)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    in_flight[id] = InFlight{.key = key};
    queue.push_back([this, id, key, p, run = std::move(run), metric = std::move(metric),
                     secrets = std::move(secrets)] {
      json m = p->Run(run, metric);
      RedactMessage(m, secrets);
      {
        absl::MutexLock lock(&mu);
        auto it = in_flight.find(id);
        if (it == in_flight.end()) return;  // the run went away meanwhile
        it->second.done = true;
        it->second.measurement = std::move(m);
      }
      if (controller) controller->Enqueue(key);
    });
  }

  void ForgetRun(const std::string& uid) {
    absl::MutexLock lock(&mu);
    const std::string prefix = uid + "/";
    for (auto it = in_flight.lower_bound(prefix);
         it != in_flight.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
      it = in_flight.erase(it);
    }
  }

  // The local cluster's garbage collector follows only its own kinds, so the
  // Jobs of a deleted run are removed here (Kubernetes would cascade).
  void DeleteJobs(const std::string& ns, const std::string& uid) {
    if (cluster == nullptr || uid.empty()) return;
    absl::StatusOr<std::vector<json>> jobs =
        cluster->List("Job", ns, absl::StrCat(kRunUidLabel, "=", uid));
    if (!jobs.ok()) return;
    for (const json& job : *jobs) {
      absl::Status s = cluster->Delete("Job", ns, cluster::NameOf(job));
      if (!s.ok() && !absl::IsNotFound(s)) {
        LogWarn(kLog, "deleting a metric job",
                {{"job", cluster::NameOf(job)}, {"error", s.ToString()}});
      }
    }
  }

  // Argument values with secrets read from the cluster, and the secret
  // values (for redaction).
  absl::StatusOr<std::map<std::string, std::string>> ArgValues(const json& run,
                                                               std::vector<std::string>& secrets) {
    std::map<std::string, std::string> values;
    const json& args = Field(Field(run, "spec"), "args");
    if (!args.is_array()) return values;
    const std::string ns = Str(Field(run, "metadata"), "namespace");
    for (const json& arg : args) {
      const std::string name = Str(arg, "name");
      const json& ref = Field(Field(arg, "valueFrom"), "secretKeyRef");
      if (!ref.is_object()) {
        if (Field(arg, "value").is_string()) {
          values[name] = arg["value"].get<std::string>();
          continue;
        }
        return absl::InvalidArgumentError(absl::StrCat("argument \"", name, "\" was not supplied"));
      }
      const std::string secret_name = Str(ref, "name"), key = Str(ref, "key");
      if (cluster == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("secret \"", secret_name, "\": no cluster to read secrets from"));
      }
      absl::StatusOr<json> secret = cluster->Get("Secret", ns, secret_name);
      if (!secret.ok()) {
        return absl::Status(secret.status().code(),
                            absl::StrCat("secrets \"", secret_name, "\" ",
                                         absl::IsNotFound(secret.status())
                                             ? "not found"
                                             : std::string(secret.status().message())));
      }
      std::optional<std::string> content;
      if (const json& data = Field(Field(*secret, "data"), key.c_str()); data.is_string()) {
        std::string decoded;
        if (absl::Base64Unescape(data.get<std::string>(), &decoded)) content = decoded;
      } else if (const json& sd = Field(Field(*secret, "stringData"), key.c_str());
                 sd.is_string()) {
        content = sd.get<std::string>();
      }
      if (!content.has_value()) {
        return absl::NotFoundError(
            absl::StrCat("key '", key, "' does not exist in secret '", secret_name, "'"));
      }
      values[name] = *content;
      secrets.push_back(*content);
    }
    return values;
  }

  absl::StatusOr<controller::Result> Reconcile(const std::string& key) {
    const std::vector<std::string> parts = absl::StrSplit(key, absl::MaxSplits('/', 1));
    if (parts.size() != 2) return absl::FailedPreconditionError("bad key " + key);
    absl::StatusOr<json> got = store->GetObject(kKind, parts[0], parts[1]);
    if (absl::IsNotFound(got.status())) return controller::Result{};
    if (!got.ok()) return got.status();
    json run = *std::move(got);
    const absl::Time now = clock->Now();
    const std::string uid = Str(Field(run, "metadata"), "uid");
    const RunRef ref{.ns = parts[0],
                     .name = parts[1],
                     .uid = uid,
                     .status = Field(run, "status").is_object() ? run["status"] : json::object()};
    Plan plan = PlanMeasurements(run, now);
    if (plan.completed) {
      ForgetRun(uid);
      if (std::optional<absl::Duration> ttl = TimeToDeletion(run, now); ttl.has_value()) {
        if (*ttl > absl::ZeroDuration()) return controller::Result{.requeue_after = *ttl};
        LogInfo(kLog, "deleting analysis run past its ttlStrategy", {{"run", key}});
        absl::Status s = store->Delete(kKind, parts[0], parts[1],
                                       Str(Field(run, "metadata"), "resourceVersion"));
        if (!s.ok() && !absl::IsNotFound(s)) return s;
      }
      return controller::Result{};
    }
    json status;
    std::optional<absl::Duration> requeue;
    bool completed = false;
    if (plan.error_status.has_value()) {
      status = *plan.error_status;
      completed = true;
    } else {
      std::vector<std::string> secrets;
      std::vector<MeasurementUpdate> updates;
      std::optional<std::string> run_error;
      std::map<std::string, std::string> values;
      if (!plan.tasks.empty()) {
        absl::StatusOr<std::map<std::string, std::string>> v = ArgValues(run, secrets);
        if (v.ok()) {
          values = *std::move(v);
        } else {
          run_error = absl::StrCat("Unable to resolve metric arguments: ", v.status().message());
        }
      }
      for (const MetricTask& task : plan.tasks) {
        if (run_error.has_value()) break;
        absl::StatusOr<json> metric = ResolveMetricArgs(task.raw_spec, values);
        if (!metric.ok()) {
          run_error =
              absl::StrCat("Unable to resolve metric arguments: ", metric.status().message());
          break;
        }
        std::optional<MeasurementUpdate> u = Measure(key, ref, task, *metric, secrets, now);
        if (u.has_value()) {
          RedactMessage(u->measurement, secrets);
          updates.push_back(*std::move(u));
        }
      }
      if (run_error.has_value()) {
        status = RunErrorStatus(ref.status, Redact(*run_error, secrets), now);
        completed = true;
      } else {
        Assessment a = Assess(run, updates, now);
        status = std::move(a.status);
        requeue = a.requeue_after;
        completed = a.completed;
      }
    }
    if (Normalized(status) != Normalized(Field(run, "status"))) {
      run["status"] = status;
      // No status subresource on AnalysisRun (as in Argo): the whole object
      // is written, guarded by the resourceVersion it was read at.
      absl::StatusOr<json> written = store->UpdateObject(kKind, run);
      if (!written.ok()) return written.status();
      if (Str(status, "phase") != Str(ref.status, "phase")) {
        LogInfo(
            kLog, "analysis run phase",
            {{"run", key}, {"phase", Str(status, "phase")}, {"message", Str(status, "message")}});
      }
    }
    if (completed) ForgetRun(uid);
    controller::Result result;
    if (requeue.has_value()) result.requeue_after = std::max(*requeue, absl::Milliseconds(1));
    return result;
  }

  // One task: start, resume or terminate a measurement. Returns the update
  // for the status, if any.
  std::optional<MeasurementUpdate> Measure(const std::string& key, const RunRef& ref,
                                           const MetricTask& task, const json& metric,
                                           const std::vector<std::string>& secrets,
                                           absl::Time now) {
    absl::StatusOr<std::unique_ptr<MetricProvider>> made =
        NewProvider(metric, {.cluster = cluster, .clock = clock});
    if (!made.ok()) {
      json m = task.in_flight.has_value() ? *task.in_flight : json{{"startedAt", TimeText(now)}};
      m["phase"] = kPhaseError;
      m["message"] = std::string(made.status().message());
      m["finishedAt"] = TimeText(now);
      return MeasurementUpdate{
          .metric = task.metric, .measurement = m, .replace_last = task.in_flight.has_value()};
    }
    std::shared_ptr<MetricProvider> provider = std::move(*made);
    const std::string id = ref.uid + "/" + task.metric;
    if (!provider->Blocking()) {
      if (!task.in_flight.has_value()) {
        return MeasurementUpdate{.metric = task.metric, .measurement = provider->Run(ref, metric)};
      }
      json m = task.terminate ? provider->Terminate(ref, metric, *task.in_flight)
                              : provider->Resume(ref, metric, *task.in_flight);
      if (task.terminate &&
          (Str(m, "phase") == kPhaseSuccessful || Str(m, "phase") == kPhaseInconclusive)) {
        m["message"] = "Metric Terminated";
      }
      if (m == *task.in_flight) return std::nullopt;
      return MeasurementUpdate{.metric = task.metric, .measurement = m, .replace_last = true};
    }
    absl::MutexLock lock(&mu);
    auto it = in_flight.find(id);
    if (it != in_flight.end() && it->second.done) {
      // Finished on the pool: in the status as Running (replace) or, when
      // that write was lost, not at all (append).
      MeasurementUpdate u{.metric = task.metric,
                          .measurement = std::move(it->second.measurement),
                          .replace_last = task.in_flight.has_value()};
      in_flight.erase(it);
      return u;
    }
    if (!task.in_flight.has_value()) {
      if (it == in_flight.end()) Submit(id, key, provider, ref, metric, secrets);
      return MeasurementUpdate{
          .metric = task.metric,
          .measurement = json{{"phase", kPhaseRunning}, {"startedAt", TimeText(now)}}};
    }
    // In flight in the status but unknown to the pool (the process
    // restarted): take it again. A terminating run leaves it, as Argo leaves
    // web/prometheus measurements it cannot stop.
    if (it == in_flight.end() && !task.terminate) Submit(id, key, provider, ref, metric, secrets);
    return std::nullopt;
  }
};

AnalysisRunController::AnalysisRunController(resource::ResourceApi* store,
                                             cluster::Cluster* cluster,
                                             AnalysisControllerOptions options)
    : impl_(std::make_unique<Impl>(store, cluster, options)) {}

AnalysisRunController::~AnalysisRunController() { Stop(); }

absl::Status AnalysisRunController::Start() {
  Impl& d = *impl_;
  if (d.options.metrics != nullptr && d.metrics == nullptr) {
    ASSIGN_OR_RETURN(d.metrics, AnalysisMetrics::Create(*d.options.metrics, d.store));
  }
  for (int i = 0; i < std::max(1, d.options.workers); ++i) {
    d.workers.emplace_back([&d] { d.WorkerLoop(); });
  }
  controller::ControllerOptions copts{
      .name = "analysisrun",
      .workers = std::max(1, d.options.reconcile_workers),
      .list_keys =
          [&d] {
            std::vector<std::string> keys;
            absl::StatusOr<std::vector<json>> runs = d.store->ListObjects(kKind, "", "");
            if (!runs.ok()) return keys;
            for (const json& r : *runs) {
              if (PhaseCompleted(Str(Field(r, "status"), "phase"))) continue;
              keys.push_back(absl::StrCat(cluster::NamespaceOf(r), "/", cluster::NameOf(r)));
            }
            return keys;
          },
      .resync_period = d.options.resync_period,
      .clock = d.clock};
  d.controller = std::make_unique<controller::Controller>(std::move(copts), this);
  RETURN_IF_ERROR(d.controller->Start());
  auto runs =
      std::make_unique<cluster::Informer>(d.store, kKind, [&d](const cluster::WatchEvent& e) {
        const std::string key =
            absl::StrCat(cluster::NamespaceOf(e.object), "/", cluster::NameOf(e.object));
        if (e.type == "DELETED") {
          const std::string uid = Str(Field(e.object, "metadata"), "uid");
          d.ForgetRun(uid);
          d.DeleteJobs(cluster::NamespaceOf(e.object), uid);
          return;
        }
        d.controller->Enqueue(key);
      });
  runs->Start();
  d.informers.push_back(std::move(runs));
  if (d.cluster != nullptr) {
    auto jobs = std::make_unique<cluster::Informer>(
        "analysis jobs",
        [&d](const std::string& rv) {
          return d.cluster->WatchObjects("Job", "", kRunUidLabel, rv);
        },
        [&d](const cluster::WatchEvent& e) {
          const json& annotations = Field(Field(e.object, "metadata"), "annotations");
          const std::string ns = Str(annotations, kRunNamespaceAnnotation);
          const std::string name = Str(annotations, kRunNameAnnotation);
          if (!ns.empty() && !name.empty()) d.controller->Enqueue(ns + "/" + name);
        });
    jobs->Start();
    d.informers.push_back(std::move(jobs));
  }
  return absl::OkStatus();
}

void AnalysisRunController::Stop() {
  Impl& d = *impl_;
  for (auto& i : d.informers) i->Stop();
  d.informers.clear();
  if (d.controller) d.controller->Stop();
  {
    absl::MutexLock lock(&d.mu);
    d.stopping = true;
    d.queue.clear();
  }
  // A worker mid-measurement finishes it (bounded by the metric's timeout).
  for (std::thread& t : d.workers) t.join();
  d.workers.clear();
}

absl::StatusOr<controller::Result> AnalysisRunController::Reconcile(const std::string& key) {
  const absl::Time start = absl::Now();
  absl::StatusOr<controller::Result> result = impl_->Reconcile(key);
  if (impl_->metrics) {
    const std::vector<std::string> parts = absl::StrSplit(key, absl::MaxSplits('/', 1));
    impl_->metrics->ObserveReconcile(parts[0], parts.size() > 1 ? parts[1] : "",
                                     absl::Now() - start, !result.ok());
  }
  if (!result.ok()) {
    LogWarn(kLog, "reconcile failed", {{"run", key}, {"error", result.status().ToString()}});
  }
  return result;
}

}  // namespace argonaut::rollout::analysis
