// HTTP templates in the pure engine: the request it asks for, the node lifecycle as the
// controller's reports come in, Argo's success rules, and refused plugin templates; plus
// parameters from ConfigMaps (valueFrom.configMapKeyRef), which must never leave a workflow
// Pending without a word.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"
#include "services/workflow/engine/engine.h"
#include "services/workflow/engine/nodes.h"
#include "services/workflow/engine/test_yaml.h"

namespace argonaut::workflow::engine {
namespace {

using ::argonaut::workflow::testing::Yaml;
using nlohmann::json;
using ::testing::HasSubstr;

// `name` = the value of a StatusOr expression that must be OK.
#define ASSIGN_OK(name, expr)    \
  auto name##_or = (expr);       \
  ASSERT_OK(name##_or.status()); \
  EngineOutput name = *std::move(name##_or)

// Drives Operate() the way the controller does: every request the engine asks for is answered
// (by `respond`) before the next call; `in_flight` calls see it still running first.
class HttpWorld {
 public:
  HttpWorld(json wf, std::function<HttpResult(const json& request)> respond)
      : wf_(std::move(wf)), respond_(std::move(respond)) {}

  absl::StatusOr<EngineOutput> Step() {
    EngineInput in;
    in.workflow = wf_;
    in.now = now_;
    in.http = results_;
    in.configmaps = configmaps;
    absl::StatusOr<EngineOutput> out = Operate(in);
    if (!out.ok()) return out;
    wf_["status"] = out->status;
    for (const auto& [id, req] : out->http_requests) {
      requests.push_back(req);
      if (pending_[id]++ < in_flight) {
        results_[id] = HttpResult{};  // started, not answered yet
      } else {
        HttpResult r = respond_(req);
        r.done = true;
        results_[id] = r;
      }
    }
    now_ += absl::Seconds(1);
    return out;
  }

  absl::Status Run(int max_steps = 50) {
    for (int i = 0; i < max_steps; ++i) {
      absl::StatusOr<EngineOutput> out = Step();
      if (!out.ok()) return out.status();
      if (PhaseCompleted(phase())) return absl::OkStatus();
    }
    return absl::DeadlineExceededError("workflow did not finish; phase " + phase());
  }

  std::string phase() const { return wf_["status"].value("phase", ""); }
  std::string message() const { return wf_["status"].value("message", ""); }
  const json* Node(const std::string& name) const {
    const json& nodes = wf_["status"]["nodes"];
    if (!nodes.is_object()) return nullptr;
    auto it = nodes.find(NodeId(wf_["metadata"]["name"].get<std::string>(), name));
    return it == nodes.end() ? nullptr : &*it;
  }
  json& workflow() { return wf_; }

  std::vector<json> requests;  // every request the engine asked for, in order
  int in_flight = 0;           // calls a request is reported running before its answer
  ConfigMapLookup configmaps;

 private:
  json wf_;
  std::function<HttpResult(const json& request)> respond_;
  std::map<std::string, HttpResult> results_;
  std::map<std::string, int> pending_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

HttpResult Response(int code, std::string body,
                    std::map<std::string, std::vector<std::string>> headers = {}) {
  HttpResult r;
  r.status_code = code;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// Argo's examples/http-hello-world.yaml, with local URLs.
constexpr char kHelloWorld[] = R"(
metadata: {name: http-hello}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: good
        template: http
        arguments: {parameters: [{name: url, value: "http://127.0.0.1:1/good"}]}
      - name: bad
        template: http
        continueOn: {failed: true}
        arguments: {parameters: [{name: url, value: "http://127.0.0.1:1/bad"}]}
  - name: http
    inputs: {parameters: [{name: url}]}
    http:
      url: "{{inputs.parameters.url}}"
)";

HttpResult GoodOrNotFound(const json& req) {
  if (absl::EndsWith(req["url"].get<std::string>(), "/good")) return Response(200, "{\"ok\":1}");
  return Response(404, "404: Not Found");
}

TEST(HttpTemplateTest, FirstCallAsksForTheRequestAndCreatesNoPod) {
  EngineInput in;
  in.workflow = Yaml(kHelloWorld);
  in.now = absl::FromUnixSeconds(1700000000);
  ASSIGN_OK(out, Operate(in));
  EXPECT_TRUE(out.pods_to_create.empty());
  ASSERT_EQ(out.http_requests.size(), 2u);
  const std::string good = NodeId("http-hello", "http-hello[0].good");
  ASSERT_TRUE(out.http_requests.count(good));
  const json& req = out.http_requests[good];
  EXPECT_EQ(req["url"], "http://127.0.0.1:1/good");
  EXPECT_EQ(req["method"], "GET");
  EXPECT_EQ(req["timeoutSeconds"], 30);
  EXPECT_EQ(req["insecureSkipVerify"], false);
  EXPECT_EQ(req["headers"], json::array());
  const json& node = out.status["nodes"][good];
  EXPECT_EQ(node["type"], "HTTP");
  EXPECT_EQ(node["phase"], "Pending");
  EXPECT_EQ(node["inputs"]["parameters"][0]["value"], "http://127.0.0.1:1/good");
}

TEST(HttpTemplateTest, HelloWorldGoodSucceedsBadFailsAndContinues) {
  HttpWorld w(Yaml(kHelloWorld), GoodOrNotFound);
  w.in_flight = 1;
  ASSERT_OK(w.Step());
  ASSERT_OK(w.Step());  // both requests reported in flight
  EXPECT_EQ(w.Node("http-hello[0].good")->at("phase"), "Running");
  ASSERT_OK(w.Run());
  EXPECT_EQ(w.phase(), "Succeeded") << w.workflow()["status"].dump(2);
  const json* good = w.Node("http-hello[0].good");
  EXPECT_EQ(good->at("phase"), "Succeeded");
  EXPECT_EQ(good->at("outputs")["result"], "{\"ok\":1}");
  EXPECT_FALSE(good->contains("message"));
  const json* bad = w.Node("http-hello[0].bad");
  EXPECT_EQ(bad->at("phase"), "Failed");
  EXPECT_EQ(bad->at("message"), "received non-2xx response code: 404");
  EXPECT_EQ(bad->at("outputs")["result"], "404: Not Found");
  // Each node's request was asked for until it was answered, and never again after.
  EXPECT_EQ(w.requests.size(), 4u);
  ASSIGN_OK(after, w.Step());
  EXPECT_TRUE(after.http_requests.empty());
}

TEST(HttpTemplateTest, SuccessConditionsOverStatusBodyAndHeaders) {
  struct Case {
    std::string condition;
    HttpResult response;
    std::string phase;
    std::string message;  // substring
  };
  const std::vector<Case> cases = {
      {"response.statusCode == 201", Response(201, ""), "Succeeded", ""},
      {"response.statusCode == 201", Response(200, "x"), "Failed",
       "successCondition 'response.statusCode == 201' evaluated false"},
      // A condition replaces the 2xx rule: a 500 can be what the template wants.
      {"response.statusCode == 500", Response(500, ""), "Succeeded", ""},
      {"response.body contains \"google\"", Response(200, "<html>google</html>"), "Succeeded", ""},
      {"response.body contains \"google\"", Response(200, "<html>bing</html>"), "Failed",
       "evaluated false"},
      {"response.headers[\"Server\"][0] == \"cloudflare\"",
       Response(200, "", {{"Server", {"cloudflare"}}}), "Succeeded", ""},
      {"request.method == \"POST\" && request.body == \"hi\" && "
       "request.headers[\"X-A\"][0] == \"b\"",
       Response(200, ""), "Succeeded", ""},
      {"response.statusCode ==", Response(200, ""), "Failed", "http.successCondition: "},
  };
  for (const Case& c : cases) {
    json wf = Yaml(R"(
metadata: {name: cond}
spec:
  entrypoint: call
  templates:
  - name: call
    http: {url: "https://127.0.0.1:1/x", method: POST, body: hi,
           headers: [{name: X-A, value: b}]}
)");
    wf["spec"]["templates"][0]["http"]["successCondition"] = c.condition;
    HttpWorld w(wf, [&](const json&) { return c.response; });
    ASSERT_OK(w.Run());
    const json* n = w.Node("cond");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->at("type"), "HTTP");
    EXPECT_EQ(n->at("phase"), c.phase) << c.condition;
    EXPECT_EQ(w.phase(), c.phase) << c.condition;
    if (!c.message.empty()) {
      EXPECT_THAT(n->value("message", ""), HasSubstr(c.message));
    }
  }
}

TEST(HttpTemplateTest, TransportErrorFailsTheNodeWithTheReason) {
  HttpWorld w(Yaml(R"(
metadata: {name: down}
spec:
  entrypoint: call
  templates:
  - name: call
    http: {url: "http://127.0.0.1:1/", timeoutSeconds: 2}
)"),
              [](const json& req) {
                EXPECT_EQ(req["timeoutSeconds"], 2);
                HttpResult r;
                r.error = "GET http://127.0.0.1:1/: timed out after 2 s";
                return r;
              });
  ASSERT_OK(w.Run());
  EXPECT_EQ(w.phase(), "Failed");
  EXPECT_EQ(w.message(), "GET http://127.0.0.1:1/: timed out after 2 s");
  EXPECT_FALSE(w.Node("down")->contains("outputs"));
}

TEST(HttpTemplateTest, RequestFieldsAndBadSpecsNameTheField) {
  struct Case {
    std::string http;   // YAML flow mapping
    std::string error;  // "" = valid
  };
  const std::vector<Case> cases = {
      {"{method: GET}", "http.url: required"},
      {"{url: \"file:///etc/passwd\"}", "http.url: \"file:///etc/passwd\" is not an http or https"},
      {"{url: \"http://h/\", timeoutSeconds: 0}", "http.timeoutSeconds: must be a positive"},
      {"{url: \"http://h/\", method: \"GET /x\"}", "http.method: invalid method"},
      {"{url: \"http://h/\", headers: [{value: x}]}", "http.headers[0].name: required"},
      {"{url: \"http://h/\", headers: [{name: A, valueFrom: {secretKeyRef: {name: s}}}]}",
       "http.headers[0].valueFrom.secretKeyRef: needs name and key"},
      {"{url: \"http://h/\", headers: [{name: A, value: \"x\\r\\nB: y\"}]}",
       "http.headers[0].value: must not contain line breaks"},
      {"{url: \"http://h/\", bodyFrom: {bytes: \"@@@\"}}", "http.bodyFrom.bytes: not base64"},
      {"{url: \"http://h/\", insecureSkipVerify: yes-please}", "http.insecureSkipVerify"},
      {"{url: \"HTTPS://h/\", method: PUT, timeoutSeconds: \"5\", insecureSkipVerify: true, "
       "bodyFrom: {bytes: aGk=}, headers: [{name: A, value: v}, "
       "{name: Authorization, valueFrom: {secretKeyRef: {name: s, key: k}}}]}",
       ""},
  };
  for (const Case& c : cases) {
    json wf = Yaml(R"(
metadata: {name: spec}
spec:
  entrypoint: call
  templates:
  - name: call
)");
    wf["spec"]["templates"][0]["http"] = Yaml(c.http);
    EngineInput in;
    in.workflow = wf;
    in.now = absl::FromUnixSeconds(1700000000);
    ASSIGN_OK(out, Operate(in));
    const json& node = out.status["nodes"][NodeId("spec", "spec")];
    if (c.error.empty()) {
      ASSERT_EQ(out.http_requests.size(), 1u) << out.status.dump();
      const json& req = out.http_requests.begin()->second;
      EXPECT_EQ(req["method"], "PUT");
      EXPECT_EQ(req["timeoutSeconds"], 5);
      EXPECT_EQ(req["insecureSkipVerify"], true);
      EXPECT_EQ(req["bodyBase64"], "aGk=");
      EXPECT_EQ(req["headers"][1], json::parse(R"({"name": "Authorization",
                                                  "secretKeyRef": {"name": "s", "key": "k"}})"));
      EXPECT_EQ(node["phase"], "Pending");
    } else {
      EXPECT_TRUE(out.http_requests.empty()) << c.http;
      EXPECT_EQ(node["phase"], "Error") << c.http;
      EXPECT_THAT(node.value("message", ""), HasSubstr(c.error)) << c.http;
      EXPECT_EQ(out.status["phase"], "Error") << c.http;
    }
  }
}

TEST(HttpTemplateTest, RetriesRunANewRequestPerAttemptAndResultFeedsTheNextStep) {
  int calls = 0;
  HttpWorld w(Yaml(R"(
metadata: {name: retry}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: call, template: call}
    - - name: use
        template: echo
        arguments: {parameters: [{name: v, value: "{{steps.call.outputs.result}}"}]}
  - name: call
    retryStrategy: {limit: 2}
    http: {url: "http://127.0.0.1:1/flaky"}
  - name: echo
    inputs: {parameters: [{name: v}]}
    http: {url: "http://127.0.0.1:1/echo?v={{inputs.parameters.v}}"}
)"),
              [&](const json& req) {
                if (absl::StrContains(req["url"].get<std::string>(), "/echo")) {
                  return Response(200, req["url"].get<std::string>());
                }
                return ++calls < 2 ? Response(503, "busy") : Response(200, "42");
              });
  ASSERT_OK(w.Run());
  EXPECT_EQ(w.phase(), "Succeeded") << w.workflow()["status"].dump(2);
  EXPECT_EQ(calls, 2);
  const json* retry = w.Node("retry[0].call");
  ASSERT_NE(retry, nullptr);
  EXPECT_EQ(retry->at("type"), "Retry");
  EXPECT_EQ(retry->at("children").size(), 2u);
  EXPECT_EQ(w.Node("retry[0].call(0)")->at("message"), "received non-2xx response code: 503");
  EXPECT_EQ(w.Node("retry[0].call(1)")->at("phase"), "Succeeded");
  EXPECT_EQ(w.Node("retry[1].use")->at("outputs")["result"], "http://127.0.0.1:1/echo?v=42");
}

TEST(HttpTemplateTest, InvalidUtf8BodyIsStoredAsValidText) {
  HttpWorld w(Yaml(R"(
metadata: {name: bytes}
spec:
  entrypoint: call
  templates:
  - {name: call, http: {url: "http://127.0.0.1:1/"}}
)"),
              [](const json&) {
                return Response(200, std::string("a\xff"
                                                 "b",
                                                 3));
              });
  ASSERT_OK(w.Run());
  EXPECT_EQ(w.Node("bytes")->at("outputs")["result"],
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_NO_THROW(w.workflow().dump());
}

TEST(HttpTemplateTest, ShutdownFailsAnOpenHttpNode) {
  HttpWorld w(Yaml(R"(
metadata: {name: stop}
spec:
  entrypoint: call
  templates:
  - {name: call, http: {url: "http://127.0.0.1:1/"}}
)"),
              [](const json&) { return Response(200, ""); });
  w.in_flight = 100;
  ASSERT_OK(w.Step());
  ASSERT_OK(w.Step());
  EXPECT_EQ(w.Node("stop")->at("phase"), "Running");
  w.workflow()["spec"]["shutdown"] = "Terminate";
  ASSIGN_OK(out, w.Step());
  EXPECT_TRUE(out.http_requests.empty());
  EXPECT_EQ(w.Node("stop")->at("phase"), "Failed");
  EXPECT_EQ(w.phase(), "Failed");
}

TEST(PluginTemplateTest, WorkflowEndsInErrorAtOnceNamingTheTemplate) {
  EngineInput in;
  in.workflow = Yaml(R"(
metadata: {name: plug}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: p, template: hello-plugin}]]
  - name: hello-plugin
    plugin: {hello: {}}
)");
  in.now = absl::FromUnixSeconds(1700000000);
  ASSIGN_OK(out, Operate(in));
  EXPECT_EQ(out.status["phase"], "Error");
  EXPECT_EQ(out.status["message"], "executor plugins are not supported: template hello-plugin");
  EXPECT_TRUE(out.pods_to_create.empty());
}

TEST(PluginTemplateTest, PluginFromAWorkflowTemplateErrsItsNode) {
  EngineInput in;
  in.workflow = Yaml(R"(
metadata: {name: plug-ref}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: p, templateRef: {name: wt, template: plug}}]]
)");
  in.lookup = [](std::string_view kind, std::string_view name) -> std::optional<json> {
    if (kind != "WorkflowTemplate" || name != "wt") return std::nullopt;
    return Yaml("metadata: {name: wt}\nspec: {templates: [{name: plug, plugin: {x: {}}}]}");
  };
  in.now = absl::FromUnixSeconds(1700000000);
  ASSIGN_OK(out, Operate(in));
  const json& node = out.status["nodes"][NodeId("plug-ref", "plug-ref[0].p")];
  EXPECT_EQ(node["type"], "Plugin");
  EXPECT_EQ(node["phase"], "Error");
  EXPECT_EQ(node["message"], "executor plugins are not supported: template plug");
  EXPECT_TRUE(PhaseCompleted(out.status["phase"].get<std::string>())) << out.status.dump(2);
}

