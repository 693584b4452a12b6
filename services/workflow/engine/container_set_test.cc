// containerSet templates: the pod the engine asks for, the Container nodes and their graph, and
// how observed container states end the nodes (Argo container_set_template.go, operator.go).
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"
#include "services/workflow/engine/nodes.h"
#include "services/workflow/engine/test_yaml.h"

namespace argonaut::workflow::engine {
namespace {

using nlohmann::json;

using ::argonaut::workflow::testing::Yaml;

// Drives Operate() by hand so each test states exactly what the kubelet reports.
class Driver {
 public:
  explicit Driver(json wf) : wf_(std::move(wf)) {}

  EngineOutput Step() {
    EngineInput in;
    in.workflow = wf_;
    in.pods = pods;
    in.now = now;
    absl::StatusOr<EngineOutput> out = Operate(in);
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return {};
    wf_["status"] = out->status;
    for (const json& p : out->pods_to_create) created[p["metadata"]["name"]] = p;
    now += absl::Seconds(1);
    return *std::move(out);
  }
  const json* Node(const std::string& name) const {
    const std::string id = NodeId(wf_["metadata"]["name"].get<std::string>(), name);
    auto it = wf_["status"]["nodes"].find(id);
    return it == wf_["status"]["nodes"].end() ? nullptr : &*it;
  }
  std::string Id(const std::string& name) const {
    return NodeId(wf_["metadata"]["name"].get<std::string>(), name);
  }
  std::string PodOf(const std::string& node_name) const {
    const json* n = Node(node_name);
    return PodName(wf_["metadata"]["name"].get<std::string>(), node_name,
                   n == nullptr ? "" : n->value("templateName", ""));
  }
  const json& wf() const { return wf_; }

  std::map<std::string, PodState> pods;
  std::map<std::string, json> created;
  absl::Time now = absl::FromUnixSeconds(1700000000);

