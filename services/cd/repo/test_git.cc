#include "services/cd/repo/test_git.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "services/cd/repo/util.h"

namespace argonaut::cd::repo::testing {

namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

absl::StatusOr<std::string> Git(const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git",
                                   "-c",
                                   "user.name=Test Author",
                                   "-c",
                                   "user.email=author@example.com",
                                   "-c",
                                   "init.defaultBranch=main",
                                   "-c",
                                   "commit.gpgsign=false",
                                   "-c",
                                   "tag.gpgsign=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  ASSIGN_OR_RETURN(ExecResult r,
                   Exec(argv, dir, {{"GIT_CONFIG_NOSYSTEM", "1"}}, absl::Seconds(60)));
  if (r.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("git ", absl::StrJoin(args, " "), " failed: ", r.stderr_text));
  }
  while (!r.stdout_text.empty() && r.stdout_text.back() == '\n') r.stdout_text.pop_back();
  return r.stdout_text;
}

absl::StatusOr<std::string> InitRepo(const std::string& name) {
  std::string dir = FreshDir(name);
  RETURN_IF_ERROR(Git(dir, {"init", "-q", "-b", "main"}).status());
  return dir;
}

void WriteFile(const std::string& dir, const std::string& rel, const std::string& content) {
  fs::path p = fs::path(dir) / rel;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

absl::StatusOr<std::string> CommitAll(const std::string& dir, const std::string& message) {
  RETURN_IF_ERROR(Git(dir, {"add", "-A"}).status());
  RETURN_IF_ERROR(Git(dir, {"commit", "-q", "--allow-empty", "-m", message}).status());
  return Git(dir, {"rev-parse", "HEAD"});
}

void CopyTree(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

}  // namespace argonaut::cd::repo::testing
