#include "lib/base/files.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace argonaut::base {

absl::StatusOr<std::string> ReadFileToString(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(what, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat(what, ": cannot read ", path));
  return ss.str();
}

}  // namespace argonaut::base