 private:
  json wf_;
};

ContainerState Terminated(int code, std::string error = "") {
  ContainerState c;
  c.state = "terminated";
  c.exit_code = code;
  c.error = std::move(error);
  return c;
}

std::vector<std::string> Children(const json* node) {
  std::vector<std::string> out;
  if (node == nullptr) return out;
  for (const json& c : node->value("children", json::array())) out.push_back(c);
  return out;
}

// examples/container-set-template/outputs-result-workflow.yaml: the `main` container's stdout is
// the task's result, and the next task hangs off the Container node.
TEST(ContainerSetTest, MainResultFeedsTheNextTask) {
  Driver d(Yaml(R"y(
metadata: {name: res, namespace: argo}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: group}
      - name: b
        template: verify
        arguments: {parameters: [{name: x, value: "{{tasks.a.outputs.result}}"}]}
        dependencies: [a]
  - name: group
    containerSet:
      containers:
      - {name: main, image: python:alpine3.23, command: [python, -c], args: ["print('hi')"]}
  - name: verify
    inputs: {parameters: [{name: x}]}
    script: {image: python:alpine3.23, command: [python], source: "assert '{{inputs.parameters.x}}' == 'hi'"}
)y"));
  EngineOutput out = d.Step();
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  const json& pod = out.pods_to_create[0];
  ASSERT_EQ(pod["spec"]["containers"].size(), 1u);
  const json& c = pod["spec"]["containers"][0];
  EXPECT_EQ(c["name"], "main");
  EXPECT_EQ(c["image"], "python:alpine3.23");
  EXPECT_EQ(c["command"], json::array({"argoexec", "emissary"}));
  bool named = false;
  for (const json& e : c["env"]) {
    if (e["name"] == "ARGO_CONTAINER_NAME") named = e["value"] == "main";
  }
  EXPECT_TRUE(named);

  const json* a = d.Node("res.a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->at("type"), "Pod");
  const json* main = d.Node("res.a.main");
  ASSERT_NE(main, nullptr);
  EXPECT_EQ(main->at("type"), "Container");
  EXPECT_EQ(main->at("phase"), "Pending");
  EXPECT_EQ(main->at("displayName"), "main");
  EXPECT_EQ(main->at("boundaryID"), d.Id("res.a"));
  EXPECT_EQ(Children(a), std::vector<std::string>{d.Id("res.a.main")});

  PodState& ps = d.pods[d.PodOf("res.a")];
  ps.phase = "Running";
  ps.containers["main"].state = "running";
  d.Step();
  EXPECT_EQ(d.Node("res.a.main")->at("phase"), "Running");

  ps.phase = "Succeeded";
  ps.exit_code = 0;
  ps.outputs = {{"result", "hi"}, {"exitCode", "0"}};
  ps.containers["main"] = Terminated(0);
  out = d.Step();
  EXPECT_EQ(d.Node("res.a")->at("phase"), "Succeeded");
  EXPECT_EQ(d.Node("res.a")->at("outputs")["result"], "hi");
  EXPECT_EQ(d.Node("res.a.main")->at("phase"), "Succeeded");
  const json* b = d.Node("res.b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->at("inputs")["parameters"][0]["value"], "hi");
  // Argo's graph: a -> a.main -> b.
  EXPECT_EQ(Children(d.Node("res.a.main")), std::vector<std::string>{d.Id("res.b")});
}

// examples/container-set-template/graph-workflow.yaml: one container per entry, the Container
// nodes linked by `dependencies`; a failure ends its dependents (the emissary's exit 64) and the
// pod.
TEST(ContainerSetTest, GraphAndFailure) {
  Driver d(Yaml(R"y(
metadata: {name: graph, namespace: argo}
spec:
  entrypoint: main
  templates:
  - name: main
    volumes: [{name: workspace, emptyDir: {}}]
    containerSet:
      volumeMounts: [{name: workspace, mountPath: /workspace}]
      containers:
      - {name: a, image: argoproj/argosay:v2}
      - {name: b, image: argoproj/argosay:v2, dependencies: [a], args: [exit, "1"]}
      - {name: c, image: argoproj/argosay:v2, dependencies: [a]}
      - {name: d, image: argoproj/argosay:v2, dependencies: [b, c]}
)y"));
  EngineOutput out = d.Step();
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  const json& spec = out.pods_to_create[0]["spec"];
  ASSERT_EQ(spec["containers"].size(), 4u);
  EXPECT_EQ(spec["containers"][3]["name"], "d");
  EXPECT_EQ(spec["containers"][3]["volumeMounts"][0]["mountPath"], "/workspace");
  EXPECT_EQ(spec["volumes"][0]["name"], "workspace");
  EXPECT_EQ(Children(d.Node("graph")), std::vector<std::string>{d.Id("graph.a")});
  EXPECT_EQ(Children(d.Node("graph.a")),
            (std::vector<std::string>{d.Id("graph.b"), d.Id("graph.c")}));
  EXPECT_EQ(Children(d.Node("graph.b")), std::vector<std::string>{d.Id("graph.d")});
  EXPECT_EQ(Children(d.Node("graph.c")), std::vector<std::string>{d.Id("graph.d")});

  PodState& ps = d.pods[d.PodOf("graph")];
  ps.phase = "Failed";
  ps.containers["a"] = Terminated(0);
  ps.containers["b"] = Terminated(1);
  ps.containers["c"] = Terminated(0);
  ps.containers["d"] = Terminated(64, "dependency \"b\" exited with non-zero code: 1");
  d.Step();
  EXPECT_EQ(d.wf()["status"]["phase"], "Failed");
  EXPECT_EQ(d.Node("graph")->at("phase"), "Failed");
  EXPECT_EQ(d.Node("graph")->at("message"), "Error (exit code 1)");
  EXPECT_EQ(d.Node("graph.a")->at("phase"), "Succeeded");
  EXPECT_EQ(d.Node("graph.b")->at("phase"), "Failed");
  EXPECT_EQ(d.Node("graph.c")->at("phase"), "Succeeded");
  EXPECT_EQ(d.Node("graph.d")->at("phase"), "Error");
  EXPECT_EQ(d.Node("graph.d")->at("message"), "dependency \"b\" exited with non-zero code: 1");
}

// A pod that disappears takes its unfinished Container nodes with it.
TEST(ContainerSetTest, DeletedPodEndsItsContainers) {
  Driver d(Yaml(R"y(
metadata: {name: gone, namespace: argo}
spec:
  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers:
      - {name: a, image: alpine}
      - {name: main, image: alpine, dependencies: [a]}
)y"));
  d.Step();
  PodState& ps = d.pods[d.PodOf("gone")];
  ps.phase = "Running";
  ps.containers["a"].state = "running";
  ps.containers["main"].state = "running";
  d.Step();
  EXPECT_EQ(d.Node("gone.a")->at("phase"), "Running");
  d.pods.clear();
  d.Step();
  EXPECT_EQ(d.Node("gone")->at("phase"), "Error");
  EXPECT_EQ(d.Node("gone.a")->at("phase"), "Error");
  EXPECT_EQ(d.Node("gone.main")->at("phase"), "Error");
  EXPECT_EQ(d.Node("gone.main")->at("message"), "pod deleted");
}

// Bad container sets end the node in Error naming the field, and no pod is created.
TEST(ContainerSetTest, InvalidSetsNameTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[{name: a, image: x, dependencies: [zz]}]",
       "containerSet.containers[0].dependencies[0]: no container named \"zz\""},
      {"[{name: a, image: x}, {name: a, image: x}]",
       "containerSet.containers[1].name: \"a\" is not unique"},
      {"[{name: a, image: x, dependencies: [b]}, {name: b, image: x, dependencies: [a]}]",
       "containerSet.containers: dependency cycle"},
      {"[{name: Bad_Name, image: x}]",
       "containerSet.containers[0].name: \"Bad_Name\" is not a valid container name"},
      {"[]", "containerSet.containers: at least one container required"},
  };
  for (const auto& [containers, message] : cases) {
    Driver d(Yaml(absl::StrCat(R"y(
metadata: {name: bad, namespace: argo}
spec:
  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers: )y",
                               containers, "\n")));
    EngineOutput out = d.Step();
    EXPECT_TRUE(out.pods_to_create.empty()) << containers;
    EXPECT_EQ(d.wf()["status"]["phase"], "Error") << containers;
    ASSERT_NE(d.Node("bad"), nullptr);
    EXPECT_EQ(d.Node("bad")->value("message", ""), message);
  }
}

}  // namespace
}  // namespace argonaut::workflow::engine
