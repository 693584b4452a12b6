#include "cli/cd_commands.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "argonaut/cd/v1/cd_service.grpc.pb.h"
#include "cli/cd_client.h"
#include "cli/cd_printer.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "grpcpp/grpcpp.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/server/grpc_status.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;
namespace cd1 = ::argonaut::cd::v1;
using cd_internal::CdClient;
using cd_internal::CheckFormat;
using cd_internal::F;
using cd_internal::IsHelp;
using cd_internal::kAppNamespace;
using cd_internal::kOutput;
using cd_internal::kTimeout;
using cd_internal::NormalizeBools;
using cd_internal::OneName;
using cd_internal::PrintStructured;
using cd_internal::S;
using cd_internal::Usage;

constexpr char kAppUsage[] = R"(usage:
  argonaut app create NAME --repo URL --path P --dest-server URL --dest-namespace NS [--revision R]
      [--project P] [--sync-policy automated] [--auto-prune] [--self-heal] [--directory-recurse]
      [--jsonnet-tla-str k=v] [--kustomize-image IMG] [--sync-option O] [--upsert]
  argonaut app create [NAME] -f app.yaml [--upsert]
  argonaut app set NAME [--sync-policy none|automated] [--self-heal] [--auto-prune] [--revision R]
  argonaut app get NAME [--refresh|--hard-refresh] [-o json|yaml|wide]
  argonaut app list [-p PROJECT] [-l SELECTOR] [--repo URL] [-o json|yaml|name|wide]
  argonaut app diff NAME [--refresh|--hard-refresh]          exit 1 when different
  argonaut app sync NAME [--prune] [--dry-run] [--resource GROUP:KIND:NAME]... [--revision R]
      [--force] [--strategy apply|hook] [--async] [--timeout N]
  argonaut app wait NAME [--health] [--sync] [--operation] [--timeout N]
  argonaut app history NAME  |  rollback NAME ID [--prune]  |  manifests NAME [--revision R]
  argonaut app delete NAME [--cascade=true|false] [-y]  |  resources NAME  |  terminate-op NAME)";

absl::StatusOr<int> TimeoutSeconds(const Args& args) {
  if (!args.Has("timeout")) return 0;
  int seconds = 0;
  if (!absl::SimpleAtoi(args.Get("timeout"), &seconds) || seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout: \"", args.Get("timeout"), "\" is not a number of seconds"));
  }
  return seconds;
}

// Polls the app until `done` holds; 0 seconds waits without limit.
absl::StatusOr<json> WaitFor(CdClient& client, const std::string& name, const std::string& ns,
                             int timeout_seconds, const std::function<bool(const json&)>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(timeout_seconds);
  for (;;) {
    ASSIGN_OR_RETURN(json app, client.GetApp(name, ns));
    if (done(app)) return app;
    if (timeout_seconds > 0 && absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "timed out (", timeout_seconds, "s) waiting for app \"", name, "\" match desired state"));
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
}

// After a sync or rollback: wait for the operation, print the app, fail unless it succeeded.
int AwaitOperation(CdClient& client, const std::string& name, const std::string& ns, int timeout,
                   std::ostream& out, std::ostream& err) {
  absl::StatusOr<json> app = WaitFor(client, name, ns, timeout, OperationDone);
  if (!app.ok()) return Fail(err, app.status());
  out << FormatApp(*app, client.url());
  const std::string phase = S(F(F(*app, "status"), "operationState"), "phase");
  if (phase != "Succeeded") {
    return Fail(err, absl::StrCat("Operation has completed with phase: ", phase));
  }
  return 0;
}

// ---- app -----------------------------------------------------------------------------------

// What `app create` may change of an existing app: spec, labels and annotations.
json UserPart(const json& app) {
  const json& meta = F(app, "metadata");
  return {{"spec", F(app, "spec")},
          {"labels", F(meta, "labels")},
          {"annotations", F(meta, "annotations")}};
}