TEST(SilentPendingTest, NameTooLongForAPodLabelEndsInError) {
  EngineInput in;
  in.workflow = Yaml(R"(
metadata: {name: global-parameter-from-configmap-referenced-as-local-variable-d4988}
spec:
  entrypoint: s
  templates:
  - {name: s, container: {image: busybox}}
)");
  in.now = absl::FromUnixSeconds(1700000000);
  ASSIGN_OK(out, Operate(in));
  EXPECT_EQ(out.status["phase"], "Error");
  EXPECT_THAT(out.status.value("message", ""),
              HasSubstr("must not be more than 63 characters long (currently 66)"));
  EXPECT_TRUE(out.pods_to_create.empty());
}

TEST(SilentPendingTest, TemplateOfNoKnownTypeEndsTheWorkflow) {
  EngineInput in;
  in.workflow = Yaml(R"(
metadata: {name: untyped}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: a, template: nothing}]]
  - {name: nothing, inputs: {}}
)");
  in.now = absl::FromUnixSeconds(1700000000);
  json status = json::object();
  for (int i = 0; i < 5 && !PhaseCompleted(status.value("phase", "")); ++i) {
    if (!status.empty()) in.workflow["status"] = status;
    ASSIGN_OK(out, Operate(in));
    status = out.status;
  }
  EXPECT_TRUE(PhaseCompleted(status.value("phase", ""))) << status.dump(2);
  EXPECT_THAT(status.dump(), HasSubstr("nothing\\\" has no known type"));
}

