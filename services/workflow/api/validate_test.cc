#include "services/workflow/api/validate.h"

#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/base/test_corpus.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"
#include "services/workflow/api/validator.h"

namespace argonaut::workflow::api {
namespace {

namespace fs = std::filesystem;
using ::nlohmann::json;

constexpr char kCorpusAnchor[] = "services/workflow/api/testdata/corpus_anchor.txt";

json Yaml(const std::string& text) {
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  return docs.ok() && !docs->empty() ? (*docs)[0] : json();
}

bool IsWorkflowKind(const std::string& kind) {
  return kind == "Workflow" || kind == "WorkflowTemplate" || kind == "ClusterWorkflowTemplate" ||
         kind == "CronWorkflow";
}

// Every workflow-kind document of Argo's examples that the store accepts (the corpus apply test's
// set) passes strict validation, with templateRefs resolved among the corpus's own templates.
TEST(ValidateCorpusTest, EveryExampleValidates) {
  const absl::StatusOr<fs::path> corpus_dir = argonaut::testing::TestCorpusDir(kCorpusAnchor);
  ASSERT_TRUE(corpus_dir.ok()) << corpus_dir.status();
  const fs::path dir = *corpus_dir / "argo-workflows" / "examples";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  struct Doc {
    std::string file;
    json object;
  };
  std::vector<Doc> docs;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& path : files) {
    const absl::StatusOr<std::string> text = argonaut::testing::ReadTestFile(path);
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<std::vector<json>> parsed = manifest::ParseDocuments(*text);
    if (!parsed.ok()) continue;  // refused before validation; listed in the expected rejections
    for (json& doc : *parsed) {
      if (!doc.is_object() || !doc.contains("kind") || !doc["kind"].is_string()) continue;
      const std::string kind = doc["kind"];
      if (!IsWorkflowKind(kind)) continue;
      const resource::KindInfo* info = resource::FindKind(kind);
      ASSERT_NE(info, nullptr);
      auto msg = info->NewMessage();
      // The store decodes through the proto first; validate what it would see.
      if (!manifest::FromJson(doc, msg.get()).ok()) continue;
      json normalized = manifest::ToJson(*msg);
      normalized["kind"] = kind;
      docs.push_back({fs::relative(path, dir).string(), std::move(normalized)});
    }
  }
  std::map<std::string, json> templates;
  for (const Doc& d : docs) {
    if (d.object["kind"] != "Workflow" && d.object["kind"] != "CronWorkflow") {
      templates[absl::StrCat(d.object["kind"].get<std::string>(), "/",
                             d.object["metadata"].value("name", ""))] = d.object;
    }
  }
  TemplateLookup lookup = [&](std::string_view kind, std::string_view name) -> std::optional<json> {
    auto it = templates.find(absl::StrCat(std::string(kind), "/", std::string(name)));
    if (it == templates.end()) return std::nullopt;
    return it->second;
  };
  int checked = 0;
  for (const Doc& d : docs) {
    absl::Status s = ValidateWorkflow(d.object, lookup, {.require_refs = true});
    EXPECT_TRUE(s.ok()) << d.file << " " << d.object["metadata"].dump() << ": " << s;
    ++checked;
  }
  std::cerr << "validated " << checked << " workflow-kind documents\n";
  EXPECT_GE(checked, 200);
}

struct BadCase {
  std::string name;
  std::string yaml;
  std::string path;  // the error must start with "<path>: "
};

constexpr char kHeader[] =
    "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: w\n";

std::vector<BadCase> BadCases() {
  return {
      {"no_templates", "spec:\n  entrypoint: main\n", "spec.templates"},
      {"no_entrypoint", "spec:\n  templates:\n  - name: main\n    container: {image: a}\n",
       "spec.entrypoint"},
      {"unknown_entrypoint",
       "spec:\n  entrypoint: nope\n  templates:\n  - name: main\n    container: {image: a}\n",
       "spec.entrypoint"},
      {"duplicate_template",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    container: {image: a}\n"
       "  - name: main\n    container: {image: b}\n",
       "spec.templates[1].name"},
      {"template_without_name",
       "spec:\n  entrypoint: main\n  templates:\n  - container: {image: a}\n",
       "spec.templates[0].name"},
      {"invalid_template_name",
       "spec:\n  entrypoint: main_x\n  templates:\n  - name: main_x\n    container: {image: a}\n",
       "spec.templates[0].name"},
      {"no_type", "spec:\n  entrypoint: main\n  templates:\n  - name: main\n", "spec.templates[0]"},
      {"two_types",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    container: {image: a}\n"
       "    script: {image: a, source: x}\n",
       "spec.templates[0]"},
      {"unknown_step_template",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n"
       "        template: nope\n",
       "spec.templates[0].steps[0][0].template"},
      {"step_without_name",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - template: "
       "main\n",
       "spec.templates[0].steps[0][0].name"},
      {"duplicate_step",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: a, "
       "template: c}\n    - - {name: a, template: c}\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].steps[1][0].name"},
      {"step_no_callee",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n",
       "spec.templates[0].steps[0][0]"},
      {"step_template_and_ref",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n"
       "        template: c\n        templateRef: {name: t, template: c}\n  - name: c\n"
       "    container: {image: a}\n",
       "spec.templates[0].steps[0][0]"},
      {"bad_when",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n"
       "        template: c\n        when: \"{{workflow.name}} == (\"\n  - name: c\n"
       "    container: {image: a}\n",
       "spec.templates[0].steps[0][0].when"},
      {"items_and_param",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n"
       "        template: c\n        withItems: [1, 2]\n        withParam: '[1]'\n  - name: c\n"
       "    container: {image: a}\n",
       "spec.templates[0].steps[0][0]"},
      {"sequence_count_and_end",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n"
       "        template: c\n        withSequence: {count: '3', end: '5'}\n  - name: c\n"
       "    container: {image: a}\n",
       "spec.templates[0].steps[0][0].withSequence"},
      {"sequence_count_not_int",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n"
       "        template: c\n        withSequence: {count: abc}\n  - name: c\n"
       "    container: {image: a}\n",
       "spec.templates[0].steps[0][0].withSequence.count"},
      {"step_refers_to_same_group",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: a, "
       "template: c}\n      - name: b\n        template: c\n        when: "
       "\"{{steps.a.outputs.result}} == x\"\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].steps[0][1].when"},
      {"step_refers_to_later_step",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n"
       "        template: c\n        arguments:\n          parameters: [{name: p, value: "
       "'{{steps.b.outputs.result}}'}]\n    - - {name: b, template: c}\n  - name: c\n"
       "    inputs: {parameters: [{name: p, default: x}]}\n    container: {image: a}\n",
       "spec.templates[0].steps[0][0].arguments.parameters[0].value"},
      {"step_refers_to_unknown_step",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: a, "
       "template: c}\n    - - name: b\n        template: c\n        withParam: "
       "'{{steps.zz.outputs.result}}'\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].steps[1][0].withParam"},
      {"undeclared_input",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    container:\n      image: a\n"
       "      args: ['{{inputs.parameters.msg}}']\n",
       "spec.templates[0].container.args[0]"},
      {"missing_argument_for_step",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: a, "
       "template: c}\n  - name: c\n    inputs: {parameters: [{name: p}]}\n"
       "    container: {image: a}\n",
       "spec.templates[0].steps[0][0].arguments"},
      {"missing_entrypoint_input",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    inputs: {parameters: [{name: "
       "p}]}\n    container: {image: a}\n",
       "spec.arguments.parameters"},
      {"argument_without_value",
       "spec:\n  entrypoint: main\n  arguments: {parameters: [{name: p}]}\n  templates:\n"
       "  - name: main\n    container: {image: a}\n",
       "spec.arguments.parameters[0].value"},
      {"argument_not_in_enum",
       "spec:\n  entrypoint: main\n  arguments: {parameters: [{name: p, value: c, enum: [a, b]}]}\n"
       "  templates:\n  - name: main\n    container: {image: a}\n",
       "spec.arguments.parameters[0].value"},
      {"empty_enum",
       "spec:\n  entrypoint: main\n  arguments: {parameters: [{name: p, value: c, enum: []}]}\n"
       "  templates:\n  - name: main\n    container: {image: a}\n",
       "spec.arguments.parameters[0].enum"},
      {"entry_input_enum",
       "spec:\n  entrypoint: main\n  arguments: {parameters: [{name: p, value: z}]}\n"
       "  templates:\n  - name: main\n    inputs: {parameters: [{name: p, enum: [a, b]}]}\n"
       "    container: {image: a}\n",
       "spec.arguments.parameters"},
      {"duplicate_argument",
       "spec:\n  entrypoint: main\n  arguments: {parameters: [{name: p, value: a}, {name: p, "
       "value: b}]}\n  templates:\n  - name: main\n    container: {image: a}\n",
       "spec.arguments.parameters[1].name"},
      {"bad_param_name",
       "spec:\n  entrypoint: main\n  arguments: {parameters: [{name: 'a b', value: a}]}\n"
       "  templates:\n  - name: main\n    container: {image: a}\n",
       "spec.arguments.parameters[0].name"},
      {"dag_unknown_dependency",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: c}\n      - {name: b, template: c, dependencies: [zz]}\n"
       "  - name: c\n    container: {image: a}\n",
       "spec.templates[0].dag.tasks[1].dependencies"},
      {"dag_cycle",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: c, dependencies: [b]}\n      - {name: b, template: c, "
       "dependencies: [a]}\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].dag.tasks["},
      {"dag_self_dependency",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: c, depends: a}\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].dag.tasks[0].depends"},
      {"dag_bad_depends",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: c}\n      - {name: b, template: c}\n"
       "      - {name: d, template: c, depends: 'a && (b'}\n  - name: c\n    container: {image: "
       "a}\n",
       "spec.templates[0].dag.tasks[2].depends"},
      {"dag_depends_unknown_task",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: c}\n      - {name: b, template: c, depends: 'a.Succeeded || "
       "q.Failed'}\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].dag.tasks[1].depends"},
      {"dag_duplicate_task",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: c}\n      - {name: a, template: c}\n  - name: c\n"
       "    container: {image: a}\n",
       "spec.templates[0].dag.tasks[1].name"},
      {"dag_mixed_depends",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: c}\n      - {name: b, template: c, depends: a}\n"
       "      - {name: d, template: c, dependencies: [a]}\n  - name: c\n    container: {image: "
       "a}\n",
       "spec.templates[0].dag"},
      {"dag_continue_on_with_depends",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: c, continueOn: {failed: true}}\n      - {name: b, template: "
       "c, depends: a}\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].dag.tasks[0].continueOn"},
      {"dag_unknown_target",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      target: a zz\n"
       "      tasks:\n      - {name: a, template: c}\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].dag.target"},
      {"dag_ref_not_ancestor",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: c}\n      - name: b\n        template: c\n        when: "
       "\"{{tasks.a.outputs.result}} == x\"\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].dag.tasks[1].when"},
      {"dag_unknown_template",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
       "      - {name: a, template: nope}\n",
       "spec.templates[0].dag.tasks[0].template"},
      {"retry_bad_policy",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    retryStrategy: {limit: 2, "
       "retryPolicy: Sometimes}\n    container: {image: a}\n",
       "spec.templates[0].retryStrategy.retryPolicy"},
      {"retry_bad_limit",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    retryStrategy: {limit: "
       "lots}\n    container: {image: a}\n",
       "spec.templates[0].retryStrategy.limit"},
      {"retry_bad_backoff",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    retryStrategy:\n      limit: "
       "2\n      backoff: {duration: soon}\n    container: {image: a}\n",
       "spec.templates[0].retryStrategy.backoff.duration"},
      {"retry_bad_expression",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    retryStrategy:\n      limit: "
       "2\n      expression: 'lastRetry.status == '\n    container: {image: a}\n",
       "spec.templates[0].retryStrategy.expression"},
      {"unknown_on_exit",
       "spec:\n  entrypoint: main\n  onExit: nope\n  templates:\n  - name: main\n"
       "    container: {image: a}\n",
       "spec.onExit"},
      {"unknown_hook_template",
       "spec:\n  entrypoint: main\n  hooks:\n    exit: {template: nope}\n  templates:\n"
       "  - name: main\n    container: {image: a}\n",
       "spec.hooks.exit.template"},
      {"hook_without_expression",
       "spec:\n  entrypoint: main\n  hooks:\n    running: {template: main}\n  templates:\n"
       "  - name: main\n    container: {image: a}\n",
       "spec.hooks.running.expression"},
      {"bad_shutdown",
       "spec:\n  entrypoint: main\n  shutdown: Halt\n  templates:\n  - name: main\n"
       "    container: {image: a}\n",
       "spec.shutdown"},
      {"bad_suspend_duration",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    suspend: {duration: "
       "forever}\n",
       "spec.templates[0].suspend.duration"},
      {"timeout_on_steps",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    timeout: 10s\n    steps:\n"
       "    - - {name: a, template: c}\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].timeout"},
      {"output_without_source",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    outputs: {parameters: [{name: "
       "o}]}\n    container: {image: a}\n",
       "spec.templates[0].outputs.parameters[0].valueFrom"},
      {"inline_without_type",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n"
       "        inline: {inputs: {}}\n",
       "spec.templates[0].steps[0][0].inline"},
      {"step_on_exit_unknown",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: a, "
       "template: c, onExit: nope}\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].steps[0][0].onExit"},
      {"bad_resource_action",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    resource: {action: explode, "
       "manifest: x}\n",
       "spec.templates[0].resource.action"},
      {"outputs_unknown_step",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: a, "
       "template: c}\n    outputs:\n      parameters:\n      - name: o\n        valueFrom: "
       "{parameter: '{{steps.b.outputs.result}}'}\n  - name: c\n    container: {image: a}\n",
       "spec.templates[0].outputs.parameters[0].valueFrom.parameter"},
      {"semaphore_without_configmap",
       "spec:\n  entrypoint: main\n  synchronization:\n    semaphores: [{namespace: x}]\n"
       "  templates:\n  - name: main\n    container: {image: a}\n",
       "spec.synchronization.semaphores[0].configMapKeyRef"},
      {"semaphore_without_key",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    synchronization:\n"
       "      semaphore: {configMapKeyRef: {name: cm}}\n    container: {image: a}\n",
       "spec.templates[0].synchronization.semaphore.configMapKeyRef.key"},
      {"mutex_without_name",
       "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    synchronization:\n"
       "      mutexes: [{name: ok}, {namespace: x}]\n    container: {image: a}\n",
       "spec.templates[0].synchronization.mutexes[1].name"},
      {"mutexes_not_a_list",
       "spec:\n  entrypoint: main\n  synchronization: {mutexes: {name: a}}\n  templates:\n"
       "  - name: main\n    container: {image: a}\n",
       "spec.synchronization.mutexes"},
  };
}

TEST(ValidateTest, InvalidSpecsNameTheirField) {
  const std::vector<BadCase> cases = BadCases();
  EXPECT_GE(cases.size(), 40u);
  for (const BadCase& c : cases) {
    json wf = Yaml(kHeader + c.yaml);
    absl::Status s = ValidateWorkflow(wf, nullptr, {.require_refs = true});
    ASSERT_FALSE(s.ok()) << c.name;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_TRUE(absl::StartsWith(s.message(), c.path)) << c.name << ": " << s.message();
  }
}

TEST(ValidateTest, CycleNamesTheLoop) {
  json wf = Yaml(absl::StrCat(
      kHeader,
      "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
      "      - {name: a, template: c}\n      - {name: b, template: c, depends: a && d}\n"
      "      - {name: d, template: c, depends: b}\n  - name: c\n    container: {image: a}\n"));
  absl::Status s = ValidateWorkflow(wf, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "dependency cycle detected")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "b -> d -> b") ||
              absl::StrContains(s.message(), "d -> b -> d"))
      << s;
}

TEST(ValidateTest, LongChainDoesNotRecurse) {
  json wf = Yaml(absl::StrCat(kHeader,
                              "spec:\n  entrypoint: main\n  templates:\n  - name: c\n"
                              "    container: {image: a}\n"));
  json main = {{"name", "main"}, {"dag", {{"tasks", json::array()}}}};
  for (int i = 0; i < 20000; ++i) {
    json task = {{"name", absl::StrCat("t", i)}, {"template", "c"}};
    if (i > 0) task["dependencies"] = {absl::StrCat("t", i - 1)};
    main["dag"]["tasks"].push_back(task);
  }
  wf["spec"]["templates"].push_back(main);
  EXPECT_OK(ValidateWorkflow(wf, nullptr));
  main["dag"]["tasks"][0]["dependencies"] = {"t19999"};
  wf["spec"]["templates"][1] = main;
  EXPECT_FALSE(ValidateWorkflow(wf, nullptr).ok());
}

TEST(ValidateTest, DeepInlineNestingIsRefused) {
  json inner = {{"container", {{"image", "a"}}}};
  for (int i = 0; i < 40; ++i) {
    inner = {{"steps", json::array({json::array({{{"name", "s"}, {"inline", inner}}})})}};
  }
  inner["name"] = "main";
  json wf = {{"kind", "Workflow"},
             {"spec", {{"entrypoint", "main"}, {"templates", json::array({inner})}}}};
  absl::Status s = ValidateWorkflow(wf, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "nested too deeply")) << s;
}

TEST(ValidateTest, ValidFeaturesPass) {
  json wf = Yaml(absl::StrCat(
      kHeader,
      "spec:\n  entrypoint: main\n  onExit: c\n  arguments: {parameters: [{name: msg, value: "
      "hi, enum: [hi, ho]}]}\n  templates:\n  - name: main\n    inputs: {parameters: [{name: "
      "msg}]}\n    steps:\n    - - name: a\n        template: c\n        arguments: "
      "{parameters: [{name: p, value: '{{inputs.parameters.msg}}'}]}\n    - - name: b\n"
      "        template: d\n        when: \"{{steps.a.outputs.result}} == heads\"\n"
      "        withItems: [1, 2]\n  - name: c\n    inputs: {parameters: [{name: p, default: "
      "x}]}\n    retryStrategy: {limit: '3', retryPolicy: OnError, backoff: {duration: 1m, "
      "factor: 2}}\n    container: {image: a, args: ['{{inputs.parameters.p}}']}\n"
      "  - name: d\n    dag:\n      tasks:\n      - {name: x, template: c}\n"
      "      - name: y\n        template: c\n        depends: x.Succeeded || x.Failed\n"
      "        arguments: {parameters: [{name: p, value: '{{tasks.x.outputs.result}}'}]}\n"));
  EXPECT_OK(ValidateWorkflow(wf, nullptr));
}

TEST(ValidateTest, TemplatesMayLeaveArgumentsAndEntrypointOpen) {
  json t = Yaml(
      "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: t}\nspec:\n"
      "  arguments: {parameters: [{name: p}]}\n  templates:\n  - name: c\n"
      "    inputs: {parameters: [{name: q}]}\n    container: {image: a}\n");
  EXPECT_OK(ValidateWorkflow(t, nullptr));
  t["kind"] = "Workflow";
  EXPECT_FALSE(ValidateWorkflow(t, nullptr).ok());
}

TEST(ValidateTest, TemplateRefsResolveThroughLookup) {
  json tmpl = Yaml(
      "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: lib}\nspec:\n"
      "  entrypoint: c\n  templates:\n  - name: c\n    inputs: {parameters: [{name: q}]}\n"
      "    container: {image: a}\n");
  TemplateLookup lookup = [&](std::string_view kind, std::string_view name) -> std::optional<json> {
    if (kind == "WorkflowTemplate" && name == "lib") return tmpl;
    return std::nullopt;
  };
  json wf = Yaml(absl::StrCat(
      kHeader,
      "spec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n"
      "        templateRef: {name: lib, template: c}\n        arguments: {parameters: [{name: "
      "q, value: x}]}\n"));
  EXPECT_OK(ValidateWorkflow(wf, lookup, {.require_refs = true}));
  // Missing argument of the referenced template.
  json missing = wf;
  missing["spec"]["templates"][0]["steps"][0][0].erase("arguments");
  absl::Status s = ValidateWorkflow(missing, lookup, {.require_refs = true});
  EXPECT_TRUE(absl::StartsWith(s.message(), "spec.templates[0].steps[0][0].arguments")) << s;
  // Unknown template inside the WorkflowTemplate.
  json bad = wf;
  bad["spec"]["templates"][0]["steps"][0][0]["templateRef"]["template"] = "zz";
  s = ValidateWorkflow(bad, lookup, {.require_refs = true});
  EXPECT_TRUE(absl::StartsWith(s.message(), "spec.templates[0].steps[0][0].templateRef.template"))
      << s;
  // Unknown WorkflowTemplate: refused on submit, accepted by a plain store write.
  bad["spec"]["templates"][0]["steps"][0][0]["templateRef"]["name"] = "other";
  s = ValidateWorkflow(bad, lookup, {.require_refs = true});
  EXPECT_TRUE(absl::StartsWith(s.message(), "spec.templates[0].steps[0][0].templateRef.name")) << s;
  EXPECT_OK(ValidateWorkflow(bad, lookup, {.require_refs = false}));

  json byref = Yaml(absl::StrCat(kHeader,
                                 "spec:\n  workflowTemplateRef: {name: lib}\n  arguments: "
                                 "{parameters: [{name: q, value: v}]}\n"));
  EXPECT_OK(ValidateWorkflow(byref, lookup, {.require_refs = true}));
  byref["spec"]["workflowTemplateRef"]["name"] = "nope";
  s = ValidateWorkflow(byref, lookup, {.require_refs = true});
  EXPECT_TRUE(absl::StartsWith(s.message(), "spec.workflowTemplateRef.name")) << s;
}

TEST(ValidateTest, CronWorkflowSpecIsChecked) {
  json cron = Yaml(
      "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: c}\nspec:\n"
      "  schedule: '* * * * *'\n  workflowSpec:\n    entrypoint: main\n    templates:\n"
      "    - name: main\n      steps:\n      - - {name: a, template: zz}\n");
  absl::Status s = ValidateWorkflow(cron, nullptr);
  EXPECT_TRUE(absl::StartsWith(s.message(), "spec.workflowSpec.templates[0].steps[0][0].template"))
      << s;
  cron["spec"].erase("schedule");
  s = ValidateWorkflow(cron, nullptr);
  EXPECT_TRUE(absl::StartsWith(s.message(), "spec.schedule")) << s;
  // Schedules and the time zone are checked when the object is created.
  cron["spec"]["workflowSpec"]["templates"].push_back(
      {{"name", "leaf"}, {"container", {{"image", "alpine"}}}});
  cron["spec"]["workflowSpec"]["templates"][0]["steps"][0][0]["template"] = "leaf";
  cron["spec"]["schedules"] = {"0 * * * *", "61 * * * *"};
  s = ValidateWorkflow(cron, nullptr);
  EXPECT_TRUE(absl::StartsWith(s.message(), "spec.schedules[1]")) << s;
  cron["spec"]["schedules"] = {"0 * * * *"};
  EXPECT_OK(ValidateWorkflow(cron, nullptr));
  cron["spec"]["timezone"] = "Mars/Olympus_Mons";
  s = ValidateWorkflow(cron, nullptr);
  EXPECT_TRUE(absl::StartsWith(s.message(), "spec.timezone")) << s;
}

TEST(ValidateTest, HostileShapesGiveErrors) {
  for (
      const char* text :
      {R"({"kind":"Workflow","spec":[]})", R"({"kind":"Workflow","spec":{"templates":{}}})",
       R"({"kind":"Workflow","spec":{"entrypoint":"m","templates":[{"name":"m","steps":{}}]}})",
       R"({"kind":"Workflow","spec":{"entrypoint":"m","templates":[{"name":"m","steps":[[1]]}]}})",
       R"({"kind":"Workflow","spec":{"entrypoint":"m","templates":[{"name":"m","dag":{"tasks":[{"name":"a","template":"m","depends":5}]}}]}})",
       R"({"kind":"Workflow","spec":{"entrypoint":"m","arguments":{"parameters":[7]},"templates":[{"name":"m","container":{}}]}})",
       R"({"kind":"Pod"})", R"([])"}) {
    EXPECT_FALSE(ValidateWorkflow(json::parse(text), nullptr).ok()) << text;
  }
}

// The validator in front of the store refuses a bad Workflow and stores nothing.
TEST(WorkflowValidatorTest, StoreRefusesInvalidWorkflow) {
  auto kinds = resource::KindsOfService("workflow");
  auto store =
      *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
  resource::ResourceApi* api_ptr = nullptr;
  resource::ResourceApi api(store.get(), kinds, WorkflowValidator(StoreTemplateLookup(&api_ptr)));
  api_ptr = &api;
  const std::string bad =
      R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"name":"w","namespace":"default"},
          "spec":{"entrypoint":"main","templates":[{"name":"main","dag":{"tasks":[
          {"name":"a","template":"main","dependencies":["b"]},{"name":"b","template":"main","dependencies":["a"]}]}}]}})";
  absl::StatusOr<std::string> created = api.Create("Workflow", bad, false);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(absl::StartsWith(created.status().message(), "spec.templates[0].dag.tasks["))
      << created.status();
  EXPECT_EQ(api.Get("Workflow", "default", "w").status().code(), absl::StatusCode::kNotFound);

  ASSERT_OK(api.Create("WorkflowTemplate",
                       R"({"apiVersion":"argoproj.io/v1alpha1","kind":"WorkflowTemplate",
                           "metadata":{"name":"lib","namespace":"default"},
                           "spec":{"templates":[{"name":"c","container":{"image":"a"}}]}})",
                       false)
                .status());
  std::optional<json> found = StoreTemplateLookup(&api_ptr)("WorkflowTemplate", "default", "lib");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ((*found)["spec"]["templates"][0]["name"], "c");
  EXPECT_FALSE(StoreTemplateLookup(&api_ptr)("WorkflowTemplate", "other", "lib").has_value());
}

