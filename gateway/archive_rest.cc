#include "gateway/archive_rest.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/rest.h"
#include "gateway/rest_guard.h"
#include "gateway/stream_forward.h"
#include "httplib.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::gateway {

namespace wf = ::argonaut::workflow::v1;

#define ARGONAUT_FORWARD(Method, Req, Resp)                                        \
  grpc::Status ArchiveRouter::Method(grpc::ServerContext* ctx, const wf::Req* req, \
                                     wf::Resp* resp) {                             \
    return ForwardUnary(ctx, stub_.get(), &Stub::Method, req, resp);               \
  }

ARGONAUT_FORWARD(ListArchivedWorkflows, ListArchivedWorkflowsRequest, ListArchivedWorkflowsReply)
ARGONAUT_FORWARD(GetArchivedWorkflow, ArchivedWorkflowRequest, ArchivedWorkflowReply)
ARGONAUT_FORWARD(DeleteArchivedWorkflow, ArchivedWorkflowRequest, ArchivedWorkflowDeletedReply)
ARGONAUT_FORWARD(ListArchivedWorkflowLabelKeys, ArchivedWorkflowLabelKeysRequest,
                 ArchivedLabelsReply)
ARGONAUT_FORWARD(ListArchivedWorkflowLabelValues, ArchivedWorkflowLabelValuesRequest,
                 ArchivedLabelsReply)
ARGONAUT_FORWARD(ResubmitArchivedWorkflow, ResubmitArchivedWorkflowRequest, ArchivedWorkflowReply)
ARGONAUT_FORWARD(RetryArchivedWorkflow, RetryArchivedWorkflowRequest, ArchivedWorkflowReply)

#undef ARGONAUT_FORWARD

namespace {

using nlohmann::json;
using Stub = wf::ArchivedWorkflowService::StubInterface;

void SendError(httplib::Response& res, int code, const std::string& message) {
  res.status = HttpStatusFor(code);
  res.set_content(GuardErrorBody(code, message), "application/json");
}

void SendJson(httplib::Response& res, const grpc::Status& s, const std::string& body) {
  if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
  res.set_content(body, "application/json");
}

bool Body(const httplib::Request& req, httplib::Response& res, json* out) {
  absl::StatusOr<json> parsed = ParseObjectBody(req.body);
  if (!parsed.ok()) {
    SendError(res, grpc::StatusCode::INVALID_ARGUMENT, std::string(parsed.status().message()));
    return false;
  }
  *out = *std::move(parsed);
  return true;
}

std::string Items(const google::protobuf::RepeatedPtrField<std::string>& items) {
  json out = {{"items", json::array()}};
  for (const std::string& i : items) out["items"].push_back(i);
  return manifest::ToJsonText(out, false);
}

}  // namespace

