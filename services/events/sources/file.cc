#include "services/events/sources/file.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "re2/re2.h"

namespace argonaut::events::sources {
namespace {

using json = nlohmann::json;

// fsnotify's Op bits, which Argo puts in data.op.
constexpr int kCreate = 1, kWrite = 2, kRemove = 4, kRename = 8, kChmod = 16;

int OpOf(uint32_t mask) {
  if (mask & (IN_CREATE | IN_MOVED_TO)) return kCreate;
  if (mask & IN_MODIFY) return kWrite;
  if (mask & (IN_DELETE | IN_DELETE_SELF)) return kRemove;
  if (mask & (IN_MOVED_FROM | IN_MOVE_SELF)) return kRename;
  if (mask & IN_ATTRIB) return kChmod;
  return 0;
}

int OpNamed(const std::string& name) {
  if (name == "CREATE") return kCreate;
  if (name == "WRITE") return kWrite;
  if (name == "REMOVE") return kRemove;
  if (name == "RENAME") return kRename;
  if (name == "CHMOD") return kChmod;
  return 0;
}

class FileListener : public Listener {
 public:
  FileListener(std::unique_ptr<Emitter> emitter, int fd, std::string directory, std::string path,
               std::unique_ptr<RE2> regexp, int op)
      : Listener(std::move(emitter)),
        fd_(fd),
        directory_(std::move(directory)),
        path_(std::move(path)),
        regexp_(std::move(regexp)),
        op_(op) {}
  ~FileListener() override {
    Stop();
    close(fd_);
  }

  void Run() {
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() override {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    alignas(struct inotify_event) char buf[16 * 1024];
    while (!stopping_) {
      pollfd p = {fd_, POLLIN, 0};
      // A short timeout is how Stop() reaches this thread.
      if (poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) continue;
      for (char* at = buf; at < buf + n;) {
        auto* ev = reinterpret_cast<struct inotify_event*>(at);
        at += sizeof(struct inotify_event) + ev->len;
        if (ev->mask & IN_Q_OVERFLOW) {
          SetError("inotify queue overflowed; events were lost");
          continue;
        }
        const int op = OpOf(ev->mask);
        if (op != op_ || ev->len == 0) continue;
        const std::string file(ev->name);
        const std::string name = absl::StrCat(directory_, file);
        // Argo matches the event name with the directory trimmed.
        absl::string_view rel = name;
        absl::ConsumePrefix(&rel, directory_);
        const bool matches =
            regexp_ != nullptr ? RE2::PartialMatch(std::string(rel), *regexp_) : rel == path_;
        if (!matches) continue;
        (void)emitter_->Emit({{"name", name}, {"op", op}});
      }
    }
  }

  const int fd_;
  const std::string directory_, path_;
  const std::unique_ptr<RE2> regexp_;
  const int op_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> StartFile(std::unique_ptr<Emitter> emitter) {
  const EventSpec& spec = emitter->spec();
  absl::StatusOr<std::string> type = StringField(spec, "eventType", true);
  if (!type.ok()) return type.status();
  const int op = OpNamed(*type);
  if (op == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec.path(), ".eventType: \"", *type, "\" is not CREATE, WRITE, REMOVE, RENAME or CHMOD"));
  }
  absl::StatusOr<bool> polling = BoolField(spec, "polling");
  if (!polling.ok()) return polling.status();
  if (*polling) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".polling: not supported (inotify is always used)"));
  }
  const json watch = spec.config.value("watchPathConfig", json());
  if (!watch.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path(), ".watchPathConfig: required"));
  }
  EventSpec view = spec;
  view.type = spec.type + "." + spec.name;
  view.name = "watchPathConfig";
  view.config = watch;
  absl::StatusOr<std::string> directory = StringField(view, "directory", true);
  if (!directory.ok()) return directory.status();
  absl::StatusOr<std::string> path = StringField(view, "path", false);
  if (!path.ok()) return path.status();
  absl::StatusOr<std::string> pattern = StringField(view, "pathRegexp", false);
  if (!pattern.ok()) return pattern.status();
  if (path->empty() == pattern->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec.path(), ".watchPathConfig: exactly one of path and pathRegexp is required"));
  }
  if (!absl::StartsWith(*directory, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path(), ".watchPathConfig.directory: must be an absolute path"));
  }
  std::unique_ptr<RE2> regexp;
  if (!pattern->empty()) {
    regexp = std::make_unique<RE2>(*pattern, RE2::Quiet);
    if (!regexp->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.path(), ".watchPathConfig.pathRegexp: ", regexp->error()));
    }
  }
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("inotify_init1: ", std::strerror(errno)));
  const std::string dir_for_watch = std::string(absl::StripSuffix(*directory, "/"));
  if (inotify_add_watch(fd, dir_for_watch.empty() ? "/" : dir_for_watch.c_str(),
                        IN_CREATE | IN_MODIFY | IN_DELETE | IN_DELETE_SELF | IN_MOVED_FROM |
                            IN_MOVED_TO | IN_MOVE_SELF | IN_ATTRIB) < 0) {
    const int err = errno;
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(spec.path(),
                                                      ".watchPathConfig.directory: cannot watch ",
                                                      *directory, ": ", std::strerror(err)));
  }
  // `path` is matched against the name relative to the directory. Argo trims
  // `directory` verbatim, so its examples end it with '/'; both forms work here.
  std::string prefix = dir_for_watch + "/";
  auto listener =
      std::make_unique<FileListener>(std::move(emitter), fd, prefix, *path, std::move(regexp), op);
  listener->SetListening(absl::StrCat("watching ", *directory));
  listener->Run();
  return listener;
}

}  // namespace argonaut::events::sources
