#include "cli/workflow_commands.h"

#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "cli/printer.h"
#include "cli/workflow_printer.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;
namespace wf = ::argonaut::workflow::v1;

absl::StatusOr<json> ParseReply(const std::string& text) {
  absl::StatusOr<json> j = manifest::ParseJsonText(text);
  if (!j.ok()) return absl::InternalError("server returned invalid JSON");
  return j;
}

std::string NameOf(const json& o) { return o.value("metadata", json::object()).value("name", ""); }

std::string PhaseOf(const json& o) {
  const json& s = o.value("status", json::object());
  return s.is_object() ? s.value("phase", "") : "";
}

bool Completed(const json& o) {
  const std::string p = PhaseOf(o);
  return p == "Succeeded" || p == "Failed" || p == "Error";
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> SplitParams(
    const std::vector<std::string>& raw) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& a : raw) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("parameter \"", a, "\": expected NAME=VALUE"));
    }
    out.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  return out;
}

absl::StatusOr<std::string> Render(const json& wf, const std::string& format) {
  if (format.empty() || format == "wide") return FormatWorkflow(wf, absl::Now());
  if (format == "json") return manifest::ToJsonText(wf, true) + "\n";
  if (format == "yaml") return manifest::ToYaml(wf);
  if (format == "name") return NameOf(wf) + "\n";
  return absl::InvalidArgumentError(
      absl::StrCat("output: \"", format, "\" is not one of json, yaml, name, wide"));
}

// Reads WatchWorkflows for one workflow until it completes; calls `on_change` with every version.
absl::StatusOr<json> WaitFor(Client& client, const std::string& ns, const std::string& name,
                             const std::function<void(const json&)>& on_change) {
  grpc::ClientContext ctx;
  wf::WatchWorkflowsRequest req;
  req.set_namespace_(ns);
  req.set_name(name);
  auto reader = client.workflows().WatchWorkflows(&ctx, req);
  wf::WorkflowWatchEvent e;
  json last;
  while (reader->Read(&e)) {
    if (e.type() == "DELETED") {
      ctx.TryCancel();
      reader->Finish();
      return absl::NotFoundError(absl::StrCat("workflow ", name, " was deleted"));
    }
    ASSIGN_OR_RETURN(last, ParseReply(e.json()));
    if (on_change) on_change(last);
    if (Completed(last)) {
      ctx.TryCancel();
      reader->Finish();
      return last;
    }
  }
  RETURN_IF_ERROR(client.Convert(reader->Finish()));
  return absl::UnavailableError("watch ended before the workflow completed");
}

absl::Status StreamLogs(Client& client, const std::string& ns, const std::string& name,
                        const std::string& pod, const std::string& container, bool follow,
                        std::ostream& out) {
  grpc::ClientContext ctx;
  wf::WorkflowLogsRequest req;
  req.set_namespace_(ns);
  req.set_name(name);
  req.set_pod_name(pod);
  req.set_container(container);
  req.set_follow(follow);
  auto reader = client.workflows().WorkflowLogs(&ctx, req);
  wf::LogEntry e;
  while (reader->Read(&e)) out << e.pod_name() << ": " << e.content() << "\n" << std::flush;
  return client.Convert(reader->Finish());
}

// After a submit: --watch redraws, --log streams, --wait blocks; returns the final workflow.
int FollowUp(Client& client, const SubmitPlan& plan, const json& created, std::ostream& out,
             std::ostream& err) {
  const std::string name = NameOf(created);
  json final = created;
  if (plan.log) {
    if (absl::Status s = StreamLogs(client, plan.ns, name, "", "", true, out); !s.ok()) {
      return Fail(err, s);
    }
  }
  if (plan.watch || plan.wait || plan.log) {
    auto done = WaitFor(client, plan.ns, name, [&](const json& w) {
      if (plan.watch) out << "\n" << FormatWorkflow(w, absl::Now()) << std::flush;
    });
    if (!done.ok()) return Fail(err, done.status());
    final = *done;
    if (plan.output == "json" || plan.output == "yaml") {
      auto text = Render(final, plan.output);
      if (!text.ok()) return Fail(err, text.status());
      out << *text;
    } else if (!plan.watch) {
      out << name << " " << PhaseOf(final) << " at "
          << final.value("status", json::object()).value("finishedAt", "") << "\n";
    }
    return PhaseOf(final) == "Succeeded" ? 0 : 1;
  }
  return 0;
}

}  // namespace