int AppCreate(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::set<std::string> falses;
  auto args = ParseArgs(
      NormalizeBools(
          argv, {"auto-prune", "self-heal", "allow-empty", "directory-recurse", "upsert"}, &falses),
      {kServer,
       kAppNamespace,
       {"file", "f"},
       {"repo", ""},
       {"path", ""},
       {"revision", ""},
       {"dest-server", ""},
       {"dest-namespace", ""},
       {"dest-name", ""},
       {"project", ""},
       {"sync-policy", ""},
       {"auto-prune", "", false},
       {"self-heal", "", false},
       {"allow-empty", "", false},
       {"directory-recurse", "", false},
       {"jsonnet-tla-str", "", true, true},
       {"jsonnet-tla-code", "", true, true},
       {"jsonnet-ext-var-str", "", true, true},
       {"kustomize-image", "", true, true},
       {"nameprefix", ""},
       {"namesuffix", ""},
       {"sync-option", "", true, true},
       {"label", "", true, true},
       {"upsert", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.size() > 1) return Fail(err, Usage(kAppUsage));
  const std::string name = args->positional.empty() ? "" : args->positional[0];
  std::vector<json> bases;
  if (args->Has("file")) {
    auto text = ReadInput(args->Get("file"));
    if (!text.ok()) return Fail(err, text.status());
    auto docs = manifest::ParseDocuments(*text);
    if (!docs.ok()) return Fail(err, docs.status());
    for (json& d : *docs) {
      if (d.is_object() && d.value("kind", "") == "Application") bases.push_back(std::move(d));
    }
    if (bases.empty()) return Fail(err, absl::StrCat(args->Get("file"), ": no Application in it"));
  } else {
    if (name.empty()) return Fail(err, Usage(kAppUsage));
    bases.push_back(json::object());
  }
  CdClient client(args->Get("server"));
  for (json& base : bases) {
    absl::StatusOr<json> app = ApplicationFromFlags(bases.size() == 1 ? name : "", *args, base);
    if (!app.ok()) return Fail(err, app.status());
    if (args->Has("app-namespace")) (*app)["metadata"]["namespace"] = args->Get("app-namespace");
    const std::string app_name = S(F(*app, "metadata"), "name");
    // As argocd reports it: created, updated (upsert changed it) or unchanged.
    absl::StatusOr<json> existing = client.GetApp(app_name, S(F(*app, "metadata"), "namespace"));
    if (!existing.ok() && !absl::IsNotFound(existing.status())) {
      return Fail(err, existing.status());
    }
    cd1::ApplicationCreateRequest req;
    req.set_json(app->dump());
    req.set_upsert(args->Has("upsert"));
    req.set_validate(true);
    cd1::ApplicationReply reply;
    absl::Status s = client.Convert(client.apps().Create(CdClient::Context().get(), req, &reply));
    if (!s.ok()) return Fail(err, s);
    std::string action = "created";
    if (existing.ok()) {
      absl::StatusOr<json> created = CdClient::Parse(reply.json());
      if (!created.ok()) return Fail(err, created.status());
      action = UserPart(*existing) == UserPart(*created) ? "unchanged" : "updated";
    }
    out << "application '" << app_name << "' " << action << "\n";
  }
  return 0;
}

int AppSet(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::set<std::string> falses;
  auto args =
      ParseArgs(NormalizeBools(
                    argv, {"auto-prune", "self-heal", "allow-empty", "directory-recurse"}, &falses),
                {kServer,
                 kAppNamespace,
                 {"sync-policy", ""},
                 {"auto-prune", "", false},
                 {"self-heal", "", false},
                 {"allow-empty", "", false},
                 {"revision", ""},
                 {"path", ""},
                 {"repo", ""},
                 {"dest-server", ""},
                 {"dest-namespace", ""},
                 {"project", ""},
                 {"directory-recurse", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage));
  CdClient client(args->Get("server"));
  const std::string ns = args->Get("app-namespace");
  absl::StatusOr<json> app = client.GetApp(name, ns);
  if (!app.ok()) return Fail(err, app.status());
  json spec = F(*app, "spec");
  json& policy = spec["syncPolicy"];
  if (!policy.is_object()) policy = json::object();
  if (args->Has("sync-policy")) {
    const std::string p = args->Get("sync-policy");
    if (p == "none" || p == "manual") {
      policy.erase("automated");
    } else if (p == "automated" || p == "auto" || p == "automatic") {
      if (!policy["automated"].is_object()) policy["automated"] = json::object();
    } else {
      return Fail(err, absl::StrCat("--sync-policy: \"", p, "\" is not one of none, automated"));
    }
  }
  for (const auto& [flag, field] : std::vector<std::pair<std::string, std::string>>{
           {"auto-prune", "prune"}, {"self-heal", "selfHeal"}, {"allow-empty", "allowEmpty"}}) {
    if (!args->Has(flag) && falses.count(flag) == 0) continue;
    if (!policy["automated"].is_object()) {
      return Fail(err, absl::StrCat("Cannot set --", flag,
                                    ": application not configured with automatic sync"));
    }
    policy["automated"][field] = args->Has(flag);
  }
  if (policy.empty()) spec.erase("syncPolicy");
  json& source = spec["source"];
  if (args->Has("revision")) source["targetRevision"] = args->Get("revision");
  if (args->Has("path")) source["path"] = args->Get("path");
  if (args->Has("repo")) source["repoURL"] = args->Get("repo");
  if (args->Has("directory-recurse") || falses.count("directory-recurse") > 0) {
    source["directory"]["recurse"] = args->Has("directory-recurse");
  }
  if (source.is_null()) spec.erase("source");
  if (args->Has("dest-server")) spec["destination"]["server"] = args->Get("dest-server");
  if (args->Has("dest-namespace")) spec["destination"]["namespace"] = args->Get("dest-namespace");
  if (args->Has("project")) spec["project"] = args->Get("project");
  cd1::ApplicationUpdateSpecRequest req;
  req.set_name(name);
  req.set_app_namespace(ns);
  req.set_spec_json(spec.dump());
  req.set_validate(true);
  cd1::ApplicationSpecReply reply;
  absl::Status s = client.Convert(client.apps().UpdateSpec(CdClient::Context().get(), req, &reply));
  if (!s.ok()) return Fail(err, s);
  (void)out;
  return 0;
}

int AppGet(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(
      argv, {kServer, kAppNamespace, kOutput, {"refresh", "", false}, {"hard-refresh", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage));
  const std::string format = args->Get("output");
  if (absl::Status s = CheckFormat(format, {"json", "yaml", "wide", "tree"}); !s.ok()) {
    return Fail(err, s);
  }
  CdClient client(args->Get("server"));
  const std::string refresh =
      args->Has("hard-refresh") ? "hard" : (args->Has("refresh") ? "normal" : "");
  absl::StatusOr<json> app = client.GetApp(name, args->Get("app-namespace"), refresh);
  if (!app.ok()) return Fail(err, app.status());
  if (!PrintStructured(format, *app, out)) out << FormatApp(*app, client.url());
  return 0;
}

int AppList(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kAppNamespace,
                               kOutput,
                               {"project", "p", true, true},
                               {"selector", "l"},
                               {"repo", "r"}});
  if (!args.ok()) return Fail(err, args.status());
  const std::string format = args->Get("output");
  if (absl::Status s = CheckFormat(format, {"json", "yaml", "wide", "name"}); !s.ok()) {
    return Fail(err, s);
  }
  CdClient client(args->Get("server"));
  cd1::ApplicationQuery q;
  q.set_app_namespace(args->Get("app-namespace"));
  q.set_selector(args->Get("selector"));
  q.set_repo(args->Get("repo"));
  for (const std::string& p : args->All("project")) q.add_projects(p);
  cd1::ApplicationListReply reply;
  absl::Status s = client.Convert(client.apps().List(CdClient::Context().get(), q, &reply));
  if (!s.ok()) return Fail(err, s);
  std::vector<json> apps;
  for (const std::string& item : reply.items()) {
    absl::StatusOr<json> app = CdClient::Parse(item);
    if (!app.ok()) return Fail(err, app.status());
    apps.push_back(*std::move(app));
  }
  if (format == "name") {
    for (const json& a : apps) {
      out << S(F(a, "metadata"), "namespace") << "/" << S(F(a, "metadata"), "name") << "\n";
    }
    return 0;
  }
  if (PrintStructured(format, json(apps), out)) return 0;
  out << FormatAppList(apps);
  return 0;
}

int AppDiff(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  constexpr int kErrorExit = 2;
  auto args = ParseArgs(
      argv, {kServer, kAppNamespace, {"refresh", "", false}, {"hard-refresh", "", false}});
  if (!args.ok()) return Fail(err, args.status()), kErrorExit;
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage)), kErrorExit;
  CdClient client(args->Get("server"));
  const std::string ns = args->Get("app-namespace");
  if (args->Has("refresh") || args->Has("hard-refresh")) {
    absl::StatusOr<json> app =
        client.GetApp(name, ns, args->Has("hard-refresh") ? "hard" : "normal");
    if (!app.ok()) return Fail(err, app.status()), kErrorExit;
  }
  cd1::ResourcesQuery q;
  q.set_application_name(name);
  q.set_app_namespace(ns);
  cd1::ManagedResourcesReply reply;
  absl::Status s =
      client.Convert(client.apps().ManagedResources(CdClient::Context(120).get(), q, &reply));
  if (!s.ok()) return Fail(err, s), kErrorExit;
  std::vector<json> items;
  for (const std::string& item : reply.items()) {
    absl::StatusOr<json> j = CdClient::Parse(item);
    if (!j.ok()) return Fail(err, j.status()), kErrorExit;
    items.push_back(*std::move(j));
  }
  const std::string diff = FormatDiff(items);
  out << diff;
  return diff.empty() ? 0 : 1;
}