TEST(SilentPendingTest, DataTemplateErrsItsNodeNamingTheTemplate) {
  EngineInput in;
  in.workflow = Yaml(R"(
metadata: {name: data}
spec:
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: d, template: transform}]]
  - name: transform
    data:
      source: {artifactPaths: {s3: {bucket: b}}}
      transformation: [{expression: "true"}]
)");
  in.now = absl::FromUnixSeconds(1700000000);
  ASSIGN_OK(out, Operate(in));
  EXPECT_TRUE(out.pods_to_create.empty());
  const json& node = out.status["nodes"][NodeId("data", "data[0].d")];
  EXPECT_EQ(node["phase"], "Error");
  EXPECT_EQ(node["message"], "data templates are not supported: template transform");
}

// --- valueFrom.configMapKeyRef

ConfigMapLookup OneConfigMap(std::string name, std::string key, std::string value) {
  return [=](std::string_view n, std::string_view k) -> absl::StatusOr<std::string> {
    if (n != name) return absl::NotFoundError("ConfigMap \"" + std::string(n) + "\" not found");
    if (k != key) return absl::NotFoundError("ConfigMap has no key \"" + std::string(k) + "\"");
    return value;
  };
}

// Argo's examples/global-parameters-from-configmap-referenced-as-local-variable.yaml.
constexpr char kGlobalFromConfigMap[] = R"(
metadata: {name: cm-global, namespace: argo}
spec:
  entrypoint: print-message
  arguments:
    parameters:
    - name: message
      valueFrom: {configMapKeyRef: {name: simple-parameters, key: msg}}
  templates:
  - name: print-message
    inputs: {parameters: [{name: message}]}
    container: {image: busybox, command: [echo], args: ["{{inputs.parameters.message}}"]}
)";

