// The artifact helper program (remote.h): one transfer through lib/artifacts' drivers.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/artifacts/driver.h"
#include "lib/manifest/json_text.h"
#include "services/workflow/executor/artifacts.h"
#include "services/workflow/executor/remote.h"

namespace argonaut::workflow::executor {

int RunArtifactHelper(const std::vector<std::string>& args) {
  auto fail = [](const absl::Status& s) {
    fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return static_cast<int>(s.code());
  };
  if (args.size() != 2 || (args[0] != "load" && args[0] != "save") || args[1].empty()) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "usage: ", kArtifactHelperName, " load DST | save SRC (the artifact JSON on stdin)")));
  }
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  absl::StatusOr<nlohmann::json> artifact = manifest::ParseJsonText(text);
  if (!artifact.ok()) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("artifact on stdin: ", artifact.status().message())));
  }
  artifacts::DriverOptions options;
  options.secrets = artifacts::MountedSecretResolver();
  options.local_root =
      RepositoryRoot(std::getenv(kArtifactRepoEnv), std::getenv(kArtifactRepoHostEnv));
  absl::StatusOr<std::unique_ptr<artifacts::Driver>> driver =
      artifacts::MakeDriver(*artifact, options);
  if (!driver.ok()) return fail(driver.status());
  const absl::Status s =
      args[0] == "load" ? (*driver)->Load(*artifact, args[1]) : (*driver)->Save(args[1], *artifact);
  return s.ok() ? 0 : fail(s);
}

}  // namespace argonaut::workflow::executor
