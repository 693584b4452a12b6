// Shared helpers for reading Kubernetes objects held as nlohmann::json: typed field access
// that reports the field path on bad input, timestamps, int-or-percent values, label
// selectors, pod readiness/availability and status conditions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::cluster::workloads {

using Json = nlohmann::json;

// Label and annotation keys Kubernetes' controllers use.
inline constexpr char kPodTemplateHashLabel[] = "pod-template-hash";
inline constexpr char kRevisionAnnotation[] = "deployment.kubernetes.io/revision";
inline constexpr char kRevisionHistoryAnnotation[] = "deployment.kubernetes.io/revision-history";
inline constexpr char kDesiredReplicasAnnotation[] = "deployment.kubernetes.io/desired-replicas";
inline constexpr char kMaxReplicasAnnotation[] = "deployment.kubernetes.io/max-replicas";
inline constexpr char kPodDeletionCostAnnotation[] = "controller.kubernetes.io/pod-deletion-cost";

// Kubernetes caps pod creations/deletions per sync (the controllers' burstReplicas), which
// also bounds the memory a hostile replica count can make us allocate.
inline constexpr int kMaxPodChangesPerSync = 500;

// obj[key] when obj is an object holding a non-null key, else nullptr.
const Json* Field(const Json& obj, std::string_view key);
// Walks nested objects; nullptr as soon as a step is missing.
const Json* FieldPath(const Json& obj, std::initializer_list<std::string_view> keys);

// Strict readers for spec fields: a missing or null field yields the default, a present field
// of the wrong type (or out of int32 range) is an InvalidArgument error naming `path`.
absl::StatusOr<int32_t> Int32Field(const Json& obj, std::string_view key, int32_t def,
                                   std::string_view path);
absl::StatusOr<std::optional<int64_t>> OptionalInt64Field(const Json& obj, std::string_view key,
                                                          std::string_view path);
absl::StatusOr<std::string> StringField(const Json& obj, std::string_view key, std::string_view def,
                                        std::string_view path);
absl::StatusOr<bool> BoolField(const Json& obj, std::string_view key, bool def,
                               std::string_view path);

// Lenient readers for status fields this package writes itself: wrong types read as default.
int64_t IntOr(const Json& obj, std::string_view key, int64_t def);
std::string StrOr(const Json& obj, std::string_view key, std::string_view def = "");

// RFC 3339 timestamps as Kubernetes serialises them (second precision, UTC "Z").
std::string FormatK8sTime(absl::Time t);
absl::StatusOr<absl::Time> ParseK8sTime(std::string_view text);
// A timestamp field; nullopt when absent or unparseable.
std::optional<absl::Time> TimeField(const Json& obj, std::string_view key);

// Resolves an IntOrString such as maxSurge ("25%" or 2) against `total`. Percentages round
// up or down as asked. Negative values and malformed strings are errors naming `path`.
absl::StatusOr<int32_t> ScaledIntOrPercent(const Json& value, int32_t total, bool round_up,
                                           std::string_view path);

// Label selector (matchLabels + matchExpressions with In/NotIn/Exists/DoesNotExist).
// An empty selector matches everything; callers reject empty selectors where Kubernetes does.
absl::StatusOr<bool> SelectorMatches(const Json& selector, const Json& labels,
                                     std::string_view path);

// Pods.
bool IsTerminating(const Json& obj);  // metadata.deletionTimestamp set
std::string PodPhase(const Json& pod);
// Kubernetes' "active": not Succeeded, not Failed, not being deleted.
bool IsPodActive(const Json& pod);
bool IsPodReady(const Json& pod);
// Ready for at least minReadySeconds as of `now`.
bool IsPodAvailable(const Json& pod, int32_t min_ready_seconds, absl::Time now);
// Sum of restartCount over init and regular container statuses.
int64_t PodRestarts(const Json& pod);

// Owner references.
const Json* ControllerRef(const Json& obj);
bool IsControlledBy(const Json& obj, const Json& owner);
Json MakeControllerRef(const Json& owner);

// Conditions arrays (status.conditions). Get returns nullptr when absent.
const Json* GetCondition(const Json& conditions, std::string_view type);
void RemoveCondition(Json& conditions, std::string_view type);
// Kubernetes' SetCondition rule: an identical status+reason is left untouched; a changed
// reason with the same status keeps lastTransitionTime.
void SetCondition(Json& conditions, std::string_view type, std::string_view status,
                  std::string_view reason, std::string_view message, absl::Time now,
                  bool with_update_time = false);

// Sorted, readable rendering of a name list for messages: "[a b c]".
std::string NameList(const std::vector<std::string>& names);

// Rejects JSON nested deeper than `max_depth` without recursing, so that later recursive
// walks (dump, comparisons) cannot exhaust the stack on hostile input.
absl::Status CheckDepth(const Json& value, int max_depth, std::string_view path);

}  // namespace argonaut::cluster::workloads