int AppSync(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kAppNamespace,
                               kTimeout,
                               {"prune", "", false},
                               {"dry-run", "", false},
                               {"force", "", false},
                               {"async", "", false},
                               {"revision", ""},
                               {"strategy", ""},
                               {"resource", "", true, true},
                               {"sync-option", "", true, true}});
  if (!args.ok()) return Fail(err, args.status());
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage));
  absl::StatusOr<int> timeout = TimeoutSeconds(*args);
  if (!timeout.ok()) return Fail(err, timeout.status());
  cd1::ApplicationSyncRequest req;
  req.set_name(name);
  req.set_app_namespace(args->Get("app-namespace"));
  req.set_revision(args->Get("revision"));
  req.set_prune(args->Has("prune"));
  req.set_dry_run(args->Has("dry-run"));
  req.set_force(args->Has("force"));
  req.set_strategy(args->Get("strategy"));
  for (const std::string& r : args->All("resource")) {
    absl::StatusOr<cd1::SyncResource> res = ParseSyncResource(r);
    if (!res.ok()) return Fail(err, res.status());
    *req.add_resources() = *res;
  }
  for (const std::string& o : args->All("sync-option")) req.add_sync_options(o);
  CdClient client(args->Get("server"));
  cd1::ApplicationReply reply;
  absl::Status s = client.Convert(client.apps().Sync(CdClient::Context().get(), req, &reply));
  if (!s.ok()) return Fail(err, s);
  if (args->Has("async")) return 0;
  return AwaitOperation(client, name, args->Get("app-namespace"), *timeout, out, err);
}

