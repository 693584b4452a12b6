#include "lib/template/template.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"

namespace argonaut::tmpl {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using json = nlohmann::json;

Scope SampleScope() {
  Scope s;
  s.Set("inputs.parameters.x", "hello");
  s.Set("inputs.parameters.msg-name", "dash");
  s.Set("inputs.parameters.n", "41");
  s.Set("steps.a.outputs.result", "heads");
  s.Set("tasks.t.outputs.parameters.p", "p-value");
  s.Set("workflow.name", "wf-abc");
  s.Set("workflow.parameters.x", "global");
  s.Set("item", "plain-item");
  s.SetJson("loop", json{{"key", "k"}, {"num", 3}, {"nested", {{"deep", true}}}});
  return s;
}

struct Case {
  const char* text;
  const char* want;
};

TEST(TemplateTest, SimpleSubstitution) {
  const Scope scope = SampleScope();
  const Case cases[] = {
      {"{{inputs.parameters.x}}", "hello"},
      {"echo {{inputs.parameters.x}}!", "echo hello!"},
      {"{{ inputs.parameters.x }}", "hello"},  // whitespace inside the braces
      {"{{\tinputs.parameters.x\n}}", "hello"},
      {"{{steps.a.outputs.result}} == heads", "heads == heads"},
      {"{{tasks.t.outputs.parameters.p}}", "p-value"},
      {"{{workflow.name}}/{{workflow.parameters.x}}", "wf-abc/global"},
      {"{{inputs.parameters.msg-name}}", "dash"},
      {"{{item}}", "plain-item"},
      {"{{loop}}", "{\"key\":\"k\",\"nested\":{\"deep\":true},\"num\":3}"},
      {"{{loop.key}}", "k"},
      {"{{loop.num}}", "3"},
      {"{{loop.nested}}", "{\"deep\":true}"},
      {"{{loop.nested.deep}}", "true"},
      {"no tags at all", "no tags at all"},
      {"", ""},
      {"single { brace } and }} closing", "single { brace } and }} closing"},
      {"{{inputs.parameters.x}}{{inputs.parameters.x}}", "hellohello"},
      {"$(rm -rf /) {{inputs.parameters.x}}", "$(rm -rf /) hello"},  // plain text, no shell
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<std::string> got = RenderString(c.text, scope);
    ASSERT_OK(got);
    EXPECT_EQ(*got, c.want);
  }
}

TEST(TemplateTest, ValuesAreNotRescanned) {
  Scope scope;
  scope.Set("a", "{{b}}");
  scope.Set("b", "nope");
  EXPECT_EQ(*RenderString("x{{a}}y", scope), "x{{b}}y");
}

TEST(TemplateTest, NestedTagResolvesInnerName) {
  // Argo: {{inputs.parameters.{{item}}}} -> the inner tag resolves and the outer is re-emitted.
  Scope scope;
  scope.Set("item", "x");
  EXPECT_EQ(*RenderString("{{inputs.parameters.{{item}}}}", scope), "{{inputs.parameters.x}}");
}

TEST(TemplateTest, UnresolvedReferences) {
  const Scope scope = SampleScope();
  EXPECT_THAT(RenderString("a {{inputs.parameters.missing}} b", scope),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unresolved reference {{inputs.parameters.missing}}")));
  RenderOptions leave;
  leave.unresolved = Unresolved::kLeave;
  EXPECT_EQ(*RenderString("{{workflow.status}} / {{ steps.b.outputs.result }}", scope, leave),
            "{{workflow.status}} / {{ steps.b.outputs.result }}");
  RenderOptions some;
  some.leave_if = LeavePrefixes({"steps.", "tasks.", "workflow.outputs."});
  EXPECT_EQ(*RenderString("{{steps.zz.outputs.result}}-{{inputs.parameters.x}}", scope, some),
            "{{steps.zz.outputs.result}}-hello");
  EXPECT_EQ(*RenderString("{{workflow.outputs.parameters.p}}", scope, some),
            "{{workflow.outputs.parameters.p}}");
  EXPECT_THAT(
      RenderString("{{inputs.parameters.nope}}", scope, some),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("{{inputs.parameters.nope}}")));
  EXPECT_THAT(RenderString("{{loop.missing}}", scope),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("{{loop.missing}}")));
}

