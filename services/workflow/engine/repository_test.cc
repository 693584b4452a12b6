// Configured artifact repositories in the engine: status.artifactRepositoryRef, complete
// archiveLocations (keyFormat expansion, keyPrefix, archiveLogs), per-template overrides,
// key-only artifacts, Secrets mounted into the pod, and S3 outputs passed on with `from`.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/artifact_test_driver.h"
#include "services/workflow/engine/engine.h"
#include "services/workflow/engine/test_yaml.h"

namespace argonaut::workflow::engine {
namespace {

using ::argonaut::workflow::engine::testing::Env;
using ::argonaut::workflow::engine::testing::TemplateOf;
using ::argonaut::workflow::testing::Yaml;
using nlohmann::json;
using ::testing::HasSubstr;

const json kRepo = Yaml(R"(
s3:
  bucket: my-bucket
  endpoint: 10.0.0.1:4568
  insecure: true
  accessKeySecret: {name: my-s3-cred, key: accesskey}
  secretKeySecret: {name: my-s3-cred, key: secretkey}
)");

using Runner = ::argonaut::workflow::engine::testing::ArtifactDriver;

const char kPassing[] = R"(
metadata: {name: artifact-passing-x, namespace: argo, creationTimestamp: "2024-03-05T06:07:08Z"}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: gen, template: gen}
    - - name: use
        template: use
        arguments:
          artifacts: [{name: message, from: "{{steps.gen.outputs.artifacts.hello-art}}"}]
  - name: gen
    container: {image: busybox}
    outputs:
      artifacts: [{name: hello-art, path: /tmp/hello_world.txt}]
  - name: use
    inputs:
      artifacts: [{name: message, path: /tmp/message}]
    container: {image: busybox}
)";

TEST(RepositoryTest, S3RepositoryGivesCompleteLocationsSecretsAndPassesOutputsOn) {
  const json ref = {{"namespace", "argo"},
                    {"configMap", "artifact-repositories"},
                    {"key", "default-v1"},
                    {"artifactRepository", kRepo}};
  Runner r(Yaml(kPassing), ref);
  EngineOutput first = r.Step();
  EXPECT_EQ(r.status()["artifactRepositoryRef"], ref);
  ASSERT_EQ(first.pods_to_create.size(), 1u);
  const json& gen = first.pods_to_create[0];
  const std::string gen_pod = gen["metadata"]["name"];
  json loc = kRepo["s3"];
  loc["key"] = "artifact-passing-x/" + gen_pod;
  EXPECT_EQ(TemplateOf(gen)["archiveLocation"], json({{"s3", loc}, {"archiveLogs", false}}));
  // No local repository in the pod; the Secret read-only where argoexec reads it.
  EXPECT_TRUE(Env(gen, "ARGONAUT_ARTIFACT_REPO").is_null());
  EXPECT_EQ(gen["spec"]["volumes"],
            Yaml(R"([{name: argo-art-0, secret: {secretName: my-s3-cred}}])"));
  EXPECT_EQ(gen["spec"]["containers"][0]["volumeMounts"],
            Yaml(R"([{name: argo-art-0, mountPath: /var/run/argonaut/artifact-secrets/my-s3-cred,
                      readOnly: true}])"));
  EXPECT_EQ(std::string(kArtifactSecretMountRoot), "/var/run/argonaut/artifact-secrets");

  // argoexec reports the output with its complete location; the consumer gets it whole.
  json saved = loc;
  saved["key"] = "artifact-passing-x/" + gen_pod + "/hello-art.tgz";
  r.Finish(
      gen_pod,
      {{"artifacts",
        json::array({{{"name", "hello-art"}, {"path", "/tmp/hello_world.txt"}, {"s3", saved}}})}});
  // A changed ConfigMap does not move a running workflow: the recorded ref stays.
  r.in().artifact_repository_ref = {{"default", true}};
  EngineOutput second = r.Step();
  EXPECT_EQ(r.status()["artifactRepositoryRef"], ref);
  ASSERT_EQ(second.pods_to_create.size(), 1u);
  const json& use = second.pods_to_create[0];
  const json t = TemplateOf(use);
  EXPECT_EQ(t["inputs"]["artifacts"][0]["s3"], saved);
  // Inputs with locations only: no archive location needed (Argo's addArchiveLocation).
  EXPECT_FALSE(t.contains("archiveLocation"));
  EXPECT_EQ(use["spec"]["volumes"][0]["secret"]["secretName"], "my-s3-cred");
  for (const json& n : r.status()["nodes"]) {
    if (n["displayName"] == "gen") {
      EXPECT_EQ(n["outputs"]["artifacts"][0]["s3"], saved);
    }
  }
}

