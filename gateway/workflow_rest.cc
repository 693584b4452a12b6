#include "gateway/workflow_rest.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gateway/artifact_rest.h"
#include "gateway/rest.h"
#include "gateway/rest_stream.h"
#include "httplib.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {
namespace {

using nlohmann::json;
namespace wf = ::argonaut::workflow::v1;
using Stub = wf::WorkflowService::StubInterface;

void SendError(httplib::Response& res, int code, const std::string& message) {
  res.status = HttpStatusFor(code);
  res.set_content(
      manifest::ToJsonText(json{{"code", code}, {"message", message}, {"details", json::array()}},
                           false),
      "application/json");
}

void SendReply(httplib::Response& res, const grpc::Status& s, const wf::WorkflowReply& reply) {
  if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
  res.set_content(reply.json(), "application/json");
}

// The request body as a JSON object; an empty body is an empty object (PUT .../suspend).
bool Body(const httplib::Request& req, httplib::Response& res, json* out) {
  absl::StatusOr<json> parsed = ParseObjectBody(req.body);
  if (!parsed.ok()) {
    SendError(res, grpc::StatusCode::INVALID_ARGUMENT, std::string(parsed.status().message()));
    return false;
  }
  *out = *std::move(parsed);
  return true;
}

void HandleLogs(Stub* stub, const std::string& ns, const std::string& name, const std::string& pod,
                const httplib::Request& req, httplib::Response& res) {
  auto pump = std::make_shared<StreamPump<wf::LogEntry>>();
  wf::WorkflowLogsRequest lr;
  lr.set_namespace_(ns);
  lr.set_name(name);
  lr.set_pod_name(pod.empty() ? req.get_param_value("podName") : pod);
  lr.set_container(req.get_param_value("logOptions.container"));
  lr.set_follow(req.get_param_value("logOptions.follow") == "true");
  lr.set_grep(req.get_param_value("grep"));
  pump->reader = stub->WorkflowLogs(&pump->ctx, lr);
  ServeStream<wf::LogEntry>(
      pump,
      [](const wf::LogEntry& e) {
        return json{{"podName", e.pod_name()}, {"content", e.content()}};
      },
      res);
}

void HandleAction(Stub* stub, const std::string& ns, const std::string& name,
                  const std::string& action, const httplib::Request& req, httplib::Response& res) {
  json body;
  if (!Body(req, res, &body)) return;
  const std::string selector = StrField(body, "nodeFieldSelector");
  wf::WorkflowReply reply;
  grpc::ClientContext ctx;
  grpc::Status s;
  if (action == "suspend" || action == "terminate") {
    wf::WorkflowNameRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    s = action == "suspend" ? stub->SuspendWorkflow(&ctx, r, &reply)
                            : stub->TerminateWorkflow(&ctx, r, &reply);
  } else if (action == "resume") {
    wf::ResumeWorkflowRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    r.set_node_field_selector(selector);
    s = stub->ResumeWorkflow(&ctx, r, &reply);
  } else if (action == "stop") {
    wf::StopWorkflowRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    r.set_node_field_selector(selector);
    r.set_message(StrField(body, "message"));
    s = stub->StopWorkflow(&ctx, r, &reply);
  } else if (action == "retry") {
    wf::RetryWorkflowRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    r.set_node_field_selector(selector);
    r.set_restart_successful(BoolField(body, "restartSuccessful"));
    AddStrings(body, "parameters", r.mutable_parameters());
    s = stub->RetryWorkflow(&ctx, r, &reply);
  } else if (action == "resubmit") {
    wf::ResubmitWorkflowRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    r.set_memoized(BoolField(body, "memoized"));
    AddStrings(body, "parameters", r.mutable_parameters());
    s = stub->ResubmitWorkflow(&ctx, r, &reply);
  } else {  // set
    wf::SetWorkflowRequest r;
    r.set_namespace_(ns);
    r.set_name(name);
    r.set_node_field_selector(selector);
    r.set_message(StrField(body, "message"));
    r.set_phase(StrField(body, "phase"));
    // Argo sends outputParameters as a JSON-encoded map in a string.
    json outputs = body.value("outputParameters", json());
    if (outputs.is_string()) {
      absl::StatusOr<json> parsed = manifest::ParseJsonText(outputs.get<std::string>());
      if (!parsed.ok()) {
        return SendError(res, grpc::StatusCode::INVALID_ARGUMENT,
                         absl::StrCat("outputParameters: ", parsed.status().message()));
      }
      outputs = *parsed;
    }
    if (outputs.is_object()) {
      for (const auto& [k, v] : outputs.items()) {
        r.add_output_parameters(
            absl::StrCat(k, "=", v.is_string() ? v.get<std::string>() : v.dump()));
      }
    }
    s = stub->SetWorkflow(&ctx, r, &reply);
  }
  SendReply(res, s, reply);
}

}  // namespace

