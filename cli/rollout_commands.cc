#include "cli/rollout_commands.h"

#include <chrono>
#include <functional>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/client.h"
#include "cli/rollout_printer.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "services/rollout/api/actions.h"
#include "services/rollout/validation/validate.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;
namespace ro = ::argonaut::rollout::v1;

constexpr char kUsage[] = R"(usage:
  argonaut rollouts list [-A] [-n NS]
  argonaut rollouts get NAME [--watch] [--timeout-seconds N]
  argonaut rollouts status NAME [--watch=false] [--timeout D]
  argonaut rollouts promote NAME [--full]
  argonaut rollouts abort NAME
  argonaut rollouts retry [rollout] NAME
  argonaut rollouts retry experiment NAME
  argonaut rollouts terminate experiment|analysisrun NAME
  argonaut rollouts list experiments [-A] [-n NS]
  argonaut rollouts undo NAME [--to-revision N]
  argonaut rollouts pause NAME
  argonaut rollouts restart NAME [--in D]
  argonaut rollouts set image NAME CONTAINER=IMAGE
  argonaut rollouts lint FILE
  argonaut rollouts version)";

absl::StatusOr<json> ParseReply(const std::string& text) {
  absl::StatusOr<json> j = manifest::ParseJsonText(text);
  if (!j.ok()) return absl::InternalError("server returned invalid JSON");
  return j;
}

std::string NameOf(const json& o) {
  const json& m = o.is_object() ? o.value("metadata", json::object()) : json::object();
  return m.is_object() ? m.value("name", "") : "";
}

// `--watch=false` / `--watch=true` as the boolean switch our parser knows (kubectl's form).
std::vector<std::string> NormalizeWatch(const std::vector<std::string>& argv, bool* no_watch) {
  std::vector<std::string> out;
  for (const std::string& a : argv) {
    if (a == "--watch=false" || a == "-w=false") {
      *no_watch = true;
    } else if (a == "--watch=true" || a == "-w=true") {
      out.push_back("--watch");
    } else {
      out.push_back(a);
    }
  }
  return out;
}

// The one positional NAME of a verb, after an optional "rollout" (Argo's `retry rollout NAME`).
absl::StatusOr<std::string> OneName(const Args& args, const std::string& verb) {
  std::vector<std::string> p = args.positional;
  if (p.size() == 2 && (p[0] == "rollout" || p[0] == "rollouts" || p[0] == "ro")) {
    p.erase(p.begin());
  }
  if (p.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("usage: argonaut rollouts ", verb, " NAME"));
  }
  return p[0];
}

int Action(const std::string& verb, const std::vector<std::string>& argv, std::ostream& out,
           std::ostream& err) {
  auto args =
      ParseArgs(argv, {kServer, kNamespace, {"full", "", false}, {"to-revision", ""}, {"in", ""}});
  if (!args.ok()) return Fail(err, args.status());
  auto name = OneName(*args, verb);
  if (!name.ok()) return Fail(err, name.status());
  Client client(ServerAddress(args->Get("server")));
  const std::string ns = args->Get("namespace", "default");
  auto& stub = client.rollouts();
  ro::RolloutReply reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status s;
  std::string done;
  if (verb == "promote") {
    ro::PromoteRolloutRequest r;
    r.set_namespace_(ns);
    r.set_name(*name);
    r.set_full(args->Has("full"));
    s = stub.PromoteRollout(&ctx, r, &reply);
    done = args->Has("full") ? "fully promoted" : "promoted";
  } else if (verb == "undo") {
    ro::UndoRolloutRequest r;
    r.set_namespace_(ns);
    r.set_name(*name);
    if (args->Has("to-revision")) {
      int64_t rev = 0;
      if (!absl::SimpleAtoi(args->Get("to-revision"), &rev) || rev < 0) {
        return Fail(err, absl::StrCat("--to-revision: \"", args->Get("to-revision"),
                                      "\" is not a revision number"));
      }
      r.set_revision(rev);
    }
    s = stub.UndoRollout(&ctx, r, &reply);
    done = "undo";
  } else if (verb == "pause") {
    ro::PauseRolloutRequest r;
    r.set_namespace_(ns);
    r.set_name(*name);
    r.set_paused(true);
    s = stub.PauseRollout(&ctx, r, &reply);
    done = "paused";
  } else if (verb == "restart") {
    ro::RestartRolloutRequest r;
    r.set_namespace_(ns);
    r.set_name(*name);
    absl::Duration in = absl::ZeroDuration();
    if (args->Has("in") && !absl::ParseDuration(args->Get("in"), &in)) {
      return Fail(err, absl::StrCat("--in: \"", args->Get("in"), "\" is not a duration"));
    }
    if (in > absl::ZeroDuration()) {
      r.set_at(absl::FormatTime(absl::RFC3339_sec, absl::Now() + in, absl::UTCTimeZone()));
    }
    s = stub.RestartRollout(&ctx, r, &reply);
    done = absl::StrCat("restarts in ", absl::FormatDuration(in));
  } else {
    ro::RolloutNameRequest r;
    r.set_namespace_(ns);
    r.set_name(*name);
    s = verb == "abort" ? stub.AbortRollout(&ctx, r, &reply) : stub.RetryRollout(&ctx, r, &reply);
    done = verb == "abort" ? "aborted" : "retried";
  }
  if (absl::Status st = client.Convert(s); !st.ok()) return Fail(err, st);
  out << "rollout '" << *name << "' " << done << "\n";
  return 0;
}