TEST(ConfigMapParameterTest, GlobalParameterFromAMissingConfigMapEndsInError) {
  EngineInput in;
  in.workflow = Yaml(kGlobalFromConfigMap);
  in.now = absl::FromUnixSeconds(1700000000);
  in.configmaps = OneConfigMap("other", "msg", "x");
  ASSIGN_OK(out, Operate(in));
  EXPECT_EQ(out.status["phase"], "Error");
  EXPECT_THAT(out.status.value("message", ""), HasSubstr("spec.arguments.parameters[0] (message)"));
  EXPECT_THAT(out.status.value("message", ""),
              HasSubstr("ConfigMap \"simple-parameters\" not found"));
  EXPECT_TRUE(out.pods_to_create.empty());
}

TEST(ConfigMapParameterTest, GlobalParameterFromTheConfigMapReachesThePod) {
  EngineInput in;
  in.workflow = Yaml(kGlobalFromConfigMap);
  in.now = absl::FromUnixSeconds(1700000000);
  in.configmaps = OneConfigMap("simple-parameters", "msg", "hello world");
  ASSIGN_OK(out, Operate(in));
  EXPECT_EQ(out.status["phase"], "Running");
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  EXPECT_EQ(out.pods_to_create[0]["spec"]["containers"][0]["env"].dump().find("hello world") !=
                std::string::npos,
            true);
  EXPECT_EQ(
      out.status["nodes"][NodeId("cm-global", "cm-global")]["inputs"]["parameters"][0]["value"],
      "hello world");
}