absl::StatusOr<SubmitPlan> ParseSubmit(const std::vector<std::string>& argv) {
  ASSIGN_OR_RETURN(Args args, ParseArgs(argv, {kServer,
                                               kNamespace,
                                               {"parameter", "p", true, true},
                                               {"parameter-file", "f"},
                                               {"from", ""},
                                               {"name", ""},
                                               {"generate-name", ""},
                                               {"entrypoint", ""},
                                               {"serviceaccount", ""},
                                               {"labels", "l"},
                                               {"output", "o"},
                                               {"wait", "w", false},
                                               {"watch", "", false},
                                               {"log", "", false},
                                               {"server-dry-run", "", false},
                                               {"dry-run", "", false}}));
  SubmitPlan plan;
  plan.files = args.positional;
  plan.server = args.Get("server");
  plan.ns = args.Get("namespace", "default");
  const std::string from = args.Get("from");
  if (!from.empty()) {
    const size_t slash = from.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == from.size()) {
      return absl::InvalidArgumentError("--from: expected KIND/NAME, e.g. workflowtemplate/my-wft");
    }
    const std::string kind = from.substr(0, slash);
    const resource::KindInfo* info = resource::FindKind(kind);
    if (kind == "cronwf" || kind == "cron") info = resource::FindKind("CronWorkflow");
    if (info == nullptr ||
        (info->kind != "WorkflowTemplate" && info->kind != "ClusterWorkflowTemplate" &&
         info->kind != "CronWorkflow")) {
      return absl::InvalidArgumentError(
          absl::StrCat("--from: \"", kind,
                       "\" is not workflowtemplate, clusterworkflowtemplate or cronworkflow"));
    }
    plan.from_kind = info->kind;
    plan.from_name = from.substr(slash + 1);
    if (!plan.files.empty()) return absl::InvalidArgumentError("--from and FILE are exclusive");
  } else if (plan.files.empty()) {
    return absl::InvalidArgumentError("submit needs a FILE (or - for stdin) or --from KIND/NAME");
  }
  ASSIGN_OR_RETURN(plan.parameters, SplitParams(args.All("parameter")));
  plan.parameter_file = args.Get("parameter-file");
  plan.name = args.Get("name");
  plan.generate_name = args.Get("generate-name");
  plan.entrypoint = args.Get("entrypoint");
  plan.service_account = args.Get("serviceaccount");
  for (absl::string_view kv : absl::StrSplit(args.Get("labels"), ',', absl::SkipEmpty())) {
    const size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--labels: \"", std::string(kv), "\" is not key=value"));
    }
    plan.labels[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  plan.output = args.Get("output");
  if (!plan.output.empty() && plan.output != "json" && plan.output != "yaml" &&
      plan.output != "name" && plan.output != "wide") {
    return absl::InvalidArgumentError(
        absl::StrCat("--output: \"", plan.output, "\" is not one of json, yaml, name, wide"));
  }
  plan.wait = args.Has("wait");
  plan.watch = args.Has("watch");
  plan.log = args.Has("log");
  plan.dry_run = args.Has("server-dry-run") || args.Has("dry-run");
  return plan;
}

