#include "services/events/validation/validate.h"

#include <string>
#include <vector>

#include "argonaut/events/v1/events.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::events::validation {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

json Yaml(const std::string& text) {
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() && !docs->empty() ? (*docs)[0] : json();
}

constexpr char kWebhookSource[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata: {name: webhook}
spec:
  webhook:
    example: {port: "12000", endpoint: /example, method: POST}
)";

constexpr char kSensor[] = R"yaml(
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: webhook}
spec:
  dependencies:
    - {name: dep1, eventSourceName: webhook, eventName: example}
    - {name: dep-2, eventSourceName: webhook, eventName: other}
  triggers:
    - template:
        name: t
        conditions: "dep1 && (dep-2 || dep1)"
        http:
          url: http://127.0.0.1:8080/x
          payload:
            - src: {dependencyName: dep1, dataKey: body}
              dest: body
      retryStrategy: {steps: 3, duration: 1s, factor: 2, jitter: 0.1}
      rateLimit: {unit: Second, requestsPerUnit: 10}
      atLeastOnce: true
      policy: {status: {allow: [200, 201]}}
)yaml";

// Applies `patch` (a JSON merge patch) to `base` and validates the result.
absl::Status ValidateWith(const char* base, const json& patch) {
  json doc = Yaml(base);
  doc.merge_patch(patch);
  return ValidateManifest(doc);
}

TEST(EventSourceTest, SeedWebhookIsValid) { EXPECT_OK(ValidateManifest(Yaml(kWebhookSource))); }

struct Case {
  const char* name;
  json patch;
  const char* error;  // substring, starting with the path
};

class EventSourceRuleTest : public ::testing::TestWithParam<Case> {};