int AppWait(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kAppNamespace,
                               kTimeout,
                               {"health", "", false},
                               {"sync", "", false},
                               {"operation", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage));
  absl::StatusOr<int> timeout = TimeoutSeconds(*args);
  if (!timeout.ok()) return Fail(err, timeout.status());
  bool sync = args->Has("sync"), health = args->Has("health"), operation = args->Has("operation");
  if (!sync && !health && !operation) sync = health = operation = true;
  CdClient client(args->Get("server"));
  absl::StatusOr<json> app =
      WaitFor(client, name, args->Get("app-namespace"), *timeout,
              [&](const json& a) { return WaitSatisfied(a, sync, health, operation); });
  if (!app.ok()) return Fail(err, app.status());
  out << FormatApp(*app, client.url());
  return 0;
}

int AppHistory(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kAppNamespace, kOutput});
  if (!args.ok()) return Fail(err, args.status());
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage));
  CdClient client(args->Get("server"));
  absl::StatusOr<json> app = client.GetApp(name, args->Get("app-namespace"));
  if (!app.ok()) return Fail(err, app.status());
  if (!PrintStructured(args->Get("output"), F(F(*app, "status"), "history"), out)) {
    out << FormatHistory(*app);
  }
  return 0;
}

int AppRollback(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kAppNamespace, kTimeout, {"prune", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.size() != 2) return Fail(err, Usage(kAppUsage));
  int64_t id = 0;
  if (!absl::SimpleAtoi(args->positional[1], &id)) {
    return Fail(err, absl::StrCat("history id \"", args->positional[1], "\" is not a number"));
  }
  absl::StatusOr<int> timeout = TimeoutSeconds(*args);
  if (!timeout.ok()) return Fail(err, timeout.status());
  const std::string name = args->positional[0];
  cd1::ApplicationRollbackRequest req;
  req.set_name(name);
  req.set_app_namespace(args->Get("app-namespace"));
  req.set_id(id);
  req.set_prune(args->Has("prune"));
  CdClient client(args->Get("server"));
  cd1::ApplicationReply reply;
  absl::Status s = client.Convert(client.apps().Rollback(CdClient::Context().get(), req, &reply));
  if (!s.ok()) return Fail(err, s);
  return AwaitOperation(client, name, args->Get("app-namespace"), *timeout, out, err);
}

