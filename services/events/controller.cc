#include "services/events/controller.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/json_fields.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/api_cluster.h"

namespace argonaut::events {
namespace {

using base::json_fields::Field;
using base::json_fields::Str;
using nlohmann::json;

constexpr char kLog[] = "events-controller";

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return {"default", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

std::string BusName(const json& object) {
  std::string name = Str(Field(object, "spec"), "eventBusName");
  return name.empty() ? "default" : name;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

BusRegistry::BusRegistry(resource::ResourceApi* store, std::string data_dir)
    : store_(store), data_dir_(std::move(data_dir)) {}

absl::Status BusRegistry::EnsureDefault() {
  ASSIGN_OR_RETURN(std::vector<json> buses, store_->ListObjects("EventBus", "", ""));
  if (!buses.empty()) return absl::OkStatus();
  json bus = {{"apiVersion", "argoproj.io/v1alpha1"},
              {"kind", "EventBus"},
              {"metadata", {{"name", "default"}, {"namespace", "default"}}},
              {"spec", {{"jetstream", {{"version", "latest"}}}}}};
  absl::StatusOr<json> created = store_->CreateObject("EventBus", bus, /*upsert=*/false);
  if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
  return absl::OkStatus();
}

absl::StatusOr<std::string> BusRegistry::Resolve(const std::string& ns, const std::string& name,
                                                 std::string* url) {
  absl::StatusOr<json> object = store_->GetObject("EventBus", ns, name);
  if (!object.ok() && !absl::IsNotFound(object.status())) return object.status();
  if (object.ok()) {
    const json& exotic = Field(Field(*object, "spec"), "jetstreamExotic");
    if (std::string u = Str(exotic, "url"); !u.empty()) {
      *url = u;
      return absl::StrCat("jetstream:", u, "/", name);
    }
  } else if (name != "default") {
    return absl::NotFoundError(
        absl::StrCat("spec.eventBusName: EventBus ", ns, "/", name, " not found"));
  }
  if (data_dir_.empty()) {
    return absl::FailedPreconditionError("the events service has no data directory for its bus");
  }
  if (ns == "default" && name == "default") return absl::StrCat("local:", data_dir_, "/eventbus");
  return absl::StrCat("local:", data_dir_, "/eventbus-", ns, "-", name);
}

absl::StatusOr<bus::EventBus*> BusRegistry::Get(const std::string& ns, const std::string& name_in,
                                                std::string* key_out) {
  const std::string name = name_in.empty() ? "default" : name_in;
  std::string url;
  ASSIGN_OR_RETURN(std::string key, Resolve(ns, name, &url));
  if (key_out != nullptr) *key_out = key;
  absl::MutexLock lock(&mu_);
  auto it = buses_.find(key);
  if (it != buses_.end()) return it->second.get();
  std::unique_ptr<bus::EventBus> opened;
  if (url.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(key.substr(std::string("local:").size()), ec);
    if (ec) return absl::InternalError(absl::StrCat("event bus directory: ", ec.message()));
  }
  if (!url.empty()) {
    ASSIGN_OR_RETURN(opened,
                     bus::ConnectJetStream(bus::JetStreamOptions{.url = url, .stream = name}));
  } else {
    ASSIGN_OR_RETURN(opened, bus::OpenLocalBus(key.substr(std::string("local:").size())));
  }
  LogInfo(kLog, "event bus opened", {{"bus", absl::StrCat(ns, "/", name)}, {"backend", key}});
  bus::EventBus* raw = opened.get();
  buses_[key] = std::move(opened);
  return raw;
}

RunnerController::RunnerController(resource::ResourceApi* store, BusRegistry* buses,
                                   RunnerControllerOptions options)
    : store_(store),
      buses_(buses),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : controller::RealClock::Get()) {}

RunnerController::~RunnerController() { Stop(); }

absl::Status RunnerController::Start() {
  if (!options_.start) return absl::InvalidArgumentError("RunnerController: no runner factory");
  controller::ControllerOptions copts{.name = options_.kind == "Sensor" ? "sensor" : "eventsource",
                                      .workers = options_.workers,
                                      .list_keys =
                                          [this] {
                                            std::vector<std::string> keys;
                                            absl::StatusOr<std::vector<json>> listed =
                                                store_->ListObjects(options_.kind, "", "");
                                            if (listed.ok()) {
                                              for (const json& o : *listed)
                                                keys.push_back(cluster::KeyOf(o));
                                            }
                                            // Runners of objects deleted while no watch was
                                            // looking.
                                            absl::MutexLock lock(&mu_);
                                            for (const auto& [key, entry] : entries_)
                                              keys.push_back(key);
                                            return keys;
                                          },
                                      .resync_period = options_.resync_period};
  controller_ = std::make_unique<controller::Controller>(std::move(copts), this);
  RETURN_IF_ERROR(controller_->Start());
  informer_ = std::make_unique<cluster::Informer>(
      store_, options_.kind,
      [this](const cluster::WatchEvent& e) { controller_->Enqueue(cluster::KeyOf(e.object)); });
  // A changed EventBus may move its objects to another backend.
  bus_informer_ =
      std::make_unique<cluster::Informer>(store_, "EventBus", [this](const cluster::WatchEvent&) {
        std::vector<std::string> keys;
        {
          absl::MutexLock lock(&mu_);
          for (const auto& [key, entry] : entries_) keys.push_back(key);
        }
        for (const std::string& key : keys) controller_->Enqueue(key);
      });
  informer_->Start();
  bus_informer_->Start();
  return absl::OkStatus();
}

void RunnerController::Stop() {
  if (informer_) informer_->Stop();
  if (bus_informer_) bus_informer_->Stop();
  if (controller_) controller_->Stop();
  std::map<std::string, Entry> entries;
  {
    absl::MutexLock lock(&mu_);
    entries.swap(entries_);
  }
  for (auto& [key, entry] : entries) {
    if (entry.runner) entry.runner->Stop();
  }
}

size_t RunnerController::running() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [key, entry] : entries_) n += entry.runner != nullptr;
  return n;
}

int RunnerController::starts(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? 0 : it->second.starts;
}

void RunnerController::AddLog(const std::string& key, LogLine line) {
  line.key = key;
  line.time = clock_->Now();
  logs_.Add(std::move(line));
}

absl::Status RunnerController::Replay(const std::string& key, const bus::StoredEvent& event) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat(options_.kind, " ", key, " is not running"));
  }
  if (!it->second.runner) {
    return absl::FailedPreconditionError(absl::StrCat(
        options_.kind, " ", key, " did not start: ", it->second.start_error.message()));
  }
  // Replay only queues the event: holding mu_ across it is short.
  return it->second.runner->Replay(event);
}

