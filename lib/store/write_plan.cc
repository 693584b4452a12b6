#include "lib/store/write_plan.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::store::internal {
namespace {

absl::Status CheckPrecondition(const WriteRef& w, const std::optional<Record>& current) {
  if (!w.value.has_value() && !current.has_value()) {
    return absl::NotFoundError(absl::StrCat("cannot delete ", ::argonaut::AbslView(w.kind), " \"",
                                            ::argonaut::AbslView(w.key), "\": not found"));
  }
  if (!w.expected_version.has_value()) return absl::OkStatus();
  const uint64_t expected = *w.expected_version;
  if (expected == kMustNotExist) {
    if (current.has_value()) {
      return absl::AlreadyExistsError(
          absl::StrCat(::argonaut::AbslView(w.kind), " \"", ::argonaut::AbslView(w.key),
                       "\" already exists at version ", current->resource_version));
    }
    return absl::OkStatus();
  }
  if (!current.has_value()) {
    return absl::NotFoundError(absl::StrCat(::argonaut::AbslView(w.kind), " \"",
                                            ::argonaut::AbslView(w.key),
                                            "\" not found, expected version ", expected));
  }
  if (current->resource_version != expected) {
    return absl::AbortedError(absl::StrCat(::argonaut::AbslView(w.kind), " \"",
                                           ::argonaut::AbslView(w.key), "\" is at version ",
                                           current->resource_version, ", expected ", expected));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<PlannedWrite>> PlanWrites(absl::Span<const WriteRef> writes,
                                                     uint64_t last_version, RecordLookup lookup) {
  // Keys written earlier in this batch (nullopt: deleted); later writes must
  // see them. Values are borrowed from `writes`.
  struct Written {
    uint64_t version;
    std::string_view value;
  };
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, std::optional<Written>>
      overlay;
  std::vector<PlannedWrite> plan;
  plan.reserve(writes.size());
  uint64_t version = last_version;
  for (const WriteRef& w : writes) {
    if (w.key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("empty key for kind ", ::argonaut::AbslView(w.kind)));
    }
    const auto id = std::make_pair(::argonaut::AbslView(w.kind), ::argonaut::AbslView(w.key));
    std::optional<Record> current;
    if (auto it = overlay.find(id); it != overlay.end()) {
      if (it->second.has_value()) {
        current = Record{.key = std::string(w.key),
                         .value = std::string(it->second->value),
                         .resource_version = it->second->version};
      }
    } else {
      ASSIGN_OR_RETURN(current, lookup(w.kind, w.key));
    }
    RETURN_IF_ERROR(CheckPrecondition(w, current));
    ++version;
    PlannedWrite p{.kind = w.kind,
                   .key = w.key,
                   .value = w.value,
                   .version = version,
                   .created = !current.has_value()};
    if (w.value.has_value()) {
      overlay.insert_or_assign(id, Written{.version = version, .value = *w.value});
    } else {
      p.previous_value = std::move(current->value);
      overlay.insert_or_assign(id, std::nullopt);
    }
    plan.push_back(std::move(p));
  }
  return plan;
}

absl::StatusOr<uint64_t> WriteRefStore::Put(std::string_view kind, std::string_view key,
                                            std::string_view value,
                                            std::optional<uint64_t> expected_version) {
  const WriteRef write{
      .kind = kind, .key = key, .value = value, .expected_version = expected_version};
  return Apply(absl::MakeConstSpan(&write, 1));
}

absl::StatusOr<uint64_t> WriteRefStore::Delete(std::string_view kind, std::string_view key,
                                               std::optional<uint64_t> expected_version) {
  const WriteRef write{
      .kind = kind, .key = key, .value = std::nullopt, .expected_version = expected_version};
  return Apply(absl::MakeConstSpan(&write, 1));
}

absl::StatusOr<uint64_t> WriteRefStore::Commit(const std::vector<Write>& writes) {
  std::vector<WriteRef> refs;
  refs.reserve(writes.size());
  for (const Write& w : writes) {
    refs.push_back(
        {.kind = w.kind,
         .key = w.key,
         .value = w.value.has_value() ? std::optional<std::string_view>(*w.value) : std::nullopt,
         .expected_version = w.expected_version});
  }
  return Apply(refs);
}

Event EventOf(PlannedWrite& p) {
  Event e;
  e.kind = std::string(p.kind);
  e.record.key = std::string(p.key);
  e.record.resource_version = p.version;
  if (p.value.has_value()) {
    e.created = p.created;
    e.record.value = std::string(*p.value);
  } else {
    e.type = EventType::kDelete;
    e.record.value = std::move(p.previous_value);
  }
  return e;
}

absl::Status UnknownKindError(std::string_view kind) {
  return absl::InvalidArgumentError(
      absl::StrCat("unknown kind \"", ::argonaut::AbslView(kind), "\""));
}

absl::Status ValidateKinds(const std::vector<std::string>& kinds,
                           absl::Span<const std::string_view> reserved) {
  absl::flat_hash_set<absl::string_view> seen;
  for (const std::string& kind : kinds) {
    if (kind.empty()) return absl::InvalidArgumentError("empty kind name");
    for (std::string_view r : reserved) {
      if (kind == r) {
        return absl::InvalidArgumentError(absl::StrCat("kind name \"", kind, "\" is reserved"));
      }
    }
    if (!seen.insert(kind).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate kind \"", kind, "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace argonaut::store::internal