int AppManifests(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kAppNamespace, {"revision", ""}, {"source", ""}});
  if (!args.ok()) return Fail(err, args.status());
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage));
  const std::string source = args->Get("source", "git");
  if (source != "git" && source != "live") {
    return Fail(err, absl::StrCat("--source: \"", source, "\" is not one of git, live"));
  }
  CdClient client(args->Get("server"));
  std::vector<json> objects;
  if (source == "git") {
    cd1::ApplicationManifestQuery q;
    q.set_name(name);
    q.set_app_namespace(args->Get("app-namespace"));
    q.set_revision(args->Get("revision"));
    cd1::ManifestReply reply;
    absl::Status s =
        client.Convert(client.apps().GetManifests(CdClient::Context(120).get(), q, &reply));
    if (!s.ok()) return Fail(err, s);
    for (const std::string& m : reply.manifests()) {
      absl::StatusOr<json> j = CdClient::Parse(m);
      if (!j.ok()) return Fail(err, j.status());
      objects.push_back(*std::move(j));
    }
  } else {
    cd1::ResourcesQuery q;
    q.set_application_name(name);
    q.set_app_namespace(args->Get("app-namespace"));
    cd1::ManagedResourcesReply reply;
    absl::Status s =
        client.Convert(client.apps().ManagedResources(CdClient::Context(120).get(), q, &reply));
    if (!s.ok()) return Fail(err, s);
    for (const std::string& item : reply.items()) {
      absl::StatusOr<json> j = CdClient::Parse(item);
      if (!j.ok()) return Fail(err, j.status());
      absl::StatusOr<json> live = CdClient::Parse(S(*j, "liveState"));
      if (live.ok() && live->is_object()) objects.push_back(*std::move(live));
    }
  }
  for (const json& o : objects) out << "---\n" << manifest::ToYaml(o);
  return 0;
}

int AppDelete(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::set<std::string> falses;
  auto args =
      ParseArgs(NormalizeBools(argv, {"cascade", "yes"}, &falses), {kServer,
                                                                    kAppNamespace,
                                                                    {"cascade", "", false},
                                                                    {"yes", "y", false},
                                                                    {"propagation-policy", "p"}});
  if (!args.ok()) return Fail(err, args.status());
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage));
  const bool cascade = falses.count("cascade") == 0;
  if (!args->Has("yes")) {
    out << "Are you sure you want to delete '" << name << "'"
        << (cascade ? " and all its resources" : "") << "? [y/n] " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer) || (answer != "y" && answer != "Y" && answer != "yes")) {
      out << "The command to delete '" << name << "' was cancelled.\n";
      return 0;
    }
  }
  cd1::ApplicationDeleteRequest req;
  req.set_name(name);
  req.set_app_namespace(args->Get("app-namespace"));
  req.set_cascade(cascade);
  req.set_propagation_policy(args->Get("propagation-policy"));
  CdClient client(args->Get("server"));
  cd1::ApplicationDeleteReply reply;
  absl::Status s = client.Convert(client.apps().Delete(CdClient::Context().get(), req, &reply));
  if (!s.ok()) return Fail(err, s);
  out << "application '" << name << "' deleted\n";
  return 0;
}

