// The image table: how a container image runs as a local process when no
// image can be pulled. See default_images.yaml for the file format.
//
//   ASSIGN_OR_RETURN(ImageTable table, ImageTable::Load(user_file));
//   ASSIGN_OR_RETURN(std::vector<std::string> argv,
//                    table.Resolve("python:3.8", container.command, container.args));
//   // exec argv with PATH=table.default_path()
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/cluster/images/busybox.h"

namespace argonaut::cluster {

// Path of the built-in table in the source tree, used in messages.
inline constexpr char kDefaultImagesFile[] = "lib/cluster/images/default_images.yaml";

// Upper bounds on a table file, so that a hostile file cannot exhaust memory.
inline constexpr size_t kMaxImageTableBytes = 1 << 20;
inline constexpr size_t kMaxImageTableEntries = 4096;
inline constexpr size_t kMaxArgvWords = 256;
inline constexpr size_t kMaxImageRefLength = 1024;

struct ImageTableOptions {
  // Program that runs built-in images as `<builtin_binary> <builtin_prefix...> NAME args...`.
  // Empty: this process's own executable (/proc/self/exe, resolved at Load time).
  std::string builtin_binary;
  // Hidden words before the built-in image name; the default suits the
  // argonaut CLI (`argonaut __image argosay ...`). //lib/cluster/images:builtin_images
  // takes none.
  std::vector<std::string> builtin_prefix = {"__image"};
  // Built-in programs that have a binary of their own (name -> path), run
  // directly instead of through builtin_binary: the workflow executor starts
  // once per step, so it is a small binary.
  std::map<std::string, std::string> builtin_programs;
  // Busybox for entries marked `busybox: true` (busybox.h). Empty: /bin/busybox,
  // else /usr/bin/busybox; a path that is not an executable: no busybox, those
  // images run with the host's commands.
  std::string busybox_binary;
  // Parent of the applet directory; empty: DefaultBusyboxAppletParent().
  std::string busybox_applet_dir;
};

// A parsed image reference: `repo` without `docker.io/` or `docker.io/library/`,
// `tag` ("latest" when neither tag nor digest is given) and `digest` ("sha256:...").
struct ImageRef {
  std::string repo;
  std::string tag;
  std::string digest;
  std::string Canonical() const;  // repo[:tag][@digest]
};

// INVALID_ARGUMENT for an empty, oversized or malformed reference.
absl::StatusOr<ImageRef> ParseImageRef(std::string_view image);

class ImageTable {
 public:
  // The built-in table plus, when `user_file` is not empty, that YAML file,
  // whose entries (and `path`, and top-level `commands`) take precedence.
  static absl::StatusOr<ImageTable> Load(const std::string& user_file,
                                         const ImageTableOptions& options = {});
  // Same with the user table given as text; `source_name` names it in messages.
  static absl::StatusOr<ImageTable> LoadFromString(std::string_view user_yaml,
                                                   const std::string& source_name,
                                                   const ImageTableOptions& options = {});

  // The argv a container of `image` runs, with Kubernetes semantics
  // (command replaces the entrypoint, args follow it; with neither the image's
  // default cmd). argv[0] may be a bare name, to be found on default_path().
  // FAILED_PRECONDITION with reason ImageNotRunnableLocally when the image is
  // unknown (or has no entrypoint/cmd) and the container gives no command.
  absl::StatusOr<std::vector<std::string>> Resolve(std::string_view image,
                                                   const std::vector<std::string>& command,
                                                   const std::vector<std::string>& args) const;

  // How built-in programs are started (passed on to the workflow executor,
  // which resolves images itself).
  const std::string& builtin_binary() const { return builtin_binary_; }
  const std::vector<std::string>& builtin_prefix() const { return builtin_prefix_; }
  const std::map<std::string, std::string>& builtin_programs() const { return builtin_programs_; }
  // PATH to give containers.
  std::string default_path() const { return path_; }
  // PATH to give a container of `image`: default_path(), after the busybox
  // applet directory for busybox-based images when busybox is installed.
  std::string PathFor(std::string_view image) const;
  // The busybox in use, if any.
  const std::optional<Busybox>& busybox() const { return busybox_; }
  // The table files consulted, for messages ("built-in <file>, user <file>").
  std::string sources() const;

  // Parsed form; public so that the file parser can fill it.
  struct Rewrite {
    std::string from;
    std::vector<std::string> to;
  };
  struct Entry {
    std::string pattern;  // normalised
    enum class Kind { kExact, kAnyTag, kGlob } kind = Kind::kExact;
    std::vector<std::string> entrypoint;
    std::vector<std::string> cmd;
    std::vector<Rewrite> commands;
    // Commands run with busybox's applets (when busybox is installed).
    bool busybox = false;
    // Host files the image's own programs need; missing: ImageNotRunnableLocally.
    std::vector<std::string> requires_files;
    std::string note;
    int line = 0;  // 1-based line in its file
  };
  struct Table {
    std::string source;  // "built-in <file>" or "user <file>"
    std::string path;    // empty: not set
    std::vector<Rewrite> commands;
    std::vector<Entry> entries;
  };

 private:
  static absl::StatusOr<ImageTable> Build(std::vector<Table> tables,
                                          const ImageTableOptions& options);
  const Entry* Find(const ImageRef& ref) const;
  // `entry_rewrite` says whether the entry's own `commands` applied.
  std::vector<std::string> RewriteCommand(const Entry* entry, const std::vector<std::string>& argv,
                                          bool* entry_rewrite) const;
  std::vector<std::string> ExpandBuiltin(std::vector<std::string> argv) const;

  std::vector<Table> tables_;  // highest precedence first
  std::string path_;
  std::string builtin_binary_;
  std::vector<std::string> builtin_prefix_;
  std::map<std::string, std::string> builtin_programs_;
  std::optional<Busybox> busybox_;
};

// Parses one table file's text. Errors name `source_name`, the line and the field.
absl::StatusOr<ImageTable::Table> ParseImageTable(std::string_view yaml,
                                                  const std::string& source_name);

}  // namespace argonaut::cluster
