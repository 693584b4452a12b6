// argonaut: the command-line client, and `argonaut up`, the whole platform
// in one process.
#include <iostream>
#include <string>
#include <vector>

#include "cli/account_commands.h"
#include "cli/archive_commands.h"
#include "cli/cd_commands.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/cp_command.h"
#include "cli/cron_commands.h"
#include "cli/events_commands.h"
#include "cli/rollout_commands.h"
#include "cli/workflow_commands.h"
#include "lib/cluster/images/builtin.h"
#include "lib/resource/kinds.h"
#include "lib/server/server.h"
#include "services/workflow/executor/executor.h"
#include "services/workflow/executor/remote.h"

namespace {

constexpr char kUsage[] = R"(argonaut: workflows, rollouts, events and GitOps, compatible with Argo.

Usage:
  argonaut up [--data DIR] [--port 2746] [--isolation auto|namespaces|plain] [--images FILE]
              [--auth-mode client|server] [--rbac-policy policy.csv] [--rbac-default-role ROLE]
              [--tls-cert FILE --tls-key FILE]   (self-signed in DIR/tls when --bind is not loopback)
              [--user-namespaces true|false]   (pods' root an unprivileged host uid; default true)
                                              run the platform here (gRPC + REST on one port)
  argonaut apply -f FILE|-  [-n NS]                             create or update objects
  argonaut get KIND [NAME] [-n NS|-A] [-l SELECTOR] [-o yaml|json|wide|name]
  argonaut delete KIND NAME [-n NS]
  argonaut logs pod/NAME [-c CONTAINER] [-f] [-n NS]              a pod's log

Workflows (as the argo CLI):
  argonaut submit FILE... [-p name=value]... [-f PARAMFILE] [--generate-name X] [--name X]
                  [--entrypoint E] [-l k=v,...] [--wait] [--watch] [--log] [-o json|yaml|name|wide]
  argonaut submit --from workflowtemplate/NAME|clusterworkflowtemplate/NAME|cronwf/NAME [...]
  argonaut list [--running|--completed] [--status PHASE,...] [-l SEL] [-A] [-o wide|name|json]
  argonaut get wf NAME                                  the workflow and its node tree
  argonaut logs WORKFLOW [POD|STEP] [-f] [-c CONTAINER]  every step's log, "<pod>: <line>"
  argonaut wait WORKFLOW...  |  argonaut watch WORKFLOW
  argonaut cp WORKFLOW DIR [--artifact-name N] [--node-id ID] [--template-name T] [--path P]
                                                         output artifacts into DIR/<node>/<artifact>
  argonaut resume|suspend|stop|terminate|retry|resubmit|delete WORKFLOW...
        [--node-field-selector SEL] [--message M] [--restart-successful] [-p name=value]
  argonaut node set WORKFLOW --node-field-selector SEL [--phase P] [--message M] [-p name=value]
  argonaut lint FILE...
  argonaut template create FILE... | list | get NAME | delete NAME
  argonaut cron create FILE... | list | get NAME | suspend NAME | resume NAME | delete NAME
  argonaut archive list [-l SEL] [--prefix P] [--chunk-size N] | get UID | delete UID... |
                   resubmit UID | retry UID | list-label-keys | list-label-values -l KEY

Rollouts (as kubectl argo rollouts):
  argonaut rollouts list [-A]  |  get NAME [--watch]  |  status NAME [--watch=false] [--timeout D]
  argonaut rollouts promote NAME [--full]  |  abort NAME  |  retry NAME  |  pause NAME
  argonaut rollouts undo NAME [--to-revision N]  |  restart NAME [--in D]
  argonaut rollouts set image NAME CONTAINER=IMAGE  |  lint FILE

Events (Argo Events):
  argonaut eventsources list [-A]  |  get NAME [-o yaml|json]  |  logs [NAME] [-f]  |  delete NAME
  argonaut sensors list [-A]  |  get NAME [-o yaml|json]  |  logs [NAME] [-f]  |  delete NAME
  argonaut events send SOURCE EVENT --data @FILE|JSON  |  list SOURCE  |  replay SENSOR --offset N

GitOps (as the argocd CLI):
  argonaut repo add URL [--username U --password P] [--ssh-private-key-path F]  |  list  |  rm URL
  argonaut proj create NAME [--src REPO] [--dest SERVER,NS]  |  get NAME  |  list
  argonaut app create NAME --repo URL --path P --dest-server URL --dest-namespace NS
                  [--revision R] [--sync-policy automated] [--auto-prune] [--self-heal]
  argonaut app create -f app.yaml  |  set NAME --sync-policy none|automated [--self-heal]
  argonaut app get NAME [--refresh|--hard-refresh] [-o json|yaml]  |  list  |  resources NAME
  argonaut app diff NAME  |  sync NAME [--prune] [--dry-run] [--resource GROUP:KIND:NAME]
  argonaut app wait NAME [--health] [--sync] [--timeout N]  |  history NAME  |  rollback NAME ID
  argonaut app manifests NAME  |  delete NAME [--cascade=false] [-y]  |  terminate-op NAME

Accounts and access (as argocd account, kubectl auth):
  argonaut account list  |  create-token [--account A] [--expires-in 24h]  |  delete-token ID [--account A]
  argonaut auth can-i ACTION RESOURCE [NAMESPACE/NAME]      prints yes or no (exit 0 or 1)

  argonaut version

The server address comes from --server or ARGONAUT_SERVER (default localhost:2746). The token
comes from --token, else ARGONAUT_TOKEN, else the admin token `argonaut up` wrote to
$ARGONAUT_DATA/admin.token (default ~/.argonaut/data/admin.token). TLS: --secure (or
ARGONAUT_SECURE=true) with --tls-ca FILE, or --insecure-skip-tls-verify.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // --token and the TLS flags may stand anywhere, before the command too; a pod's built-in
  // image gets its arguments untouched.
  if (args.empty() || args[0] != "__image") {
    if (absl::Status s = argonaut::cli::TakeConnectionFlags(args); !s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      return 1;
    }
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 1 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  // `up` waits for SIGTERM/SIGINT to stop gracefully: blocked before any
  // thread exists. Every other command keeps the default, so Ctrl-C and
  // `timeout` end it at once.
  if (cmd == "up") {
    argonaut::server::BlockShutdownSignals();
    return argonaut::cli::RunUp(args, std::cout, std::cerr);
  }
  if (cmd == "account") return argonaut::cli::RunAccount(args, std::cout, std::cerr);
  if (cmd == "auth") return argonaut::cli::RunAuth(args, std::cout, std::cerr);
  if (cmd == "apply") return argonaut::cli::RunApply(args, std::cout, std::cerr);
  if (cmd == "get") return argonaut::cli::RunGet(args, std::cout, std::cerr);
  if (cmd == "delete") {
    // `delete KIND NAME` / `delete kind/name` is the generic delete; `delete NAME...` deletes
    // workflows as `argo delete` does.
    std::vector<std::string> positional;
    for (const std::string& a : args) {
      if (!a.empty() && a[0] != '-') positional.push_back(a);
    }
    const bool generic =
        !positional.empty() &&
        (positional[0].find('/') != std::string::npos ||
         (positional.size() >= 2 && argonaut::resource::FindKind(positional[0]) != nullptr));
    return generic ? argonaut::cli::RunDelete(args, std::cout, std::cerr)
                   : argonaut::cli::RunDeleteWorkflows(args, std::cout, std::cerr);
  }
  if (cmd == "logs") {
    for (const std::string& a : args) {
      if (a.rfind("pod/", 0) == 0 || a.rfind("pods/", 0) == 0) {
        return argonaut::cli::RunLogs(args, std::cout, std::cerr);
      }
    }
    return argonaut::cli::RunWorkflowLogs(args, std::cout, std::cerr);
  }
  if (cmd == "submit") return argonaut::cli::RunSubmit(args, std::cout, std::cerr);
  if (cmd == "list") return argonaut::cli::RunList(args, std::cout, std::cerr);
  if (cmd == "wait") return argonaut::cli::RunWait(args, std::cout, std::cerr);
  if (cmd == "cp") return argonaut::cli::RunCp(args, std::cout, std::cerr);
  if (cmd == "watch") return argonaut::cli::RunWatch(args, std::cout, std::cerr);
  if (cmd == "lint") return argonaut::cli::RunLint(args, std::cout, std::cerr);
  if (cmd == "node") return argonaut::cli::RunNode(args, std::cout, std::cerr);
  if (cmd == "template") return argonaut::cli::RunTemplate(args, std::cout, std::cerr);
  if (cmd == "cron") return argonaut::cli::RunCron(args, std::cout, std::cerr);
  if (cmd == "archive") return argonaut::cli::RunArchive(args, std::cout, std::cerr);
  if (cmd == "app") return argonaut::cli::RunApp(args, std::cout, std::cerr);
  if (cmd == "repo") return argonaut::cli::RunRepo(args, std::cout, std::cerr);
  if (cmd == "proj") return argonaut::cli::RunProj(args, std::cout, std::cerr);
  if (cmd == "rollouts" || cmd == "rollout") {
    return argonaut::cli::RunRollouts(args, std::cout, std::cerr);
  }
  if (cmd == "eventsources" || cmd == "eventsource" || cmd == "es") {
    return argonaut::cli::RunEventSources(args, std::cout, std::cerr);
  }
  if (cmd == "sensors" || cmd == "sensor") {
    return argonaut::cli::RunSensors(args, std::cout, std::cerr);
  }
  if (cmd == "events") return argonaut::cli::RunEvents(args, std::cout, std::cerr);
  for (const char* verb : {"resume", "suspend", "stop", "terminate", "retry", "resubmit"}) {
    if (cmd == verb) return argonaut::cli::RunWorkflowAction(cmd, args, std::cout, std::cerr);
  }
  // Built-in images run as `argonaut __image NAME ...` in pods (see the image table).
  if (cmd == "__image") {
    return argonaut::cluster::RunBuiltinImage(
        argc - 2, argv + 2,
        {{"argoexec",
          [](const std::vector<std::string>& a) {
            return argonaut::workflow::executor::RunArgoexec(a, {});
          }},
         {argonaut::workflow::executor::kArtifactHelperName, [](const std::vector<std::string>& a) {
            return argonaut::workflow::executor::RunArtifactHelper(a);
          }}});
  }
  if (cmd == "version") return argonaut::cli::RunVersion(args, std::cout, std::cerr);
  std::cerr << "error: unknown command \"" << cmd << "\" (see `argonaut help`)\n";
  return 1;
}
