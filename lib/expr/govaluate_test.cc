#include "lib/expr/govaluate.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"

namespace argonaut::expr {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using json = nlohmann::json;

struct BoolCase {
  const char* source;
  bool want;
};

// Every `when:` in the Argo Workflows examples corpus, with its {{...}} tags replaced by values
// the controller would substitute at run time.
const BoolCase kCorpusWhen[] = {
    {"heads == tails", false},  // {{steps.flip-coin.outputs.result}} == tails
    {"tails == tails", true},
    {"heads == heads", true},
    {"tails == heads", false},
    {"even == even", true},  // {{item.evenness}} == even
    {"odd == even", false},
    {"false", false},
    {"YES == YES", true},  // approval.yaml
    {"NO == YES", false},
    {"Succeeded == Succeeded", true},  // {{workflow.status}} == Succeeded
    {"Failed != Succeeded", true},
    {"Failed == Failed", true},  // {{steps.submit-resource.status}} == Failed
    {"3 < 10", true},            // iterate-counter < limit
    {"10 < 10", false},
    {"tails =~ tai", true},  // conditionals-complex.yaml
    {"heads =~ tai", false},
    {"heads =~ hea", true},
    {"Succeeded == Succeeded", true},  // {{status}} == Succeeded (custom metrics)
    {"true == true", true},            // {{inputs.parameters.should-print}} == true
    {"false == true", false},
    {"3 != 1 && 3 != 2", true},  // {{inputs.parameters.num}} != 1 && ... != 2
    {"1 != 1 && 1 != 2", false},
    {"2 != 1 && 2 != 2", false},
    // conditionals-complex.yaml (folded block scalar).
    {"( heads == heads &&\n  tails == tails\n) ||\n( tails == heads && heads == tails )", true},
    {"( heads == heads &&\n  heads == tails\n) ||\n( tails == heads && heads == tails )", false},
};

TEST(GovaluateTest, CorpusWhenConditions) {
  for (const BoolCase& c : kCorpusWhen) {
    SCOPED_TRACE(c.source);
    absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile(c.source);
    ASSERT_OK(p);
    absl::StatusOr<bool> got = p->EvalBool();
    ASSERT_OK(got);
    EXPECT_EQ(*got, c.want);
  }
}

const BoolCase kSemantics[] = {
    // Bare words are strings (Argo rewrites VARIABLE tokens to STRING), quotes are optional.
    {"foo != bar", true},
    {"'foo' == foo", true},
    {"\"foo\" == 'foo'", true},
    {"foo_bar == foo_bar", true},
    {"a1 == a1", true},
    // Numbers are float64; numeric strings from substitution are numbers when unquoted.
    {"5 > 3", true},
    {"5 >= 5", true},
    {"5.5 < 5.50001", true},
    {"10 > 9", true},       // numeric, not lexicographic
    {"'10' > '9'", false},  // quoted: lexicographic
    {"1 == 1.0", true},
    {".5 == 0.5", true},
    // No coercion in equality (reflect.DeepEqual).
    {"'5' == 5", false},
    {"'true' == true", false},
    {"true == true", true},
    {"true != false", true},
    // Strings compare lexicographically.
    {"abc < abd", true},
    {"b > abc", true},
    {"'' < a", true},
    // Logical operators and precedence: && binds tighter than ||.
    {"true || false && false", true},
    {"(true || false) && false", false},
    {"!false", true},
    {"!(1 == 2)", true},
    {"!true == false", true},  // prefix binds tighter than ==
    {"false && x == y", false},
    {"true || (1 > 'a')", true},  // short-circuit skips the type error
    // Arithmetic.
    {"1 + 2 * 3 == 7", true},
    {"(1 + 2) * 3 == 9", true},
    {"10 - 4 - 3 == 3", true},  // left associative
    {"100 / 10 / 5 == 2", true},
    {"7 % 3 == 1", true},
    {"2 ** 3 == 8", true},
    {"2 ** 3 ** 2 == 64", true},  // govaluate reorders same-precedence chains left to right
    {"-3 < 0", true},
    {"5 - -3 == 8", true},
    {"-2 ** 2 == 4", true},     // prefix minus binds to the literal
    {"1 / 0 > 1000000", true},  // +Inf
    // Bitwise (float64 truncated to int64).
    {"(6 & 3) == 2", true},
    {"(6 | 3) == 7", true},
    {"(6 ^ 3) == 5", true},
    {"(1 << 4) == 16", true},
    {"(256 >> 4) == 16", true},
    {"~0 == -1", true},
    // Out-of-range operands clamp to int64 before ~ (fuzzer find: the cast was undefined).
    {"~689805105195036898050 < 0", true},
    // String concatenation.
    {"a + b == ab", true},
    {"'v' + 1 == 'v1'", true},
    {"1 + 'x' == '1x'", true},
    {"'n=' + 1.5 == 'n=1.5'", true},
    {"'' + 1000000 == '1e+06'", true},  // Go %v of a float64
    // Regex: unanchored RE2 search.
    {"hello =~ ell", true},
    {"hello =~ '^ell'", false},
    {"hello !~ '^ell'", true},
    {"'v1.2.3' =~ '^v[0-9]+\\\\.'", true},
    {"hello =~ 'h.*o$'", true},
    {"abc =~ ''", true},
    // in (...)
    {"b in (a, b, c)", true},
    {"d in (a, b, c)", false},
    {"2 in (1, 2, 3)", true},
    {"'2' in (1, 2, 3)", false},
    {"x IN (x, y)", true},
    // Ternary and coalesce.
    {"(true ? 1 : 2) == 1", true},
    {"(false ? 1 : 2) == 2", true},
    {"(1 > 2 ? yes : no) == no", true},
    {"(false ? 1) ?? 5 == 5", true},
    // Escapes and brackets.
    {"'it\\'s' == 'it\\'s'", true},
    {"[a b] == 'a b'", true},
    {"a\\-b == 'a-b'", true},
    // Date strings become Unix seconds (govaluate TIME tokens).
    {"'2024-01-02' > '2024-01-01'", true},
    {"'2024-01-01' == 1704067200", true},
    {"'2024-01-01T00:00:00Z' == '2024-01-01'", true},
    {"'2024-01-01T01:00:00+01:00' == '2024-01-01'", true},
    {"'2024-01-01 00:00:01' - '2024-01-01' == 1", true},
    {"'2024-02-30' == '2024-02-30'", true},  // not a date: stays a string
    // Whitespace is free.
    {"  a==a  ", true},
    {"\ta\n==\ra", true},
    {"5>3", true},
};

TEST(GovaluateTest, Semantics) {
  for (const BoolCase& c : kSemantics) {
    SCOPED_TRACE(c.source);
    absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile(c.source);
    ASSERT_OK(p);
    absl::StatusOr<bool> got = p->EvalBool();
    ASSERT_OK(got);
    EXPECT_EQ(*got, c.want);
  }
}

struct ValueCase {
  const char* source;
  json want;
};

TEST(GovaluateTest, Values) {
  const ValueCase cases[] = {
      {"1 + 2", 3.0},
      {"'a' + 'b'", "ab"},
      {"heads", "heads"},
      {"1, 2, 3", json::array({1.0, 2.0, 3.0})},
      {"(1, 2), 3", json::array({1.0, 2.0, 3.0})},  // separator appends to a left array
      {"()", nullptr},
      {"false ? 1", nullptr},
      {"-(2 + 3)", -5.0},
      {"2.5 * 2", 5.0},
  };
  for (const ValueCase& c : cases) {
    SCOPED_TRACE(c.source);
    absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile(c.source);
    ASSERT_OK(p);
    absl::StatusOr<json> got = p->Eval();
    ASSERT_OK(got);
    EXPECT_EQ(*got, c.want);
  }
}

TEST(GovaluateTest, EmptyExpressionEvaluatesToNil) {
  absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile("   ");
  ASSERT_OK(p);
  EXPECT_EQ(*p->Eval(), json(nullptr));
  EXPECT_THAT(p->EvalBool(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(GovaluateTest, Parameters) {
  const json params = {{"x", 5},
                       {"name", "bob"},
                       {"flag", true},
                       {"list", {1, 2}},
                       {"Obj", {{"Field", "v"}, {"Inner", {{"N", 3}}}}}};
  const BoolCase cases[] = {
      {"x > 3", true},          {"x == 5", true},
      {"name == bob", true},    {"name == 'bob'", true},
      {"flag", true},           {"unknown == unknown", true},  // not a parameter: its own name
      {"Obj.Field == v", true}, {"Obj.Inner.N == 3", true},
      {"x in (4, 5)", true},
  };
  for (const BoolCase& c : cases) {
    SCOPED_TRACE(c.source);
    absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile(c.source);
    ASSERT_OK(p);
    absl::StatusOr<bool> got = p->EvalBool(params);
    ASSERT_OK(got);
    EXPECT_EQ(*got, c.want);
  }
  absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile("Obj == 1");
  ASSERT_OK(p);
  EXPECT_THAT(p->Eval(params), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("object")));
  p = GovaluateProgram::Compile("Obj.Missing == 1");
  ASSERT_OK(p);
  EXPECT_THAT(p->Eval(params),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no field 'Missing'")));
}

struct ErrorCase {
  const char* source;
  const char* want;  // substring of the error message
};

TEST(GovaluateTest, CompileErrors) {
  const ErrorCase cases[] = {
      {"(a == b + )", "column 11: unexpected ')' in \"(a == b + )\""},
      {"a == (b", "column 6: unbalanced parenthesis"},
      {"a == b)", "column 7: unexpected ')'"},
      {"a b", "column 3: unexpected 'b'"},
      {"a ==", "column 5: unexpected end of expression"},
      {"== a", "column 1: unexpected '=='"},
      {"1 = 1", "column 3: invalid token '='"},
      {"1 === 1", "column 3: invalid token '==='"},
      {"true &&& false", "column 6: invalid token '&&&'"},
      {"a == 'b", "column 6: unclosed string literal"},
      {"[abc == 1", "column 1: unclosed parameter bracket"},
      {"1.2.3 == x", "column 1: unable to parse numeric value '1.2.3'"},
      {"a. == b", "column 1: hanging accessor on token 'a.'"},
      {"a.b == c", "column 1: unable to access unexported field 'b' in token 'a.b'"},
      {"5abc == x", "column 2: unexpected 'abc'"},
      {"my-var == x", ""},  // parses; fails at eval (string minus string)
      {"a =~ '('", "column 6: unable to compile regexp pattern '('"},
      {"!!true", "column 1: invalid token '!!'"},
      {"5--3", "column 2: invalid token '--'"},
      {"a >-1", "column 3: invalid token '>-'"},
      {"f(x)", "column 2: unexpected '('"},
      {"_x == 1", "column 1: invalid token '_'"},
      {"a == b ||", "column 10: unexpected end of expression"},
      {")(", "column 1: unexpected ')'"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.source);
    absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile(c.source);
    if (std::string(c.want).empty()) {
      EXPECT_OK(p);
      continue;
    }
    EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(GovaluateTest, EvalErrors) {
  const ErrorCase cases[] = {
      // The classic Argo pitfall: a dash in an unquoted value is a minus.
      {"my-var == x", "value 'my' cannot be used with the modifier '-'"},
      {"1 > 'a'", "cannot be compared"},
      {"true && 1", "cannot be used with the logical operator '&&'"},
      {"1 && true", "cannot be used with the logical operator '&&'"},
      {"-abc", "cannot be used with the prefix '-'"},
      {"!5", "cannot be used with the prefix '!'"},
      {"1 =~ a", "cannot be used with the comparator '=~'"},
      {"a in (b)", "cannot be used with the comparator 'in'"},  // one element is not an array
      {"1 ? 2 : 3", "ternary operator"},
      {"true + 1", "cannot be used with the modifier '+'"},
      {"V1.X == a", "no parameter 'V1' found"},  // accessors are not rewritten by Argo
      {"a =~ b + '('", "unable to compile regexp pattern"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.source);
    absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile(c.source);
    ASSERT_OK(p);
    EXPECT_THAT(p->Eval(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(GovaluateTest, NonBooleanResultIsAnError) {
  absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile("1 + 1");
  ASSERT_OK(p);
  EXPECT_THAT(p->EvalBool(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected a boolean result")));
}

TEST(GovaluateTest, ShouldExecute) {
  EXPECT_EQ(*ShouldExecute(""), true);
  EXPECT_EQ(*ShouldExecute("heads == heads"), true);
  EXPECT_EQ(*ShouldExecute("heads == tails"), false);
  EXPECT_THAT(ShouldExecute("a = b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid 'when' expression")));
  EXPECT_THAT(ShouldExecute("foo"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("failed to evaluate 'when'")));
}

TEST(GovaluateTest, HostileInputs) {
  // 10,000 nested parentheses: rejected with a clear error, no stack overflow.
  std::string deep(10000, '(');
  deep += "1";
  deep += std::string(10000, ')');
  EXPECT_THAT(GovaluateProgram::Compile(deep),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nest more than")));
  // A long flat operator chain builds a deep left spine; bounded as well.
  std::string chain = "1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_THAT(GovaluateProgram::Compile(chain),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("operators deep")));
  std::string ok_chain = "1";
  for (int i = 0; i < 1000; ++i) ok_chain += " + 1";
  absl::StatusOr<GovaluateProgram> p = GovaluateProgram::Compile(ok_chain + " == 1001");
  ASSERT_OK(p);
  EXPECT_EQ(*p->EvalBool(), true);
  // Many prefix operators.
  std::string prefixes;
  for (int i = 0; i < 10000; ++i) prefixes += "- ";
  EXPECT_THAT(GovaluateProgram::Compile(prefixes + "1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Length cap.
  EXPECT_THAT(GovaluateProgram::Compile(std::string(kGovaluateMaxLength + 1, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  // Near the cap but fine: one huge word.
  p = GovaluateProgram::Compile(std::string(kGovaluateMaxLength - 10, 'a'));
  ASSERT_OK(p);
  // Binary garbage: an error, never a crash.
  std::string garbage;
  for (int i = 0; i < 256; ++i) garbage += static_cast<char>(i);
  EXPECT_FALSE(GovaluateProgram::Compile(garbage).ok());
  EXPECT_FALSE(GovaluateProgram::Compile(std::string("a == \0b", 7)).ok());
  // Error text for long inputs is truncated.
  absl::StatusOr<GovaluateProgram> bad = GovaluateProgram::Compile(std::string(5000, 'a') + " =");
  ASSERT_FALSE(bad.ok());
  EXPECT_LT(bad.status().message().size(), 400u);
  // Catastrophic-backtracking patterns are linear in RE2.
  p = GovaluateProgram::Compile("'" + std::string(5000, 'a') + "b' =~ '^(a+)+$'");
  ASSERT_OK(p);
  EXPECT_EQ(*p->EvalBool(), false);
}

TEST(GovaluateTest, FormatGoFloat) {
  EXPECT_EQ(FormatGoFloat(1), "1");
  EXPECT_EQ(FormatGoFloat(1.5), "1.5");
  EXPECT_EQ(FormatGoFloat(-2.25), "-2.25");
  EXPECT_EQ(FormatGoFloat(123456), "123456");
  EXPECT_EQ(FormatGoFloat(1e6), "1e+06");
  EXPECT_EQ(FormatGoFloat(1234567), "1.234567e+06");
  EXPECT_EQ(FormatGoFloat(0.0001), "0.0001");
  EXPECT_EQ(FormatGoFloat(0.00001), "1e-05");
  EXPECT_EQ(FormatGoFloat(0.1), "0.1");
  EXPECT_EQ(FormatGoFloat(1e100), "1e+100");
  EXPECT_EQ(FormatGoFloat(0), "0");
}

}  // namespace
}  // namespace argonaut::expr
