#include "lib/manifest/codec.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/testdata/codec_test.pb.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"

namespace argonaut::manifest {
namespace {

using ::argonaut::manifest::testing::Doc;
using ::argonaut::testing::StatusIs;
using ::google::protobuf::util::MessageDifferencer;
using ::nlohmann::json;
using ::testing::HasSubstr;

json Yaml(std::string_view text) {
  absl::StatusOr<std::vector<json>> docs = ParseDocuments(text);
  EXPECT_OK(docs);
  if (!docs.ok() || docs->empty()) return nullptr;
  return (*docs)[0];
}

absl::Status Decode(std::string_view yaml, Doc* doc) { return FromJson(Yaml(yaml), doc); }

template <typename M>
void ExpectError(std::string_view yaml, M message) {
  Doc doc;
  EXPECT_THAT(Decode(yaml, &doc), StatusIs(absl::StatusCode::kInvalidArgument, message)) << yaml;
}

constexpr std::string_view kFullDoc = R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: demo
  namespace: argo
  generation: 0
  labels:
    app: demo
    app.kubernetes.io/name: demo
  annotations:
    note: "1"
  ownerReferences:
    - apiVersion: v1
      kind: Pod
      name: p
      controller: false
  finalizers: [a, b]
spec:
  parallelism: 0
  entrypoint: main
  timeout: 30
  durations: [10, 1m, 1.5, true, "007"]
  templates:
    - name: main
      podGC: 3
      retryLimit: "2"
      labels: {tier: web}
      containers:
        - name: c
          image: nginx:1.25
          args: [--port, "8080"]
          port: 0
    - name: second
      containers: []
  podSpecPatch:
    containers:
      - name: x
        resources: {limits: {cpu: 500m, memory: 1Gi}}
        replicas: 3
        ratio: 0.25
        flag: true
        nothing: null
        nested: [[1, 2], {a: []}, {}]
  arbitrary: [1, "two", {three: 3}]
  volumes: [{name: v}, 7, null]
  values: [1, null, x]
  params: {a: 1, b: null, c: [x]}
  count: -5
  small: 4000000000
  big: 18446744073709551615
  ratio: 0.1
  weight: 0.1
  suspend: true
  dryRun: false
  blob: aGVsbG8=
  numbers: [1, -2, 9007199254740993]
  byCode: {"200": ok, "-1": neg}
  optionalText: ""
  git: https://example.com/repo.git
status:
  phase: Running
  progress: 50
)";

TEST(FromJsonTest, DecodesEveryFieldShape) {
  Doc doc;
  ASSERT_OK(Decode(kFullDoc, &doc));
  EXPECT_EQ(doc.api_version(), "argoproj.io/v1alpha1");
  EXPECT_EQ(doc.metadata().labels().at("app.kubernetes.io/name"), "demo");
  EXPECT_TRUE(doc.metadata().has_generation());
  EXPECT_EQ(doc.metadata().owner_references(0).controller(), false);
  EXPECT_TRUE(doc.metadata().owner_references(0).has_controller());
  const auto& spec = doc.spec();
  EXPECT_TRUE(spec.has_parallelism());
  EXPECT_EQ(spec.parallelism(), 0);
  EXPECT_EQ(spec.timeout(), "30");
  EXPECT_THAT(spec.durations(), ::testing::ElementsAre("10", "1m", "1.5", "true", "007"));
  EXPECT_EQ(spec.templates(0).pod_gc(), 3);
  EXPECT_EQ(spec.templates(0).retry_limit(), "2");
  EXPECT_EQ(spec.templates(0).containers(0).args(1), "8080");
  EXPECT_TRUE(spec.templates(0).containers(0).has_port());
  EXPECT_EQ(spec.pod_spec_patch()
                .fields()
                .at("containers")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("replicas")
                .number_value(),
            3.0);
  EXPECT_EQ(spec.small(), 4000000000u);
  EXPECT_EQ(spec.big(), UINT64_MAX);
  EXPECT_FLOAT_EQ(spec.weight(), 0.1f);
  EXPECT_EQ(spec.blob(), "hello");
  EXPECT_EQ(spec.numbers(2), 9007199254740993);
  EXPECT_EQ(spec.by_code().at(-1), "neg");
  EXPECT_TRUE(spec.has_optional_text());
  EXPECT_EQ(spec.git(), "https://example.com/repo.git");
  EXPECT_EQ(spec.values(1).kind_case(), google::protobuf::Value::kNullValue);
}

TEST(FromJsonTest, RoundTripsExactlyUpToIntOrString) {
  const json in = Yaml(kFullDoc);
  Doc doc;
  ASSERT_OK(FromJson(in, &doc));
  json expected = in;
  // int_or_string text comes back as a number only when it is a canonical integer.
  expected["spec"]["durations"] = json::array({10, "1m", "1.5", "true", "007"});
  expected["spec"]["templates"][0]["retryLimit"] = 2;
  // Empty repeated fields have no presence in proto3.
  expected["spec"]["templates"][1].erase("containers");
  EXPECT_EQ(ToJson(doc), expected) << ToJson(doc).dump(2);

  // And once normalized, the round trip is exact, through YAML text too.
  const json again = Yaml(ToYaml(ToJson(doc)));
  Doc doc2;
  ASSERT_OK(FromJson(again, &doc2));
  EXPECT_TRUE(MessageDifferencer::Equals(doc, doc2));
  EXPECT_EQ(ToJson(doc2), expected);
}

TEST(FromJsonTest, UnknownFieldPath) {
  ExpectError("spec:\n  templates:\n    - name: a\n    - contaner: {}\n",
              "spec.templates[1].contaner: unknown field");
  ExpectError("metadata: {nmae: x}", "metadata.nmae: unknown field");
  // The manifest spelling is the json_name; proto names and camelCase of overridden names are
  // not accepted.
  ExpectError("api_version: v1", "api_version: unknown field");
  ExpectError("spec: {dry_run: true}", "spec.dry_run: unknown field");
  ExpectError("spec: {templates: [{podGc: 1}]}", "spec.templates[0].podGc: unknown field");
}

TEST(FromJsonTest, WrongTypePaths) {
  ExpectError("spec: {parallelism: abc}", "spec.parallelism: expected integer, got string \"abc\"");
  ExpectError("metadata: {labels: {app: {x: 1}}}",
              "metadata.labels.app: expected string, got object");
  ExpectError("metadata: {labels: {app.kubernetes.io/name: 3}}",
              "metadata.labels[\"app.kubernetes.io/name\"]: expected string, got integer 3");
  ExpectError("spec: {count: 1.5}", "spec.count: expected integer, got number 1.5");
  ExpectError("spec: {count: \"5\"}", "spec.count: expected integer, got string \"5\"");
  ExpectError("spec: {suspend: \"true\"}", "spec.suspend: expected boolean, got string \"true\"");
  ExpectError("spec: {entrypoint: [a]}", "spec.entrypoint: expected string, got array");
  ExpectError("spec: {entrypoint: 3}", "spec.entrypoint: expected string, got integer 3");
  ExpectError("spec: {templates: {name: a}}", "spec.templates: expected array, got object");
  ExpectError("spec: {templates: [x]}", "spec.templates[0]: expected object, got string \"x\"");
  ExpectError("spec: {templates: [{containers: [{}, {}, {port: x}]}]}",
              "spec.templates[0].containers[2].port: expected integer, got string \"x\"");
  ExpectError("spec: {templates: [{containers: [{args: [a, null]}]}]}",
              "spec.templates[0].containers[0].args[1]: expected string, got null");
  ExpectError("spec: {ratio: \"0.5\"}", "spec.ratio: expected number, got string \"0.5\"");
  ExpectError("spec: {podSpecPatch: [1]}", "spec.podSpecPatch: expected object, got array");
  ExpectError("spec: {volumes: {a: 1}}", "spec.volumes: expected array, got object");
  ExpectError("spec: {timeout: {a: 1}}", "spec.timeout: expected string or number, got object");
  ExpectError("spec: {blob: \"***\"}", "spec.blob: invalid base64");
  ExpectError("spec: {byCode: {\"01\": x}}", "spec.byCode.01: map key must be a canonical integer");
}

TEST(FromJsonTest, InvalidUtf8FromCodeBuiltTrees) {
  Doc doc;
  EXPECT_THAT(FromJson(json{{"kind", "\xff"}}, &doc),
              StatusIs(absl::StatusCode::kInvalidArgument, "kind: invalid UTF-8"));
  EXPECT_THAT(FromJson(json{{"status", {{"a", {"\xc3"}}}}}, &doc),
              StatusIs(absl::StatusCode::kInvalidArgument, "status.a[0]: invalid UTF-8"));
}

TEST(FromJsonTest, RangeChecks) {
  ExpectError("spec: {count: 2147483648}", "spec.count: value 2147483648 out of range for int32");
  ExpectError("spec: {small: -1}", "spec.small: value -1 out of range for uint32");
  ExpectError("spec: {parallelism: 18446744073709551615}",
              "spec.parallelism: value 18446744073709551615 out of range for int64");
  ExpectError("spec: {weight: 1e300}", "spec.weight: value 1e+300 out of range for float");
  ExpectError("spec: {podSpecPatch: {n: 9007199254740993}}",
              HasSubstr("spec.podSpecPatch.n: integer 9007199254740993 is too large"));
}

TEST(FromJsonTest, TopLevelMustBeObject) {
  Doc doc;
  EXPECT_THAT(FromJson(json::array(), &doc),
              StatusIs(absl::StatusCode::kInvalidArgument, "expected object, got array"));
}

TEST(FromJsonTest, IntegralFloatsAndInt64StringsAreAccepted) {
  Doc doc;
  ASSERT_OK(Decode("spec: {count: 3.0, parallelism: \"123\", numbers: [\"-4\", 5.0]}", &doc));
  EXPECT_EQ(doc.spec().count(), 3);
  EXPECT_EQ(doc.spec().parallelism(), 123);
  EXPECT_THAT(doc.spec().numbers(), ::testing::ElementsAre(-4, 5));
  // int64 goes back out as a JSON number, not a string.
  EXPECT_EQ(ToJson(doc)["spec"]["parallelism"], json(123));
  EXPECT_TRUE(ToJson(doc)["spec"]["parallelism"].is_number_integer());
}

TEST(FromJsonTest, NullLeavesFieldUnsetExceptForValue) {
  Doc doc;
  ASSERT_OK(Decode("metadata: null\nspec: {parallelism: null, arbitrary: null, git: null}", &doc));
  EXPECT_FALSE(doc.has_metadata());
  EXPECT_FALSE(doc.spec().has_parallelism());
  EXPECT_EQ(doc.spec().source_case(), testing::Spec::SOURCE_NOT_SET);
  ASSERT_TRUE(doc.spec().has_arbitrary());
  EXPECT_EQ(doc.spec().arbitrary().kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(ToJson(doc), json::parse(R"({"spec": {"arbitrary": null}})"));
}

TEST(FromJsonTest, OneofConflict) {
  ExpectError("spec: {git: a, http: b}", HasSubstr("conflicts with"));
}

TEST(FromJsonTest, ClearsTheMessageFirst) {
  Doc doc;
  doc.set_kind("Old");
  ASSERT_OK(Decode("apiVersion: v1", &doc));
  EXPECT_EQ(doc.kind(), "");
}

TEST(IntOrStringTest, AcceptsEveryScalarAndKeepsText) {
  struct Case {
    std::string yaml;
    std::string stored;
    json back;
  };
  const std::vector<Case> cases = {
      {"30", "30", 30},         {"\"30\"", "30", 30},      {"-5", "-5", -5},
      {"30s", "30s", "30s"},    {"1.5", "1.5", "1.5"},     {"2.0", "2.0", "2.0"},
      {"true", "true", "true"}, {"\"007\"", "007", "007"}, {"\"-0\"", "-0", "-0"},
      {"\"\"", "", nullptr},    {"50%", "50%", "50%"},     {"0x10", "16", 16},
  };
  for (const Case& c : cases) {
    Doc doc;
    ASSERT_OK(Decode(absl::StrCat("spec: {timeout: ", c.yaml, "}"), &doc)) << c.yaml;
    EXPECT_EQ(doc.spec().timeout(), c.stored) << c.yaml;
    const json out = ToJson(doc);
    if (c.back.is_null()) {
      EXPECT_FALSE(out["spec"].contains("timeout")) << c.yaml;
    } else {
      EXPECT_EQ(out["spec"]["timeout"], c.back) << c.yaml;
      EXPECT_EQ(out["spec"]["timeout"].type(), c.back.type()) << c.yaml;
    }
  }
}

TEST(StructTest, ArbitraryContentRoundTripsVerbatim) {
  const json content = json::parse(R"({
    "a": {"b": [1, -2, 3.5, "4", true, false, null, [], {}, [[{"c": "d"}]]]},
    "replicas": 3,
    "big": 9007199254740992,
    "small": -9007199254740992,
    "float": 1e100,
    "tiny": 1e-9,
    "weird keys": {"": 1, "a.b/c": 2, "[x]": 3, "\u00e9": 4},
    "text": "multi\nline\n"
  })");
  Doc doc;
  ASSERT_OK(FromJson(
      json{{"spec", {{"podSpecPatch", content}, {"arbitrary", content}}}, {"status", content}},
      &doc));
  const json out = ToJson(doc);
  EXPECT_EQ(out["status"], content);
  EXPECT_EQ(out["spec"]["podSpecPatch"], content);
  EXPECT_EQ(out["spec"]["arbitrary"], content);
  // Integral numbers come back as integers, not 3.0.
  EXPECT_TRUE(out["status"]["replicas"].is_number_integer());
  EXPECT_EQ(ToYaml(out["status"]["replicas"]), "3\n");
  EXPECT_TRUE(out["status"]["float"].is_number_float());
}

TEST(StructTest, ValueAndListValueFieldsTakeAnyShape) {
  for (const json& v : {json(1), json("s"), json(true), json::array({1, "x", nullptr}),
                        json::object({{"k", {1}}}), json(2.5)}) {
    Doc doc;
    ASSERT_OK(FromJson(json{{"spec", {{"arbitrary", v}, {"values", json::array({v, v})}}}}, &doc));
    EXPECT_EQ(ToJson(doc)["spec"]["arbitrary"], v);
    EXPECT_EQ(ToJson(doc)["spec"]["values"], json::array({v, v}));
  }
}

TEST(StructTest, ErrorPathsInsideStruct) {
  ExpectError("spec: {podSpecPatch: {a: [0, {b.c: 9007199254740993}]}}",
              HasSubstr("spec.podSpecPatch.a[1][\"b.c\"]: integer"));
}

// Wraps `leaf` in `levels` objects ({"x": ...}) or arrays ([...]).
json Nest(int levels, bool arrays, json leaf = 1) {
  for (int i = 0; i < levels; ++i) leaf = arrays ? json::array({leaf}) : json{{"x", leaf}};
  return leaf;
}

// Whatever FromJson accepts must parse back from its binary form with protobuf's default
// recursion limit; one level more must be refused with a clear error.
TEST(DepthTest, AcceptedNestingStaysParseableAsProtobuf) {
  for (bool arrays : {false, true}) {
    int first_refused = -1;
    for (int levels = 1; levels < 80 && first_refused < 0; ++levels) {
      Doc doc;
      absl::Status s = FromJson(json{{"status", {{"v", Nest(levels, arrays)}}}}, &doc);
      if (!s.ok()) {
        EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("nested too deeply for protobuf")));
        first_refused = levels;
        continue;
      }
      Doc back;
      EXPECT_TRUE(back.ParseFromString(doc.SerializeAsString())) << levels;
      EXPECT_EQ(ToJson(back), ToJson(doc));
    }
    // Struct costs 3 message levels per JSON object and 2 per array.
    EXPECT_GT(first_refused, arrays ? 40 : 30) << arrays;
  }
}

