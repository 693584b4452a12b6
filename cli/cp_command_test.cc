#include "cli/cp_command.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace argonaut::cli {
namespace {

using nlohmann::json;

const json kWorkflow = json::parse(R"({
  "metadata": {"name": "wf", "namespace": "ns"},
  "status": {"nodes": {
    "wf-2": {"id": "wf-2", "type": "Pod", "templateName": "b", "outputs": {"artifacts": [
      {"name": "x", "s3": {"key": "wf/p2/x.tgz"}}]}},
    "wf-1": {"id": "wf-1", "type": "Pod", "templateName": "a", "outputs": {"artifacts": [
      {"name": "out", "local": {"key": "wf/p1/out.tgz"}},
      {"name": "gone", "deleted": true, "local": {"key": "wf/p1/gone.tgz"}},
      {"name": "param-only"}]}},
    "wf": {"id": "wf", "type": "Steps"}}}})");

std::vector<std::string> Paths(const std::vector<CpTarget>& targets) {
  std::vector<std::string> out;
  for (const CpTarget& t : targets) out.push_back(t.relative_path);
  return out;
}

TEST(CpTargetsTest, Table) {
  struct Row {
    std::string node, tmpl, artifact, path;
    std::vector<std::string> want;
  };
  const std::vector<Row> rows = {
      {"", "", "", "{nodeId}/{artifactName}", {"wf-1/out", "wf-2/x"}},
      {"wf-2", "", "", "{nodeId}/{artifactName}", {"wf-2/x"}},
      {"", "a", "", "{nodeId}/{artifactName}", {"wf-1/out"}},
      {"", "", "x", "{nodeId}/{artifactName}", {"wf-2/x"}},
      {"", "", "gone", "{nodeId}/{artifactName}", {}},
      {"", "", "param-only", "{nodeId}/{artifactName}", {}},
      {"wf-1", "", "", "{namespace}/{workflowName}/{templateName}/{artifactName}", {"ns/wf/a/out"}},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(Paths(SelectCpTargets(kWorkflow, r.node, r.tmpl, r.artifact, r.path)), r.want)
        << r.node << "|" << r.tmpl << "|" << r.artifact << "|" << r.path;
  }
}

}  // namespace
}  // namespace argonaut::cli
