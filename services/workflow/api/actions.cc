#include "services/workflow/api/actions.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/manifest/yaml.h"

namespace argonaut::workflow::api {
namespace {

using nlohmann::json;

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string Phase(const json& wf) {
  if (!wf.contains("status") || !wf["status"].is_object()) return "";
  return Str(wf["status"], "phase");
}

bool Completed(const json& wf) {
  const std::string p = Phase(wf);
  return p == "Succeeded" || p == "Failed" || p == "Error";
}

json& Nodes(json& wf) {
  static json* const kEmpty = new json(json::object());
  if (!wf.contains("status") || !wf["status"].is_object()) return *kEmpty;
  json& nodes = wf["status"]["nodes"];
  if (!nodes.is_object()) nodes = json::object();
  return nodes;
}

absl::Status CheckWorkflow(const json& wf) {
  if (!wf.is_object()) return absl::InvalidArgumentError("workflow: expected an object");
  if (!wf.contains("spec") || !wf["spec"].is_object()) {
    return absl::InvalidArgumentError("spec: required");
  }
  return absl::OkStatus();
}

std::string FieldOf(const std::string& id, const json& node, const std::string& field) {
  if (field == "id") return id;
  if (field == "name" || field == "displayName" || field == "templateName" || field == "phase" ||
      field == "type") {
    return Str(node, field.c_str());
  }
  if (field == "templateRef.name" || field == "templateRef.template") {
    return Str(node.value("templateRef", json::object()), field.substr(12).c_str());
  }
  // inputs.parameters.<NAME>.value
  const std::string name = field.substr(18, field.size() - 18 - 6);
  const json& params = node.value("inputs", json::object()).value("parameters", json::array());
  if (!params.is_array()) return "";
  for (const json& p : params) {
    if (Str(p, "name") == name)
      return p.contains("value") && p["value"].is_string()
                 ? p["value"].get<std::string>()
                 : (p.contains("value") ? p["value"].dump() : "");
  }
  return "";
}

bool KnownField(const std::string& f) {
  static const std::set<std::string> kFields = {
      "id",    "name", "displayName",      "templateName",
      "phase", "type", "templateRef.name", "templateRef.template"};
  if (kFields.count(f) > 0) return true;
  return absl::StartsWith(f, "inputs.parameters.") && absl::EndsWith(f, ".value") &&
         f.size() > std::string("inputs.parameters..value").size();
}

void DropControllerLabels(json& meta) {
  for (const char* key : {"labels", "annotations"}) {
    if (!meta.contains(key) || !meta[key].is_object()) continue;
    std::vector<std::string> drop;
    for (const auto& [k, v] : meta[key].items()) {
      if (absl::StartsWith(k, kWorkflowLabelPrefix) &&
          k != "workflows.argoproj.io/workflow-template" &&
          k != "workflows.argoproj.io/cluster-workflow-template" &&
          k != "workflows.argoproj.io/cron-workflow") {
        drop.push_back(k);
      }
    }
    for (const std::string& k : drop) meta[key].erase(k);
    if (meta[key].empty()) meta.erase(key);
  }
}

}  // namespace

std::string FormatWorkflowTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<NodeFieldSelector> NodeFieldSelector::Parse(std::string_view text) {
  NodeFieldSelector sel;
  for (absl::string_view raw : absl::StrSplit(AbslView(text), ',', absl::SkipWhitespace())) {
    const std::string term(absl::StripAsciiWhitespace(raw));
    Term t;
    size_t eq = term.find("!=");
    if (eq != std::string::npos) {
      t.negate = true;
      t.field = term.substr(0, eq);
      t.value = term.substr(eq + 2);
    } else {
      eq = term.find('=');
      if (eq == std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("nodeFieldSelector: \"", term, "\" is not FIELD=VALUE or FIELD!=VALUE"));
      }
      t.field = term.substr(0, eq);
      // kubectl-style "==" is accepted as "=".
      t.value = term.substr(term.size() > eq + 1 && term[eq + 1] == '=' ? eq + 2 : eq + 1);
    }
    t.field = std::string(absl::StripAsciiWhitespace(t.field));
    t.value = std::string(absl::StripAsciiWhitespace(t.value));
    if (!KnownField(t.field)) {
      return absl::InvalidArgumentError(
          absl::StrCat("nodeFieldSelector: unknown field \"", t.field,
                       "\" (id, name, displayName, templateName, phase, type, templateRef.name, "
                       "templateRef.template, inputs.parameters.<NAME>.value)"));
    }
    sel.terms_.push_back(std::move(t));
  }
  return sel;
}