TEST(DepthTest, VeryDeepInputIsRefusedNotOverflowed) {
  // Built in place: copying a json this deep would itself recurse.
  json very_deep = json::object();
  json* tail = &(very_deep["status"]["x"] = json::array());
  for (int i = 0; i < 20000; ++i) tail = &(tail->emplace_back(json::array()));
  Doc doc;
  EXPECT_THAT(FromJson(very_deep, &doc),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deeply")));
}

TEST(ToJsonTest, EmitsOnlyPresentFields) {
  Doc doc;
  doc.mutable_spec()->set_count(0);        // no presence: dropped
  doc.mutable_spec()->set_parallelism(0);  // optional: kept
  doc.mutable_spec()->set_dry_run(false);  // optional: kept
  doc.mutable_spec()->set_entrypoint("");  // no presence: dropped
  doc.mutable_metadata();                  // message presence: {}
  doc.mutable_spec()->add_numbers(int64_t{1} << 60);
  doc.mutable_spec()->set_weight(0.1f);
  (*doc.mutable_metadata()->mutable_labels())["a"] = "b";
  EXPECT_EQ(ToJson(doc), json::parse(R"({
    "metadata": {"labels": {"a": "b"}},
    "spec": {"parallelism": 0, "dryRun": false, "numbers": [1152921504606846976],
             "weight": 0.1}
  })"));
  EXPECT_TRUE(ToJson(doc)["spec"]["numbers"][0].is_number_integer());
  EXPECT_EQ(ToJson(Doc()), json::object());
}

TEST(ToJsonTest, OptionalZeroesSurviveYamlText) {
  Doc doc;
  ASSERT_OK(Decode("spec:\n  parallelism: 0\n  dryRun: false\n  optionalText: \"\"\n", &doc));
  EXPECT_EQ(ToYaml(ToJson(doc)),
            "spec:\n  dryRun: false\n  optionalText: \"\"\n  parallelism: 0\n");
}

}  // namespace
}  // namespace argonaut::manifest