absl::Status PrepareWorkflow(const SubmitPlan& plan, json& doc) {
  if (!doc.is_object()) return absl::InvalidArgumentError("expected an object");
  if (!doc.contains("kind")) doc["kind"] = "Workflow";
  if (doc["kind"] != "Workflow") {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: ", doc["kind"].dump(), " cannot be submitted (use apply)"));
  }
  json& meta = doc["metadata"];
  if (!meta.is_object()) meta = json::object();
  if (!plan.name.empty()) {
    meta["name"] = plan.name;
    meta.erase("generateName");
  } else if (!plan.generate_name.empty()) {
    meta["generateName"] = plan.generate_name;
    meta.erase("name");
  }
  for (const auto& [k, v] : plan.labels) meta["labels"][k] = v;
  json& spec = doc["spec"];
  if (!spec.is_object()) return absl::InvalidArgumentError("spec: required");
  if (!plan.entrypoint.empty()) spec["entrypoint"] = plan.entrypoint;
  if (!plan.service_account.empty()) spec["serviceAccountName"] = plan.service_account;
  if (!plan.parameters.empty()) {
    json& params = spec["arguments"]["parameters"];
    if (!params.is_array()) params = json::array();
    for (const auto& [name, value] : plan.parameters) {
      bool found = false;
      for (json& p : params) {
        if (p.is_object() && p.value("name", "") == name) {
          p["value"] = value;
          p.erase("valueFrom");
          found = true;
        }
      }
      if (!found) params.push_back({{"name", name}, {"value", value}});
    }
  }
  return absl::OkStatus();
}

