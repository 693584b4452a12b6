// argoproj/argosay:v2 re-implemented: a test image whose subcommands are
//   (none) | echo [text] [file] | cat [file...] | sleep duration |
//   exit [code] | assert_contains file text
// Upstream it is a Go program: its messages go to stderr (Go's println), a
// usage or I/O error panics (exit code 2), `exit N` exits N.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace argonaut::cluster {

// Go's time.ParseDuration: "300ms", "-1.5h", "2h45m", units ns us µs ms s m h.
absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view s);

// Runs argosay with `args` (not including the program name); returns the exit code.
int RunArgosay(const std::vector<std::string>& args);

}  // namespace argonaut::cluster