TEST(ConfigMapParameterTest, DefaultAndOptionalApplyOnlyWhenMissing) {
  struct Case {
    std::string param;  // YAML
    std::string value;  // "" with error set
    std::string error;
  };
  const std::vector<Case> cases = {
      {"{name: m, valueFrom: {default: dflt, configMapKeyRef: {name: gone, key: msg}}}", "dflt",
       ""},
      {"{name: m, default: top, valueFrom: {configMapKeyRef: {name: cm, key: nokey}}}", "top", ""},
      {"{name: m, valueFrom: {configMapKeyRef: {name: gone, key: msg, optional: true}}}", "", ""},
      {"{name: m, value: given, valueFrom: {configMapKeyRef: {name: gone, key: msg}}}", "given",
       ""},
      {"{name: m, valueFrom: {default: d, configMapKeyRef: {name: cm, key: msg}}}", "from-cm", ""},
      {"{name: m, valueFrom: {configMapKeyRef: {name: cm, key: nokey}}}", "", "no key \"nokey\""},
      {"{name: m, valueFrom: {configMapKeyRef: {name: cm}}}", "", "needs name and key"},
  };
  for (const Case& c : cases) {
    json wf = Yaml(R"(
metadata: {name: cm}
spec:
  entrypoint: s
  templates:
  - {name: s, suspend: {}}
)");
    wf["spec"]["arguments"]["parameters"] = json::array({Yaml(c.param)});
    EngineInput in;
    in.workflow = wf;
    in.now = absl::FromUnixSeconds(1700000000);
    in.configmaps = [](std::string_view n, std::string_view k) -> absl::StatusOr<std::string> {
      if (n != "cm") return absl::NotFoundError("ConfigMap \"" + std::string(n) + "\" not found");
      if (k != "msg") return absl::NotFoundError("ConfigMap has no key \"" + std::string(k) + "\"");
      return std::string("from-cm");
    };
    ASSIGN_OK(out, Operate(in));
    if (c.error.empty()) {
      EXPECT_EQ(out.status["phase"], "Running") << c.param << out.status.dump();
      EXPECT_EQ(out.status["nodes"][NodeId("cm", "cm")]["type"], "Suspend");
    } else {
      EXPECT_EQ(out.status["phase"], "Error") << c.param;
      EXPECT_THAT(out.status.value("message", ""), HasSubstr(c.error)) << c.param;
    }
  }
}