int RunSubmit(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto parsed = ParseSubmit(argv);
  if (!parsed.ok()) return Fail(err, parsed.status());
  SubmitPlan plan = *std::move(parsed);
  if (!plan.parameter_file.empty()) {
    auto text = ReadInput(plan.parameter_file);
    if (!text.ok()) return Fail(err, text.status());
    auto docs = manifest::ParseDocuments(*text);
    if (!docs.ok() || docs->size() != 1 || !(*docs)[0].is_object()) {
      return Fail(err, absl::StrCat(plan.parameter_file, ": expected a map of name: value"));
    }
    std::vector<std::pair<std::string, std::string>> from_file;
    for (const auto& [k, v] : (*docs)[0].items()) {
      from_file.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
    // -p on the command line wins over the file.
    from_file.insert(from_file.end(), plan.parameters.begin(), plan.parameters.end());
    plan.parameters = std::move(from_file);
  }
  Client client(ServerAddress(plan.server));
  std::vector<json> created;
  if (!plan.from_kind.empty()) {
    wf::SubmitWorkflowRequest req;
    req.set_namespace_(plan.ns);
    req.set_resource_kind(plan.from_kind);
    req.set_resource_name(plan.from_name);
    req.set_name(plan.name);
    req.set_generate_name(plan.generate_name);
    req.set_entrypoint(plan.entrypoint);
    req.set_service_account(plan.service_account);
    req.set_server_dry_run(plan.dry_run);
    for (const auto& [k, v] : plan.parameters) req.add_parameters(absl::StrCat(k, "=", v));
    for (const auto& [k, v] : plan.labels) (*req.mutable_labels())[k] = v;
    wf::WorkflowReply reply;
    grpc::ClientContext ctx;
    if (absl::Status s = client.Convert(client.workflows().SubmitWorkflow(&ctx, req, &reply));
        !s.ok()) {
      return Fail(err, s);
    }
    auto w = ParseReply(reply.json());
    if (!w.ok()) return Fail(err, w.status());
    created.push_back(*std::move(w));
  } else {
    for (const std::string& path : plan.files) {
      auto text = ReadInput(path);
      if (!text.ok()) return Fail(err, text.status());
      auto docs = manifest::ParseDocuments(*text);
      if (!docs.ok()) return Fail(err, absl::StrCat(path, ": ", docs.status().message()));
      for (size_t i = 0; i < docs->size(); ++i) {
        json& doc = (*docs)[i];
        if (absl::Status s = PrepareWorkflow(plan, doc); !s.ok()) {
          return Fail(err, absl::StrCat(path, ": doc ", i + 1, ": ", s.message()));
        }
        wf::CreateWorkflowRequest req;
        req.set_namespace_(plan.ns);
        req.set_json(doc.dump());
        req.set_server_dry_run(plan.dry_run);
        wf::WorkflowReply reply;
        grpc::ClientContext ctx;
        if (absl::Status s = client.Convert(client.workflows().CreateWorkflow(&ctx, req, &reply));
            !s.ok()) {
          return Fail(err, absl::StrCat(path, ": doc ", i + 1, ": ", s.message()));
        }
        auto w = ParseReply(reply.json());
        if (!w.ok()) return Fail(err, w.status());
        created.push_back(*std::move(w));
      }
    }
  }
  const bool follow = plan.wait || plan.watch || plan.log;
  int rc = 0;
  for (const json& w : created) {
    // With --wait -o json only the finished workflow is printed.
    if (!(follow && (plan.output == "json" || plan.output == "yaml"))) {
      auto text = Render(w, plan.output);
      if (!text.ok()) return Fail(err, text.status());
      out << *text << std::flush;
    }
    if (follow && !plan.dry_run) rc |= FollowUp(client, plan, w, out, err);
  }
  return rc;
}

int RunList(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kNamespace,
                               {"all-namespaces", "A", false},
                               {"running", "", false},
                               {"completed", "", false},
                               {"status", ""},
                               {"selector", "l"},
                               {"output", "o"}});
  if (!args.ok()) return Fail(err, args.status());
  const bool all_ns = args->Has("all-namespaces");
  wf::ListWorkflowsRequest req;
  req.set_namespace_(all_ns ? "" : args->Get("namespace", "default"));
  req.set_label_selector(args->Get("selector"));
  if (args->Has("running")) {
    req.add_phases("Running");
    req.add_phases("Pending");
    req.add_phases("");
  }
  if (args->Has("completed")) {
    for (const char* p : {"Succeeded", "Failed", "Error"}) req.add_phases(p);
  }
  for (absl::string_view p : absl::StrSplit(args->Get("status"), ',', absl::SkipEmpty())) {
    req.add_phases(std::string(p));
  }
  Client client(ServerAddress(args->Get("server")));
  wf::ListWorkflowsReply reply;
  grpc::ClientContext ctx;
  if (absl::Status s = client.Convert(client.workflows().ListWorkflows(&ctx, req, &reply));
      !s.ok()) {
    return Fail(err, s);
  }
  std::vector<json> items;
  for (const std::string& item : reply.items()) {
    auto w = ParseReply(item);
    if (!w.ok()) return Fail(err, w.status());
    items.push_back(*std::move(w));
  }
  // Newest first, as `argo list`.
  std::stable_sort(items.begin(), items.end(), [](const json& a, const json& b) {
    return a.value("metadata", json::object()).value("creationTimestamp", "") >
           b.value("metadata", json::object()).value("creationTimestamp", "");
  });
  const std::string format = args->Get("output");
  if (format == "name") {
    for (const json& w : items) out << NameOf(w) << "\n";
  } else if (format == "json") {
    out << manifest::ToJsonText(json(items), true) << "\n";
  } else if (format.empty() || format == "wide") {
    if (items.empty()) {
      err << "No workflows found\n";
      return 0;
    }
    out << FormatWorkflowList(items, all_ns, format == "wide", absl::Now());
  } else {
    return Fail(err, absl::StrCat("--output: \"", format, "\" is not one of wide, name, json"));
  }
  return 0;
}

int RunWorkflowLogs(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace, {"container", "c"}, {"follow", "f", false}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.empty() || args->positional.size() > 2) {
    return Fail(err, "usage: argonaut logs WORKFLOW [POD|STEP] [-f] [-c CONTAINER]");
  }
  Client client(ServerAddress(args->Get("server")));
  absl::Status s = StreamLogs(client, args->Get("namespace", "default"), args->positional[0],
                              args->positional.size() > 1 ? args->positional[1] : "",
                              args->Get("container"), args->Has("follow"), out);
  return s.ok() ? 0 : Fail(err, s);
}