void RegisterWorkflowRestRoutes(httplib::Server& http, Stub* stub) {
  RegisterArtifactRestRoutes(http, stub);
  constexpr char kName[] = "([a-z0-9.-]+)";
  http.Post(absl::StrCat("/api/v1/workflows/", kName, "/lint/?"),
            [stub](const httplib::Request& req, httplib::Response& res) {
              wf::LintWorkflowRequest r;
              r.set_namespace_(req.matches[1]);
              r.set_json(req.body);
              wf::WorkflowReply reply;
              grpc::ClientContext ctx;
              SendReply(res, stub->LintWorkflow(&ctx, r, &reply), reply);
            });
  // Argo Server's lint of the template kinds: the body wraps the object ({"template": ...},
  // {"cronWorkflow": ...}); the path names the kind when the object does not.
  struct LintPath {
    std::string pattern;
    const char* kind;
    const char* wrapper;
  };
  for (const LintPath& p : {LintPath{absl::StrCat("/api/v1/workflow-templates/", kName, "/lint/?"),
                                     "WorkflowTemplate", "template"},
                            LintPath{"/api/v1/cluster-workflow-templates/lint/?",
                                     "ClusterWorkflowTemplate", "template"},
                            LintPath{absl::StrCat("/api/v1/cron-workflows/", kName, "/lint/?"),
                                     "CronWorkflow", "cronWorkflow"}}) {
    http.Post(p.pattern, [stub, p](const httplib::Request& req, httplib::Response& res) {
      json body;
      if (!Body(req, res, &body)) return;
      json object =
          body.contains(p.wrapper) && body[p.wrapper].is_object() ? body[p.wrapper] : body;
      if (!object.contains("kind")) object["kind"] = p.kind;
      wf::LintWorkflowRequest r;
      if (req.matches.size() > 1) r.set_namespace_(req.matches[1]);
      r.set_json(manifest::ToJsonText(object, false));
      wf::WorkflowReply reply;
      grpc::ClientContext ctx;
      SendReply(res, stub->LintWorkflow(&ctx, r, &reply), reply);
    });
  }
  http.Post(absl::StrCat("/api/v1/workflows/", kName, "/submit/?"),
            [stub](const httplib::Request& req, httplib::Response& res) {
              json body;
              if (!Body(req, res, &body)) return;
              wf::SubmitWorkflowRequest r;
              r.set_namespace_(req.matches[1]);
              r.set_resource_kind(StrField(body, "resourceKind"));
              r.set_resource_name(StrField(body, "resourceName"));
              const json opts = body.value("submitOptions", json::object());
              if (opts.is_object()) {
                r.set_name(StrField(opts, "name"));
                r.set_generate_name(StrField(opts, "generateName"));
                r.set_entrypoint(StrField(opts, "entrypoint"));
                r.set_service_account(StrField(opts, "serviceAccount"));
                r.set_server_dry_run(BoolField(opts, "serverDryRun") || BoolField(opts, "dryRun"));
                AddStrings(opts, "parameters", r.mutable_parameters());
                // Argo: labels as "k=v,k2=v2".
                for (absl::string_view kv :
                     absl::StrSplit(StrField(opts, "labels"), ',', absl::SkipEmpty())) {
                  std::pair<std::string, std::string> p =
                      absl::StrSplit(kv, absl::MaxSplits('=', 1));
                  (*r.mutable_labels())[p.first] = p.second;
                }
              }
              wf::WorkflowReply reply;
              grpc::ClientContext ctx;
              SendReply(res, stub->SubmitWorkflow(&ctx, r, &reply), reply);
            });
  http.Put(absl::StrCat("/api/v1/workflows/", kName, "/", kName,
                        "/(resume|suspend|stop|terminate|retry|resubmit|set)/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             HandleAction(stub, req.matches[1], req.matches[2], req.matches[3], req, res);
           });
  http.Get(absl::StrCat("/api/v1/workflows/", kName, "/", kName, "/log/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             HandleLogs(stub, req.matches[1], req.matches[2], "", req, res);
           });
  http.Get(absl::StrCat("/api/v1/workflows/", kName, "/", kName, "/", kName, "/log/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             HandleLogs(stub, req.matches[1], req.matches[2], req.matches[3], req, res);
           });
  http.Get(
      absl::StrCat("/api/v1/workflow-events/", kName, "/?"),
      [stub](const httplib::Request& req, httplib::Response& res) {
        auto pump = std::make_shared<StreamPump<wf::WorkflowWatchEvent>>();
        wf::WatchWorkflowsRequest wr;
        wr.set_namespace_(req.matches[1]);
        wr.set_label_selector(req.get_param_value("listOptions.labelSelector"));
        wr.set_resource_version(req.get_param_value("listOptions.resourceVersion"));
        // Argo's UI watches one workflow with fieldSelector metadata.name=<name>.
        const std::string fs = req.get_param_value("listOptions.fieldSelector");
        for (absl::string_view term : absl::StrSplit(fs, ',', absl::SkipEmpty())) {
          if (absl::ConsumePrefix(&term, "metadata.name=")) wr.set_name(std::string(term));
        }
        pump->reader = stub->WatchWorkflows(&pump->ctx, wr);
        ServeStream<wf::WorkflowWatchEvent>(
            pump,
            [](const wf::WorkflowWatchEvent& e) {
              return json{{"type", e.type()}, {"object", json::parse(e.json(), nullptr, false)}};
            },
            res);
      });
}

}  // namespace argonaut::gateway
