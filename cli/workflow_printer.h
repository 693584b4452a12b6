// How the workflow commands print: `argonaut get wf NAME` in `argo get`'s layout (header block,
// then the node tree with STEP / TEMPLATE / PODNAME / DURATION / MESSAGE), `argonaut list` in
// `argo list`'s columns, and `argo logs`' "<pod>: <line>" prefix. Pure functions of the workflow
// JSON and the time.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {

// "1 hour 2 minutes 3 seconds", "0 seconds".
std::string HumanDuration(absl::Duration d);
// "3s", "12m", "5h", "2d".
std::string ShortDuration(absl::Duration d);
// "Mon Jan 02 15:04:05 +0000 (31 seconds ago)".
std::string HumanTimestamp(absl::Time t, absl::Time now);
// Workflow status as `argo list` shows it: "Running", "Running (Suspended)", "Pending" when
// the controller has not picked it up yet.
std::string WorkflowStatusText(const nlohmann::json& wf);

// The pod name Argo (POD_NAMES=v2) gives a Pod node: <wf>-<template>-<hash of node name>, the
// workflow's name for a root pod node.
std::string PodNameOfNode(const std::string& workflow, const std::string& node_id,
                          const nlohmann::json& node);

// `argo get` default output.
std::string FormatWorkflow(const nlohmann::json& wf, absl::Time now);
// The node tree alone (STEP TEMPLATE PODNAME DURATION MESSAGE), empty when there is no root node.
std::string FormatNodeTree(const nlohmann::json& wf, absl::Time now);

// `argo list`: NAME STATUS AGE DURATION PRIORITY MESSAGE; `wide` adds P/R/C (pending/running/
// completed node counts) and PARAMETERS columns; all_namespaces prefixes NAMESPACE.
std::string FormatWorkflowList(const std::vector<nlohmann::json>& items, bool all_namespaces,
                               bool wide, absl::Time now);

// Aligns tab-separated cells as Go's text/tabwriter (minwidth 0, padding `padding`, space
// padding): every tab-terminated cell is padded to its column's widest cell (in runes) plus
// `padding`; the text after the last tab is left as is.
std::string TabAlign(const std::vector<std::string>& lines, int padding);

}  // namespace argonaut::cli