int RunWait(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace, {"ignore-not-found", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.empty()) return Fail(err, "usage: argonaut wait WORKFLOW...");
  Client client(ServerAddress(args->Get("server")));
  int rc = 0;
  for (const std::string& name : args->positional) {
    auto done = WaitFor(client, args->Get("namespace", "default"), name, nullptr);
    if (!done.ok()) {
      if (absl::IsNotFound(done.status()) && args->Has("ignore-not-found")) continue;
      rc = Fail(err, done.status());
      continue;
    }
    out << name << " " << PhaseOf(*done) << " at "
        << done->value("status", json::object()).value("finishedAt", "") << "\n";
    if (PhaseOf(*done) != "Succeeded") rc = 1;
  }
  return rc;
}

int RunWatch(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.size() != 1) return Fail(err, "usage: argonaut watch WORKFLOW");
  Client client(ServerAddress(args->Get("server")));
  auto done =
      WaitFor(client, args->Get("namespace", "default"), args->positional[0], [&](const json& w) {
        out << FormatWorkflow(w, absl::Now()) << "\n" << std::flush;
      });
  if (!done.ok()) return Fail(err, done.status());
  return PhaseOf(*done) == "Succeeded" ? 0 : 1;
}

int RunWorkflowAction(const std::string& verb, const std::vector<std::string>& argv,
                      std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kNamespace,
                               {"node-field-selector", ""},
                               {"message", ""},
                               {"restart-successful", "", false},
                               {"memoized", "", false},
                               {"parameter", "p", true, true},
                               {"output", "o"}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.empty())
    return Fail(err, absl::StrCat("usage: argonaut ", verb, " WORKFLOW..."));
  Client client(ServerAddress(args->Get("server")));
  const std::string ns = args->Get("namespace", "default");
  const std::string selector = args->Get("node-field-selector");
  auto& stub = client.workflows();
  int rc = 0;
  for (const std::string& name : args->positional) {
    wf::WorkflowReply reply;
    grpc::ClientContext ctx;
    grpc::Status s;
    std::string done;
    if (verb == "suspend" || verb == "terminate") {
      wf::WorkflowNameRequest r;
      r.set_namespace_(ns);
      r.set_name(name);
      s = verb == "suspend" ? stub.SuspendWorkflow(&ctx, r, &reply)
                            : stub.TerminateWorkflow(&ctx, r, &reply);
      done = verb == "suspend" ? "suspended" : "terminated";
    } else if (verb == "resume") {
      wf::ResumeWorkflowRequest r;
      r.set_namespace_(ns);
      r.set_name(name);
      r.set_node_field_selector(selector);
      s = stub.ResumeWorkflow(&ctx, r, &reply);
      done = "resumed";
    } else if (verb == "stop") {
      wf::StopWorkflowRequest r;
      r.set_namespace_(ns);
      r.set_name(name);
      r.set_node_field_selector(selector);
      r.set_message(args->Get("message"));
      s = stub.StopWorkflow(&ctx, r, &reply);
      done = "stopped";
    } else if (verb == "retry") {
      wf::RetryWorkflowRequest r;
      r.set_namespace_(ns);
      r.set_name(name);
      r.set_node_field_selector(selector);
      r.set_restart_successful(args->Has("restart-successful"));
      for (const std::string& p : args->All("parameter")) r.add_parameters(p);
      s = stub.RetryWorkflow(&ctx, r, &reply);
    } else if (verb == "resubmit") {
      wf::ResubmitWorkflowRequest r;
      r.set_namespace_(ns);
      r.set_name(name);
      r.set_memoized(args->Has("memoized"));
      for (const std::string& p : args->All("parameter")) r.add_parameters(p);
      s = stub.ResubmitWorkflow(&ctx, r, &reply);
    } else {
      return Fail(err, absl::StrCat("unknown workflow action \"", verb, "\""));
    }
    if (absl::Status st = client.Convert(s); !st.ok()) {
      rc = Fail(err, absl::StrCat(name, ": ", st.message()));
      continue;
    }
    if (!done.empty()) {
      out << "workflow " << name << " " << done << "\n";
      continue;
    }
    auto w = ParseReply(reply.json());
    if (!w.ok()) return Fail(err, w.status());
    auto text = Render(*w, args->Get("output"));
    if (!text.ok()) return Fail(err, text.status());
    out << *text;
  }
  return rc;
}