void RegisterArchiveRestRoutes(httplib::Server& http, Stub* stub) {
  constexpr char kUid[] = "([A-Za-z0-9-]+)";
  http.Get("/api/v1/archived-workflows/?", [stub](const httplib::Request& req,
                                                  httplib::Response& res) {
    wf::ListArchivedWorkflowsRequest r;
    r.set_namespace_(req.get_param_value("namespace"));
    r.set_label_selector(req.get_param_value("listOptions.labelSelector"));
    r.set_field_selector(req.get_param_value("listOptions.fieldSelector"));
    r.set_continue_token(req.get_param_value("listOptions.continue"));
    r.set_name_prefix(req.get_param_value("namePrefix"));
    r.set_name_filter(req.get_param_value("nameFilter"));
    if (const std::string limit = req.get_param_value("listOptions.limit"); !limit.empty()) {
      int64_t n = 0;
      if (!absl::SimpleAtoi(limit, &n) || n < 0) {
        return SendError(
            res, grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("listOptions.limit: want a non-negative integer, got \"", limit, "\""));
      }
      r.set_limit(n);
    }
    wf::ListArchivedWorkflowsReply reply;
    grpc::ClientContext ctx;
    const grpc::Status s = stub->ListArchivedWorkflows(&ctx, r, &reply);
    if (!s.ok()) return SendError(res, s.error_code(), s.error_message());
    // The items are JSON text already: spliced, not parsed again.
    std::string body = R"({"apiVersion":"argoproj.io/v1alpha1","kind":"WorkflowList","metadata":{)";
    if (!reply.continue_token().empty()) {
      absl::StrAppend(&body, R"("continue":)", json(reply.continue_token()).dump());
    }
    absl::StrAppend(&body, R"(},"items":[)");
    for (int i = 0; i < reply.items_size(); ++i) {
      if (i > 0) body += ',';
      body += reply.items(i);
    }
    body += "]}";
    res.set_content(body, "application/json");
  });
  http.Get("/api/v1/archived-workflows-label-keys/?",
           [stub](const httplib::Request& req, httplib::Response& res) {
             wf::ArchivedWorkflowLabelKeysRequest r;
             r.set_namespace_(req.get_param_value("namespace"));
             wf::ArchivedLabelsReply reply;
             grpc::ClientContext ctx;
             const grpc::Status s = stub->ListArchivedWorkflowLabelKeys(&ctx, r, &reply);
             SendJson(res, s, s.ok() ? Items(reply.items()) : "");
           });
  http.Get("/api/v1/archived-workflows-label-values/?",
           [stub](const httplib::Request& req, httplib::Response& res) {
             wf::ArchivedWorkflowLabelValuesRequest r;
             r.set_namespace_(req.get_param_value("namespace"));
             r.set_label_selector(req.get_param_value("listOptions.labelSelector"));
             wf::ArchivedLabelsReply reply;
             grpc::ClientContext ctx;
             const grpc::Status s = stub->ListArchivedWorkflowLabelValues(&ctx, r, &reply);
             SendJson(res, s, s.ok() ? Items(reply.items()) : "");
           });
  http.Get(absl::StrCat("/api/v1/archived-workflows/", kUid, "/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             wf::ArchivedWorkflowRequest r;
             r.set_uid(req.matches[1]);
             r.set_namespace_(req.get_param_value("namespace"));
             r.set_name(req.get_param_value("name"));
             wf::ArchivedWorkflowReply reply;
             grpc::ClientContext ctx;
             const grpc::Status s = stub->GetArchivedWorkflow(&ctx, r, &reply);
             SendJson(res, s, reply.json());
           });
  http.Delete(absl::StrCat("/api/v1/archived-workflows/", kUid, "/?"),
              [stub](const httplib::Request& req, httplib::Response& res) {
                wf::ArchivedWorkflowRequest r;
                r.set_uid(req.matches[1]);
                r.set_namespace_(req.get_param_value("namespace"));
                r.set_name(req.get_param_value("name"));
                wf::ArchivedWorkflowDeletedReply reply;
                grpc::ClientContext ctx;
                SendJson(res, stub->DeleteArchivedWorkflow(&ctx, r, &reply), "{}");
              });
  http.Put(absl::StrCat("/api/v1/archived-workflows/", kUid, "/(resubmit|retry)/?"),
           [stub](const httplib::Request& req, httplib::Response& res) {
             json body;
             if (!Body(req, res, &body)) return;
             wf::ArchivedWorkflowReply reply;
             grpc::ClientContext ctx;
             grpc::Status s;
             if (req.matches[2] == "resubmit") {
               wf::ResubmitArchivedWorkflowRequest r;
               r.set_uid(req.matches[1]);
               r.set_namespace_(StrField(body, "namespace"));
               r.set_name(StrField(body, "name"));
               r.set_memoized(BoolField(body, "memoized"));
               AddStrings(body, "parameters", r.mutable_parameters());
               s = stub->ResubmitArchivedWorkflow(&ctx, r, &reply);
             } else {
               wf::RetryArchivedWorkflowRequest r;
               r.set_uid(req.matches[1]);
               r.set_namespace_(StrField(body, "namespace"));
               r.set_name(StrField(body, "name"));
               r.set_restart_successful(BoolField(body, "restartSuccessful"));
               r.set_node_field_selector(StrField(body, "nodeFieldSelector"));
               AddStrings(body, "parameters", r.mutable_parameters());
               s = stub->RetryArchivedWorkflow(&ctx, r, &reply);
             }
             SendJson(res, s, reply.json());
           });
}

}  // namespace argonaut::gateway