TEST_P(EventSourceRuleTest, Refused) {
  const absl::Status s = ValidateWith(kWebhookSource, GetParam().patch);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Rules, EventSourceRuleTest,
    ::testing::Values(
        Case{"NoSources", json::parse(R"({"spec": {"webhook": null}})"), "spec: no event source"},
        Case{"PortMissing", json::parse(R"({"spec": {"webhook": {"example": {"port": null}}}})"),
             "spec.webhook.example.port: required"},
        Case{"PortNotNumber", json::parse(R"({"spec": {"webhook": {"example": {"port": "x"}}}})"),
             "spec.webhook.example.port: must be a port number 1..65535 (got \"x\")"},
        Case{"PortTooBig", json::parse(R"({"spec": {"webhook": {"example": {"port": "70000"}}}})"),
             "spec.webhook.example.port: must be a port number"},
        Case{"EndpointMissing",
             json::parse(R"({"spec": {"webhook": {"example": {"endpoint": null}}}})"),
             "spec.webhook.example.endpoint: required"},
        Case{"EndpointRelative",
             json::parse(R"({"spec": {"webhook": {"example": {"endpoint": "x"}}}})"),
             "spec.webhook.example.endpoint: must be a path starting with \"/\""},
        Case{"BadMethod", json::parse(R"({"spec": {"webhook": {"example": {"method": "post"}}}})"),
             "spec.webhook.example.method: must be one of GET"},
        Case{"EventNameReused",
             json::parse(R"({"spec": {"calendar": {"example": {"interval": "10s"}}}})"),
             "spec.calendar.example: event name \"example\" is used more than once"},
        Case{"MixedStrategies",
             json::parse(R"({"spec": {"calendar": {"tick": {"interval": "10s"}}}})"),
             "spec: event source types with different update strategies"},
        Case{"UnknownField", json::parse(R"({"spec": {"webhook": {"example": {"prot": "1"}}}})"),
             "spec.webhook.example.prot: unknown field"},
        Case{"CalendarNeither",
             json::parse(R"({"spec": {"webhook": null, "calendar": {"c": {"timezone": "UTC"}}}})"),
             "spec.calendar.c: one of schedule or interval is required"},
        Case{"CalendarBadCron",
             json::parse(
                 R"({"spec": {"webhook": null, "calendar": {"c": {"schedule": "61 * * * *"}}}})"),
             "spec.calendar.c.schedule: invalid cron"},
        Case{"CalendarDescriptor",
             json::parse(
                 R"({"spec": {"webhook": null, "calendar": {"c": {"schedule": "@daily"}}}})"),
             "spec.calendar.c.schedule: descriptors such as \"@daily\" are not accepted"},
        Case{"CalendarBadInterval",
             json::parse(R"({"spec": {"webhook": null, "calendar": {"c": {"interval": "10"}}}})"),
             "spec.calendar.c.interval: invalid duration \"10\": missing unit"},
        Case{
            "CalendarBadZone",
            json::parse(
                R"({"spec": {"webhook": null, "calendar": {"c": {"interval": "1m", "timezone": "Mars/Base"}}}})"),
            "spec.calendar.c.timezone: unknown time zone \"Mars/Base\""},
        Case{
            "CalendarBadExclusion",
            json::parse(
                R"({"spec": {"webhook": null, "calendar": {"c": {"interval": "1m", "exclusionDates": ["2024-01-01"]}}}})"),
            "spec.calendar.c.exclusionDates[0]: expected EXDATE:"},
        Case{
            "FileRelativeDir",
            json::parse(
                R"({"spec": {"webhook": null, "file": {"f": {"eventType": "CREATE", "watchPathConfig": {"directory": "tmp/", "path": "x"}}}}})"),
            "spec.file.f.watchPathConfig.directory: must be an absolute path"},
        Case{
            "FileBadType",
            json::parse(
                R"({"spec": {"webhook": null, "file": {"f": {"eventType": "create", "watchPathConfig": {"directory": "/tmp/", "path": "x"}}}}})"),
            "spec.file.f.eventType: must be one of CREATE"},
        Case{
            "FilePathAndRegexp",
            json::parse(
                R"({"spec": {"webhook": null, "file": {"f": {"eventType": "CREATE", "watchPathConfig": {"directory": "/tmp/", "path": "x", "pathRegexp": "y"}}}}})"),
            "spec.file.f.watchPathConfig: path and pathRegexp are mutually exclusive"},
        Case{
            "ResourceNoVersion",
            json::parse(
                R"({"spec": {"webhook": null, "resource": {"r": {"resource": "pods", "eventTypes": ["ADD"]}}}})"),
            "spec.resource.r.version: required"},
        Case{
            "ResourceBadEventType",
            json::parse(
                R"({"spec": {"webhook": null, "resource": {"r": {"version": "v1", "resource": "pods", "eventTypes": ["CREATE"]}}}})"),
            "spec.resource.r.eventTypes[0]: must be one of ADD, UPDATE, DELETE"},
        Case{
            "ResourceBadLabelOp",
            json::parse(
                R"({"spec": {"webhook": null, "resource": {"r": {"version": "v1", "resource": "pods", "eventTypes": ["ADD"], "filter": {"labels": [{"key": "app", "operation": "~", "value": "x"}]}}}}})"),
            "spec.resource.r.filter.labels[0].operation: unknown operation \"~\""},
        Case{"NatsNoSubject",
             json::parse(R"({"spec": {"webhook": null, "nats": {"n": {"url": "nats://x"}}}})"),
             "spec.nats.n.subject: required"},
        Case{
            "NatsEmptyQueue",
            json::parse(
                R"({"spec": {"webhook": null, "nats": {"n": {"url": "nats://x", "subject": "s", "queue": ""}}}})"),
            "spec.nats.n.queue: must not be empty if set"},
        Case{"RedisNoChannels",
             json::parse(
                 R"({"spec": {"webhook": null, "redis": {"r": {"hostAddress": "h:6379"}}}})"),
             "spec.redis.r.channels: required"},
        Case{
            "MqttNoClientId",
            json::parse(
                R"({"spec": {"webhook": null, "mqtt": {"m": {"url": "tcp://h:1883", "topic": "t"}}}})"),
            "spec.mqtt.m.clientId: required"},
        Case{
            "AmqpUrlAndSecret",
            json::parse(
                R"({"spec": {"webhook": null, "amqp": {"a": {"url": "amqp://h", "urlSecret": {"name": "s", "key": "k"}, "exchangeType": "fanout", "routingKey": "r"}}}})"),
            "spec.amqp.a: url and urlSecret are mutually exclusive"},
        Case{
            "GithubNoRepos",
            json::parse(
                R"({"spec": {"webhook": null, "github": {"g": {"webhook": {"port": "1", "endpoint": "/g"}}}}})"),
            "spec.github.g: one of repositories or organizations is required"},
        Case{
            "GitlabNoWebhook",
            json::parse(
                R"({"spec": {"webhook": null, "gitlab": {"g": {"events": ["x"], "gitlabBaseURL": "https://g", "accessToken": {"name": "s", "key": "k"}}}}})"),
            "spec.gitlab.g.webhook: required"},
        Case{"MapKeyQuoted", json::parse(R"({"spec": {"webhook": {"a.b": {"port": "1"}}}})"),
             "spec.webhook[\"a.b\"].endpoint: required"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(EventSourceTest, EveryProblemIsReported) {
  const absl::Status s = ValidateWith(
      kWebhookSource,
      json::parse(R"({"spec": {"webhook": {"example": {"port": "", "endpoint": ""}}}})"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("spec.webhook.example.endpoint: required; "
                                                  "spec.webhook.example.port: required"));
}

TEST(SensorTest, ValidSensorWithEveryTriggerOption) { EXPECT_OK(ValidateManifest(Yaml(kSensor))); }

class SensorRuleTest : public ::testing::TestWithParam<Case> {};

TEST_P(SensorRuleTest, Refused) {
  const absl::Status s = ValidateWith(kSensor, GetParam().patch);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(GetParam().error));
}

// A trigger list with one trigger: merge patches replace arrays whole.
json Trigger(const std::string& yaml) {
  return json{{"spec", {{"triggers", json::array({Yaml(yaml)})}}}};
}
json Deps(const std::string& yaml) { return json{{"spec", {{"dependencies", Yaml(yaml)}}}}; }

INSTANTIATE_TEST_SUITE_P(
    Rules, SensorRuleTest,
    ::testing::Values(
        Case{"NoDependencies", json::parse(R"({"spec": {"dependencies": null}})"),
             "spec.dependencies: at least one dependency is required"},
        Case{"NoTriggers", json::parse(R"({"spec": {"triggers": null}})"),
             "spec.triggers: at least one trigger is required"},
        Case{"DependencyWithoutEventName", Deps("[{name: a, eventSourceName: s}]"),
             "spec.dependencies[0].eventName: required"},
        Case{"DependencyWithoutSource", Deps("[{name: a, eventName: e}]"),
             "spec.dependencies[0].eventSourceName: required"},
        Case{"DuplicateDependency",
             Deps("[{name: dep1, eventSourceName: s, eventName: e}, {name: dep1, "
                  "eventSourceName: s, eventName: f}, {name: dep-2, eventSourceName: s, "
                  "eventName: g}]"),
             "spec.dependencies[1].name: duplicate dependency name \"dep1\""},
        Case{"BadDataFilterType",
             Deps("[{name: dep1, eventSourceName: s, eventName: e, filters: {data: [{path: "
                  "body.x, type: int, value: ['1']}]}}, {name: dep-2, eventSourceName: s, "
                  "eventName: g}]"),
             "spec.dependencies[0].filters.data[0].type: must be string, number or bool"},
        Case{"BadComparator",
             Deps("[{name: dep1, eventSourceName: s, eventName: e, filters: {data: [{path: "
                  "body.x, type: number, comparator: '=>', value: ['1']}]}}, {name: dep-2, "
                  "eventSourceName: s, eventName: g}]"),
             "spec.dependencies[0].filters.data[0].comparator: must be one of"},
        Case{"EmptyDataValues",
             Deps("[{name: dep1, eventSourceName: s, eventName: e, filters: {data: [{path: "
                  "body.x, type: string}]}}, {name: dep-2, eventSourceName: s, eventName: g}]"),
             "spec.dependencies[0].filters.data[0].value: required"},
        Case{"ExprWithoutFields",
             Deps("[{name: dep1, eventSourceName: s, eventName: e, filters: {exprs: [{expr: "
                  "'a == 1'}]}}, {name: dep-2, eventSourceName: s, eventName: g}]"),
             "spec.dependencies[0].filters.exprs[0].fields: required"},
        Case{"EmptyContextFilter",
             Deps("[{name: dep1, eventSourceName: s, eventName: e, filters: {context: {id: x}}}, "
                  "{name: dep-2, eventSourceName: s, eventName: g}]"),
             "spec.dependencies[0].filters.context: set at least one of"},
        Case{"TimeFilterEqual",
             Deps("[{name: dep1, eventSourceName: s, eventName: e, filters: {time: {start: "
                  "'10:00:00', stop: '10:00:00'}}}, {name: dep-2, eventSourceName: s, "
                  "eventName: g}]"),
             "spec.dependencies[0].filters.time: stop must differ from start"},
        Case{"TimeFilterBadClock",
             Deps("[{name: dep1, eventSourceName: s, eventName: e, filters: {time: {start: "
                  "'25:00:00', stop: '10:00:00'}}}, {name: dep-2, eventSourceName: s, "
                  "eventName: g}]"),
             "spec.dependencies[0].filters.time.start: expected hh:mm:ss"},
        Case{"BadLogicalOperator",
             Deps("[{name: dep1, eventSourceName: s, eventName: e, filtersLogicalOperator: "
                  "xor}, {name: dep-2, eventSourceName: s, eventName: g}]"),
             "spec.dependencies[0].filtersLogicalOperator: must be \"and\" or \"or\""},
        Case{"NoTemplateType", Trigger("{template: {name: t}}"),
             "spec.triggers[0].template: no trigger type set"},
        Case{"TwoTemplateTypes", Trigger("{template: {name: t, log: {}, http: {url: x}}}"),
             "spec.triggers[0].template: exactly one trigger type may be set (got http, log)"},
        Case{"TemplateWithoutName", Trigger("{template: {log: {}}}"),
             "spec.triggers[0].template.name: required"},
        Case{"HttpWithoutUrl", Trigger("{template: {name: t, http: {method: POST}}}"),
             "spec.triggers[0].template.http.url: required"},
        Case{"HttpBadMethod", Trigger("{template: {name: t, http: {url: x, method: HEAD}}}"),
             "spec.triggers[0].template.http.method: must be GET, DELETE, PATCH, POST or PUT"},
        Case{"ConditionUnknownDependency",
             Trigger("{template: {name: t, conditions: 'dep1 && dep3', log: {}}}"),
             "spec.triggers[0].template.conditions: unknown dependency \"dep3\""},
        Case{"ConditionSyntax", Trigger("{template: {name: t, conditions: 'dep1 &&', log: {}}}"),
             "spec.triggers[0].template.conditions: missing name at offset 7"},
        Case{"ConditionUnbalanced",
             Trigger("{template: {name: t, conditions: '(dep1 || dep-2', log: {}}}"),
             "spec.triggers[0].template.conditions: missing )"},
        Case{"ConditionsResetBadCron",
             Trigger("{template: {name: t, conditionsReset: [{byTime: {cron: '0 25 * * *'}}], "
                     "log: {}}}"),
             "spec.triggers[0].template.conditionsReset[0].byTime.cron: invalid cron"},
        Case{"ParameterUnknownDependency",
             Trigger("{template: {name: t, log: {}}, parameters: [{src: {dependencyName: nope}, "
                     "dest: x}]}"),
             "spec.triggers[0].parameters[0].src.dependencyName: unknown dependency \"nope\""},
        Case{"ParameterWithoutDest",
             Trigger("{template: {name: t, log: {}}, parameters: [{src: {dependencyName: dep1}}]}"),
             "spec.triggers[0].parameters[0].dest: required"},
        Case{"ParameterWithoutSource",
             Trigger("{template: {name: t, log: {}}, parameters: [{dest: x}]}"),
             "spec.triggers[0].parameters[0].src: required"},
        Case{"ParameterBadOperation",
             Trigger("{template: {name: t, log: {}}, parameters: [{src: {dependencyName: dep1}, "
                     "dest: x, operation: replace}]}"),
             "spec.triggers[0].parameters[0].operation: must be append, overwrite or prepend"},
        Case{"K8sWithoutSource", Trigger("{template: {name: t, k8s: {operation: create}}}"),
             "spec.triggers[0].template.k8s.source: required"},
        Case{"K8sBadOperation",
             Trigger("{template: {name: t, k8s: {operation: apply, source: {resource: {kind: "
                     "Pod}}}}}"),
             "spec.triggers[0].template.k8s.operation: must be create, update, patch or delete"},
        Case{"ArgoWorkflowBadOperation",
             Trigger("{template: {name: t, argoWorkflow: {operation: run, source: {resource: "
                     "{kind: Workflow}}}}}"),
             "spec.triggers[0].template.argoWorkflow.operation: must be one of submit"},
        Case{"LambdaWithoutPayload",
             Trigger("{template: {name: t, awsLambda: {functionName: f, region: us-east-1}}}"),
             "spec.triggers[0].template.awsLambda.payload: required"},
        Case{"LambdaBadInvocationType",
             Trigger("{template: {name: t, awsLambda: {functionName: f, region: r, "
                     "invocationType: Async, payload: [{src: {dependencyName: dep1}, dest: "
                     "x}]}}}"),
             "spec.triggers[0].template.awsLambda.invocationType: must be RequestResponse"},
        Case{"NatsTriggerWithoutSubject",
             Trigger("{template: {name: t, nats: {url: nats://h, payload: [{src: "
                     "{dependencyName: dep1}, dest: x}]}}}"),
             "spec.triggers[0].template.nats.subject: required"},
        Case{"DlqWithoutAtLeastOnce",
             Trigger("{template: {name: t, log: {}}, dlqTrigger: {template: {name: d, log: {}}, "
                     "atLeastOnce: true}}"),
             "spec.triggers[0].atLeastOnce: must be true to use dlqTrigger"},
        Case{"DlqItselfNotAtLeastOnce",
             Trigger("{template: {name: t, log: {}}, atLeastOnce: true, dlqTrigger: {template: "
                     "{name: d, log: {}}}}"),
             "spec.triggers[0].dlqTrigger.atLeastOnce: must be true"},
        Case{"DlqTemplateChecked",
             Trigger("{template: {name: t, log: {}}, atLeastOnce: true, dlqTrigger: {template: "
                     "{name: d, http: {}}, atLeastOnce: true}}"),
             "spec.triggers[0].dlqTrigger.template.http.url: required"},
        Case{"StatusPolicyEmpty",
             Trigger("{template: {name: t, http: {url: x}}, policy: {status: {}}}"),
             "spec.triggers[0].policy.status.allow: required"},
        Case{"K8sPolicyWithoutLabels",
             Trigger("{template: {name: t, k8s: {source: {resource: {kind: Pod}}}}, policy: "
                     "{k8s: {backoff: {steps: 2}}}}"),
             "spec.triggers[0].policy.k8s.labels: required"},
        Case{"RateLimitUnit",
             Trigger("{template: {name: t, log: {}}, rateLimit: {unit: Day, requestsPerUnit: 1}}"),
             "spec.triggers[0].rateLimit.unit: must be Second, Minute or Hour"},
        Case{"RetryBadDuration",
             Trigger("{template: {name: t, log: {}}, retryStrategy: {duration: soon}}"),
             "spec.triggers[0].retryStrategy.duration: invalid duration \"soon\""},
        Case{"RetryFactorString",
             Trigger("{template: {name: t, log: {}}, retryStrategy: {factor: two}}"),
             "spec.triggers[0].retryStrategy.factor: must be a number"},
        Case{"RolloutWithoutName", Trigger("{template: {name: t, rollout: {operation: promote}}}"),
             "spec.triggers[0].template.rollout.name: required"},
        Case{"RolloutBadOperation",
             Trigger("{template: {name: t, rollout: {operation: rollback, name: r}}}"),
             "spec.triggers[0].template.rollout.operation: must be one of promote"},
        Case{"RolloutSetImageWithoutImage",
             Trigger("{template: {name: t, rollout: {operation: set-image, name: r}}}"),
             "spec.triggers[0].template.rollout.image: required for set-image"},
        Case{"AmqpTriggerWithoutUrl",
             Trigger("{template: {name: t, amqp: {exchangeName: x, payload: [{src: "
                     "{dependencyName: dep1}, dest: x}]}}}"),
             "spec.triggers[0].template.amqp: one of url or urlSecret is required"},
        Case{"AmqpTriggerDefaultExchangeNeedsRoutingKey",
             Trigger("{template: {name: t, amqp: {url: 'amqp://h', payload: [{src: "
                     "{dependencyName: dep1}, dest: x}]}}}"),
             "spec.triggers[0].template.amqp.routingKey: required with the default exchange"},
        Case{"DuplicateTriggerNames",
             json{{"spec",
                   {{"triggers", json::array({Yaml("{template: {name: t, log: {}}}"),
                                              Yaml("{template: {name: t, log: {}}}")})}}}},
             "spec.triggers[1].template.name: duplicate trigger name \"t\""},
        Case{"AtLeastOnceUnderTemplate",
             Trigger("{template: {name: t, log: {}, atLeastOnce: true}}"),
             "spec.triggers[0].template.atLeastOnce: unknown field"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(SensorTest, RolloutTriggerTargetFromParameters) {
  // The rollout name and image come from the event: no literal needed.
  EXPECT_OK(ValidateWith(kSensor, Trigger(R"({template: {name: t, rollout: {
      operation: set-image, container: app,
      parameters: [{src: {dependencyName: dep1, dataKey: body.rollout}, dest: name},
                   {src: {dependencyName: dep1, dataKey: body.image}, dest: image}]}}})")));
  // Or through trigger-level parameters applied to the template.
  EXPECT_OK(ValidateWith(kSensor, Trigger(R"({template: {name: t, rollout: {operation: promote}},
      parameters: [{src: {dependencyName: dep1, dataKey: body.rollout}, dest: rollout.name}]})")));
}

TEST(SensorTest, TriggerParametersMayRewriteTypeParameters) {
  // Argo's tutorial: the type-level parameter's dependency is itself filled from the event.
  EXPECT_OK(ValidateWith(kSensor, Trigger(R"({template: {name: t, k8s: {
      source: {resource: {kind: Pod}},
      parameters: [{src: {dependencyName: PLACEHOLDER}, dest: metadata.name}]}},
      parameters: [{src: {dependencyName: dep1, dataKey: body.dep},
                    dest: k8s.parameters.0.src.dependencyName}]})")));
}

TEST(SensorTest, AmqpTrigger) {
  EXPECT_OK(ValidateWith(kSensor, Trigger(R"({template: {name: t, amqp: {
      url: "amqp://guest:guest@127.0.0.1:5672/", exchangeName: events, exchangeType: topic,
      routingKey: a.b, exchangeDeclare: {durable: true},
      payload: [{src: {dependencyName: dep1, dataKey: body}, dest: body}]}}})")));
}

TEST(SensorTest, HttpPayloadMayOmitDest) {
  // An empty dest makes the value the whole request body.
  EXPECT_OK(ValidateWith(kSensor, Trigger(R"({template: {name: t, http: {url: x,
      payload: [{src: {dependencyName: dep1}}]}}})")));
}

TEST(SensorTest, MissingConditionsMeanAllDependencies) {
  EXPECT_OK(ValidateWith(kSensor, Trigger("{template: {name: t, log: {intervalSeconds: 5}}}")));
}

TEST(EventBusTest, Rules) {
  EXPECT_OK(ValidateManifest(Yaml(R"(
apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata: {name: default}
spec:
  jetstream: {version: latest, replicas: 3}
)")));
  EXPECT_OK(ValidateManifest(Yaml(R"(
kind: EventBus
metadata: {name: default}
spec:
  nats: {native: {replicas: 3, auth: token}}
)")));
  const auto refused = [](const char* yaml, const char* error) {
    const absl::Status s = ValidateManifest(Yaml(yaml));
    EXPECT_THAT(std::string(s.message()), HasSubstr(error)) << yaml;
  };
  refused("{kind: EventBus, metadata: {name: b}, spec: {}}",
          "spec: one of nats, jetstream, jetstreamExotic or kafka is required");
  refused("{kind: EventBus, metadata: {name: b}, spec: {jetstream: {version: x}, kafka: {url: k}}}",
          "spec: only one of");
  refused("{kind: EventBus, metadata: {name: b}, spec: {jetstream: {replicas: 2}}}",
          "spec.jetstream.version: required; spec.jetstream.replicas: must be 1 or at least 3");
  refused("{kind: EventBus, metadata: {name: b}, spec: {nats: {exotic: {url: nats://x}}}}",
          "spec.nats.exotic.clusterID: required");
  refused("{kind: EventBus, metadata: {name: b}, spec: {nats: {}}}",
          "spec.nats: exactly one of native or exotic is required");
  refused("{kind: EventBus, metadata: {name: b}, spec: {kafka: {topic: t}}}",
          "spec.kafka.url: required");
  refused("{kind: EventBus, metadata: {name: b}, spec: {jetstreamExotic: {}}}",
          "spec.jetstreamExotic.url: required");
}

TEST(ManifestTest, OtherKindsAndMissingNames) {
  EXPECT_THAT(std::string(ValidateManifest(Yaml("{kind: Workflow}")).message()),
              HasSubstr("kind: \"Workflow\" is not an events kind"));
  EXPECT_FALSE(IsEventsKind("Rollout"));
  EXPECT_TRUE(IsEventsKind("Sensor"));
  const absl::Status s = ValidateManifest(Yaml("{kind: EventBus, spec: {kafka: {url: k}}}"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("metadata.name: required"));
}

TEST(ConditionNamesTest, Grammar) {
  absl::StatusOr<std::vector<std::string>> names =
      ConditionNames("dep1 && (dep-2 || dep_3) || dep1");
  ASSERT_OK(names.status());
  EXPECT_THAT(*names, ElementsAre("dep1", "dep-2", "dep_3"));
  names = ConditionNames("  ((a))  ");
  ASSERT_OK(names.status());
  EXPECT_THAT(*names, ElementsAre("a"));
  for (const char* bad :
       {"", "a &", "a & b", "a || ", "(a", "a)", "a b", "a && || b", "!a", "a == b"}) {
    EXPECT_FALSE(ConditionNames(bad).ok()) << bad;
  }
  EXPECT_FALSE(ConditionNames(std::string(200, '(') + "a" + std::string(200, ')')).ok());
}

TEST(ParseGoDurationTest, GoSyntax) {
  EXPECT_EQ(*ParseGoDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParseGoDuration("10s"), absl::Seconds(10));
  EXPECT_EQ(*ParseGoDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseGoDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(*ParseGoDuration("300ms"), absl::Milliseconds(300));
  EXPECT_EQ(*ParseGoDuration("-2m"), absl::Minutes(-2));
  EXPECT_EQ(*ParseGoDuration("1us"), absl::Microseconds(1));
  for (const char* bad : {"", "10", "1d", "s", "1..5s", "abc", "1h-2m"}) {
    EXPECT_FALSE(ParseGoDuration(bad).ok()) << bad;
  }
}

TEST(TypesTest, SourceAndTriggerTypesByManifestKey) {
  v1::EventSource es;
  ASSERT_OK(manifest::FromJson(Yaml(R"(
kind: EventSource
spec:
  webhook: {a: {port: "1", endpoint: /a}}
  redisStream: {b: {hostAddress: h, streams: [s]}}
)"),
                               &es));
  EXPECT_THAT(SourceTypes(es.spec()), ElementsAre("webhook", "redisStream"));
  v1::TriggerTemplate t;
  ASSERT_OK(
      manifest::FromJson(Yaml("{name: x, conditions: a, argoWorkflow: {}, rollout: {}}"), &t));
  EXPECT_THAT(TriggerTypes(t), ElementsAre("argoWorkflow", "rollout"));
  EXPECT_TRUE(RuntimeSupportsSource("redisStream"));
  EXPECT_FALSE(RuntimeSupportsSource("kafka"));
  EXPECT_TRUE(RuntimeSupportsTrigger("rollout"));
  EXPECT_FALSE(RuntimeSupportsTrigger("kafka"));
}

TEST(ValidatorTest, StoreValidatorChecksEventsKindsOnly) {
  const resource::Validator validator = EventsValidator();
  resource::KindInfo sensor_kind;
  sensor_kind.kind = "Sensor";
  v1::Sensor sensor;
  ASSERT_OK(manifest::FromJson(Yaml(kSensor), &sensor));
  EXPECT_OK(validator(sensor_kind, sensor));
  sensor.mutable_spec()->mutable_triggers(0)->mutable_template_()->mutable_http()->clear_url();
  const absl::Status s = validator(sensor_kind, sensor);
  EXPECT_THAT(std::string(s.message()), HasSubstr("spec.triggers[0].template.http.url: required"));
  resource::KindInfo other;
  other.kind = "Workflow";
  EXPECT_OK(validator(other, sensor));
}

// The typed messages keep what users and the controller write, explicit zeros and false
// included, through JSON and through the binary form the store keeps.
TEST(RoundTripTest, StatusesAndExplicitZeros) {
  const json doc = Yaml(R"(
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: s, namespace: argo-events}
spec:
  replicas: 0
  dependencies:
    - name: d
      eventSourceName: es
      eventName: e
      filters:
        data: [{path: body.n, type: number, value: ["1.5"], comparator: ">="}]
        dataLogicalOperator: or
      transform: {jq: ".body"}
  triggers:
    - template:
        name: t
        k8s:
          operation: create
          source:
            resource:
              apiVersion: v1
              kind: Pod
              metadata: {generateName: p-}
              spec: {containers: [{name: c, image: busybox}]}
      atLeastOnce: false
      retryStrategy: {steps: 0, duration: 10, factor: 2.5, jitter: 0.2}
      policy: {k8s: {labels: {a: b}, backoff: {steps: 1}, errorOnBackoffTimeout: false}}
status:
  conditions:
    - {type: DependenciesProvided, status: "True", lastTransitionTime: "2024-01-01T00:00:00Z"}
  dependencies: {d: {lastEventId: abc}}
  triggers: [{name: t, lastResult: ok}]
)");
  v1::Sensor msg;
  ASSERT_OK(manifest::FromJson(doc, &msg));
  EXPECT_EQ(manifest::ToJson(msg), doc);
  v1::Sensor again;
  ASSERT_TRUE(again.ParseFromString(msg.SerializeAsString()));
  EXPECT_EQ(manifest::ToJson(again), doc);
  EXPECT_OK(ValidateSensor(msg));
}

TEST(RoundTripTest, EventBusStatusConfig) {
  const json doc = Yaml(R"(
apiVersion: argoproj.io/v1alpha1
kind: EventBus
metadata: {name: default}
spec:
  jetstream:
    version: "2.10.10"
    persistence: {volumeSize: 10Gi, accessMode: ReadWriteOnce}
    streamConfig: |
      maxAge: 24h
status:
  conditions: [{type: Deployed, status: "True"}]
  config:
    jetstream: {url: "nats://eventbus-default-js-svc:4222", streamConfig: "maxAge: 24h\n"}
)");
  v1::EventBus msg;
  ASSERT_OK(manifest::FromJson(doc, &msg));
  EXPECT_EQ(manifest::ToJson(msg), doc);
}

}  // namespace
}  // namespace argonaut::events::validation