TEST(RepositoryTest, KeyFormatPrefixArchiveLogsAndTemplateOverrides) {
  json repo = kRepo;
  repo["s3"]["keyFormat"] =
      "{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/"
      "{{workflow.creationTimestamp.d}}/{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}";
  repo["s3"]["keyPrefix"] = "pre/";
  repo["archiveLogs"] = true;
  Runner r(Yaml(R"(
metadata: {name: kf, namespace: ns1, creationTimestamp: "2024-03-05T06:07:08Z"}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: out}
      - {name: b, template: own}
      - {name: c, template: local}
  - name: out
    container: {image: busybox}
    outputs: {artifacts: [{name: o, path: /tmp/o}]}
  - name: own
    archiveLocation: {s3: {bucket: other, endpoint: e:1, key: mine}}
    container: {image: busybox}
    outputs: {artifacts: [{name: o, path: /tmp/o}]}
  - name: local
    archiveLocation: {local: {key: someone-else}}
    container: {image: busybox}
    outputs: {artifacts: [{name: o, path: /tmp/o}]}
)"),
           {{"default", true}, {"artifactRepository", repo}});
  EngineOutput out = r.Step();
  ASSERT_EQ(out.pods_to_create.size(), 3u);
  for (const json& pod : out.pods_to_create) {
    const std::string name = pod["metadata"]["name"];
    const json al = TemplateOf(pod)["archiveLocation"];
    if (absl::StrContains(name, "-own-")) {
      EXPECT_EQ(al, Yaml("{s3: {bucket: other, endpoint: 'e:1', key: mine}}"));
      continue;
    }
    // A local archiveLocation of the author's is replaced: keys stay the controller's.
    EXPECT_EQ(al["s3"]["key"], "pre/2024/03/05/ns1/kf/" + name) << name;
    EXPECT_FALSE(al["s3"].contains("keyFormat"));
    EXPECT_FALSE(al["s3"].contains("keyPrefix"));
    EXPECT_EQ(al["archiveLogs"], true);
  }
}

TEST(RepositoryTest, WorkflowArchiveLogsUnlessTheTemplateSaysOtherwise) {
  Runner r(Yaml(R"(
metadata: {name: al}
spec:
  entrypoint: main
  archiveLogs: true
  templates:
  - name: main
    steps:
    - - {name: a, template: plain}
      - {name: b, template: off}
  - name: plain
    container: {image: busybox}
  - name: off
    archiveLocation: {archiveLogs: false}
    container: {image: busybox}
)"),
           {{"default", true}, {"artifactRepository", kRepo}});
  EngineOutput out = r.Step();
  ASSERT_EQ(out.pods_to_create.size(), 2u);
  for (const json& pod : out.pods_to_create) {
    const json t = TemplateOf(pod);
    if (absl::StrContains(pod["metadata"]["name"].get<std::string>(), "-off-")) {
      EXPECT_EQ(t["archiveLocation"], Yaml("{archiveLogs: false}"));
    } else {
      EXPECT_EQ(t["archiveLocation"]["archiveLogs"], true);
      EXPECT_EQ(t["archiveLocation"]["s3"]["bucket"], "my-bucket");
    }
  }
}

