// How argoexec reaches artifact locations other than the local repository and raw (S3, HTTP,
// git): argoexec is linked statically so that every step starts fast, and libcurl / libgit2
// cannot be, so it runs a second, dynamically linked program for each such transfer:
//
//   argoexec-artifacts load DST   (the artifact JSON on stdin: the stored object -> DST)
//   argoexec-artifacts save SRC   (the artifact JSON on stdin: SRC -> the stored object)
//
// It exits 0, or with the absl::StatusCode of the failure and the message on stderr (never a
// secret value). Packing and unpacking stay in argoexec; the helper only moves bytes through
// lib/artifacts' drivers, with Secrets read from the pod's mounts (kArtifactSecretMountRoot).
// Steps without such artifacts never start it.
#pragma once

#include <string>
#include <vector>

#include "services/workflow/executor/artifacts.h"

namespace argonaut::workflow::executor {

// The helper's name in the image table and beside argoexec.
inline constexpr char kArtifactHelperName[] = "argoexec-artifacts";
// Overrides where the helper is (tests).
inline constexpr char kArtifactHelperEnv[] = "ARGONAUT_ARTIFACT_HELPER";

// The helper's argv prefix: $ARGONAUT_ARTIFACT_HELPER; else `argoexec-artifacts` beside this
// executable; else the built-in program `$ARGONAUT_BUILTIN_BINARY $ARGONAUT_BUILTIN_PREFIX
// argoexec-artifacts` (the argonaut binary's `__image argoexec-artifacts`). Empty when none.
std::vector<std::string> FindArtifactHelper();

// A RemoteTransfer that runs `helper... load|save PATH` for each transfer.
RemoteTransfer HelperTransfer(std::vector<std::string> helper);

// The helper's own entry point: args = ["load", DST] or ["save", SRC]; the artifact on stdin.
int RunArtifactHelper(const std::vector<std::string>& args);

}  // namespace argonaut::workflow::executor