int SetImage(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace});
  if (!args.ok()) return Fail(err, args.status());
  const auto& p = args->positional;
  if (p.size() != 3 || p[0] != "image") {
    return Fail(err, "usage: argonaut rollouts set image NAME CONTAINER=IMAGE");
  }
  auto ci = ParseContainerImage(p[2]);
  if (!ci.ok()) return Fail(err, ci.status());
  Client client(ServerAddress(args->Get("server")));
  ro::SetImageRequest r;
  r.set_namespace_(args->Get("namespace", "default"));
  r.set_name(p[1]);
  r.set_container(ci->first);
  r.set_image(ci->second);
  ro::RolloutReply reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (absl::Status s = client.Convert(client.rollouts().SetRolloutImage(&ctx, r, &reply));
      !s.ok()) {
    return Fail(err, s);
  }
  out << "rollout \"" << p[1] << "\" image updated\n";
  return 0;
}

// `retry experiment` (status cleared) and `terminate experiment|analysisrun` (spec.terminate),
// read and written through the resource API as Argo's CLI patches them.
int ExperimentVerb(const std::string& verb, const std::string& kind,
                   const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.size() != 2) {
    return Fail(err,
                absl::StrCat("usage: argonaut rollouts ", verb, " ", args->positional[0], " NAME"));
  }
  const std::string name = args->positional[1];
  Client client(ServerAddress(args->Get("server")));
  auto obj = client.Get(kind, args->Get("namespace", "default"), name);
  if (!obj.ok()) return Fail(err, obj.status());
  absl::StatusOr<json> changed = verb == "retry" ? rollout::api::RetryExperiment(*std::move(obj))
                                                 : rollout::api::Terminate(*std::move(obj));
  if (!changed.ok()) return Fail(err, changed.status());
  // An empty status replaces the stored one (a write without status keeps it).
  if (verb == "retry") (*changed)["status"] = json::object();
  if (auto written = client.Create(kind, *changed, /*upsert=*/true); !written.ok()) {
    return Fail(err, written.status());
  }
  out << (kind == "Experiment" ? "experiment '" : "analysisrun '") << name << "' "
      << (verb == "retry" ? "retried" : "terminated") << "\n";
  return 0;
}

// `list experiments`: name, phase, age-free columns that need no clock.
int ListExperiments(const Args& args, std::ostream& out, std::ostream& err) {
  const bool all = args.Has("all-namespaces");
  Client client(ServerAddress(args.Get("server")));
  auto listed = client.List("Experiment", all ? "" : args.Get("namespace", "default"), "");
  if (!listed.ok()) return Fail(err, listed.status());
  if (listed->first.empty()) {
    err << "No resources found.\n";
    return 0;
  }
  out << (all ? "NAMESPACE\t" : "") << "NAME\tSTATUS\tAVAILABLE AT\tMESSAGE\n";
  for (const json& ex : listed->first) {
    const json meta = ex.value("metadata", json::object());
    const json st = ex.value("status", json::object());
    if (all) out << meta.value("namespace", "") << "\t";
    out << meta.value("name", "") << "\t" << st.value("phase", "Pending") << "\t"
        << st.value("availableAt", "-") << "\t" << st.value("message", "") << "\n";
  }
  return 0;
}

