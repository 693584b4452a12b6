// `argonaut cp WORKFLOW DIR`: Argo's `argo cp`. Every output artifact of the workflow's nodes
// (or of one node, template or artifact name) is fetched through WorkflowService.GetArtifact
// and written under DIR at --path (default {nodeId}/{artifactName}); a tar.gz is unpacked
// there as `argo cp` does (the archive's single entry becomes that path), anything else is
// written as is.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace argonaut::cli {

struct CpTarget {
  std::string node_id;
  std::string template_name;
  std::string artifact_name;
  std::string relative_path;  // below DIR, from --path
};

// What `cp` fetches from `wf`: output artifacts with a stored location that artifact GC has not
// deleted, filtered by node id, template name and artifact name (each empty: any), in node id
// order. `path_format` takes Argo's {workflowName}, {namespace}, {nodeId}, {templateName},
// {artifactName}.
std::vector<CpTarget> SelectCpTargets(const nlohmann::json& wf, const std::string& node_id,
                                      const std::string& template_name,
                                      const std::string& artifact_name,
                                      const std::string& path_format);

int RunCp(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

}  // namespace argonaut::cli
