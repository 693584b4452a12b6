// Pieces every command family of the CLI shares: the common flags, error reporting and reading
// a manifest argument.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/args.h"

namespace argonaut::cli {

inline const FlagSpec kServer{"server", "s"};
inline const FlagSpec kNamespace{"namespace", "n"};

// Writes "error: <message>" to `err` and returns the process exit code for a failed command.
int Fail(std::ostream& err, std::string_view message);
int Fail(std::ostream& err, const absl::Status& s);

// The content of `path`, or of standard input for "-". Files larger than the manifest parser
// accepts are refused before being read.
absl::StatusOr<std::string> ReadInput(const std::string& path);

}  // namespace argonaut::cli