TEST(RepositoryTest, KeyOnlyArtifactsAreFilledFromTheRepository) {
  Runner r(Yaml(R"(
metadata: {name: ko}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: read
        template: read
        arguments:
          artifacts: [{name: in, s3: {key: inputs/data.txt}}]
  - name: read
    inputs: {artifacts: [{name: in, path: /tmp/in}]}
    outputs: {artifacts: [{name: o, path: /tmp/o, s3: {key: fixed/o.txt}}]}
    container: {image: busybox}
)"),
           {{"default", true}, {"artifactRepository", kRepo}});
  EngineOutput out = r.Step();
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  const json t = TemplateOf(out.pods_to_create[0]);
  json want = kRepo["s3"];
  want["key"] = "inputs/data.txt";
  EXPECT_EQ(t["inputs"]["artifacts"][0]["s3"], want);
  want["key"] = "fixed/o.txt";
  EXPECT_EQ(t["outputs"]["artifacts"][0]["s3"], want);
  EXPECT_EQ(out.pods_to_create[0]["spec"]["volumes"][0]["secret"]["secretName"], "my-s3-cred");
}

TEST(RepositoryTest, EverySecretTheLocationsNameIsMountedOnce) {
  Runner r(Yaml(R"(
metadata: {name: sec}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: read
        template: read
        arguments:
          artifacts:
          - name: a
            http:
              url: http://h/x
              auth: {basicAuth: {usernameSecret: {name: web, key: u}, passwordSecret: {name: web, key: p}}}
          - name: b
            git: {repo: "https://h/r.git", sshPrivateKeySecret: {name: ssh-key, key: id}}
  - name: read
    inputs: {artifacts: [{name: a, path: /tmp/a}, {name: b, path: /tmp/b}]}
    container: {image: busybox}
)"),
           {{"default", true}});
  EngineOutput out = r.Step();
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  const json& spec = out.pods_to_create[0]["spec"];
  EXPECT_EQ(spec["volumes"], Yaml(R"([{name: argo-art-0, secret: {secretName: web}},
                                      {name: argo-art-1, secret: {secretName: ssh-key}}])"));
  EXPECT_EQ(spec["containers"][0]["volumeMounts"][1]["mountPath"],
            "/var/run/argonaut/artifact-secrets/ssh-key");
  // Only references enter the template, never a value.
  EXPECT_EQ(
      TemplateOf(out.pods_to_create[0])["inputs"]["artifacts"][1]["git"]["sshPrivateKeySecret"],
      Yaml("{name: ssh-key, key: id}"));
}

TEST(RepositoryTest, BadSecretNamesAndKeyFormatsFailTheNodeNamingTheField) {
  json repo = kRepo;
  repo["s3"]["keyFormat"] = "{{workflow.nope}}/{{pod.name}}";
  Runner r(Yaml(R"(
metadata: {name: bad}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: fmt, template: out}
      - name: sec
        template: read
        arguments:
          artifacts: [{name: in, s3: {bucket: b, key: k, accessKeySecret: {name: ../etc, key: x}}}]
  - name: out
    container: {image: busybox}
    outputs: {artifacts: [{name: o, path: /tmp/o}]}
  - name: read
    inputs: {artifacts: [{name: in, path: /tmp/in}]}
    container: {image: busybox}
)"),
           {{"default", true}, {"artifactRepository", repo}});
  EngineOutput out = r.Step();
  EXPECT_TRUE(out.pods_to_create.empty());
  for (const json& n : r.status()["nodes"]) {
    if (n["displayName"] == "fmt") {
      EXPECT_EQ(n["phase"], "Error");
      EXPECT_THAT(n["message"].get<std::string>(), HasSubstr("artifactRepository.s3.keyFormat"));
    }
    if (n["displayName"] == "sec") {
      EXPECT_EQ(n["phase"], "Error");
      EXPECT_THAT(n["message"].get<std::string>(),
                  HasSubstr("s3.accessKeySecret.name: \"../etc\" is not a valid Secret name"));
    }
  }
}

TEST(RepositoryTest, AnUnresolvedRepositoryIsAWorkflowError) {
  Runner r(Yaml(kPassing), nullptr);
  r.in().artifact_repository_error =
      "ConfigMap \"artifact-repositories\" in namespace \"argo\" has no key \"nope\"";
  EngineOutput out = r.Step();
  EXPECT_TRUE(out.pods_to_create.empty());
  EXPECT_EQ(r.status()["phase"], "Error");
  EXPECT_EQ(r.status()["message"],
            "failed to resolve artifact repository: ConfigMap \"artifact-repositories\" in "
            "namespace \"argo\" has no key \"nope\"");
}