TEST(TemplateTest, ParseErrors) {
  EXPECT_THAT(Template::Parse("abc {{inputs.parameters.x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("position 5: '{{' has no closing '}}'")));
  EXPECT_THAT(Template::Parse("{{"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Template::Parse(std::string(Template::kMaxInputBytes + 1, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
}

TEST(TemplateTest, References) {
  absl::StatusOr<Template> t = Template::Parse(
      "{{inputs.parameters.x}} {{ steps.a.outputs.result }} {{inputs.parameters.x}} "
      "{{=inputs.parameters.n}} {{item.key}}");
  ASSERT_OK(t);
  EXPECT_THAT(t->References(),
              ElementsAre("inputs.parameters.x", "steps.a.outputs.result", "item.key"));
  EXPECT_THAT(t->Expressions(), ElementsAre("inputs.parameters.n"));
}

TEST(TemplateTest, ScopeToEnv) {
  Scope scope;
  scope.Set("inputs.parameters.x", "1");
  scope.Set("inputs.parameters.my-param", "2");
  scope.Set("inputs.parameters", "[...all as JSON...]");  // less specific: dropped
  scope.Set("workflow.name", "w");
  scope.Set("a", "solo");
  scope.Set("ab.c", "x");  // "a" is not a parent of "ab.c"
  scope.SetJson("item", json{{"k", "v"}, {"n", 1}});
  const json env = scope.ToEnv();
  EXPECT_EQ(env["inputs"]["parameters"]["x"], "1");
  EXPECT_EQ(env["inputs"]["parameters"]["my-param"], "2");
  EXPECT_EQ(env["workflow"]["name"], "w");
  EXPECT_EQ(env["a"], "solo");
  EXPECT_EQ(env["ab"]["c"], "x");
  EXPECT_EQ(env["item"]["k"], "v");
  EXPECT_EQ(env["item"]["n"], "1");  // Argo's replace map holds strings
}

TEST(TemplateTest, Expressions) {
  const Scope scope = SampleScope();
  const Case cases[] = {
      {"{{=inputs.parameters.x}}", "hello"},
      {"{{= inputs.parameters.x }}", "hello"},
      {"{{=inputs.parameters['msg-name']}}", "dash"},
      {"{{=asInt(inputs.parameters.n) + 1}}", "42"},
      {"{{=steps.a.outputs.result == 'heads'}}", "true"},
      {"{{=workflow.name + '-x'}}", "wf-abc-x"},
      {"{{=loop.key}}", "k"},
      {"v={{=len(inputs.parameters.x)}}", "v=5"},
      // Results print as Go's encoding/json does (Argo): a whole float has
      // no fraction, inside lists too; a real fraction stays.
      {"{{=asFloat(inputs.parameters.n) + 2}}", "43"},
      {"{{=[asFloat(inputs.parameters.n), 0.5]}}", "[41,0.5]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<std::string> got = RenderString(c.text, scope);
    ASSERT_OK(got);
    EXPECT_EQ(*got, c.want);
  }
  EXPECT_THAT(RenderString("{{=inputs.parameters.x +}}", scope),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid expression")));
  RenderOptions leave;
  leave.unresolved = Unresolved::kLeave;
  EXPECT_EQ(*RenderString("{{=inputs.parameters.x +}}", scope, leave),
            "{{=inputs.parameters.x +}}");
  RenderOptions off;
  off.expressions = false;
  EXPECT_EQ(*RenderString("{{=1 + 1}}", scope, off), "{{=1 + 1}}");
}

TEST(TemplateTest, RenderJsonSubstitutesStringsNotKeys) {
  const Scope scope = SampleScope();
  const json doc = {{"{{inputs.parameters.x}}", "{{inputs.parameters.x}}"},
                    {"args", {"echo", "{{workflow.name}}", 3, true, nullptr}},
                    {"nested", {{"when", "{{steps.a.outputs.result}} == heads"}}}};
  absl::StatusOr<json> got = RenderJson(doc, scope);
  ASSERT_OK(got);
  EXPECT_EQ((*got)["{{inputs.parameters.x}}"], "hello");
  EXPECT_EQ((*got)["args"], json({"echo", "wf-abc", 3, true, nullptr}));
  EXPECT_EQ((*got)["nested"]["when"], "heads == heads");
  EXPECT_THAT(RenderJson(json{{"a", "{{nope}}"}}, scope),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("{{nope}}")));
}

TEST(TemplateTest, HostileInputs) {
  // Output cap: a value substituted many times.
  Scope scope;
  scope.Set("big", std::string(1 << 20, 'x'));
  std::string text;
  for (int i = 0; i < 32; ++i) text += "{{big}}";
  EXPECT_THAT(RenderString(text, scope),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("exceed")));
  RenderOptions small;
  small.max_output_bytes = 10;
  EXPECT_THAT(RenderString("01234567890", Scope(), small),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // RenderJson cap applies to the total.
  json arr = json::array();
  for (int i = 0; i < 20; ++i) arr.push_back("{{big}}");
  EXPECT_THAT(RenderJson(arr, scope), StatusIs(absl::StatusCode::kResourceExhausted));
  // Deep JSON.
  json deep = "leaf";
  for (int i = 0; i < 1000; ++i) deep = json::array({deep});
  EXPECT_THAT(RenderJson(deep, scope),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nests deeper")));
  // Many tags parse in linear time.
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "{{a}}";
  Scope a;
  a.Set("a", "1");
  absl::StatusOr<std::string> out = RenderString(many, a);
  ASSERT_OK(out);
  EXPECT_EQ(out->size(), 100000u);
  // Braces galore.
  EXPECT_EQ(*RenderString("}}}}{{a}}}}", a), "}}}}1}}");
  EXPECT_THAT(RenderString("{{{{{{", a), StatusIs(absl::StatusCode::kInvalidArgument));
  // Binary bytes in names and values are carried through untouched.
  Scope b;
  b.Set(std::string("k\0y", 3), std::string("v\0\xff", 3));
  EXPECT_EQ(*RenderString(std::string("[{{k\0y}}]", 9), b), std::string("[v\0\xff]", 5));
}

}  // namespace
}  // namespace argonaut::tmpl
