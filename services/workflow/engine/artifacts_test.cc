// Artifacts in the engine: `from` resolution, keys, the repository volume, global artifacts,
// path placeholders and the errors for what cannot be loaded.
#include <string>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/artifact_test_driver.h"
#include "services/workflow/engine/engine.h"
#include "services/workflow/engine/test_yaml.h"

namespace argonaut::workflow::engine {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

using ::argonaut::workflow::engine::testing::Env;
using ::argonaut::workflow::engine::testing::TemplateOf;
using ::argonaut::workflow::testing::Yaml;

using Driver = ::argonaut::workflow::engine::testing::ArtifactDriver;

TEST(ArtifactsTest, StepsPassArtifactsThroughTheLocalRepository) {
  Driver d(Yaml(R"(
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: gen, template: gen}
    - - name: use
        template: use
        arguments:
          artifacts: [{name: in, from: "{{steps.gen.outputs.artifacts.out}}", subPath: a.txt}]
  - name: gen
    container: {image: busybox, command: [sh, -c, "echo"]}
    outputs:
      artifacts: [{name: out, path: /tmp/dir, globalName: shared}]
  - name: use
    inputs:
      artifacts: [{name: in, path: /tmp/in, mode: 384}]
    container: {image: busybox, command: [cat, "{{inputs.artifacts.in.path}}"]}
)"));
  EngineOutput first = d.Step();
  ASSERT_EQ(first.pods_to_create.size(), 1u);
  const json& gen = first.pods_to_create[0];
  const std::string gen_pod = gen["metadata"]["name"];
  EXPECT_EQ(TemplateOf(gen)["archiveLocation"]["local"]["key"], "wf/" + gen_pod);
  EXPECT_EQ(Env(gen, "ARGONAUT_ARTIFACT_REPO_HOST"), "/data/artifacts");
  EXPECT_EQ(Env(gen, "ARGONAUT_ARTIFACT_REPO"), "/tmp/.argonaut-artifacts");
  // Only the workflow's own part of the repository, read-write.
  EXPECT_EQ(
      gen["spec"]["volumes"],
      Yaml(R"([{name: argonaut-artifact-repository, hostPath: {path: /data/artifacts/wf}}])"));
  EXPECT_EQ(
      gen["spec"]["containers"][0]["volumeMounts"],
      Yaml(R"([{name: argonaut-artifact-repository, mountPath: /tmp/.argonaut-artifacts/wf}])"));

  const json saved = {
      {"name", "out"}, {"path", "/tmp/dir"}, {"local", {{"key", "wf/" + gen_pod + "/out.tgz"}}}};
  d.Finish(gen_pod, {{"exitCode", "0"}, {"artifacts", json::array({saved})}});
  EngineOutput second = d.Step();
  ASSERT_EQ(second.pods_to_create.size(), 1u);
  json use = TemplateOf(second.pods_to_create[0]);
  const json& in = use["inputs"]["artifacts"][0];
  EXPECT_EQ(in["local"]["key"], "wf/" + gen_pod + "/out.tgz");
  EXPECT_EQ(in["path"], "/tmp/in");
  EXPECT_EQ(in["subPath"], "a.txt");
  EXPECT_EQ(in["mode"], 384);
  EXPECT_FALSE(in.contains("from"));
  EXPECT_EQ(use["container"]["command"][1], "/tmp/in");
  // The producer's node records the artifact; its globalName publishes it workflow-wide.
  EXPECT_EQ(d.NodeNamed("gen")["outputs"]["artifacts"][0]["globalName"], "shared");
  const json& global = d.status()["outputs"]["artifacts"][0];
  EXPECT_EQ(global["name"], "shared");
  EXPECT_EQ(global["local"]["key"], "wf/" + gen_pod + "/out.tgz");
}

TEST(ArtifactsTest, InputsFromAnotherWorkflowAreMountedReadOnlyAlone) {
  Driver d(Yaml(R"(
metadata: {name: wf}
spec:
  entrypoint: use
  templates:
  - name: use
    inputs:
      artifacts:
      - {name: a, path: /tmp/a, local: {key: other/other-pod-1/out.tgz}}
      - {name: b, path: /tmp/b, local: {key: other/other-pod-1/log.txt}}
      - {name: c, path: /tmp/c, local: {key: wf/earlier/x.tgz}}
      - {name: d, path: /tmp/d, local: {key: top.tgz}}
      - {name: e, path: /tmp/e, local: {key: ../etc/passwd}}
    container: {image: busybox, command: [cat, /tmp/a]}
)"));
  EngineOutput out = d.Step();
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  const json& pod = out.pods_to_create[0];
  // The producing pod's directory of another workflow once, read-only; the workflow's own keys
  // are in its part; a key at the top alone; an unclean key not at all (argoexec refuses it).
  EXPECT_EQ(pod["spec"]["volumes"], Yaml(R"([
    {name: argonaut-artifact-repository, hostPath: {path: /data/artifacts/wf}},
    {name: argonaut-artifact-repository-in-1, hostPath: {path: /data/artifacts/other/other-pod-1}},
    {name: argonaut-artifact-repository-in-2, hostPath: {path: /data/artifacts/top.tgz}}])"));
  EXPECT_EQ(pod["spec"]["containers"][0]["volumeMounts"], Yaml(R"([
    {name: argonaut-artifact-repository, mountPath: /tmp/.argonaut-artifacts/wf},
    {name: argonaut-artifact-repository-in-1, mountPath: /tmp/.argonaut-artifacts/other/other-pod-1,
     readOnly: true},
    {name: argonaut-artifact-repository-in-2, mountPath: /tmp/.argonaut-artifacts/top.tgz,
     readOnly: true}])"));
}

TEST(ArtifactsTest, StepsTemplateOutputsComeFromItsSteps) {
  Driver d(Yaml(R"(
metadata: {name: nest}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: inner, template: inner}
    - - name: use
        template: use
        arguments:
          artifacts: [{name: in, from: "{{steps.inner.outputs.artifacts.up}}"}]
  - name: inner
    steps:
    - - {name: gen, template: gen}
    outputs:
      artifacts: [{name: up, from: "{{steps.gen.outputs.artifacts.out}}"}]
  - name: gen
    container: {image: busybox}
    outputs: {artifacts: [{name: out, path: /tmp/f, archive: {none: {}}}]}
  - name: use
    inputs: {artifacts: [{name: in, path: /tmp/in}]}
    container: {image: busybox}
)"));
  EngineOutput first = d.Step();
  ASSERT_EQ(first.pods_to_create.size(), 1u);
  const std::string gen_pod = first.pods_to_create[0]["metadata"]["name"];
  d.Finish(gen_pod, {{"artifacts", json::array({{{"name", "out"},
                                                 {"path", "/tmp/f"},
                                                 {"archive", {{"none", json::object()}}},
                                                 {"local", {{"key", "nest/p/f"}}}}})}});
  EngineOutput second = d.Step();
  ASSERT_EQ(second.pods_to_create.size(), 1u);
  const json in = TemplateOf(second.pods_to_create[0])["inputs"]["artifacts"][0];
  EXPECT_EQ(in["local"]["key"], "nest/p/f");
  EXPECT_EQ(in["archive"], json::parse(R"({"none": {}})"));
  EXPECT_EQ(d.NodeNamed("inner")["outputs"]["artifacts"][0]["name"], "up");
}

TEST(ArtifactsTest, RawInputsAndPathPlaceholders) {
  Driver d(Yaml(R"(
metadata: {name: raw}
spec:
  entrypoint: main
  arguments:
    artifacts: [{name: text, raw: {data: "1\n2\n"}}]
  templates:
  - name: main
    inputs: {artifacts: [{name: text, path: /inputs/text/data}]}
    outputs:
      parameters: [{name: n, valueFrom: {path: /outputs/n}}]
      artifacts: [{name: o, path: /outputs/o}]
    container:
      image: busybox
      args: ["{{inputs.artifacts.text.path}} {{outputs.artifacts.o.path}} {{outputs.parameters.n.path}}"]
)"));
  EngineOutput out = d.Step();
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  json t = TemplateOf(out.pods_to_create[0]);
  EXPECT_EQ(t["container"]["args"][0], "/inputs/text/data /outputs/o /outputs/n");
  EXPECT_EQ(t["inputs"]["artifacts"][0]["raw"]["data"], "1\n2\n");
}

TEST(ArtifactsTest, UnsupportedOrMissingArtifactsFailTheNodeNamingTheField) {
  Driver d(Yaml(R"(
metadata: {name: bad}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: gcs
        template: use
        arguments:
          artifacts: [{name: in, gcs: {bucket: b, key: k}}]
      - {name: missing, template: use}
      - name: dangling
        template: use
        arguments:
          artifacts: [{name: in, from: "{{steps.nope.outputs.artifacts.x}}"}]
  - name: use
    inputs: {artifacts: [{name: in, path: /tmp/in}]}
    container: {image: busybox}
)"));
  EngineOutput out = d.Step();
  EXPECT_TRUE(out.pods_to_create.empty());
  EXPECT_EQ(d.NodeNamed("gcs")["phase"], "Error");
  EXPECT_THAT(d.NodeNamed("gcs")["message"].get<std::string>(),
              HasSubstr("arguments.artifacts.in.gcs: this artifact location is not supported"));
  EXPECT_THAT(d.NodeNamed("missing")["message"].get<std::string>(),
              HasSubstr("inputs.artifacts.in was not supplied"));
  EXPECT_THAT(d.NodeNamed("dangling")["message"].get<std::string>(),
              HasSubstr("arguments.artifacts.in.from: unable to resolve"));
}

TEST(ArtifactsTest, ArtifactErrorsFromArgoexecAreErrorsNotFailures) {
  Driver d(Yaml(R"(
metadata: {name: err}
spec:
  entrypoint: main
  templates:
  - name: main
    outputs: {artifacts: [{name: o, path: /tmp/o}]}
    container: {image: busybox}
)"));
  EngineOutput out = d.Step();
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  const std::string pod = out.pods_to_create[0]["metadata"]["name"];
  // argoexec exits 1 and reports the error; the controller makes it the pod's message.
  d.Fail(pod, 1, "failed to save artifact \"o\" from /tmp/o: no such file",
         {{"exitCode", "1"},
          {"error", "failed to save artifact \"o\" from /tmp/o: no such file"},
          {"errorPhase", "Error"}});
  d.Step();
  EXPECT_EQ(d.status()["phase"], "Error");
  EXPECT_THAT(d.NodeNamed("err")["message"].get<std::string>(),
              HasSubstr("failed to save artifact \"o\""));
}

// A steps template's output artifact chosen by an expression (Argo's
// conditional-artifacts example): only the branch that ran is read.
TEST(ArtifactsTest, OutputArtifactFromExpression) {
  Driver d(Yaml(R"(
metadata: {name: cond}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: coin, template: coin}
    - - {name: heads, template: gen, when: "{{steps.coin.outputs.result}} == heads"}
      - {name: tails, template: gen, when: "{{steps.coin.outputs.result}} == tails"}
    outputs:
      artifacts:
      - name: result
        fromExpression: "steps.coin.outputs.result == 'heads' ? steps.heads.outputs.artifacts.out : steps.tails.outputs.artifacts.out"
      - name: bad
        optional: true
        fromExpression: "steps.coin.outputs.result"
  - name: coin
    container: {image: busybox}
  - name: gen
    container: {image: busybox}
    outputs: {artifacts: [{name: out, path: /tmp/f}]}
)"));
  EngineOutput first = d.Step();
  ASSERT_EQ(first.pods_to_create.size(), 1u);
  d.Finish(first.pods_to_create[0]["metadata"]["name"], {{"result", "tails"}});
  EngineOutput second = d.Step();
  ASSERT_EQ(second.pods_to_create.size(), 1u);
  const std::string tails_pod = second.pods_to_create[0]["metadata"]["name"];
  d.Finish(tails_pod, {{"artifacts", json::array({{{"name", "out"},
                                                   {"path", "/tmp/f"},
                                                   {"local", {{"key", "cond/t/out.tgz"}}}}})}});
  d.Step();
  d.Step();
  EXPECT_EQ(d.status()["phase"], "Succeeded") << d.status().dump();
  const json outputs = d.NodeNamed("cond")["outputs"]["artifacts"];
  ASSERT_EQ(outputs.size(), 1u) << outputs.dump();
  EXPECT_EQ(outputs[0]["name"], "result");
  EXPECT_EQ(outputs[0]["local"]["key"], "cond/t/out.tgz");
}

}  // namespace
}  // namespace argonaut::workflow::engine
