#include "lib/store/in_memory_store.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/store/watch_hub.h"
#include "lib/store/write_plan.h"

namespace argonaut::store {

absl::StatusOr<std::unique_ptr<InMemoryStore>> InMemoryStore::Create(
    const InMemoryStoreOptions& options) {
  if (options.log_retention == 0) {
    return absl::InvalidArgumentError("log_retention must be at least 1");
  }
  RETURN_IF_ERROR(internal::ValidateKinds(options.kinds, {}));
  return absl::WrapUnique(new InMemoryStore(options));
}

InMemoryStore::InMemoryStore(const InMemoryStoreOptions& options)
    : log_retention_(options.log_retention),
      hub_(std::make_shared<internal::WatchHub>(
          [this](uint64_t after, size_t limit) { return ReadLog(after, limit); },
          /*published_version=*/0, /*max_recent=*/log_retention_)) {
  absl::MutexLock lock(&mu_);
  for (const std::string& kind : options.kinds) tables_[kind];
}

// Watchers share the hub and may outlive the store; Close() keeps them out of ReadLog.
InMemoryStore::~InMemoryStore() { hub_->Close(); }

absl::StatusOr<InMemoryStore::Table*> InMemoryStore::FindTable(std::string_view kind) {
  auto it = tables_.find(::argonaut::AbslView(kind));
  if (it == tables_.end()) return internal::UnknownKindError(kind);
  return &it->second;
}

absl::StatusOr<uint64_t> InMemoryStore::Apply(absl::Span<const internal::WriteRef> writes) {
  absl::MutexLock lock(&mu_);
  auto lookup = [this](std::string_view kind,
                       std::string_view key) -> absl::StatusOr<std::optional<Record>> {
    // Planning runs under mu_, which the lambda cannot express to the analysis.
    mu_.AssertHeld();
    ASSIGN_OR_RETURN(Table * table, FindTable(kind));
    auto it = table->find(key);
    if (it == table->end()) return std::nullopt;
    return it->second;
  };
  ASSIGN_OR_RETURN(std::vector<internal::PlannedWrite> plan,
                   internal::PlanWrites(writes, last_version_, lookup));
  if (plan.empty()) return last_version_;
  // Preconditions all held, so applying cannot fail halfway.
  std::vector<Event> published;
  published.reserve(plan.size());
  for (internal::PlannedWrite& p : plan) {
    Table& table = tables_.find(::argonaut::AbslView(p.kind))->second;
    Event event = internal::EventOf(p);
    if (event.type == EventType::kPut) {
      table.insert_or_assign(event.record.key, event.record);
    } else {
      table.erase(table.find(event.record.key));
    }
    published.push_back(event);
    log_.push_back(std::move(event));
  }
  last_version_ = plan.back().version;
  const uint64_t target = internal::TrimTarget(last_version_, trimmed_through_, log_retention_);
  while (trimmed_through_ < target) {
    log_.pop_front();
    ++trimmed_through_;
  }
  hub_->Publish(last_version_, std::move(published));
  return last_version_;
}

absl::StatusOr<Record> InMemoryStore::Get(std::string_view kind, std::string_view key) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Table * table, FindTable(kind));
  auto it = table->find(key);
  if (it == table->end()) {
    return absl::NotFoundError(
        absl::StrCat(::argonaut::AbslView(kind), " \"", ::argonaut::AbslView(key), "\" not found"));
  }
  return it->second;
}

absl::StatusOr<std::vector<Record>> InMemoryStore::List(std::string_view kind,
                                                        std::string_view prefix) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Table * table, FindTable(kind));
  std::vector<Record> records;
  for (auto it = table->lower_bound(prefix); it != table->end(); ++it) {
    if (!it->first.starts_with(prefix)) break;
    records.push_back(it->second);
  }
  return records;
}

uint64_t InMemoryStore::CurrentVersion() {
  absl::MutexLock lock(&mu_);
  return last_version_;
}

absl::StatusOr<std::unique_ptr<Watcher>> InMemoryStore::Watch(std::string_view kind,
                                                              std::string_view prefix,
                                                              uint64_t from_version) {
  {
    absl::MutexLock lock(&mu_);
    if (!kind.empty()) RETURN_IF_ERROR(FindTable(kind).status());
    if (from_version < trimmed_through_) {
      return absl::OutOfRangeError(absl::StrCat("version ", from_version,
                                                " is older than the change log, which starts at ",
                                                trimmed_through_ + 1, "; re-list and watch again"));
    }
  }
  return internal::WatchHub::NewWatcher(hub_, std::string(kind), std::string(prefix), from_version);
}

absl::StatusOr<std::vector<Event>> InMemoryStore::ReadLog(uint64_t after, size_t limit) {
  absl::MutexLock lock(&mu_);
  if (after < trimmed_through_) {
    return absl::OutOfRangeError(absl::StrCat("change log no longer holds version ", after + 1,
                                              "; re-list and watch again"));
  }
  std::vector<Event> events;
  for (uint64_t i = after - trimmed_through_; i < log_.size() && events.size() < limit; ++i) {
    events.push_back(log_[i]);
  }
  return events;
}

absl::Status InMemoryStore::Flush() { return absl::OkStatus(); }

}  // namespace argonaut::store