TEST(RepositoryTest, DefaultWithoutRepositoryKeepsTheLocalFolder) {
  Runner r(Yaml(kPassing), {{"default", true}});
  EngineOutput out = r.Step();
  EXPECT_EQ(r.status()["artifactRepositoryRef"], json({{"default", true}}));
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  const json& gen = out.pods_to_create[0];
  EXPECT_EQ(TemplateOf(gen)["archiveLocation"]["local"]["key"],
            "artifact-passing-x/" + gen["metadata"]["name"].get<std::string>());
  EXPECT_EQ(Env(gen, "ARGONAUT_ARTIFACT_REPO_HOST"), "/data/artifacts");
}

TEST(RepositoryTest, ArgumentFromExpressionPicksAnArtifact) {
  Runner r(Yaml(R"(
metadata: {name: fe}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: gen, template: gen}
    - - name: use
        template: use
        arguments:
          artifacts:
          - name: in
            fromExpression: "steps.gen.outputs.result == 'a' ? steps.gen.outputs.artifacts.o : nil"
  - name: gen
    container: {image: busybox}
    outputs: {artifacts: [{name: o, path: /tmp/o}]}
  - name: use
    inputs: {artifacts: [{name: in, path: /tmp/in}]}
    container: {image: busybox}
)"),
           {{"default", true}, {"artifactRepository", kRepo}});
  EngineOutput first = r.Step();
  ASSERT_EQ(first.pods_to_create.size(), 1u);
  const std::string gen_pod = first.pods_to_create[0]["metadata"]["name"];
  json saved = kRepo["s3"];
  saved["key"] = "fe/" + gen_pod + "/o.tgz";
  r.Finish(gen_pod,
           {{"result", "a"}, {"artifacts", json::array({{{"name", "o"}, {"s3", saved}}})}});
  EngineOutput second = r.Step();
  ASSERT_EQ(second.pods_to_create.size(), 1u);
  EXPECT_EQ(TemplateOf(second.pods_to_create[0])["inputs"]["artifacts"][0]["s3"], saved);
}

TEST(RepositoryTest, RepositoryLocationKinds) {
  auto render = [](const std::string& s) -> absl::StatusOr<std::string> {
    return absl::StrCat("<", s, ">");
  };
  struct Case {
    const char* repo;
    const char* want;
  };
  for (const Case& c : {
           Case{"{s3: {bucket: b}}", "{s3: {bucket: b, key: '<{{workflow.name}}/{{pod.name}}>'}}"},
           Case{"{s3: {bucket: b, keyFormat: k, keyPrefix: p}}", "{s3: {bucket: b, key: p/<k>}}"},
           Case{"{gcs: {bucket: b, keyFormat: k}}", "{gcs: {bucket: b, key: <k>}}"},
           Case{"{oss: {bucket: b, endpoint: e}}",
                "{oss: {bucket: b, endpoint: e, key: '<{{workflow.name}}/{{pod.name}}>'}}"},
           Case{"{azure: {container: c, blobNameFormat: f}}", "{azure: {container: c, blob: <f>}}"},
           Case{"{hdfs: {addresses: [a], pathFormat: f}}", "{hdfs: {addresses: [a], path: <f>}}"},
           Case{"{artifactory: {repoURL: 'http://r/', keyFormat: k}}",
                "{artifactory: {url: 'http://r/<k>'}}"},
       }) {
    absl::StatusOr<json> got = RepositoryLocation(Yaml(c.repo), render);
    ASSERT_OK(got.status()) << c.repo;
    EXPECT_EQ(*got, Yaml(c.want)) << c.repo;
  }
  EXPECT_THAT(RepositoryLocation(Yaml("{archiveLogs: true}"), render).status().message(),
              HasSubstr("artifactRepository: names no location"));
  EXPECT_THAT(RepositoryLocation(Yaml("{s3: {keyFormat: 3}}"), render).status().message(),
              HasSubstr("artifactRepository.s3.keyFormat: not a string"));
}

}  // namespace
}  // namespace argonaut::workflow::engine