int AppResources(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kAppNamespace});
  if (!args.ok()) return Fail(err, args.status());
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage));
  CdClient client(args->Get("server"));
  absl::StatusOr<json> app = client.GetApp(name, args->Get("app-namespace"));
  if (!app.ok()) return Fail(err, app.status());
  out << FormatResourceList(*app);
  return 0;
}

int AppTerminate(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kAppNamespace});
  if (!args.ok()) return Fail(err, args.status());
  const std::string name = OneName(*args);
  if (name.empty()) return Fail(err, Usage(kAppUsage));
  CdClient client(args->Get("server"));
  cd1::ApplicationName req;
  req.set_name(name);
  req.set_app_namespace(args->Get("app-namespace"));
  cd1::OperationTerminateReply reply;
  absl::Status s =
      client.Convert(client.apps().TerminateOperation(CdClient::Context().get(), req, &reply));
  if (!s.ok()) return Fail(err, s);
  out << "Application '" << name << "' operation terminating\n";
  return 0;
}

}  // namespace

absl::StatusOr<json> ApplicationFromFlags(const std::string& name, const Args& args, json base) {
  json app = base.is_object() ? std::move(base) : json::object();
  app["apiVersion"] = "argoproj.io/v1alpha1";
  app["kind"] = "Application";
  if (!app["metadata"].is_object()) app["metadata"] = json::object();
  if (!name.empty()) app["metadata"]["name"] = name;
  if (S(app["metadata"], "name").empty()) {
    return absl::InvalidArgumentError("an application name is required");
  }
  for (const std::string& l : args.All("label")) {
    std::vector<std::string> kv = absl::StrSplit(l, absl::MaxSplits('=', 1));
    if (kv.size() != 2) return absl::InvalidArgumentError(absl::StrCat("--label: \"", l, "\""));
    app["metadata"]["labels"][kv[0]] = kv[1];
  }
  json& spec = app["spec"];
  if (!spec.is_object()) spec = json::object();
  json& source = spec["source"];
  if (!source.is_object()) source = json::object();
  if (args.Has("repo")) source["repoURL"] = args.Get("repo");
  if (args.Has("path")) source["path"] = args.Get("path");
  if (args.Has("revision")) source["targetRevision"] = args.Get("revision");
  if (args.Has("directory-recurse")) source["directory"]["recurse"] = true;
  for (const char* flag : {"jsonnet-tla-str", "jsonnet-tla-code", "jsonnet-ext-var-str"}) {
    for (const std::string& kv_text : args.All(flag)) {
      std::vector<std::string> kv = absl::StrSplit(kv_text, absl::MaxSplits('=', 1));
      if (kv.size() != 2) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag, ": \"", kv_text, "\" is not NAME=VALUE"));
      }
      json entry = {{"name", kv[0]}, {"value", kv[1]}};
      if (absl::EndsWith(flag, "-code")) entry["code"] = true;
      const char* list = absl::StrContains(flag, "tla") ? "tlas" : "extVars";
      source["directory"]["jsonnet"][list].push_back(entry);
    }
  }
  for (const std::string& image : args.All("kustomize-image")) {
    source["kustomize"]["images"].push_back(image);
  }
  if (args.Has("nameprefix")) source["kustomize"]["namePrefix"] = args.Get("nameprefix");
  if (args.Has("namesuffix")) source["kustomize"]["nameSuffix"] = args.Get("namesuffix");
  if (source.empty()) spec.erase("source");
  json& dest = spec["destination"];
  if (!dest.is_object()) dest = json::object();
  if (args.Has("dest-server")) dest["server"] = args.Get("dest-server");
  if (args.Has("dest-name")) dest["name"] = args.Get("dest-name");
  if (args.Has("dest-namespace")) dest["namespace"] = args.Get("dest-namespace");
  if (args.Has("project")) spec["project"] = args.Get("project");
  if (S(spec, "project").empty()) spec["project"] = "default";
  if (args.Has("sync-policy")) {
    const std::string p = args.Get("sync-policy");
    if (p == "automated" || p == "auto" || p == "automatic") {
      if (!spec["syncPolicy"]["automated"].is_object()) {
        spec["syncPolicy"]["automated"] = json::object();
      }
    } else if (p != "none" && p != "manual") {
      return absl::InvalidArgumentError(
          absl::StrCat("--sync-policy: \"", p, "\" is not one of none, automated"));
    }
  }
  for (const auto& [flag, field] : std::vector<std::pair<std::string, std::string>>{
           {"auto-prune", "prune"}, {"self-heal", "selfHeal"}, {"allow-empty", "allowEmpty"}}) {
    if (!args.Has(flag)) continue;
    if (!F(F(spec, "syncPolicy"), "automated").is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, " needs --sync-policy automated"));
    }
    spec["syncPolicy"]["automated"][field] = true;
  }
  for (const std::string& o : args.All("sync-option"))
    spec["syncPolicy"]["syncOptions"].push_back(o);
  return app;
}