int RunDeleteWorkflows(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.empty()) return Fail(err, "usage: argonaut delete WORKFLOW...");
  Client client(ServerAddress(args->Get("server")));
  int rc = 0;
  for (const std::string& name : args->positional) {
    wf::DeleteWorkflowRequest req;
    req.set_namespace_(args->Get("namespace", "default"));
    req.set_name(name);
    wf::DeleteWorkflowReply reply;
    grpc::ClientContext ctx;
    if (absl::Status s = client.Convert(client.workflows().DeleteWorkflow(&ctx, req, &reply));
        !s.ok()) {
      rc = Fail(err, s);
      continue;
    }
    out << "Workflow '" << name << "' deleted\n";
  }
  return rc;
}

int RunLint(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.empty()) return Fail(err, "usage: argonaut lint FILE...");
  Client client(ServerAddress(args->Get("server")));
  int problems = 0;
  for (const std::string& path : args->positional) {
    auto text = ReadInput(path);
    if (!text.ok()) return Fail(err, text.status());
    auto docs = manifest::ParseDocuments(*text);
    if (!docs.ok()) {
      out << path << ": " << docs.status().message() << "\n";
      ++problems;
      continue;
    }
    for (size_t i = 0; i < docs->size(); ++i) {
      const json& doc = (*docs)[i];
      wf::LintWorkflowRequest req;
      req.set_namespace_(args->Get("namespace", "default"));
      req.set_json(doc.dump());
      wf::WorkflowReply reply;
      grpc::ClientContext ctx;
      absl::Status s = client.Convert(client.workflows().LintWorkflow(&ctx, req, &reply));
      if (absl::IsUnavailable(s)) return Fail(err, s);
      if (!s.ok()) {
        const std::string name =
            NameOf(doc).empty() ? doc.value("metadata", json::object()).value("generateName", "")
                                : NameOf(doc);
        out << path << ":\n   ✖ in \"" << name << "\" (" << doc.value("kind", "Workflow")
            << "): " << s.message() << "\n";
        ++problems;
      }
    }
  }
  if (problems == 0) {
    out << "no linting errors found!\n";
    return 0;
  }
  out << "✖ " << problems << " linting error" << (problems == 1 ? "" : "s") << " found!\n";
  return 1;
}

int RunNode(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kNamespace,
                               {"node-field-selector", ""},
                               {"phase", ""},
                               {"message", ""},
                               {"output-parameter", "p", true, true}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.size() != 2 || args->positional[0] != "set") {
    return Fail(err,
                "usage: argonaut node set WORKFLOW --node-field-selector SEL [--phase P] "
                "[--message M] [-p name=value]...");
  }
  wf::SetWorkflowRequest req;
  req.set_namespace_(args->Get("namespace", "default"));
  req.set_name(args->positional[1]);
  req.set_node_field_selector(args->Get("node-field-selector"));
  req.set_phase(args->Get("phase"));
  req.set_message(args->Get("message"));
  for (const std::string& p : args->All("output-parameter")) req.add_output_parameters(p);
  Client client(ServerAddress(args->Get("server")));
  wf::WorkflowReply reply;
  grpc::ClientContext ctx;
  if (absl::Status s = client.Convert(client.workflows().SetWorkflow(&ctx, req, &reply)); !s.ok()) {
    return Fail(err, s);
  }
  out << "workflow values set\n";
  return 0;
}

