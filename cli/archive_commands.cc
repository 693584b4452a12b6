#include "cli/archive_commands.h"

#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "argonaut/workflow/v1/archive_service.grpc.pb.h"
#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "grpcpp/grpcpp.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {
namespace {

using nlohmann::json;
namespace wf = ::argonaut::workflow::v1;

int Usage(std::ostream& err) {
  return Fail(err,
              "usage: argonaut archive list [-l SELECTOR] [--prefix P] [--chunk-size N] [-o "
              "json|name] | get UID [-o json|yaml] | delete UID... | resubmit UID | retry UID | "
              "list-label-keys | list-label-values -l KEY");
}

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return "";
  return obj[key].get<std::string>();
}

}  // namespace

int RunArchive(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kNamespace,
                               {"output", "o"},
                               {"selector", "l"},
                               {"prefix"},
                               {"chunk-size"},
                               {"restart-successful", "", false},
                               {"node-field-selector"},
                               {"parameter", "p", true, true}});
  if (!args.ok()) return Fail(err, args.status());
  const auto& pos = args->positional;
  if (pos.empty()) return Usage(err);
  const std::string address = ServerAddress(args->Get("server"));
  Client client(address);
  auto stub = wf::ArchivedWorkflowService::NewStub(ConnectChannel(address));
  const std::string& verb = pos[0];
  const std::string ns = args->Get("namespace");
  const std::string output = args->Get("output");
  if (verb == "list") {
    int64_t chunk = 0;
    if (args->Has("chunk-size") &&
        (!absl::SimpleAtoi(args->Get("chunk-size"), &chunk) || chunk < 0)) {
      return Fail(err, "--chunk-size: expected a number");
    }
    std::vector<json> items;
    std::string token;
    do {  // Argo's --chunk-size pages through the archive; all pages are printed
      wf::ListArchivedWorkflowsRequest r;
      r.set_namespace_(ns);
      r.set_label_selector(args->Get("selector"));
      r.set_name_prefix(args->Get("prefix"));
      r.set_limit(chunk);
      r.set_continue_token(token);
      wf::ListArchivedWorkflowsReply reply;
      grpc::ClientContext ctx;
      if (absl::Status s = client.Convert(stub->ListArchivedWorkflows(&ctx, r, &reply)); !s.ok()) {
        return Fail(err, s);
      }
      for (const std::string& text : reply.items()) {
        absl::StatusOr<json> item = manifest::ParseJsonText(text);
        if (item.ok()) items.push_back(*std::move(item));
      }
      token = reply.continue_token();
    } while (!token.empty());
    if (output == "json") {
      out << manifest::ToJsonText(json(items), true) << "\n";
      return 0;
    }
    if (output == "name") {
      for (const json& i : items) out << Str(i["metadata"], "name") << "\n";
      return 0;
    }
    if (!output.empty()) return Fail(err, "--output: expected json or name");
    out << absl::StrFormat("%-30s %-12s %-10s %-20s %s\n", "NAME", "NAMESPACE", "STATUS",
                           "FINISHED", "UID");
    for (const json& i : items) {
      const json meta = i.value("metadata", json::object());
      const json status = i.value("status", json::object());
      out << absl::StrFormat("%-30s %-12s %-10s %-20s %s\n", Str(meta, "name"),
                             Str(meta, "namespace"), Str(status, "phase"),
                             Str(status, "finishedAt"), Str(meta, "uid"));
    }
    return 0;
  }
  if (verb == "list-label-keys" || verb == "list-label-values") {
    wf::ArchivedLabelsReply reply;
    grpc::ClientContext ctx;
    grpc::Status s;
    if (verb == "list-label-keys") {
      wf::ArchivedWorkflowLabelKeysRequest r;
      r.set_namespace_(ns);
      s = stub->ListArchivedWorkflowLabelKeys(&ctx, r, &reply);
    } else {
      if (args->Get("selector").empty()) return Fail(err, "list-label-values: -l KEY is required");
      wf::ArchivedWorkflowLabelValuesRequest r;
      r.set_namespace_(ns);
      r.set_label_selector(args->Get("selector"));
      s = stub->ListArchivedWorkflowLabelValues(&ctx, r, &reply);
    }
    if (absl::Status st = client.Convert(s); !st.ok()) return Fail(err, st);
    for (const std::string& i : reply.items()) out << i << "\n";
    return 0;
  }
  if (pos.size() < 2) return Usage(err);
  if (verb == "delete") {
    for (size_t i = 1; i < pos.size(); ++i) {
      wf::ArchivedWorkflowRequest r;
      r.set_uid(pos[i]);
      r.set_namespace_(ns);
      wf::ArchivedWorkflowDeletedReply reply;
      grpc::ClientContext ctx;
      if (absl::Status s = client.Convert(stub->DeleteArchivedWorkflow(&ctx, r, &reply)); !s.ok()) {
        return Fail(err, s);
      }
      out << "Archived workflow '" << pos[i] << "' deleted\n";
    }
    return 0;
  }
  wf::ArchivedWorkflowReply reply;
  grpc::ClientContext ctx;
  grpc::Status s;
  if (verb == "get") {
    wf::ArchivedWorkflowRequest r;
    r.set_uid(pos[1]);
    r.set_namespace_(ns);
    s = stub->GetArchivedWorkflow(&ctx, r, &reply);
  } else if (verb == "resubmit") {
    wf::ResubmitArchivedWorkflowRequest r;
    r.set_uid(pos[1]);
    r.set_namespace_(ns);
    for (const std::string& p : args->All("parameter")) r.add_parameters(p);
    s = stub->ResubmitArchivedWorkflow(&ctx, r, &reply);
  } else if (verb == "retry") {
    wf::RetryArchivedWorkflowRequest r;
    r.set_uid(pos[1]);
    r.set_namespace_(ns);
    r.set_restart_successful(args->Has("restart-successful"));
    r.set_node_field_selector(args->Get("node-field-selector"));
    for (const std::string& p : args->All("parameter")) r.add_parameters(p);
    s = stub->RetryArchivedWorkflow(&ctx, r, &reply);
  } else {
    return Usage(err);
  }
  if (absl::Status st = client.Convert(s); !st.ok()) return Fail(err, st);
  absl::StatusOr<json> wf = manifest::ParseJsonText(reply.json());
  if (!wf.ok()) return Fail(err, wf.status());
  if (verb == "get" && output.empty()) {
    const json meta = wf->value("metadata", json::object());
    const json status = wf->value("status", json::object());
    out << absl::StrFormat(
        "Name:        %s\nNamespace:   %s\nUID:         %s\nStatus:      %s\n"
        "Started:     %s\nFinished:    %s\n",
        Str(meta, "name"), Str(meta, "namespace"), Str(meta, "uid"), Str(status, "phase"),
        Str(status, "startedAt"), Str(status, "finishedAt"));
    if (!Str(status, "message").empty()) out << "Message:     " << Str(status, "message") << "\n";
  } else if (output == "json") {
    out << manifest::ToJsonText(*wf, true) << "\n";
  } else if (output == "yaml") {
    out << manifest::ToYaml(*wf);
  } else {
    out << "Name: " << Str(wf->value("metadata", json::object()), "name") << "\n";
  }
  return 0;
}

}  // namespace argonaut::cli
