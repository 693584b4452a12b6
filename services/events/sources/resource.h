// resource: watches SourceContext.cluster for the kind of
// `group/version/resource` in `namespace` (empty: all) and emits `eventTypes`
// (ADD, UPDATE, DELETE) of the objects passing `filter`: `prefix` (name),
// `labels` [{key, operation =,==,!=,exists,!,in,notin,gt,lt, value}],
// `fields` [{key: a dotted path, operation =,==,!=, value: a regex}],
// `createdBy` (created after that time) and `afterStart` (created after the
// listener started). data: {type, body, oldBody (UPDATE), group, version,
// resource, metadata}.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/events/sources/listener.h"

namespace argonaut::events::sources {

absl::StatusOr<std::unique_ptr<Listener>> StartResource(std::unique_ptr<Emitter> emitter);

// The pure half, for tests: whether `object` passes the resource `filter`
// (`start` is the listener's start time, for afterStart).
absl::StatusOr<bool> ResourcePassesFilter(const nlohmann::json& filter,
                                          const nlohmann::json& object, absl::Time start);

}  // namespace argonaut::events::sources
