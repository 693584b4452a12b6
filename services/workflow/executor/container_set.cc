#include "services/workflow/executor/container_set.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace argonaut::workflow::executor {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const json& Containers(const json& tmpl) {
  static const json kEmpty = json::array();
  if (!tmpl.is_object()) return kEmpty;
  auto cs = tmpl.find("containerSet");
  if (cs == tmpl.end() || !cs->is_object()) return kEmpty;
  auto c = cs->find("containers");
  return c == cs->end() || !c->is_array() ? kEmpty : *c;
}

std::string NameOf(const json& c) {
  return c.is_object() && c.contains("name") && c["name"].is_string() ? c["name"].get<std::string>()
                                                                      : "";
}

bool Exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// Between polls of another container's files: short, so a chain of containers hands over fast.
constexpr absl::Duration kPoll = absl::Milliseconds(20);

}  // namespace

absl::StatusOr<json> ContainerSetEntry(const json& tmpl, const std::string& name) {
  if (!tmpl.is_object() || !tmpl.contains("containerSet")) {
    return absl::InvalidArgumentError("template has no containerSet");
  }
  if (name.empty()) {
    return absl::InvalidArgumentError("ARGO_CONTAINER_NAME is not set for a containerSet");
  }
  for (const json& c : Containers(tmpl)) {
    if (NameOf(c) == name) return c;
  }
  return absl::NotFoundError(
      absl::StrCat("containerSet.containers: no container named \"", name, "\""));
}

std::vector<std::string> ContainerDependencies(const json& tmpl, const std::string& name) {
  std::vector<std::string> out;
  for (const json& c : Containers(tmpl)) {
    if (NameOf(c) != name) continue;
    const json deps = c.value("dependencies", json::array());
    if (!deps.is_array()) break;
    for (const json& d : deps) {
      if (d.is_string()) out.push_back(d.get<std::string>());
    }
    break;
  }
  return out;
}

std::vector<std::string> OtherContainers(const json& tmpl, const std::string& name) {
  std::vector<std::string> out;
  for (const json& c : Containers(tmpl)) {
    const std::string n = NameOf(c);
    if (!n.empty() && n != name) out.push_back(n);
  }
  return out;
}

absl::StatusOr<json> TemplateForContainer(json tmpl, const std::string& name) {
  absl::StatusOr<json> entry = ContainerSetEntry(tmpl, name);
  if (!entry.ok()) return entry.status();
  entry->erase("dependencies");
  tmpl["container"] = *std::move(entry);
  tmpl.erase("containerSet");
  if (name != "main") {
    tmpl.erase("outputs");
    if (tmpl.contains("inputs") && tmpl["inputs"].is_object()) tmpl["inputs"].erase("artifacts");
  }
  return tmpl;
}

std::string ContainerSetDir(const char* tmpdir) {
  return (fs::path(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") / ".argonaut" / "ctr")
      .string();
}

ContainerSetGate::ContainerSetGate(std::string dir, std::string name)
    : dir_(std::move(dir)), name_(std::move(name)) {}

ContainerSetGate::~ContainerSetGate() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::Status ContainerSetGate::Start() {
  const fs::path own = fs::path(dir_) / name_;
  std::error_code ec;
  fs::create_directories(own, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", own.string(), ": ", ec.message()));
  // O_CLOEXEC: the command must not inherit the lock, or a process it leaves behind would keep
  // dependents waiting.
  lock_fd_ = open((own / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lock_fd_ < 0 || flock(lock_fd_, LOCK_EX) != 0) {
    return absl::InternalError(absl::StrCat("lock ", (own / "lock").string()));
  }
  std::ofstream ready(own / "ready", std::ios::trunc);
  if (!ready) return absl::InternalError(absl::StrCat("write ", (own / "ready").string()));
  return absl::OkStatus();
}

absl::Status ContainerSetGate::WaitEnded(const std::string& other,
                                         const std::function<bool()>& stop,
                                         absl::Duration start_grace, absl::Duration max_wait) {
  const fs::path dir = fs::path(dir_) / other;
  const absl::Time begin = absl::Now();
  while (true) {
    if (stop()) return absl::CancelledError("terminated while waiting for dependencies");
    const absl::Duration waited = absl::Now() - begin;
    if (Exists(dir / "ready")) {
      const int fd = open((dir / "lock").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        const bool free = flock(fd, LOCK_SH | LOCK_NB) == 0;
        close(fd);
        if (free) break;
      }
    } else if (waited > start_grace) {
      return absl::FailedPreconditionError(
          absl::StrCat("dependency \"", other, "\" did not start"));
    }
    if (waited > max_wait) {
      return absl::DeadlineExceededError(absl::StrCat(
          "dependency \"", other, "\" still running after ", absl::FormatDuration(max_wait)));
    }
    absl::SleepFor(kPoll);
  }
  std::ifstream in(dir / "exitcode");
  std::stringstream text;
  text << in.rdbuf();
  int code = 0;
  if (!in || !absl::SimpleAtoi(absl::StripAsciiWhitespace(text.str()), &code)) {
    return absl::FailedPreconditionError(
        absl::StrCat("dependency \"", other, "\" died without reporting exit code"));
  }
  if (code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("dependency \"", other, "\" exited with non-zero code: ", code));
  }
  return absl::OkStatus();
}

void ContainerSetGate::Finish(int exit_code) {
  const fs::path own = fs::path(dir_) / name_;
  {
    // Written beside and renamed, so a reader never sees half a number.
    std::ofstream out(own / "exitcode.tmp", std::ios::trunc);
    out << exit_code;
  }
  std::error_code ec;
  fs::rename(own / "exitcode.tmp", own / "exitcode", ec);
  if (lock_fd_ >= 0) {
    close(lock_fd_);
    lock_fd_ = -1;
  }
}

}  // namespace argonaut::workflow::executor