int List(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace, {"all-namespaces", "A", false}});
  if (!args.ok()) return Fail(err, args.status());
  if (args->positional.size() == 1 &&
      (args->positional[0] == "experiments" || args->positional[0] == "experiment" ||
       args->positional[0] == "exp")) {
    return ListExperiments(*args, out, err);
  }
  // `list rollouts` as kubectl argo rollouts spells it.
  for (const std::string& p : args->positional) {
    if (p != "rollouts" && p != "rollout" && p != "ro") {
      return Fail(err, "usage: argonaut rollouts list [-A] [-n NS]");
    }
  }
  const bool all = args->Has("all-namespaces");
  Client client(ServerAddress(args->Get("server")));
  ro::ListRolloutsRequest r;
  r.set_namespace_(all ? "" : args->Get("namespace", "default"));
  ro::RolloutInfoListReply reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (absl::Status s = client.Convert(client.rollouts().ListRolloutInfos(&ctx, r, &reply));
      !s.ok()) {
    return Fail(err, s);
  }
  std::vector<json> infos;
  for (const std::string& item : reply.items()) {
    auto info = ParseReply(item);
    if (!info.ok()) return Fail(err, info.status());
    infos.push_back(*std::move(info));
  }
  if (infos.empty()) {
    err << "No resources found.\n";
    return 0;
  }
  out << FormatRolloutList(infos, all);
  return 0;
}

// Reads WatchRolloutInfo; `on_info` returns false to stop. DEADLINE_EXCEEDED is returned as such
// (the caller's timeout), not as an unreachable server.
absl::Status WatchInfo(Client& client, const std::string& ns, const std::string& name,
                       absl::Duration timeout, const std::function<bool(const json&)>& on_info) {
  grpc::ClientContext ctx;
  if (timeout > absl::ZeroDuration()) ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  ro::RolloutNameRequest r;
  r.set_namespace_(ns);
  r.set_name(name);
  auto reader = client.rollouts().WatchRolloutInfo(&ctx, r);
  ro::RolloutInfoWatchEvent e;
  while (reader->Read(&e)) {
    if (e.type() == "DELETED") {
      ctx.TryCancel();
      reader->Finish();
      return absl::NotFoundError(absl::StrCat("rollout ", name, " was deleted"));
    }
    absl::StatusOr<json> info = ParseReply(e.json());
    if (!info.ok()) return info.status();
    if (!on_info(*info)) {
      ctx.TryCancel();
      reader->Finish();
      return absl::OkStatus();
    }
  }
  grpc::Status s = reader->Finish();
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && timeout > absl::ZeroDuration()) {
    return absl::DeadlineExceededError("timeout");
  }
  if (!s.ok()) return client.Convert(s);
  return absl::UnavailableError("the watch ended");
}

absl::StatusOr<json> GetInfo(Client& client, const std::string& ns, const std::string& name) {
  ro::RolloutNameRequest r;
  r.set_namespace_(ns);
  r.set_name(name);
  ro::RolloutInfoReply reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (absl::Status s = client.Convert(client.rollouts().GetRolloutInfo(&ctx, r, &reply)); !s.ok()) {
    return s;
  }
  return ParseReply(reply.json());
}

int Get(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer,
                               kNamespace,
                               {"watch", "w", false},
                               {"timeout-seconds", ""},
                               {"no-color", "", false}});
  if (!args.ok()) return Fail(err, args.status());
  auto name = OneName(*args, "get");
  if (!name.ok()) return Fail(err, name.status());
  Client client(ServerAddress(args->Get("server")));
  const std::string ns = args->Get("namespace", "default");
  if (!args->Has("watch")) {
    auto info = GetInfo(client, ns, *name);
    if (!info.ok()) return Fail(err, info.status());
    out << FormatRolloutInfo(*info, absl::Now());
    return 0;
  }
  int64_t seconds = 0;
  if (args->Has("timeout-seconds") && !absl::SimpleAtoi(args->Get("timeout-seconds"), &seconds)) {
    return Fail(err, "--timeout-seconds: expected a number of seconds");
  }
  bool first = true;
  absl::Status s = WatchInfo(client, ns, *name, absl::Seconds(seconds), [&](const json& info) {
    if (!first) out << "\n";
    first = false;
    out << FormatRolloutInfo(info, absl::Now()) << std::flush;
    return true;
  });
  if (absl::IsDeadlineExceeded(s)) return 0;  // the time asked for is up
  return s.ok() ? 0 : Fail(err, s);
}

