// `argonaut archive list|get|delete|resubmit|retry|list-label-keys|list-label-values`, as
// `argo archive`: the workflow archive through the ArchivedWorkflowService. Archived workflows
// are named by UID. Returns the exit code; errors are one `error: ...` line.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace argonaut::cli {

int RunArchive(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace argonaut::cli
