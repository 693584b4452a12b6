// The `argonaut` subcommands. Each returns the process exit code and prints
// errors as one `error: ...` line on stderr.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace argonaut::cli {

int RunApply(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunGet(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunDelete(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunLogs(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunVersion(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunUp(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace argonaut::cli
