#include "services/workflow/executor/executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/images/image_table.h"
#include "lib/manifest/json_text.h"
#include "services/workflow/executor/artifacts.h"
#include "services/workflow/executor/container_set.h"
#include "services/workflow/executor/remote.h"

extern char** environ;

namespace argonaut::workflow::executor {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// containerSet: a dependency that has not started by then never will (its start failed); a set
// is for steps, so a day bounds any wait.
constexpr absl::Duration kContainerStartGrace = absl::Seconds(30);
constexpr absl::Duration kMaxDependencyWait = absl::Hours(24);

std::atomic<pid_t> g_child{0};
std::atomic<bool> g_stop{false};  // SIGTERM/SIGINT seen (a containerSet wait gives up)

// The pod's SIGTERM (deletion, Terminate, deadline) goes to the step.
void Forward(int sig) {
  g_stop = true;
  const pid_t child = g_child.load();
  if (child > 0) kill(child, sig);
}

std::vector<std::string> Strings(const json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const json& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("open ", path, ": no such file or directory"));
  }
  std::string out;
  char buf[64 * 1024];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > kMaxReportBytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": larger than ", kMaxReportBytes, " bytes"));
    }
  }
  return out;
}

void WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    data += w;
    n -= static_cast<size_t>(w);
  }
}

void Report(const json& report) {
  const char* path = std::getenv("ARGONAUT_TERMINATION_MESSAGE_PATH");
  if (path == nullptr || *path == '\0') return;
  std::string text = report.dump();
  if (text.size() > kMaxReportBytes) {
    text = json{{"exitCode", report.value("exitCode", "1")},
                {"error", absl::StrCat("outputs are larger than ", kMaxReportBytes, " bytes")}}
               .dump();
  }
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

int Fail(const std::string& message) {
  fprintf(stderr, "argoexec: %s\n", message.c_str());
  Report({{"exitCode", "1"}, {"error", message}});
  return 1;
}

// An artifact that cannot be loaded or saved is a system error (node phase Error), not a
// failure of the step's own command.
int FailArtifact(const std::string& message) {
  fprintf(stderr, "argoexec: %s\n", message.c_str());
  Report({{"exitCode", "1"}, {"error", message}, {"errorPhase", "Error"}});
  return 1;
}

}  // namespace

absl::StatusOr<ExecPlan> PlanFromTemplate(const json& tmpl, const std::string& script_dir) {
  if (!tmpl.is_object()) return absl::InvalidArgumentError("template: not an object");
  ExecPlan plan;
  if (tmpl.contains("script") && tmpl["script"].is_object()) {
    const json& s = tmpl["script"];
    plan.image = s.value("image", "");
    plan.command = Strings(s.value("command", json::array()));
    plan.args = Strings(s.value("args", json::array()));
    plan.script_source = s.value("source", "");
    if (plan.command.empty()) plan.command = {"sh"};
    plan.script_path = (fs::path(script_dir) / "argo-script").string();
    plan.args.push_back(plan.script_path);
    return plan;
  }
  if (tmpl.contains("container") && tmpl["container"].is_object()) {
    const json& c = tmpl["container"];
    plan.image = c.value("image", "");
    plan.command = Strings(c.value("command", json::array()));
    plan.args = Strings(c.value("args", json::array()));
    return plan;
  }
  return absl::InvalidArgumentError("template has neither container nor script");
}

json BuildReport(const json& tmpl, const std::string& stdout_text, int exit_code,
                 const std::function<absl::StatusOr<std::string>(const std::string&)>& read_file) {
  json report = {{"exitCode", absl::StrCat(exit_code)}};
  std::string result = stdout_text;
  // `echo heads` yields "heads": Argo drops the final newline of the result.
  if (!result.empty() && result.back() == '\n') result.pop_back();
  if (!result.empty() && result.back() == '\r') result.pop_back();
  report["result"] = result;
  json params = json::array();
  const json outputs = tmpl.value("outputs", json::object());
  for (const json& p : outputs.value("parameters", json::array())) {
    if (!p.is_object()) continue;
    const json vf = p.value("valueFrom", json::object());
    if (!vf.is_object() || !vf.contains("path")) continue;
    const std::string name = p.value("name", "");
    absl::StatusOr<std::string> value = read_file(vf.value("path", ""));
    if (value.ok()) {
      params.push_back({{"name", name}, {"value", *value}});
    } else if (vf.contains("default") && vf["default"].is_string()) {
      params.push_back({{"name", name}, {"value", vf["default"].get<std::string>()}});
    } else if (!report.contains("error")) {
      report["error"] = absl::StrCat("output parameter \"", name, "\": ", value.status().message());
    }
  }
  if (!params.empty()) report["parameters"] = params;
  return report;
}

