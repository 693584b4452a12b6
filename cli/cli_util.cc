#include "cli/cli_util.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/client.h"
#include "lib/manifest/yaml.h"

namespace argonaut::cli {

int Fail(std::ostream& err, std::string_view message) {
  err << "error: " << message << "\n";
  return 1;
}

int Fail(std::ostream& err, const absl::Status& s) {
  if (absl::IsUnauthenticated(s)) {
    return Fail(err, absl::StrCat(s.message(), "\n  hint: ", TokenHint()));
  }
  return Fail(err, std::string(s.message()));
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
    return buf.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  // ParseDocuments refuses oversized input; stop reading well before that.
  in.seekg(0, std::ios::end);
  if (in.tellg() > static_cast<std::streamoff>(manifest::kMaxInputBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": larger than ", manifest::kMaxInputBytes >> 20, " MiB"));
  }
  in.seekg(0);
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace argonaut::cli
