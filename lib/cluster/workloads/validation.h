// API-side validation of Pod, ReplicaSet, Deployment, Job and Service objects before they are
// stored. Every error is InvalidArgument and starts with the offending field path.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "lib/cluster/workloads/objects.h"

namespace argonaut::cluster::workloads {

// Name rules: DNS-1123 label (<= 63, [a-z0-9-], alphanumeric ends), DNS-1123 subdomain
// (<= 253, labels joined by '.'), DNS-1035 label (label starting with a letter).
absl::Status ValidateDns1123Label(std::string_view value, std::string_view path);
absl::Status ValidateDns1123Subdomain(std::string_view value, std::string_view path);
absl::Status ValidateDns1035Label(std::string_view value, std::string_view path);
// Label map: qualified-name keys (optional DNS prefix + '/' + name <= 63) and values
// (<= 63, alphanumeric ends, [-_.A-Za-z0-9]).
absl::Status ValidateLabels(const Json& labels, std::string_view path);

// A pod spec at `path` (e.g. "spec.template.spec"); `restart_policies` lists the allowed
// restartPolicy values (empty = any valid one).
absl::Status ValidatePodSpec(const Json& spec, std::string_view path,
                             const std::vector<std::string_view>& restart_policies = {});

absl::Status ValidatePod(const Json& pod);
absl::Status ValidateReplicaSet(const Json& rs);
absl::Status ValidateDeployment(const Json& deployment);
absl::Status ValidateJob(const Json& job);
absl::Status ValidateService(const Json& service);

}  // namespace argonaut::cluster::workloads