int RunArgoexec(const std::vector<std::string>& args, const ExecutorOptions& options) {
  if (args.empty() || args[0] != "emissary") {
    fprintf(stderr, "usage: argoexec emissary (the template comes from ARGO_TEMPLATE)\n");
    return 2;
  }
  const char* tmpl_text = std::getenv("ARGO_TEMPLATE");
  if (tmpl_text == nullptr) return Fail("ARGO_TEMPLATE is not set");
  absl::StatusOr<json> tmpl = manifest::ParseJsonText(tmpl_text);
  if (!tmpl.ok()) return Fail(absl::StrCat("ARGO_TEMPLATE: ", tmpl.status().message()));
  // A containerSet container runs its own entry once its dependencies exited 0 (container_set.h).
  std::unique_ptr<ContainerSetGate> gate;
  std::vector<std::string> siblings;
  const char* ctr_env = std::getenv("ARGO_CONTAINER_NAME");
  const std::string ctr_name = ctr_env != nullptr ? ctr_env : "";
  auto stopped = [] { return g_stop.load(); };
  if (tmpl->is_object() && tmpl->contains("containerSet")) {
    absl::StatusOr<json> view = TemplateForContainer(*tmpl, ctr_name);
    if (!view.ok()) return Fail(std::string(view.status().message()));
    gate = std::make_unique<ContainerSetGate>(ContainerSetDir(std::getenv("TMPDIR")), ctr_name);
    if (absl::Status s = gate->Start(); !s.ok()) return Fail(std::string(s.message()));
    struct sigaction early {};
    early.sa_handler = Forward;
    sigaction(SIGTERM, &early, nullptr);
    sigaction(SIGINT, &early, nullptr);
    for (const std::string& dep : ContainerDependencies(*tmpl, ctr_name)) {
      absl::Status s = gate->WaitEnded(dep, stopped, kContainerStartGrace, kMaxDependencyWait);
      if (s.ok()) continue;
      const int code = absl::IsCancelled(s) ? 143 : kEmissaryErrorExitCode;
      fprintf(stderr, "argoexec: %s\n", std::string(s.message()).c_str());
      Report({{"exitCode", absl::StrCat(code)}, {"error", std::string(s.message())}});
      gate->Finish(code);
      return code;
    }
    if (ctr_name == "main") siblings = OtherContainers(*tmpl, ctr_name);
    *tmpl = *std::move(view);
  }
  const char* tmpdir = std::getenv("TMPDIR");
  absl::StatusOr<ExecPlan> plan = PlanFromTemplate(*tmpl, tmpdir != nullptr ? tmpdir : "/tmp");
  if (!plan.ok()) return Fail(std::string(plan.status().message()));
  // Artifacts are planned before anything runs, so a bad spec fails the step at once.
  absl::StatusOr<std::vector<InputArtifactPlan>> inputs = PlanInputArtifacts(*tmpl);
  if (!inputs.ok()) return FailArtifact(std::string(inputs.status().message()));
  absl::StatusOr<std::vector<OutputArtifactPlan>> outputs = PlanOutputArtifacts(*tmpl);
  if (!outputs.ok()) return FailArtifact(std::string(outputs.status().message()));
  const std::string repo =
      RepositoryRoot(std::getenv(kArtifactRepoEnv), std::getenv(kArtifactRepoHostEnv));
  // `archiveLocation.archiveLogs`: the main container's log is kept in a pod-private file.
  const std::string log_dir =
      absl::StrCat(tmpdir != nullptr ? tmpdir : "/tmp", "/.argonaut-logs-", getpid());
  absl::StatusOr<std::optional<OutputArtifactPlan>> log_plan =
      gate == nullptr || ctr_name == "main"
          ? PlanLogArtifact(*tmpl, log_dir + "/" + kMainLogFile)
          : absl::StatusOr<std::optional<OutputArtifactPlan>>(std::nullopt);
  if (!log_plan.ok()) return FailArtifact(std::string(log_plan.status().message()));
  // Remote locations go through the helper program (remote.h), found only when needed.
  std::optional<RemoteTransfer> remote_transfer;
  auto remote = [&remote_transfer]() -> const RemoteTransfer* {
    if (!remote_transfer.has_value()) remote_transfer = HelperTransfer(FindArtifactHelper());
    return &*remote_transfer;
  };
  auto is_remote = [](const std::string& kind) {
    return !kind.empty() && kind != "local" && kind != "raw";
  };
  std::vector<std::string> loaded;  // what the loads created, removed when the step ends
  auto cleanup = [&loaded] {
    for (const std::string& p : loaded) {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  };
  // An input may replace the (empty) working directory itself (Argo's git example loads its
  // checkout into workingDir /src): the command must start in the new one, not the removed one.
  std::error_code cwd_error;
  const fs::path cwd = fs::current_path(cwd_error);
  for (const InputArtifactPlan& in : *inputs) {
    std::string created;
    absl::Status s = LoadInputArtifact(in, repo, &created, is_remote(in.kind) ? remote() : nullptr);
    if (!created.empty()) loaded.push_back(created);
    if (!s.ok()) {
      cleanup();
      return FailArtifact(absl::StrCat("failed to load artifact \"", in.name, "\" to ", in.path,
                                       ": ", s.message()));
    }
  }
  if (!inputs->empty() && !cwd_error && chdir(cwd.c_str()) != 0) {
    cleanup();
    return Fail(absl::StrCat("cannot enter the working directory ", cwd.string(),
                             " again: ", std::strerror(errno)));
  }
  if (!plan->script_path.empty()) {
    std::ofstream script(plan->script_path, std::ios::binary | std::ios::trunc);
    script << plan->script_source;
    script.close();
    if (!script) return Fail(absl::StrCat("cannot write ", plan->script_path));
    // Argo's script files are executable: `command: [sh, -c]` style
    // templates run the file itself.
    std::error_code ec;
    fs::permissions(plan->script_path,
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec,
                    ec);
  }
  const char* user_table = std::getenv("ARGONAUT_IMAGE_TABLE");
  absl::StatusOr<cluster::ImageTable> table = cluster::ImageTable::Load(
      user_table != nullptr ? user_table : "",
      {.builtin_binary = options.builtin_binary, .builtin_prefix = options.builtin_prefix});
  if (!table.ok()) return Fail(std::string(table.status().message()));
  absl::StatusOr<std::vector<std::string>> argv =
      table->Resolve(plan->image, plan->command, plan->args);
  if (!argv.ok()) return Fail(std::string(argv.status().message()));

  // With archiveLogs the step's stderr is read here too, so that the log file holds both
  // streams, as the container's log does.
  std::ofstream log;
  int err_pipe[2] = {-1, -1};
  if (log_plan->has_value()) {
    std::error_code ec;
    fs::create_directories(log_dir, ec);
    log.open((*log_plan)->path, std::ios::binary | std::ios::trunc);
    if (!log) return FailArtifact(absl::StrCat("cannot write ", (*log_plan)->path));
    if (pipe2(err_pipe, O_CLOEXEC) != 0) return Fail("pipe failed");
  }
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Fail("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  if (err_pipe[1] >= 0) posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> cargv;
  for (std::string& a : *argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  struct sigaction sa {};
  sa.sa_handler = Forward;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  pid_t child = 0;
  const int rc = posix_spawnp(&child, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  if (err_pipe[1] >= 0) close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    if (err_pipe[0] >= 0) close(err_pipe[0]);
    return Fail(absl::StrCat("exec ", (*argv)[0], ": ", strerror(rc)));
  }
  g_child = child;
  std::string captured;
  bool overflow = false;
  char buf[64 * 1024];
  auto on_stdout = [&](const char* data, size_t n) {
    WriteAll(STDOUT_FILENO, data, n);
    if (log.is_open()) log.write(data, static_cast<std::streamsize>(n));
    if (captured.size() + n <= kMaxResultBytes) {
      captured.append(data, n);
    } else {
      overflow = true;
    }
  };
  if (err_pipe[0] < 0) {
    while (true) {
      ssize_t n = read(out_pipe[0], buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      on_stdout(buf, static_cast<size_t>(n));
    }
  } else {
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          fds[i].fd = -1;
          --open_fds;
          continue;
        }
        if (i == 0) {
          on_stdout(buf, static_cast<size_t>(n));
        } else {
          WriteAll(STDERR_FILENO, buf, static_cast<size_t>(n));
          log.write(buf, n);
        }
      }
    }
    close(err_pipe[0]);
  }
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (gate != nullptr) {
    gate->Finish(code);
    // Like Argo's wait container, `main` collects outputs once the whole set has ended: files
    // the other containers write count.
    for (const std::string& other : siblings) {
      (void)gate->WaitEnded(other, stopped, absl::Seconds(2), kMaxDependencyWait);
    }
  }
  json report = BuildReport(*tmpl, captured, code, ReadFile);
  // Outputs are saved whatever the exit code, as Argo's wait container does.
  json saved = json::array();
  if (log_plan->has_value()) {
    log.close();
    outputs->push_back(**log_plan);
  }
  for (const OutputArtifactPlan& out : *outputs) {
    absl::Status s = SaveOutputArtifact(out, repo, is_remote(out.kind) ? remote() : nullptr);
    if (s.ok()) {
      saved.push_back(out.record);
    } else if (!(absl::IsNotFound(s) && out.optional) && !report.contains("error")) {
      report["error"] = absl::StrCat("failed to save artifact \"", out.name, "\" from ", out.path,
                                     ": ", s.message());
      report["errorPhase"] = "Error";
    }
  }
  if (!saved.empty()) report["artifacts"] = std::move(saved);
  cleanup();
  if (log_plan->has_value()) {
    std::error_code ec;
    fs::remove_all(log_dir, ec);
  }
  if (overflow) {
    report["result"] = "";
    report["error"] = absl::StrCat("outputs.result is larger than ", kMaxResultBytes, " bytes");
  }
  Report(report);
  // Outputs that could not be collected fail a step that itself succeeded.
  if (code == 0 && report.contains("error")) {
    fprintf(stderr, "argoexec: %s\n", report["error"].get<std::string>().c_str());
    return 1;
  }
  return code;
}

}  // namespace argonaut::workflow::executor