int RunTemplate(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(
      argv,
      {kServer, kNamespace, {"output", "o"}, {"selector", "l"}, {"all-namespaces", "A", false}});
  if (!args.ok()) return Fail(err, args.status());
  const auto& pos = args->positional;
  if (pos.empty()) return Fail(err, "usage: argonaut template create|list|get|delete ...");
  const resource::KindInfo* kind = resource::FindKind("WorkflowTemplate");
  const std::string ns = args->Get("namespace", "default");
  Client client(ServerAddress(args->Get("server")));
  const std::string& verb = pos[0];
  if (verb == "create") {
    if (pos.size() < 2) return Fail(err, "usage: argonaut template create FILE...");
    for (size_t f = 1; f < pos.size(); ++f) {
      auto text = ReadInput(pos[f]);
      if (!text.ok()) return Fail(err, text.status());
      auto docs = manifest::ParseDocuments(*text);
      if (!docs.ok()) return Fail(err, absl::StrCat(pos[f], ": ", docs.status().message()));
      for (json& doc : *docs) {
        if (!doc.is_object()) return Fail(err, absl::StrCat(pos[f], ": expected an object"));
        if (!doc.contains("kind")) doc["kind"] = "WorkflowTemplate";
        if (doc["kind"] != "WorkflowTemplate") {
          return Fail(
              err, absl::StrCat(pos[f], ": kind ", doc["kind"].dump(), " is not WorkflowTemplate"));
        }
        if (doc["metadata"].is_object() && !doc["metadata"].contains("namespace")) {
          doc["metadata"]["namespace"] = ns;
        }
        auto created = client.Create("WorkflowTemplate", doc, false);
        if (!created.ok()) return Fail(err, absl::StrCat(pos[f], ": ", created.status().message()));
        out << "Name:                " << NameOf(*created) << "\n"
            << "Namespace:           "
            << created->value("metadata", json::object()).value("namespace", "") << "\n"
            << "Created:             "
            << created->value("metadata", json::object()).value("creationTimestamp", "") << "\n";
      }
    }
    return 0;
  }
  if (verb == "list") {
    auto listed = client.List("WorkflowTemplate", args->Has("all-namespaces") ? "" : ns,
                              args->Get("selector"));
    if (!listed.ok()) return Fail(err, listed.status());
    auto text = FormatObjects(*kind, listed->first, true, args->Get("output"),
                              args->Has("all-namespaces"), absl::Now());
    if (!text.ok()) return Fail(err, text.status());
    out << *text;
    return 0;
  }
  if (verb == "get" || verb == "delete") {
    if (pos.size() < 2)
      return Fail(err, absl::StrCat("usage: argonaut template ", verb, " NAME..."));
    int rc = 0;
    for (size_t i = 1; i < pos.size(); ++i) {
      if (verb == "delete") {
        if (absl::Status s = client.Delete("WorkflowTemplate", ns, pos[i]); !s.ok()) {
          rc = Fail(err, s);
          continue;
        }
        out << "WorkflowTemplate '" << pos[i] << "' deleted\n";
        continue;
      }
      auto got = client.Get("WorkflowTemplate", ns, pos[i]);
      if (!got.ok()) {
        rc = Fail(err, got.status());
        continue;
      }
      auto text = FormatObjects(*kind, {*got}, false,
                                args->Get("output").empty() ? "yaml" : args->Get("output"), false,
                                absl::Now());
      if (!text.ok()) return Fail(err, text.status());
      out << *text;
    }
    return rc;
  }
  return Fail(err,
              absl::StrCat("unknown template command \"", verb, "\" (create, list, get, delete)"));
}

}  // namespace argonaut::cli
