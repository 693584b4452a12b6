#include "cli/cron_commands.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "cli/printer.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;

std::string Text(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return "";
  const json& v = obj[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

int Usage(std::ostream& err) {
  return Fail(err,
              "usage: argonaut cron create FILE... | list | get NAME... | suspend NAME... | "
              "resume NAME... | delete NAME...");
}

}  // namespace

std::string DescribeCron(const json& cron) {
  const json meta = cron.value("metadata", json::object());
  const json spec = cron.value("spec", json::object());
  const json status = cron.value("status", json::object());
  std::vector<std::string> schedules;
  if (!Text(spec, "schedule").empty()) schedules.push_back(Text(spec, "schedule"));
  for (const json& s : spec.value("schedules", json::array())) {
    schedules.push_back(s.is_string() ? s.get<std::string>() : s.dump());
  }
  std::vector<std::string> active;
  for (const json& ref : status.value("active", json::array())) active.push_back(Text(ref, "name"));
  std::string out;
  auto row = [&out](const std::string& k, const std::string& v) {
    if (!v.empty())
      absl::StrAppend(&out, k, std::string(k.size() < 25 ? 25 - k.size() : 1, ' '), v, "\n");
  };
  row("Name:", Text(meta, "name"));
  row("Namespace:", Text(meta, "namespace"));
  row("Created:", Text(meta, "creationTimestamp"));
  row("Schedules:", absl::StrJoin(schedules, ","));
  row("Timezone:", Text(spec, "timezone"));
  row("Suspended:", spec.value("suspend", false) ? "true" : "false");
  row("ConcurrencyPolicy:", Text(spec, "concurrencyPolicy"));
  row("StartingDeadlineSeconds:", Text(spec, "startingDeadlineSeconds"));
  row("Phase:", Text(status, "phase"));
  row("LastScheduledTime:", Text(status, "lastScheduledTime"));
  row("Active Workflows:", absl::StrJoin(active, ","));
  row("Succeeded:", Text(status, "succeeded"));
  row("Failed:", Text(status, "failed"));
  for (const json& c : status.value("conditions", json::array())) {
    row("Condition:", absl::StrCat(Text(c, "type"), ": ", Text(c, "message")));
  }
  return out;
}

int RunCron(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(
      argv,
      {kServer, kNamespace, {"output", "o"}, {"selector", "l"}, {"all-namespaces", "A", false}});
  if (!args.ok()) return Fail(err, args.status());
  const auto& pos = args->positional;
  if (pos.empty()) return Usage(err);
  const resource::KindInfo* kind = resource::FindKind("CronWorkflow");
  const std::string ns = args->Get("namespace", "default");
  Client client(ServerAddress(args->Get("server")));
  const std::string& verb = pos[0];
  if (verb == "list") {
    auto listed =
        client.List("CronWorkflow", args->Has("all-namespaces") ? "" : ns, args->Get("selector"));
    if (!listed.ok()) return Fail(err, listed.status());
    auto text = FormatObjects(*kind, listed->first, true, args->Get("output"),
                              args->Has("all-namespaces"), absl::Now());
    if (!text.ok()) return Fail(err, text.status());
    out << *text;
    return 0;
  }
  if (pos.size() < 2) return Usage(err);
  int rc = 0;
  if (verb == "create") {
    for (size_t f = 1; f < pos.size(); ++f) {
      auto text = ReadInput(pos[f]);
      if (!text.ok()) return Fail(err, text.status());
      auto docs = manifest::ParseDocuments(*text);
      if (!docs.ok()) return Fail(err, absl::StrCat(pos[f], ": ", docs.status().message()));
      for (json& doc : *docs) {
        if (!doc.is_object() || doc.value("kind", "CronWorkflow") != "CronWorkflow") {
          return Fail(err, absl::StrCat(pos[f], ": expected a CronWorkflow"));
        }
        doc["kind"] = "CronWorkflow";
        if (doc["metadata"].is_object() && !doc["metadata"].contains("namespace")) {
          doc["metadata"]["namespace"] = ns;
        }
        auto created = client.Create("CronWorkflow", doc, false);
        if (!created.ok()) return Fail(err, absl::StrCat(pos[f], ": ", created.status().message()));
        out << DescribeCron(*created);
      }
    }
    return 0;
  }
  for (size_t i = 1; i < pos.size(); ++i) {
    const std::string& name = pos[i];
    if (verb == "delete") {
      if (absl::Status s = client.Delete("CronWorkflow", ns, name); !s.ok()) {
        rc = Fail(err, s);
        continue;
      }
      out << "CronWorkflow '" << name << "' deleted\n";
      continue;
    }
    auto got = client.Get("CronWorkflow", ns, name);
    if (!got.ok()) {
      rc = Fail(err, got.status());
      continue;
    }
    if (verb == "get") {
      if (args->Get("output").empty()) {
        out << DescribeCron(*got);
        continue;
      }
      auto text = FormatObjects(*kind, {*got}, false, args->Get("output"), false, absl::Now());
      if (!text.ok()) return Fail(err, text.status());
      out << *text;
      continue;
    }
    if (verb != "suspend" && verb != "resume") {
      return Fail(err, absl::StrCat("unknown cron command \"", verb,
                                    "\" (create, list, get, suspend, resume, delete)"));
    }
    (*got)["spec"]["suspend"] = verb == "suspend";
    // The resourceVersion read above guards against a concurrent change.
    auto written = client.Create("CronWorkflow", *got, /*upsert=*/true);
    if (!written.ok()) {
      rc = Fail(err, written.status());
      continue;
    }
    out << "CronWorkflow '" << name << "' " << (verb == "suspend" ? "suspended" : "resumed")
        << "\n";
  }
  return rc;
}

}  // namespace argonaut::cli
