#include "lib/cluster/workloads/container_env.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::workloads {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::optional<std::string> Vars(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> kVars = {{"A", "alpha"},
                                                                        {"B", "beta"}};
  auto it = kVars.find(name);
  if (it == kVars.end()) return std::nullopt;
  return it->second;
}

TEST(ExpandVarsTest, KubernetesSemantics) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"$(A)", "alpha"},
      {"x-$(A)-$(B)-y", "x-alpha-beta-y"},
      {"$(MISSING)", "$(MISSING)"},
      {"$$(A)", "$(A)"},
      {"$$$(A)", "$alpha"},
      {"$$", "$"},
      {"$A", "$A"},
      {"$(A", "$(A"},
      {"trailing $", "trailing $"},
      {"$()", "$()"},
      {"", ""},
      {"no vars", "no vars"},
  };
  for (const Case& c : cases) EXPECT_EQ(ExpandVars(c.in, Vars), c.out) << c.in;
}

const Json kPod = {
    {"metadata",
     {{"name", "p1"},
      {"namespace", "ns"},
      {"uid", "uid-1"},
      {"labels", {{"app", "web"}}},
      {"annotations", {{"team", "core"}}}}},
    {"spec",
     {{"nodeName", "node-a"},
      {"containers",
       {{{"name", "c"},
         {"resources", {{"limits", {{"memory", "128Mi"}}}, {"requests", {{"cpu", "250m"}}}}},
         {"envFrom",
          {{{"configMapRef", {{"name", "cfg"}}}, {"prefix", "CFG_"}},
           {{"secretRef", {{"name", "sec"}}}}}},
         {"env",
          {{{"name", "GREETING"}, {"value", "hello $(CFG_mode) $(UNDEFINED) $$(CFG_mode)"}},
           {{"name", "POD"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
           {{"name", "NS"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.namespace"}}}}}},
           {{"name", "UID"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.uid"}}}}}},
           {{"name", "APP"},
            {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.labels['app']"}}}}}},
           {{"name", "TEAM"},
            {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.annotations['team']"}}}}}},
           {{"name", "IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
           {{"name", "NODE"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.nodeName"}}}}}},
           {{"name", "LEVEL"},
            {"valueFrom", {{"configMapKeyRef", {{"name", "cfg"}, {"key", "level"}}}}}},
           {{"name", "PASSWORD"},
            {"valueFrom", {{"secretKeyRef", {{"name", "sec"}, {"key", "password"}}}}}},
           {{"name", "OPT"},
            {"valueFrom",
             {{"configMapKeyRef", {{"name", "nope"}, {"key", "k"}, {"optional", true}}}}}},
           {{"name", "MEM_MI"},
            {"valueFrom",
             {{"resourceFieldRef", {{"resource", "limits.memory"}, {"divisor", "1Mi"}}}}}},
           {{"name", "CPU_M"},
            {"valueFrom",
             {{"resourceFieldRef", {{"resource", "requests.cpu"}, {"divisor", "1m"}}}}}},
           {{"name", "CPU_LIMIT"},
            {"valueFrom", {{"resourceFieldRef", {{"resource", "limits.cpu"}}}}}},
           {{"name", "COMBINED"}, {"value", "$(POD).$(NS)"}}}},
         {"command", {"/bin/sh", "-c"}},
         {"args", {"echo $(GREETING) $(POD) $(NOPE) $$(POD)"}}}}}}},
    {"status", {{"podIP", "10.0.0.7"}}}};

std::optional<Json> Lookup(std::string_view kind, std::string_view name) {
  if (kind == "ConfigMap" && name == "cfg") {
    return Json{{"data", {{"mode", "fast"}, {"level", "3"}, {"bad key!", "x"}}}};
  }
  if (kind == "Secret" && name == "sec") {
    // "hunter2" in base64; stringData wins over data for the same key.
    return Json{{"data", {{"password", "aHVudGVyMg=="}, {"token", "b2xk"}}},
                {"stringData", {{"token", "new"}}}};
  }
  return std::nullopt;
}

std::map<std::string, std::string> AsMap(const std::vector<EnvVar>& env) {
  std::map<std::string, std::string> m;
  for (const EnvVar& e : env) m[e.name] = e.value;
  return m;
}

TEST(ContainerEnvTest, ResolvesAllSources) {
  auto env = ResolveContainerEnv(kPod, "containers", 0, Lookup, Json{{"cpu", "3500m"}});
  ASSERT_TRUE(env.ok()) << env.status();
  auto m = AsMap(*env);
  EXPECT_EQ(m["CFG_mode"], "fast");
  EXPECT_EQ(m["CFG_level"], "3");
  EXPECT_EQ(m.count("CFG_bad key!"), 0u);  // not a valid variable name: skipped
  EXPECT_EQ(m["password"], "hunter2");
  EXPECT_EQ(m["token"], "new");
  EXPECT_EQ(m["GREETING"], "hello fast $(UNDEFINED) $(CFG_mode)");
  EXPECT_EQ(m["POD"], "p1");
  EXPECT_EQ(m["NS"], "ns");
  EXPECT_EQ(m["UID"], "uid-1");
  EXPECT_EQ(m["APP"], "web");
  EXPECT_EQ(m["TEAM"], "core");
  EXPECT_EQ(m["IP"], "10.0.0.7");
  EXPECT_EQ(m["NODE"], "node-a");
  EXPECT_EQ(m["LEVEL"], "3");
  EXPECT_EQ(m["PASSWORD"], "hunter2");
  EXPECT_EQ(m.count("OPT"), 0u);
  EXPECT_EQ(m["MEM_MI"], "128");
  EXPECT_EQ(m["CPU_M"], "250");
  EXPECT_EQ(m["CPU_LIMIT"], "4");  // node allocatable 3.5 cores, rounded up
  EXPECT_EQ(m["COMBINED"], "p1.ns");
  // envFrom entries come first, env entries after in declaration order.
  EXPECT_EQ(env->front().name, "CFG_level");
  EXPECT_EQ(env->back().name, "COMBINED");

  auto cmd = ExpandCommandAndArgs(kPod["spec"]["containers"][0], *env, "spec.containers[0]");
  ASSERT_TRUE(cmd.ok());
  EXPECT_THAT(cmd->command, ElementsAre("/bin/sh", "-c"));
  EXPECT_THAT(cmd->args, ElementsAre("echo hello fast $(UNDEFINED) $(CFG_mode) p1 $(NOPE) $(POD)"));
}

TEST(ContainerEnvTest, MissingReferencesNameTheField) {
  Json pod = kPod;
  Json& env = pod["spec"]["containers"][0]["env"];
  env[8]["valueFrom"]["configMapKeyRef"]["name"] = "absent";
  EXPECT_THAT(ResolveContainerEnv(pod, "containers", 0, Lookup),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("spec.containers[0].env[8].valueFrom.configMapKeyRef: configmap "
                                 "\"absent\" not found")));
  pod = kPod;
  pod["spec"]["containers"][0]["env"][9]["valueFrom"]["secretKeyRef"]["key"] = "nokey";
  EXPECT_THAT(ResolveContainerEnv(pod, "containers", 0, Lookup),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("spec.containers[0].env[9].valueFrom.secretKeyRef: couldn't find "
                                 "key nokey in Secret sec")));
  pod = kPod;
  pod["spec"]["containers"][0]["envFrom"][1]["secretRef"]["name"] = "gone";
  EXPECT_THAT(ResolveContainerEnv(pod, "containers", 0, Lookup),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("spec.containers[0].envFrom[1].secretRef")));
  pod["spec"]["containers"][0]["envFrom"][1]["secretRef"]["optional"] = true;
  EXPECT_TRUE(ResolveContainerEnv(pod, "containers", 0, Lookup).ok());
  pod = kPod;
  pod["spec"]["containers"][0]["env"][1]["valueFrom"]["fieldRef"]["fieldPath"] = "spec.secret";
  EXPECT_THAT(ResolveContainerEnv(pod, "containers", 0, Lookup),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("env[1].valueFrom.fieldRef")));
  EXPECT_THAT(ResolveContainerEnv(kPod, "containers", 3, Lookup),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.containers[3]")));
  pod = kPod;
  pod["spec"]["containers"][0]["env"][0]["value"] = 12;
  EXPECT_THAT(ResolveContainerEnv(pod, "containers", 0, Lookup),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("env[0].value")));
}

TEST(ContainerEnvTest, Quantities) {
  EXPECT_DOUBLE_EQ(static_cast<double>(*ParseQuantity("500m", "q")), 0.5);
  EXPECT_EQ(*ParseQuantity("2Gi", "q"), 2147483648.0L);
  EXPECT_EQ(*ParseQuantity("1k", "q"), 1000.0L);
  EXPECT_EQ(*ParseQuantity("2e3", "q"), 2000.0L);
  for (const char* bad : {"", "abc", "5Q", "-1", "1.2.3m"}) {
    EXPECT_THAT(ParseQuantity(bad, "resources.limits.cpu"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resources.limits.cpu")))
        << bad;
  }
}

}  // namespace
}  // namespace argonaut::cluster::workloads
