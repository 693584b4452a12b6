// The Argo workflow verbs of the CLI (argo submit / list / logs / wait / watch / resume / suspend /
// stop / terminate / retry / resubmit / delete / lint / node set / template ...), over the
// gateway's WorkflowService and, for templates, the generic ResourceService. Each Run* returns the
// exit code and prints errors as one `error: ...` line.
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {

// What `submit` was asked to do, parsed from its arguments (pure, for tests).
struct SubmitPlan {
  std::vector<std::string> files;
  std::string from_kind;  // WorkflowTemplate | ClusterWorkflowTemplate | CronWorkflow
  std::string from_name;
  std::vector<std::pair<std::string, std::string>> parameters;  // -p, then --parameter-file
  std::string parameter_file;
  std::string name, generate_name, entrypoint, service_account;
  std::map<std::string, std::string> labels;
  std::string output;  // "", json, yaml, name, wide
  bool wait = false, watch = false, log = false, dry_run = false;
  std::string ns, server;
};
absl::StatusOr<SubmitPlan> ParseSubmit(const std::vector<std::string>& argv);

// Applies --name / --generate-name / --entrypoint / --serviceaccount / -l / -p to a Workflow
// document from a file.
absl::Status PrepareWorkflow(const SubmitPlan& plan, nlohmann::json& wf);

int RunSubmit(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunList(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// `logs WORKFLOW [POD|STEP] [-f] [-c CONTAINER]`: every pod's lines as "<pod>: <line>".
int RunWorkflowLogs(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunWait(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunWatch(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// resume | suspend | stop | terminate | retry | resubmit
int RunWorkflowAction(const std::string& verb, const std::vector<std::string>& args,
                      std::ostream& out, std::ostream& err);
// `delete WORKFLOW...` (a first argument naming a kind goes to the generic delete instead).
int RunDeleteWorkflows(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunLint(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// `node set WORKFLOW --node-field-selector ... [--phase] [--message] [-p name=value]`.
int RunNode(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// template create|list|get|delete
int RunTemplate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace argonaut::cli