bool NodeFieldSelector::Matches(const std::string& id, const json& node) const {
  for (const Term& t : terms_) {
    if ((FieldOf(id, node, t.field) == t.value) == t.negate) return false;
  }
  return true;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseParameterArgs(
    const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& a : args) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("parameter \"", a, "\": expected NAME=VALUE"));
    }
    out.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseParameterFile(
    std::string_view text) {
  ASSIGN_OR_RETURN(std::vector<json> docs, manifest::ParseDocuments(text));
  if (docs.size() != 1 || !docs[0].is_object()) {
    return absl::InvalidArgumentError("parameter file: expected one map of name: value");
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : docs[0].items()) {
    out.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

absl::Status ApplyParameters(json& wf,
                             const std::vector<std::pair<std::string, std::string>>& params) {
  RETURN_IF_ERROR(CheckWorkflow(wf));
  if (params.empty()) return absl::OkStatus();
  json& args = wf["spec"]["arguments"];
  if (!args.is_object()) args = json::object();
  json& list = args["parameters"];
  if (!list.is_array()) list = json::array();
  for (const auto& [name, value] : params) {
    bool found = false;
    for (json& p : list) {
      if (p.is_object() && Str(p, "name") == name) {
        p["value"] = value;
        p.erase("valueFrom");
        found = true;
      }
    }
    if (!found) list.push_back({{"name", name}, {"value", value}});
  }
  return absl::OkStatus();
}

absl::Status Suspend(json& wf) {
  RETURN_IF_ERROR(CheckWorkflow(wf));
  if (Completed(wf)) return absl::FailedPreconditionError("cannot suspend completed workflows");
  wf["spec"]["suspend"] = true;
  return absl::OkStatus();
}

absl::Status Resume(json& wf, std::string_view node_field_selector, absl::Time now) {
  RETURN_IF_ERROR(CheckWorkflow(wf));
  ASSIGN_OR_RETURN(NodeFieldSelector sel, NodeFieldSelector::Parse(node_field_selector));
  if (Completed(wf)) return absl::FailedPreconditionError("cannot resume completed workflows");
  std::map<std::string, const json*> templates;
  const json& ts = wf["spec"].value("templates", json::array());
  if (ts.is_array()) {
    for (const json& t : ts) templates[Str(t, "name")] = &t;
  }
  // Check every selected node before changing any, so a refusal leaves the workflow as it was.
  std::vector<std::string> selected;
  json& nodes = Nodes(wf);
  for (auto& [id, node] : nodes.items()) {
    if (Str(node, "type") != "Suspend" || Str(node, "phase") != "Running") continue;
    if (!sel.Matches(id, node)) continue;
    json params = node.value("outputs", json::object()).value("parameters", json::array());
    if (!params.is_array() || params.empty()) {
      auto it = templates.find(Str(node, "templateName"));
      if (it != templates.end()) {
        params = it->second->value("outputs", json::object()).value("parameters", json::array());
      }
    }
    if (params.is_array()) {
      for (const json& p : params) {
        if (p.is_object() && p.contains("valueFrom") && p["valueFrom"].is_object() &&
            p["valueFrom"].contains("supplied") && !p.contains("value")) {
          return absl::FailedPreconditionError(
              absl::StrCat("node ", Str(node, "displayName"), ": output parameter ", Str(p, "name"),
                           " has no value yet (supply it with `node set`)"));
        }
      }
    }
    selected.push_back(id);
  }
  if (sel.empty()) wf["spec"].erase("suspend");
  for (const std::string& id : selected) {
    nodes[id]["phase"] = "Succeeded";
    nodes[id]["finishedAt"] = FormatWorkflowTime(now);
  }
  return absl::OkStatus();
}

absl::Status Stop(json& wf, std::string_view node_field_selector, std::string_view message,
                  absl::Time now) {
  RETURN_IF_ERROR(CheckWorkflow(wf));
  ASSIGN_OR_RETURN(NodeFieldSelector sel, NodeFieldSelector::Parse(node_field_selector));
  if (Completed(wf)) return absl::FailedPreconditionError("cannot shutdown a completed workflow");
  if (!sel.empty()) {
    for (auto& [id, node] : Nodes(wf).items()) {
      if (Str(node, "type") != "Suspend" || Str(node, "phase") != "Running") continue;
      if (!sel.Matches(id, node)) continue;
      node["phase"] = "Failed";
      node["finishedAt"] = FormatWorkflowTime(now);
      if (!message.empty()) node["message"] = std::string(message);
    }
    return absl::OkStatus();
  }
  wf["spec"]["shutdown"] = "Stop";
  if (!message.empty()) wf["status"]["message"] = std::string(message);
  return absl::OkStatus();
}

absl::Status Terminate(json& wf) {
  RETURN_IF_ERROR(CheckWorkflow(wf));
  if (Completed(wf)) return absl::FailedPreconditionError("cannot shutdown a completed workflow");
  wf["spec"]["shutdown"] = "Terminate";
  return absl::OkStatus();
}

absl::StatusOr<RetryResult> Retry(const json& in, const RetryOptions& options, absl::Time now) {
  RETURN_IF_ERROR(CheckWorkflow(in));
  const std::string phase = Phase(in);
  if (phase != "Failed" && phase != "Error") {
    return absl::FailedPreconditionError(
        absl::StrCat("workflow must be Failed or Error to retry (phase is \"", phase, "\")"));
  }
  ASSIGN_OR_RETURN(NodeFieldSelector sel, NodeFieldSelector::Parse(options.node_field_selector));
  if (!sel.empty() && !options.restart_successful) {
    return absl::InvalidArgumentError("nodeFieldSelector needs restartSuccessful");
  }
  RetryResult result;
  result.workflow = in;
  json& wf = result.workflow;
  RETURN_IF_ERROR(ApplyParameters(wf, options.parameters));
  json& nodes = Nodes(wf);

  std::map<std::string, std::string> parent;
  for (const auto& [id, node] : nodes.items()) {
    const json& children = node.value("children", json::array());
    if (!children.is_array()) continue;
    for (const json& c : children) {
      if (c.is_string()) parent.emplace(c.get<std::string>(), id);
    }
  }
  static const std::set<std::string> kGroups = {"Steps", "StepGroup", "DAG", "TaskGroup"};
  auto is_group = [](const json& node) { return kGroups.count(Str(node, "type")) > 0; };
  auto done_ok = [](const std::string& p) {
    return p == "Succeeded" || p == "Skipped" || p == "Omitted";
  };

  std::set<std::string> remove;  // roots of subtrees to drop
  const std::string root = wf.value("metadata", json::object()).value("name", "");
  for (const auto& [id, node] : nodes.items()) {
    if (id == root) continue;
    const std::string p = Str(node, "phase");
    const bool exit_node = absl::EndsWith(Str(node, "name"), ".onExit");
    const bool rerun_success =
        options.restart_successful && done_ok(p) && !is_group(node) && sel.Matches(id, node);
    if (exit_node || (!is_group(node) && !done_ok(p)) || rerun_success) remove.insert(id);
  }
  // Whole subtrees go: a Retry node's attempts, a failed node's children.
  std::set<std::string> dropped;
  std::vector<std::string> stack(remove.begin(), remove.end());
  size_t budget = nodes.size() * 4 + 16;  // children lists may repeat ids; bound the walk
  while (!stack.empty() && budget-- > 0) {
    const std::string id = stack.back();
    stack.pop_back();
    if (!dropped.insert(id).second || !nodes.contains(id)) continue;
    const json& children = nodes[id].value("children", json::array());
    if (!children.is_array()) continue;
    for (const json& c : children) {
      if (c.is_string()) stack.push_back(c.get<std::string>());
    }
  }
  // The scopes enclosing a dropped node run again: the group nodes it hangs under and the
  // steps/dag nodes named by boundaryID. A succeeded step that a later group hangs under (the
  // steps layout chains groups through their steps) is not a scope and keeps its result.
  std::set<std::string> reset;
  std::vector<std::string> up(dropped.begin(), dropped.end());
  budget = nodes.size() * 4 + 16;
  while (!up.empty() && budget-- > 0) {
    const std::string id = up.back();
    up.pop_back();
    std::vector<std::string> next;
    auto p = parent.find(id);
    if (p != parent.end() && nodes.contains(p->second) && is_group(nodes[p->second])) {
      next.push_back(p->second);
    }
    if (nodes.contains(id)) {
      const std::string boundary = Str(nodes[id], "boundaryID");
      if (!boundary.empty()) next.push_back(boundary);
    }
    for (const std::string& n : next) {
      if (dropped.count(n) == 0 && reset.insert(n).second) up.push_back(n);
    }
  }
  for (const std::string& id : dropped) {
    if (!nodes.contains(id)) continue;
    result.deleted_node_ids.push_back(id);
    nodes.erase(id);
  }
  // Groups that failed run again even if nothing under them was dropped (e.g. a failed DAG).
  for (auto& [id, node] : nodes.items()) {
    if (!done_ok(Str(node, "phase"))) reset.insert(id);
  }
  for (const std::string& id : reset) {
    if (!nodes.contains(id)) continue;
    json& node = nodes[id];
    node["phase"] = "Running";
    node.erase("finishedAt");
    node.erase("message");
    if (node.contains("children") && node["children"].is_array()) {
      json kept = json::array();
      for (const json& c : node["children"]) {
        if (!c.is_string() || dropped.count(c.get<std::string>()) == 0) kept.push_back(c);
      }
      node["children"] = std::move(kept);
    }
    if (node.contains("outboundNodes") && node["outboundNodes"].is_array()) {
      json kept = json::array();
      for (const json& c : node["outboundNodes"]) {
        if (!c.is_string() || dropped.count(c.get<std::string>()) == 0) kept.push_back(c);
      }
      node["outboundNodes"] = std::move(kept);
    }
  }
  json& status = wf["status"];
  status["phase"] = "Running";
  status.erase("finishedAt");
  status.erase("message");
  status.erase("conditions");
  status.erase("progress");
  if (!status.contains("startedAt")) status["startedAt"] = FormatWorkflowTime(now);
  wf["spec"].erase("shutdown");
  // A workflow stopped by its deadline would stop again at once.
  if (wf["spec"].contains("activeDeadlineSeconds") && wf["spec"]["activeDeadlineSeconds"] == 0) {
    wf["spec"].erase("activeDeadlineSeconds");
  }
  json& labels = wf["metadata"]["labels"];
  if (!labels.is_object()) labels = json::object();
  labels["workflows.argoproj.io/completed"] = "false";
  labels["workflows.argoproj.io/phase"] = "Running";
  return result;
}

absl::StatusOr<json> Resubmit(const json& wf,
                              const std::vector<std::pair<std::string, std::string>>& params) {
  RETURN_IF_ERROR(CheckWorkflow(wf));
  const json& meta = wf.value("metadata", json::object());
  const std::string name = Str(meta, "name");
  json out = {{"apiVersion", wf.value("apiVersion", "argoproj.io/v1alpha1")},
              {"kind", "Workflow"},
              {"metadata", json::object()},
              {"spec", wf["spec"]}};
  json& m = out["metadata"];
  const std::string gen = Str(meta, "generateName");
  m["generateName"] = gen.empty() ? name + "-" : gen;
  if (meta.contains("namespace")) m["namespace"] = meta["namespace"];
  for (const char* key : {"labels", "annotations"}) {
    if (meta.contains(key) && meta[key].is_object() && !meta[key].empty()) m[key] = meta[key];
  }
  DropControllerLabels(m);
  m["labels"]["workflows.argoproj.io/resubmitted-from-workflow"] = name;
  out["spec"].erase("shutdown");
  out["spec"].erase("suspend");
  RETURN_IF_ERROR(ApplyParameters(out, params));
  return out;
}

absl::Status Set(json& wf, const SetOptions& options, absl::Time now) {
  RETURN_IF_ERROR(CheckWorkflow(wf));
  if (options.node_field_selector.empty()) {
    return absl::InvalidArgumentError("nodeFieldSelector: required");
  }
  ASSIGN_OR_RETURN(NodeFieldSelector sel, NodeFieldSelector::Parse(options.node_field_selector));
  if (!options.phase.empty() && options.phase != "Succeeded" && options.phase != "Failed" &&
      options.phase != "Error") {
    return absl::InvalidArgumentError(
        absl::StrCat("phase: \"", options.phase, "\" must be Succeeded, Failed or Error"));
  }
  // The suspend template's declared outputs, for parameters the node does not list yet.
  std::map<std::string, const json*> templates;
  const json& ts = wf["spec"].value("templates", json::array());
  if (ts.is_array()) {
    for (const json& t : ts) templates[Str(t, "name")] = &t;
  }
  int matched = 0;
  for (auto& [id, node] : Nodes(wf).items()) {
    if (!sel.Matches(id, node)) continue;
    if (Str(node, "type") != "Suspend") {
      return absl::FailedPreconditionError(absl::StrCat("node ", Str(node, "displayName"), " is a ",
                                                        Str(node, "type"),
                                                        " node: set only targets suspend nodes"));
    }
    ++matched;
    if (!options.output_parameters.empty()) {
      json& outputs = node["outputs"];
      if (!outputs.is_object()) outputs = json::object();
      json& params = outputs["parameters"];
      if (!params.is_array()) {
        params = json::array();
        auto it = templates.find(Str(node, "templateName"));
        if (it != templates.end()) {
          params = it->second->value("outputs", json::object()).value("parameters", json::array());
        }
      }
      for (const auto& [name, value] : options.output_parameters) {
        bool found = false;
        for (json& p : params) {
          if (Str(p, "name") == name) {
            p["value"] = value;
            found = true;
          }
        }
        if (!found) {
          return absl::InvalidArgumentError(
              absl::StrCat("outputParameters: node ", Str(node, "displayName"),
                           " has no output parameter \"", name, "\""));
        }
      }
    }
    if (!options.message.empty()) node["message"] = options.message;
    if (!options.phase.empty()) {
      node["phase"] = options.phase;
      node["finishedAt"] = FormatWorkflowTime(now);
    }
  }
  if (matched == 0) {
    return absl::NotFoundError(
        absl::StrCat("nodeFieldSelector: no node matches \"", options.node_field_selector, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<json> SubmitFrom(const json& source, std::string_view ns,
                                const SubmitOptions& options) {
  if (!source.is_object()) return absl::InvalidArgumentError("source: expected an object");
  const std::string kind = Str(source, "kind");
  const json& smeta = source.value("metadata", json::object());
  const std::string sname = Str(smeta, "name");
  json wf = {{"apiVersion", "argoproj.io/v1alpha1"},
             {"kind", "Workflow"},
             {"metadata", {{"namespace", std::string(ns)}}},
             {"spec", json::object()}};
  json& meta = wf["metadata"];
  if (kind == "WorkflowTemplate" || kind == "ClusterWorkflowTemplate") {
    const bool cluster = kind == "ClusterWorkflowTemplate";
    wf["spec"]["workflowTemplateRef"] = {{"name", sname}};
    if (cluster) wf["spec"]["workflowTemplateRef"]["clusterScope"] = true;
    meta["labels"][cluster ? "workflows.argoproj.io/cluster-workflow-template"
                           : "workflows.argoproj.io/workflow-template"] = sname;
  } else if (kind == "CronWorkflow") {
    const json& spec = source.value("spec", json::object());
    if (!spec.contains("workflowSpec") || !spec["workflowSpec"].is_object()) {
      return absl::InvalidArgumentError("spec.workflowSpec: required");
    }
    wf["spec"] = spec["workflowSpec"];
    const json& wm = spec.value("workflowMetadata", json::object());
    for (const char* key : {"labels", "annotations"}) {
      if (wm.contains(key) && wm[key].is_object()) meta[key] = wm[key];
    }
    meta["labels"]["workflows.argoproj.io/cron-workflow"] = sname;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: \"", kind,
                     "\" cannot be submitted (WorkflowTemplate, ClusterWorkflowTemplate or "
                     "CronWorkflow)"));
  }
  if (!options.name.empty()) {
    meta["name"] = options.name;
  } else {
    meta["generateName"] = options.generate_name.empty() ? sname + "-" : options.generate_name;
  }
  for (const auto& [k, v] : options.labels) meta["labels"][k] = v;
  if (!options.entrypoint.empty()) wf["spec"]["entrypoint"] = options.entrypoint;
  if (!options.service_account.empty()) {
    wf["spec"]["serviceAccountName"] = options.service_account;
  }
  RETURN_IF_ERROR(ApplyParameters(wf, options.parameters));
  return wf;
}

}  // namespace argonaut::workflow::api
