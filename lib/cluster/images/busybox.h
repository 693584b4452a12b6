// Busybox for the busybox- and Alpine-based images: their `sh` is busybox's
// ash (with `[[` and `$RANDOM`, which Debian's dash lacks) and their commands
// are busybox applets. The image table rewrites a container's argv[0] that
// names an applet to `<busybox> <applet> ...` (works wherever the binary is
// visible) and puts a directory of `<applet> -> busybox` symlinks first on such
// containers' PATH, so that commands run from their shell are applets too.
//
// The directory is made once per busybox build (rename into place, so
// concurrent runtimes agree) outside /tmp: pods get a private /tmp, while the
// rest of the host's tree stays visible in them (lib/cluster/sandbox).
#pragma once

#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"

namespace argonaut::cluster {

struct Busybox {
  std::string binary;              // absolute path
  std::set<std::string> applets;   // names it answers to (minus kBusyboxSkippedApplets)
  std::string applet_dir;          // empty: none could be made
  std::string applet_dir_problem;  // why not, for diagnostics
};

// Applets that make no sense in a container and that, run as root outside a
// PID namespace, would act on the host (busybox's reboot signals PID 1).
inline constexpr const char* kBusyboxSkippedApplets[] = {"halt", "init", "linuxrc", "poweroff",
                                                         "reboot"};

// Where applet directories go unless told: $XDG_CACHE_HOME/argonaut, else
// $HOME/.cache/argonaut, else /var/tmp/argonaut-<euid>; a variable that
// points into /tmp (which pods do not share) is passed over.
std::string DefaultBusyboxAppletParent();

// Busybox at `binary` (empty: /bin/busybox, then /usr/bin/busybox) with its
// applet list and applet directory under `applet_parent` (empty: the default).
// nullopt when there is no such executable or it lists no applets: callers
// then behave as without busybox. A directory that cannot be made leaves
// applet_dir empty (argv rewriting still works).
std::optional<Busybox> LoadBusybox(const std::string& binary, const std::string& applet_parent);

}  // namespace argonaut::cluster