// Argo v4's CronWorkflow keeps `schedules`; the singular `schedule` is stored at its front, and
// parameter values come back as strings however they were written (Argo's AnyString).
TEST(WorkflowValidatorTest, StoresV4CronShapeAndStringParameters) {
  auto kinds = resource::KindsOfService("workflow");
  auto store =
      *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
  resource::ResourceApi* api_ptr = nullptr;
  resource::ResourceApi api(store.get(), kinds, WorkflowValidator(StoreTemplateLookup(&api_ptr)));
  api_ptr = &api;
  struct Case {
    std::string spec_schedules;  // JSON members of spec
    json want;
  };
  for (const Case& c : std::vector<Case>{
           {R"("schedule":"0 1 * * *")", json::array({"0 1 * * *"})},
           {R"("schedule":"0 1 * * *","schedules":["@hourly","0 1 * * *"])",
            json::array({"0 1 * * *", "@hourly"})},
           {R"("schedules":["@hourly","@daily"])", json::array({"@hourly", "@daily"})},
       }) {
    const std::string text = absl::StrCat(
        R"({"apiVersion":"argoproj.io/v1alpha1","kind":"CronWorkflow","metadata":{"name":"c","namespace":"default"},"spec":{)",
        c.spec_schedules,
        R"(,"workflowSpec":{"entrypoint":"m","arguments":{"parameters":[{"name":"n","value":7},{"name":"b","value":true,"enum":[1,"true"]}]},"templates":[{"name":"m","inputs":{"parameters":[{"name":"n","default":3}]},"container":{"image":"a"}}]}}})");
    ASSERT_OK(api.Create("CronWorkflow", text, /*upsert=*/true).status()) << text;
    absl::StatusOr<std::string> got = api.Get("CronWorkflow", "default", "c");
    ASSERT_OK(got.status());
    const json spec = json::parse(*got)["spec"];
    EXPECT_EQ(spec["schedules"], c.want) << text;
    EXPECT_FALSE(spec.contains("schedule")) << *got;
    const json params = spec["workflowSpec"]["arguments"]["parameters"];
    EXPECT_EQ(params[0]["value"], "7");
    EXPECT_EQ(params[1]["value"], "true");
    EXPECT_EQ(params[1]["enum"], json::array({"1", "true"}));
    EXPECT_EQ(spec["workflowSpec"]["templates"][0]["inputs"]["parameters"][0]["default"], "3");
  }
}

}  // namespace
}  // namespace argonaut::workflow::api