TEST(ConfigMapParameterTest, TemplateInputFromConfigMap) {
  // Argo's examples/arguments-parameters-from-configmap.yaml.
  json wf = Yaml(R"(
metadata: {name: cm-input}
spec:
  entrypoint: print
  templates:
  - name: print
    inputs:
      parameters:
      - name: message
        valueFrom: {configMapKeyRef: {name: simple-parameters, key: msg}}
    container: {image: busybox, command: [echo], args: ["{{inputs.parameters.message}}"]}
)");
  EngineInput in;
  in.workflow = wf;
  in.now = absl::FromUnixSeconds(1700000000);
  in.configmaps = OneConfigMap("simple-parameters", "msg", "hello world");
  ASSIGN_OK(out, Operate(in));
  ASSERT_EQ(out.pods_to_create.size(), 1u);
  EXPECT_EQ(out.pods_to_create[0]["spec"]["containers"][0]["env"].dump().find(
                "\\\"args\\\":[\\\"hello world\\\"]") != std::string::npos,
            true)
      << out.pods_to_create[0]["spec"]["containers"][0]["env"].dump();

  in.configmaps = OneConfigMap("elsewhere", "msg", "x");
  ASSIGN_OK(missing, Operate(in));
  EXPECT_EQ(missing.status["phase"], "Error");
  EXPECT_THAT(missing.status.value("message", ""),
              HasSubstr("unable to retrieve inputs.parameters.message from ConfigMap: ConfigMap "
                        "\"simple-parameters\" not found"));
}

}  // namespace
}  // namespace argonaut::workflow::engine