absl::StatusOr<cd1::SyncResource> ParseSyncResource(const std::string& spec) {
  std::vector<std::string> parts = absl::StrSplit(spec, ':');
  cd1::SyncResource r;
  if (parts.size() == 2) {
    r.set_kind(parts[0]);
    r.set_name(parts[1]);
  } else if (parts.size() == 3) {
    r.set_group(parts[0]);
    r.set_kind(parts[1]);
    r.set_name(parts[2]);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--resource: \"", spec, "\" is not GROUP:KIND:NAME"));
  }
  if (size_t slash = r.name().find('/'); slash != std::string::npos) {
    r.set_namespace_(r.name().substr(0, slash));
    r.set_name(r.name().substr(slash + 1));
  }
  if (r.kind().empty() || r.name().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resource: \"", spec, "\" needs a kind and a name"));
  }
  return r;
}

bool OperationDone(const json& app) {
  if (F(app, "operation").is_object()) return false;
  const std::string phase = S(F(F(app, "status"), "operationState"), "phase");
  return phase == "Succeeded" || phase == "Failed" || phase == "Error";
}

bool WaitSatisfied(const json& app, bool sync, bool health, bool operation) {
  const json& status = F(app, "status");
  if (sync && S(F(status, "sync"), "status") != "Synced") return false;
  if (health && S(F(status, "health"), "status") != "Healthy") return false;
  if (operation && F(app, "operation").is_object()) return false;
  return true;
}

int RunApp(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (IsHelp(argv)) {
    (argv.empty() ? err : out) << kAppUsage << "\n";
    return argv.empty() ? 1 : 0;
  }
  const std::string verb = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (verb == "create") return AppCreate(rest, out, err);
  if (verb == "set") return AppSet(rest, out, err);
  if (verb == "get") return AppGet(rest, out, err);
  if (verb == "list" || verb == "ls") return AppList(rest, out, err);
  if (verb == "diff") return AppDiff(rest, out, err);
  if (verb == "sync") return AppSync(rest, out, err);
  if (verb == "wait") return AppWait(rest, out, err);
  if (verb == "history") return AppHistory(rest, out, err);
  if (verb == "rollback") return AppRollback(rest, out, err);
  if (verb == "manifests") return AppManifests(rest, out, err);
  if (verb == "delete" || verb == "rm") return AppDelete(rest, out, err);
  if (verb == "resources") return AppResources(rest, out, err);
  if (verb == "terminate-op") return AppTerminate(rest, out, err);
  return Fail(err, absl::StrCat("unknown app command \"", verb, "\"\n", kAppUsage));
}

}  // namespace argonaut::cli