int Status(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  bool no_watch = false;
  auto args = ParseArgs(NormalizeWatch(argv, &no_watch),
                        {kServer, kNamespace, {"watch", "w", false}, {"timeout", "t"}});
  if (!args.ok()) return Fail(err, args.status());
  auto name = OneName(*args, "status");
  if (!name.ok()) return Fail(err, name.status());
  absl::Duration timeout = absl::ZeroDuration();
  if (args->Has("timeout") && !absl::ParseDuration(args->Get("timeout"), &timeout)) {
    return Fail(err, absl::StrCat("--timeout: \"", args->Get("timeout"), "\" is not a duration"));
  }
  Client client(ServerAddress(args->Get("server")));
  const std::string ns = args->Get("namespace", "default");
  if (no_watch) {
    auto info = GetInfo(client, ns, *name);
    if (!info.ok()) return Fail(err, info.status());
    out << RolloutStatusLine(*info) << "\n";
    return 0;
  }
  std::string last;
  absl::Status verdict = absl::OkStatus();
  absl::Status s = WatchInfo(client, ns, *name, timeout, [&](const json& info) {
    const std::string line = RolloutStatusLine(info);
    if (line != last) out << line << "\n" << std::flush;
    last = line;
    std::optional<absl::Status> v = StatusVerdict(info);
    if (!v.has_value()) return true;
    verdict = *v;
    return false;
  });
  if (absl::IsDeadlineExceeded(s)) return Fail(err, "Rollout status watch exceeded timeout");
  if (!s.ok()) return Fail(err, s);
  return verdict.ok() ? 0 : Fail(err, verdict);
}

int Lint(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer, kNamespace, {"filename", "f"}});
  if (!args.ok()) return Fail(err, args.status());
  std::vector<std::string> files = args->positional;
  if (args->Has("filename")) files.push_back(args->Get("filename"));
  if (files.empty()) return Fail(err, "usage: argonaut rollouts lint FILE");
  int problems = 0;
  for (const std::string& path : files) {
    auto text = ReadInput(path);
    if (!text.ok()) return Fail(err, text.status());
    auto found = LintRollouts(*text);
    if (!found.ok()) {
      err << "error: " << path << ": " << found.status().message() << "\n";
      ++problems;
      continue;
    }
    for (const std::string& p : *found) {
      err << "error: " << path << ": " << p << "\n";
      ++problems;
    }
  }
  return problems == 0 ? 0 : 1;
}

int Version(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  auto args = ParseArgs(argv, {kServer});
  if (!args.ok()) return Fail(err, args.status());
  Client client(ServerAddress(args->Get("server")));
  ro::VersionReply v;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (absl::Status s = client.Convert(client.rollouts().Version(&ctx, ro::VersionRequest(), &v));
      !s.ok()) {
    return Fail(err, s);
  }
  out << "rollouts: " << v.rollouts_version() << "\n";
  return 0;
}

}  // namespace

std::optional<absl::Status> StatusVerdict(const json& info) {
  const std::string status = info.is_object() ? info.value("status", "") : "";
  if (status == "Healthy") return absl::OkStatus();
  if (status == "Degraded") {
    return absl::FailedPreconditionError(absl::StrCat(
        "The rollout is in a degraded state with message: ", info.value("message", "")));
  }
  return std::nullopt;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseContainerImage(std::string_view arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == arg.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(arg), "\": expected CONTAINER=IMAGE"));
  }
  return std::make_pair(std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1)));
}

absl::StatusOr<std::vector<std::string>> LintRollouts(std::string_view text) {
  ASSIGN_OR_RETURN(std::vector<json> docs, manifest::ParseDocuments(std::string(text)));
  std::vector<std::string> problems;
  for (const json& doc : docs) {
    if (!doc.is_object()) continue;
    const std::string kind = doc.value("kind", "");
    if (!rollout::validation::IsRolloutKind(kind)) continue;
    if (absl::Status s = rollout::validation::ValidateManifest(doc); !s.ok()) {
      problems.push_back(absl::StrCat(kind, " ", NameOf(doc), ": ", s.message()));
    }
  }
  return problems;
}

int RunRollouts(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (argv.empty() || argv[0] == "help" || argv[0] == "--help" || argv[0] == "-h") {
    (argv.empty() ? err : out) << kUsage << "\n";
    return argv.empty() ? 1 : 0;
  }
  const std::string verb = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (verb == "list") return List(rest, out, err);
  if (verb == "get") return Get(rest, out, err);
  if (verb == "status") return Status(rest, out, err);
  if (verb == "set") return SetImage(rest, out, err);
  if (verb == "lint") return Lint(rest, out, err);
  if (verb == "version") return Version(rest, out, err);
  if ((verb == "retry" || verb == "terminate") && !rest.empty() &&
      (rest[0] == "experiment" || rest[0] == "exp" ||
       (verb == "terminate" && (rest[0] == "analysisrun" || rest[0] == "ar")))) {
    return ExperimentVerb(
        verb, rest[0] == "analysisrun" || rest[0] == "ar" ? "AnalysisRun" : "Experiment", rest, out,
        err);
  }
  for (const char* v : {"promote", "abort", "retry", "undo", "pause", "restart"}) {
    if (verb == v) return Action(verb, rest, out, err);
  }
  return Fail(err, absl::StrCat("unknown rollouts command \"", verb, "\"\n", kUsage));
}

}  // namespace argonaut::cli