void RunnerController::StopEntry(const std::string& key) {
  std::unique_ptr<Runner> runner;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    runner = std::move(it->second.runner);
    entries_.erase(it);
    written_.erase(key);
    logged_.erase(key);
  }
  // The object is gone; so are its lines.
  logs_.Forget(key);
  if (runner) {
    runner->Stop();
    LogInfo(kLog, "runner stopped", {{"kind", options_.kind}, {"object", key}});
  }
}

json RunnerController::StatusOf(const Entry& entry) const {
  if (!entry.start_error.ok()) {
    return json{{"conditions", json::array({{{"type", "Deployed"},
                                             {"status", "False"},
                                             {"reason", "StartFailed"},
                                             {"message", std::string(entry.start_error.message())},
                                             {"lastTransitionTime", entry.start_time}}})}};
  }
  json status = entry.runner->Status();
  if (!status.is_object()) status = json::object();
  if (!status.contains("conditions")) {
    status["conditions"] = json::array({{{"type", "Deployed"},
                                         {"status", "True"},
                                         {"reason", "Running"},
                                         {"lastTransitionTime", entry.start_time}}});
  }
  return status;
}

absl::StatusOr<controller::Result> RunnerController::Reconcile(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  absl::StatusOr<json> object = store_->GetObject(options_.kind, ns, name);
  if (absl::IsNotFound(object.status())) {
    StopEntry(key);
    return controller::Result{};
  }
  if (!object.ok()) return object.status();

  std::string bus_key;
  absl::StatusOr<bus::EventBus*> bus = buses_->Get(ns, BusName(*object), &bus_key);
  const std::string fingerprint = absl::StrCat(Field(*object, "spec").dump(), "|", bus_key);

  bool start = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    start = it == entries_.end() || it->second.fingerprint != fingerprint ||
            (!it->second.start_error.ok() &&
             clock_->Now() - it->second.attempted >= options_.retry_period);
  }
  if (start) {
    std::unique_ptr<Runner> old;
    int starts = 0;
    {
      absl::MutexLock lock(&mu_);
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        old = std::move(it->second.runner);
        starts = it->second.starts;
      }
    }
    // The old listeners free their ports before the new ones bind.
    if (old) old->Stop();
    Entry entry{.fingerprint = fingerprint,
                .start_time = Rfc3339(clock_->Now()),
                .attempted = clock_->Now(),
                .starts = starts + 1};
    if (!bus.ok()) {
      entry.start_error = bus.status();
    } else {
      absl::StatusOr<std::unique_ptr<Runner>> runner = options_.start(*object, *bus);
      if (runner.ok()) {
        entry.runner = std::move(*runner);
      } else {
        entry.start_error = runner.status();
      }
    }
    if (entry.start_error.ok()) {
      LogInfo(kLog, "runner started", {{"kind", options_.kind}, {"object", key}, {"bus", bus_key}});
      AddLog(key, {.msg = absl::StrCat(entry.starts > 1 ? "restarted" : "started", " on bus ",
                                       BusName(*object))});
    } else {
      AddLog(key, {.level = "error",
                   .msg = absl::StrCat("failed to start: ", entry.start_error.message())});
      LogWarn(kLog, "runner failed to start",
              {{"kind", options_.kind},
               {"object", key},
               {"error", std::string(entry.start_error.message())}});
    }
    absl::MutexLock lock(&mu_);
    entries_[key] = std::move(entry);
    logged_[key] = json();  // the new runner counts from zero
  }

  json status;
  bool failed = false;
  {
    absl::MutexLock lock(&mu_);
    const Entry& entry = entries_.at(key);
    status = StatusOf(entry);
    failed = !entry.start_error.ok();
    if (!failed) {
      json& logged = logged_[key];
      for (LogLine& line : StatusLines(options_.kind, logged, status)) AddLog(key, std::move(line));
      logged = status;
    }
    auto w = written_.find(key);
    if (w != written_.end() && w->second == status) {
      return controller::Result{.requeue_after =
                                    failed ? options_.retry_period : options_.status_period};
    }
  }
  json updated = *object;
  updated["status"] = status;
  // Argo's CRDs have a status subresource; a store without one takes the
  // whole object (the spec as read, so the precondition still guards it).
  absl::StatusOr<const resource::KindInfo*> info = store_->Resolve(options_.kind);
  const bool subresource = info.ok() && (*info)->status_subresource;
  absl::StatusOr<json> written = subresource ? store_->UpdateStatusObject(options_.kind, updated)
                                             : store_->UpdateObject(options_.kind, updated);
  if (!written.ok()) {
    // ABORTED: the object changed since it was read; its watch event
    // brings it back.
    return written.status();
  }
  {
    absl::MutexLock lock(&mu_);
    written_[key] = std::move(status);
  }
  return controller::Result{.requeue_after =
                                failed ? options_.retry_period : options_.status_period};
}

}  // namespace argonaut::events
