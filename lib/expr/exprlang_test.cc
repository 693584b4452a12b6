#include "lib/expr/exprlang.h"

#include <chrono>
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
using Json = nlohmann::json;

MATCHER_P(IsOkAndHolds, value, "is OK and holds " + ::testing::PrintToString(value)) {
  if (!arg.ok()) {
    *result_listener << arg.status().ToString();
    return false;
  }
  return *arg == value;
}

// Like ==, but an int never equals a float: expr keeps them apart.
bool SameValue(const Json& a, const Json& b) {
  if (a.is_number_integer() != b.is_number_integer()) return false;
  if (a.is_number_float() != b.is_number_float()) return false;
  if (a.is_number_float()) {
    double x = a.get<double>(), y = b.get<double>();
    return x == y || (x != x && y != y);
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameValue(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key()) || !SameValue(*it, b[it.key()])) return false;
    }
    return true;
  }
  return a == b;
}

struct Case {
  const char* expr;
  const char* env;              // JSON object
  const char* want;             // JSON of the expected result, or nullptr when an error is expected
  const char* error = nullptr;  // substring of the expected error
};

constexpr const char* kUsers =
    R"({"users":[{"name":"ann","age":31},{"name":"bob","age":17},{"name":"cy","age":45}]})";

// Sources: expr-lang docs/language-definition.md for operators and builtins,
// builtin/lib.go for conversions, Argo util/expr/env for the Argo extras,
// Masterminds/sprig v3 docs for sprig.*.
const Case kCases[] = {
    // Literals.
    {"1", "{}", "1"},
    {"1.5", "{}", "1.5"},
    {"1e3", "{}", "1000.0"},
    {"1_000_000", "{}", "1000000"},
    {"0x1F", "{}", "31"},
    {"0o17", "{}", "15"},
    {"0b101", "{}", "5"},
    {"'single'", "{}", R"("single")"},
    {R"("dou\"ble")", "{}", R"("dou\"ble")"},
    {"`raw\\n`", "{}", R"("raw\\n")"},
    {R"("tab\tnl\n")", "{}", R"("tab\tnl\n")"},
    {R"("\u00e9\x41")", "{}", R"("éA")"},
    {"true", "{}", "true"},
    {"false", "{}", "false"},
    {"nil", "{}", "null"},
    {"[1, 'a', true, nil]", "{}", R"([1,"a",true,null])"},
    {"[1, 2,]", "{}", "[1,2]"},
    {"[]", "{}", "[]"},
    {"{a: 1, 'b': 2, \"c d\": 3}", "{}", R"({"a":1,"b":2,"c d":3})"},
    {"{(x): 1}", R"({"x":"k"})", R"({"k":1})"},
    {"{}", "{}", "{}"},
    {"1 /* comment */ + 2 // trailing", "{}", "3"},
    // Arithmetic: int stays int, `/` and `**` are float (language-definition.md).
    {"1 + 2", "{}", "3"},
    {"1 + 2.5", "{}", "3.5"},
    {"5 - 7", "{}", "-2"},
    {"3 * 4", "{}", "12"},
    {"3 * 0.5", "{}", "1.5"},
    {"7 / 2", "{}", "3.5"},
    {"6 / 3", "{}", "2.0"},
    {"7 % 3", "{}", "1"},
    {"-7 % 3", "{}", "-1"},
    {"2 ** 10", "{}", "1024.0"},
    {"2 ^ 3", "{}", "8.0"},
    {"2 ** 3 ** 2", "{}", "512.0"},  // right associative
    {"-2 ** 2", "{}", "-4.0"},       // unary minus binds looser than **
    {"1 + 2 * 3", "{}", "7"},
    {"(1 + 2) * 3", "{}", "9"},
    {"10 - 2 - 3", "{}", "5"},
    {"-x", R"({"x":5})", "-5"},
    {"+x", R"({"x":5})", "5"},
    {"- -1", "{}", "1"},
    {"1 / 0", "{}", "Infinity"},
    {"1 % 0", "{}", nullptr, "integer divide by zero"},
    {"1.5 % 1", "{}", nullptr, "operator % not defined"},
    {"9223372036854775807 + 1", "{}", "-9223372036854775808"},  // Go wraps
    {"'a' + 'b'", "{}", R"("ab")"},
    {"'a' + 1", "{}", nullptr, "invalid operation: string + int"},
    {"'a' - 'b'", "{}", nullptr, "invalid operation"},
    {"[1] + [2, 3]", "{}", "[1,2,3]"},
    {"x + y", R"({"x":2,"y":0.25})", "2.25"},
    // Comparison.
    {"1 == 1", "{}", "true"},
    {"1 == 1.0", "{}", "true"},
    {"1 != 2", "{}", "true"},
    {"'a' == 'a'", "{}", "true"},
    {"'1' == 1", "{}", "false"},
    {"nil == nil", "{}", "true"},
    {"x == nil", R"({"x":null})", "true"},
    {"[1, 2] == [1, 2]", "{}", "true"},
    {"{a: 1} == {a: 1}", "{}", "true"},
    {"1 < 2", "{}", "true"},
    {"2 <= 2", "{}", "true"},
    {"3 > 2.5", "{}", "true"},
    {"2 >= 3", "{}", "false"},
    {"'abc' < 'abd'", "{}", "true"},
    {"1 < 2 < 3", "{}", "true"},  // chained comparison
    {"3 > 2 > 1", "{}", "true"},
    {"1 < 3 < 2", "{}", "false"},
    {"'a' < 1", "{}", nullptr, "mismatched types string and int"},
    {"nil < 1", "{}", nullptr, "mismatched types nil and int"},
    // Logic with short-circuit.
    {"true && false", "{}", "false"},
    {"true and true", "{}", "true"},
    {"false || true", "{}", "true"},
    {"false or false", "{}", "false"},
    {"!true", "{}", "false"},
    {"not false", "{}", "true"},
    {"not (1 > 2)", "{}", "true"},
    {"false && missing", "{}", "false"},
    {"true || missing", "{}", "true"},
    {"true && 1", "{}", nullptr, "needs bool operands, got int"},
    {"!1", "{}", nullptr, "invalid operation: ! int"},
    {"1 > 0 && 2 > 1 || false", "{}", "true"},
    {"true || false && false", "{}", "true"},  // and binds tighter
    // Membership and string operators.
    {"2 in [1, 2, 3]", "{}", "true"},
    {"4 in [1, 2, 3]", "{}", "false"},
    {"2.0 in [1, 2]", "{}", "true"},
    {"'a' in {a: 1}", "{}", "true"},
    {"'z' in {a: 1}", "{}", "false"},
    {"4 not in [1, 2, 3]", "{}", "true"},
    {"'a' not in {a: 1}", "{}", "false"},
    {"1 in 'abc'", "{}", nullptr, "operator in not defined on string"},
    {"'foobar' contains 'oba'", "{}", "true"},
    {"'foobar' startsWith 'foo'", "{}", "true"},
    {"'foobar' endsWith 'bar'", "{}", "true"},
    {"'foobar' not contains 'x'", "{}", "true"},
    {"'foobar' not startsWith 'bar'", "{}", "true"},
    {"'foobar' matches '^f.+r$'", "{}", "true"},
    {"'foobar' matches 'baz'", "{}", "false"},
    {"'foobar' not matches '^x'", "{}", "true"},
    {"s matches p", R"({"s":"v1.2","p":"^v[0-9]"})", "true"},
    {"'a' matches '('", "{}", nullptr, "invalid regular expression"},
    {"s matches p", R"({"s":"x","p":"("})", nullptr, "invalid regular expression"},
    {"1 contains 'a'", "{}", nullptr, "needs strings"},
    // Ranges.
    {"1..3", "{}", "[1,2,3]"},
    {"3..1", "{}", "[]"},
    {"2 in 1..3", "{}", "true"},
    {"len(1..1000)", "{}", "1000"},
    {"0..10000000", "{}", nullptr, "exceeds the limit"},
    {"1.5..3", "{}", nullptr, "range needs ints"},
    // Ternary and nil coalescing.
    {"true ? 1 : 2", "{}", "1"},
    {"false ? 1 : 2", "{}", "2"},
    {"x > 1 ? 'big' : 'small'", R"({"x":5})", R"("big")"},
    {"x == 1 ? 'one' : x == 2 ? 'two' : 'many'", R"({"x":2})", R"("two")"},
    {"x ?: 'fallback'", R"({"x":true})", "true"},
    {"x ?: 'fallback'", R"({"x":false})", R"("fallback")"},
    {"x ?: 'fallback'", R"({"x":"set"})", nullptr, "ternary condition must be bool"},
    {"1 ? 2 : 3", "{}", nullptr, "ternary condition must be bool"},
    {"x ?? 'fallback'", R"({"x":null})", R"("fallback")"},
    {"x ?? 'fallback'", R"({"x":"v"})", R"("v")"},
    {"missing ?? 'fallback'", "{}", R"("fallback")"},
    {"a.b.c ?? 7", R"({"a":{}})", "7"},
    {"a ?? b ?? 3", R"({"a":null,"b":null})", "3"},
    {"a ?? 1 + 2", "{}", nullptr, "cannot be mixed"},
    // Member access, optional chaining, indexing, slicing.
    {"a.b", R"({"a":{"b":42}})", "42"},
    {"a['b']", R"({"a":{"b":42}})", "42"},
    {"a.missing", R"({"a":{"b":42}})", "null"},
    {"a.b.c", R"({"a":{"b":null}})", nullptr, "cannot fetch \"c\" from nil"},
    {"a?.b", R"({"a":null})", "null"},
    {"a?.b.c", R"({"a":null})", "null"},
    {"a?.[0]", R"({"a":null})", "null"},
    {"arr[0]", R"({"arr":[10,20,30]})", "10"},
    {"arr[-1]", R"({"arr":[10,20,30]})", "30"},
    {"arr[-3]", R"({"arr":[10,20,30]})", "10"},
    {"arr[3]", R"({"arr":[10,20,30]})", nullptr, "index out of range: 3"},
    {"arr[-4]", R"({"arr":[10,20,30]})", nullptr, "index out of range"},
    {"arr[1:3]", R"({"arr":[10,20,30,40]})", "[20,30]"},
    {"arr[:2]", R"({"arr":[10,20,30,40]})", "[10,20]"},
    {"arr[2:]", R"({"arr":[10,20,30,40]})", "[30,40]"},
    {"arr[-2:]", R"({"arr":[10,20,30,40]})", "[30,40]"},
    {"arr[3:1]", R"({"arr":[10,20,30,40]})", "[]"},
    {"arr[1:100]", R"({"arr":[10,20,30,40]})", "[20,30,40]"},
    {"'hello'[1:3]", "{}", R"("el")"},
    {"'hello'[0]", "{}", R"("h")"},
    {"'hello'['x']", "{}", nullptr, "cannot index string with string"},
    {"arr['x']", R"({"arr":[1]})", nullptr, "cannot index array with string"},
    {"m[1]", R"({"m":{"a":1}})", nullptr, "cannot index map with int"},
    {"arr[1.5]", R"({"arr":[1,2]})", nullptr, "cannot index array with float64"},
    {"n.x", R"({"n":5})", nullptr, "cannot fetch \"x\" from int"},
    {"[1, 2, 3][1]", "{}", "2"},
    {"{a: {b: 5}}.a.b", "{}", "5"},
    {"$env.x", R"({"x":3})", "3"},
    {"$env['x-y']", R"({"x-y":3})", "3"},
    {"a.in", R"({"a":{"in":1}})", "1"},
    {"foo", "{}", nullptr, "unknown name \"foo\""},
    // let.
    {"let x = 2; x * 3", "{}", "6"},
    {"let x = [1, 2]; let y = x[1]; y + 1", "{}", "3"},
    {"let v = m.k; v ?? 'none'", R"({"m":{}})", R"("none")"},
    // Pipes.
    {"'  a  ' | trim()", "{}", R"("a")"},
    {"'a,b' | split(',') | join('-')", "{}", R"("a-b")"},
    {"[1, 2, 3] | filter(# > 1) | map(# * 10)", "{}", "[20,30]"},
    // Closures and predicate builtins.
    {"all([1, 2, 3], # > 0)", "{}", "true"},
    {"all([1, -2, 3], # > 0)", "{}", "false"},
    {"all([], # > 0)", "{}", "true"},
    {"any([1, 2, 3], # > 2)", "{}", "true"},
    {"any([], # > 2)", "{}", "false"},
    {"none([1, 2, 3], # > 3)", "{}", "true"},
    {"one([1, 2, 3], # > 2)", "{}", "true"},
    {"one([1, 2, 3], # > 1)", "{}", "false"},
    {"filter([1, 2, 3, 4], # % 2 == 0)", "{}", "[2,4]"},
    {"filter([1, 2, 3, 4], {# % 2 == 0})", "{}", "[2,4]"},
    {"map([1, 2, 3], # * 2)", "{}", "[2,4,6]"},
    {"map([1, 2, 3], #index)", "{}", "[0,1,2]"},
    {"count([1, 2, 3], # > 1)", "{}", "2"},
    {"count([true, false, true])", "{}", "2"},
    {"find([1, 2, 3], # > 1)", "{}", "2"},
    {"find([1, 2, 3], # > 5)", "{}", "null"},
    {"findIndex([1, 2, 3], # > 1)", "{}", "1"},
    {"findIndex([1, 2, 3], # > 5)", "{}", "-1"},
    {"findLast([1, 2, 3], # > 1)", "{}", "3"},
    {"findLastIndex([1, 2, 3], # < 3)", "{}", "1"},
    {"sum([1, 2, 3])", "{}", "6"},
    {"sum([1, 2.5])", "{}", "3.5"},
    {"sum([])", "{}", "0"},
    {"sum(users, .age)", kUsers, "93"},
    {"reduce([1, 2, 3], #acc + #)", "{}", "6"},
    {"reduce([1, 2, 3], #acc + #, 10)", "{}", "16"},
    {"reduce([], #acc + #)", "{}", nullptr, "reduce of empty array"},
    {"groupBy([1, 2, 3, 4], # % 2 == 0)", "{}", R"({"false":[1,3],"true":[2,4]})"},
    {"sortBy(users, .age)[0].name", kUsers, R"("bob")"},
    {"map(sortBy(users, .age, 'desc'), .name)", kUsers, R"(["cy","ann","bob"])"},
    {"filter(users, .age > 18) | map(.name)", kUsers, R"(["ann","cy"])"},
    {"map(filter(users, .age >= 18), #.name)", kUsers, R"(["ann","cy"])"},
    {"all(users, .name != '')", kUsers, "true"},
    {"any(users, .name == 'bob' && .age < 18)", kUsers, "true"},
    {"map([[1, 2], [3]], sum(#))", "{}", "[3,3]"},
    {"map([[1, 2], [3]], map(#, # + 1))", "{}", "[[2,3],[4]]"},  // inner # shadows
    {"filter(data, {# endsWith 'main.log'})", R"({"data":["a/main.log","b.txt"]})",
     R"(["a/main.log"])"},
    {"filter([1, 2], 'x')", "{}", nullptr, "predicate must return bool, got string"},
    {"filter(5, # > 1)", "{}", nullptr, "cannot iterate over int"},
    {"map(users, .missing.x)", kUsers, nullptr, "cannot fetch \"x\" from nil"},
    {"# > 1", "{}", nullptr, "cannot use pointer accessor outside closure"},
    {".name", "{}", nullptr, "outside closure"},
    // Builtins: len and conversions.
    {"len([1, 2])", "{}", "2"},
    {"len('héllo')", "{}", "6"},  // bytes, as Go's len
    {"len({a: 1})", "{}", "1"},
    {"len(5)", "{}", nullptr, "invalid argument for len (type int)"},
    {"len()", "{}", nullptr, "expected 1 argument(s), got 0"},
    {"abs(-3)", "{}", "3"},
    {"abs(-2.5)", "{}", "2.5"},
    {"abs('x')", "{}", nullptr, "invalid argument for abs"},
    {"ceil(1.2)", "{}", "2.0"},
    {"floor(1.8)", "{}", "1.0"},
    {"round(2.5)", "{}", "3.0"},
    {"int('42')", "{}", "42"},
    {"int(3.9)", "{}", "3"},
    {"int(-3.9)", "{}", "-3"},
    {"int('4.5')", "{}", nullptr, "invalid operation: int(\"4.5\")"},
    {"int(' 4')", "{}", nullptr, "invalid operation"},
    {"float('2.5')", "{}", "2.5"},
    {"float(2)", "{}", "2.0"},
    {"float('abc')", "{}", nullptr, "invalid operation: float(\"abc\")"},
    {"string(12)", "{}", R"("12")"},
    {"string(1.5)", "{}", R"("1.5")"},
    {"string(1e6)", "{}", R"("1e+06")"},  // fmt %v of float64
    {"string(100000.0)", "{}", R"("100000")"},
    {"string(true)", "{}", R"("true")"},
    {"string(nil)", "{}", R"("<nil>")"},
    {"string([1, 'a'])", "{}", R"("[1 a]")"},
    {"string({b: 2, a: 1})", "{}", R"("map[a:1 b:2]")"},
    {"type(1)", "{}", R"("int")"},
    {"type(1.0)", "{}", R"("float")"},
    {"type('s')", "{}", R"("string")"},
    {"type([])", "{}", R"("array")"},
    {"type(nil)", "{}", R"("nil")"},
    // Builtins: strings.
    {"trim('  x  ')", "{}", R"("x")"},
    {"trim('xxaxx', 'x')", "{}", R"("a")"},
    {"trimPrefix('foobar', 'foo')", "{}", R"("bar")"},
    {"trimSuffix('foobar', 'bar')", "{}", R"("foo")"},
    {"upper('abc')", "{}", R"("ABC")"},
    {"lower('ABC')", "{}", R"("abc")"},
    {"split('a,b,c', ',')", "{}", R"(["a","b","c"])"},
    {"split('a,b,c', ',', 2)", "{}", R"(["a","b,c"])"},
    {"split('abc', '')", "{}", R"(["a","b","c"])"},
    {"splitAfter('a,b', ',')", "{}", R"(["a,","b"])"},
    {"join(['a', 'b'], '-')", "{}", R"("a-b")"},
    {"join(['a', 'b'])", "{}", R"("ab")"},
    {"join([1], ',')", "{}", nullptr, "join needs an array of strings"},
    {"replace('aaa', 'a', 'b')", "{}", R"("bbb")"},
    {"repeat('ab', 3)", "{}", R"("ababab")"},
    {"repeat('ab', 100000000)", "{}", nullptr, "exceeds the limit"},
    {"repeat('ab', -1)", "{}", nullptr, "negative repeat count"},
    {"indexOf('hello', 'l')", "{}", "2"},
    {"lastIndexOf('hello', 'l')", "{}", "3"},
    {"indexOf('hello', 'z')", "{}", "-1"},
    {"hasPrefix('hello', 'he')", "{}", "true"},
    {"hasSuffix('hello', 'lo')", "{}", "true"},
    {"upper(1)", "{}", nullptr, "argument 1 must be a string, got int"},
    // Builtins: collections.
    {"keys({b: 1, a: 2})", "{}", R"(["a","b"])"},
    {"values({b: 1, a: 2})", "{}", "[2,1]"},
    {"first([3, 4])", "{}", "3"},
    {"last([3, 4])", "{}", "4"},
    {"first([])", "{}", "null"},
    {"get({a: 1}, 'a')", "{}", "1"},
    {"get([1, 2], 5)", "{}", "null"},
    {"take([1, 2, 3], 2)", "{}", "[1,2]"},
    {"reverse([1, 2, 3])", "{}", "[3,2,1]"},
    {"uniq([1, 2, 1, 3])", "{}", "[1,2,3]"},
    {"concat([1], [2, 3])", "{}", "[1,2,3]"},
    {"flatten([1, [2, [3]]])", "{}", "[1,2,3]"},
    {"sort([3, 1, 2])", "{}", "[1,2,3]"},
    {"sort([3, 1, 2], 'desc')", "{}", "[3,2,1]"},
    {"sort([1, 'a'])", "{}", nullptr, "mismatched types"},
    {"toPairs({a: 1})", "{}", R"([["a",1]])"},
    {"fromPairs([['a', 1]])", "{}", R"({"a":1})"},
    {"max(1, 5, 3)", "{}", "5"},
    {"max([1, 5.5], 3)", "{}", "5.5"},
    {"min(4, 2, 8)", "{}", "2"},
    {"min([])", "{}", "null"},
    {"max('a', 1)", "{}", nullptr, "invalid argument"},
    {"mean([1, 2, 3, 4])", "{}", "2.5"},
    {"median([3, 1, 2])", "{}", "2.0"},
    {"bitand(6, 3)", "{}", "2"},
    {"bitor(6, 3)", "{}", "7"},
    // JSON and base64.
    {"toJSON({a: [1, 2]})", "{}", R"("{\n  \"a\": [\n    1,\n    2\n  ]\n}")"},
    {"toJson({a: [1, 2]})", "{}", R"("{\"a\":[1,2]}")"},
    {"toJson('<&>')", "{}", R"("\"\\u003c\\u0026\\u003e\"")"},
    {"toJson(1.0)", "{}", R"("1")"},
    {"toJson(0.0000001)", "{}", R"("1e-7")"},
    {"fromJSON('{\"a\": 1}').a", "{}", "1.0"},  // Go unmarshals numbers as float64
    {"fromJson('[1, \"x\"]')", "{}", R"([1.0,"x"])"},
    {"fromJSON('{bad')", "{}", nullptr, "invalid JSON"},
    {"toBase64('hello')", "{}", R"("aGVsbG8=")"},
    {"fromBase64('aGVsbG8=')", "{}", R"("hello")"},
    {"fromBase64('%%%')", "{}", nullptr, "illegal base64 data"},
    // Argo Workflows expressions (examples from the argo-workflows corpus).
    {"asInt(inputs.parameters.foo) * 10", R"({"inputs":{"parameters":{"foo":"3"}}})", "30"},
    {"asInt(inputs.parameters.x) + 1", R"({"inputs":{"parameters":{"x":"41"}}})", "42"},
    {"asFloat(inputs.parameters.x) / 2", R"({"inputs":{"parameters":{"x":"5"}}})", "2.5"},
    {"asInt('x')", "{}", nullptr, "invalid operation: int"},
    {R"(inputs.parameters["should-print"] == 'true')",
     R"({"inputs":{"parameters":{"should-print":"true"}}})", "true"},
    {"jsonpath(inputs.parameters['week-temps'], '$.avg')",
     R"({"inputs":{"parameters":{"week-temps":"{\"avg\": 21.5, \"max\": 30}"}}})", "21.5"},
    {"jsonpath(workflow.parameters.config, '$.employees[*].name')",
     R"({"workflow":{"parameters":{"config":"{\"employees\":[{\"name\":\"Baris\",\"age\":43},{\"name\":\"Mo\",\"age\":25}]}"}}})",
     R"(["Baris","Mo"])"},
    {"jsonpath(workflow.parameters.config, '$.employees[0:1]')",
     R"({"workflow":{"parameters":{"config":"{\"employees\":[{\"name\":\"Baris\"},{\"name\":\"Mo\"}]}"}}})",
     R"([{"name":"Baris"}])"},
    {"jsonpath(workflow.parameters.config, '$.employees[?(@.age>42 && @.age<44)].age')",
     R"({"workflow":{"parameters":{"config":"{\"employees\":[{\"name\":\"Baris\",\"age\":43},{\"name\":\"Mo\",\"age\":25}]}"}}})",
     "[43.0]"},
    {R"(jsonpath(workflow.parameters.config, '$.employees[?(@.name=="Baris")].age'))",
     R"({"workflow":{"parameters":{"config":"{\"employees\":[{\"name\":\"Baris\",\"age\":43},{\"name\":\"Mo\",\"age\":25}]}"}}})",
     "[43.0]"},
    {"jsonpath(workflow.parameters.json, '$[0].value') == 'true'",
     R"({"workflow":{"parameters":{"json":"[{\"value\":\"true\"}]"}}})", "true"},
    {"jsonpath({a: {b: [5, 6]}}, '$.a.b[1]')", "{}", "6"},
    {"jsonpath({a: {b: [5, 6]}}, \"$['a']['b'][-1]\")", "{}", "6"},
    {"jsonpath({a: {x: 1, b: {x: 2}}}, '$..x')", "{}", "[1,2]"},
    {"jsonpath({a: 1, b: 2}, '$.*')", "{}", "[1,2]"},
    {"jsonpath({a: 1}, '$.missing')", "{}", nullptr, "unknown key missing"},
    {"jsonpath([1], '$[5]')", "{}", nullptr, "out of bounds"},
    {"jsonpath({a: 1}, 'a')", "{}", nullptr, "must start with '$'"},
    {"jsonpath('{bad', '$.a')", "{}", nullptr, "invalid JSON"},
    {"steps['flip-coin'].outputs.result == 'heads' ? steps.heads.outputs.result : "
     "steps.tails.outputs.result",
     R"({"steps":{"flip-coin":{"outputs":{"result":"heads"}},"heads":{"outputs":{"result":"H"}},"tails":{"outputs":{"result":"T"}}}})",
     R"("H")"},
    {"tasks.producer.outputs.parameters.msg ?? 'expr-fallback'", R"({"tasks":{"producer":{}}})",
     R"("expr-fallback")"},
    {"asInt(inputs.parameters.num) == 1? 1: asInt(inputs.parameters.num) == 2? 1: 99",
     R"({"inputs":{"parameters":{"num":"2"}}})", "1"},
    {"steps[\"step-1\"].status == \"Succeeded\"", R"({"steps":{"step-1":{"status":"Succeeded"}}})",
     "true"},
    {"workflow.status == 'Running'", R"({"workflow":{"status":"Running"}})", "true"},
    {"item", R"({"item":{"a":1}})", R"({"a":1})"},
    {"sprig.upper(inputs.parameters.message)", R"({"inputs":{"parameters":{"message":"hi"}}})",
     R"("HI")"},
    // Argo Events-style conditions over a webhook payload.
    {R"(body.a == "x" && header.b[0] matches "^v")", R"({"body":{"a":"x"},"header":{"b":["v2"]}})",
     "true"},
    {R"(body.a == "x" && header.b[0] matches "^v")", R"({"body":{"a":"x"},"header":{"b":["w2"]}})",
     "false"},
    {"body.count > 5 || body.kind in ['push', 'merge']", R"({"body":{"count":1,"kind":"merge"}})",
     "true"},
    {"response.body contains 'google'", R"({"response":{"body":"www.google.com"}})", "true"},
    {R"(response.headers["Server"][0] == "cloudflare")",
     R"({"response":{"headers":{"Server":["cloudflare"]}}})", "true"},
    // Sprig (arguments in sprig order: subject last).
    {"sprig.trim('  x ')", "{}", R"("x")"},
    {"sprig.upper('ab')", "{}", R"("AB")"},
    {"sprig.lower('AB')", "{}", R"("ab")"},
    {"sprig.title('hello world')", "{}", R"("Hello World")"},
    {"sprig.replace('a', 'b', 'banana')", "{}", R"("bbnbnb")"},
    {"sprig.split('$', 'foo$bar$baz')", "{}", R"({"_0":"foo","_1":"bar","_2":"baz"})"},
    {"sprig.splitList('$', 'foo$bar$baz')", "{}", R"(["foo","bar","baz"])"},
    {"sprig.splitn('$', 2, 'foo$bar$baz')", "{}", R"({"_0":"foo","_1":"bar$baz"})"},
    {"sprig.join('-', ['a', 1, nil, 'b'])", "{}", R"("a-1-b")"},
    {"sprig.default('dflt', '')", "{}", R"("dflt")"},
    {"sprig.default('dflt', 'given')", "{}", R"("given")"},
    {"sprig.default(5, 0)", "{}", "5"},
    {"sprig.empty('')", "{}", "true"},
    {"sprig.empty([])", "{}", "true"},
    {"sprig.empty(0.0)", "{}", "true"},
    {"sprig.empty({a: 1})", "{}", "false"},
    {"sprig.coalesce(nil, '', 'x')", "{}", R"("x")"},
    {"sprig.ternary('y', 'n', 1 > 0)", "{}", R"("y")"},
    {"sprig.add(1, 2, '3')", "{}", "6"},
    {"sprig.add1(1)", "{}", "2"},
    {"sprig.sub(5, 7)", "{}", "-2"},
    {"sprig.mul(2, 3, 4)", "{}", "24"},
    {"sprig.div(7, 2)", "{}", "3"},
    {"sprig.div(1, 0)", "{}", nullptr, "integer divide by zero"},
    {"sprig.mod(7, 3)", "{}", "1"},
    {"sprig.max(1, 9, 3)", "{}", "9"},
    {"sprig.min(4, -1, 3)", "{}", "-1"},
    {"sprig.addf(1.5, 1)", "{}", "2.5"},
    {"sprig.divf(1, 4)", "{}", "0.25"},
    {"sprig.toString(15)", "{}", R"("15")"},
    {"sprig.toString(1.5)", "{}", R"("1.5")"},
    {"sprig.atoi('42')", "{}", "42"},
    {"sprig.atoi('nope')", "{}", "0"},  // sprig swallows the error
    {"sprig.int('12')", "{}", "12"},
    {"sprig.int('0x10')", "{}", "16"},
    {"sprig.int('garbage')", "{}", "0"},
    {"sprig.int64(3.9)", "{}", "3"},
    {"sprig.float64('2.5')", "{}", "2.5"},
    {"sprig.b64enc('hello')", "{}", R"("aGVsbG8=")"},
    {"sprig.b64dec('aGVsbG8=')", "{}", R"("hello")"},
    {"sprig.sha256sum('abc')", "{}",
     R"("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")"},
    {"sprig.sha256sum('')", "{}",
     R"("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")"},
    {"sprig.date('2006', '2023-07-14T10:20:30Z')", "{}", R"("2023")"},
    {"sprig.date('2006-01-02 15:04:05 Mon Jan', '2023-07-14T10:20:30Z')", "{}",
     R"("2023-07-14 10:20:30 Fri Jul")"},
    {"sprig.date('02/01/06 3:04PM', 0)", "{}", R"("01/01/70 12:00AM")"},
    {"sprig.date('2006', sprig.now()) >= '2024'", "{}", "true"},
    {"sprig.regexMatch('^[a-z]+$', 'abc')", "{}", "true"},
    {"sprig.regexMatch('^[a-z]+$', 'ab1')", "{}", "false"},
    {"sprig.regexFind('[0-9]+', 'ab123cd45')", "{}", R"("123")"},
    {"sprig.regexFind('z', 'abc')", "{}", R"("")"},
    {"sprig.regexFindAll('[0-9]', 'a1b2c3', -1)", "{}", R"(["1","2","3"])"},
    {"sprig.regexReplaceAll('a(x*)b', '-ab-axxb-', '${1}W')", "{}", R"("-W-xxW-")"},
    {"sprig.regexMatch('(', 'x')", "{}", nullptr, "invalid regular expression"},
    {"sprig.contains('cat', 'catch')", "{}", "true"},
    {"sprig.hasPrefix('cat', 'catch')", "{}", "true"},
    {"sprig.hasSuffix('ch', 'catch')", "{}", "true"},
    {"sprig.quote('a\"b')", "{}", R"("\"a\\\"b\"")"},
    {"sprig.quote('a', 1)", "{}", R"("\"a\" \"1\"")"},
    {"sprig.squote('a')", "{}", R"("'a'")"},
    {"sprig.repeat(3, 'ab')", "{}", R"("ababab")"},
    {"sprig.repeat(100000000, 'ab')", "{}", nullptr, "exceeds the limit"},
    {"sprig.trunc(3, 'abcdef')", "{}", R"("abc")"},
    {"sprig.trunc(-2, 'abcdef')", "{}", R"("ef")"},
    {"sprig.substr(1, 3, 'abcdef')", "{}", R"("bc")"},
    {"sprig.trimAll('$', '$5.00$')", "{}", R"("5.00")"},
    {"sprig.trimPrefix('-', '-hi')", "{}", R"("hi")"},
    {"sprig.trimSuffix('-', 'hi-')", "{}", R"("hi")"},
    {"sprig.indent(2, 'a\\nb')", "{}", R"("  a\n  b")"},
    {"sprig.nospace('a b c')", "{}", R"("abc")"},
    {"sprig.list(1, 'a')", "{}", R"([1,"a"])"},
    {"sprig.dict('a', 1, 'b', 'x')", "{}", R"({"a":1,"b":"x"})"},
    {"sprig.hasKey({a: 1}, 'a')", "{}", "true"},
    {"sprig.get({a: 1}, 'z')", "{}", R"("")"},
    {"sprig.has(2, [1, 2])", "{}", "true"},
    {"sprig.first([7, 8])", "{}", "7"},
    {"sprig.last([7, 8])", "{}", "8"},
    {"sprig.rest([7, 8, 9])", "{}", "[8,9]"},
    {"sprig.initial([7, 8, 9])", "{}", "[7,8]"},
    {"sprig.append([1], 2)", "{}", "[1,2]"},
    {"sprig.prepend([1], 0)", "{}", "[0,1]"},
    {"sprig.concat([1], [2])", "{}", "[1,2]"},
    {"sprig.uniq([1, 1, 2])", "{}", "[1,2]"},
    {"sprig.compact([0, 1, '', 'a'])", "{}", R"([1,"a"])"},
    {"sprig.until(3)", "{}", "[0,1,2]"},
    {"sprig.until(100000000)", "{}", nullptr, "exceeds the limit"},
    {"sprig.toJson({a: 1})", "{}", R"("{\"a\":1}")"},
    {"sprig.fromJson('{\"a\": 2}').a", "{}", "2.0"},
    {"sprig.kindOf(1.5)", "{}", R"("float64")"},
    {"sprig.cat('a', nil, 2)", "{}", R"("a 2")"},
    {"sprig.round(3.14159, 2)", "{}", "3.14"},
    {"sprig.upper(1)", "{}", nullptr, "argument 1 must be a string"},
    {"sprig.env('HOME')", "{}", nullptr, "unknown function \"sprig.env\""},
    {"sprig.expandenv('$HOME')", "{}", nullptr, "unknown function"},
    // Errors with columns.
    {"a + (b))", "{}", nullptr, "column 8: unexpected ')' in \"a + (b))\""},
    {"1 +", "{}", nullptr, "column 4: unexpected end of expression"},
    {"(1 + 2", "{}", nullptr, "column 1: opened parenthesis is not closed"},
    {"'abc", "{}", nullptr, "column 1: literal not terminated"},
    {"1 @ 2", "{}", nullptr, "column 3: unrecognized character '@'"},
    {"nope(1)", "{}", nullptr, "column 1: unknown function \"nope\""},
    {"[1, 2", "{}", nullptr, "expected ','"},
    {"{a 1}", "{}", nullptr, "expected ':'"},
    {"a.b()", R"({"a": {"b": 1}})", nullptr, "column 3: type map has no method b"},
    {"", "{}", nullptr, "empty expression"},
    {"1 2", "{}", nullptr, "column 3: unexpected '2'"},
    {"x.y + 1", R"({"x":{"y":"s"}})", nullptr, "column 5: invalid operation: string + int"},
    {"12abc", "{}", nullptr, "invalid character in number literal"},
    {"99999999999999999999", "{}", nullptr, "overflows int64"},
    {R"("\q")", "{}", nullptr, "invalid escape sequence"},
    {"not", "{}", nullptr, "unexpected end of expression"},
    {"1 not 2", "{}", nullptr, "unexpected 'not'"},

    // Time and duration (expr docs/language-definition.md "Date Functions"; Go's time package
    // for the methods; vm/runtime helpers for the operators). Eval hands times back as RFC 3339
    // text and durations as int nanoseconds, as encoding/json renders them.
    {R"(duration("1h").Seconds() == 3600)", "{}", "true"},  // the docs' example
    {R"(duration("360s").Seconds())", "{}", "360.0"},
    {R"(duration("1h30m").String())", "{}", R"("1h30m0s")"},
    {R"(duration("1.5h").String())", "{}", R"("1h30m0s")"},
    {R"(duration("90m").Hours())", "{}", "1.5"},
    {R"(duration("1m30s").Minutes())", "{}", "1.5"},
    {R"(duration("1.5s").Milliseconds())", "{}", "1500"},
    {R"(duration("2.5ms").Microseconds())", "{}", "2500"},
    {R"(duration("1µs").Nanoseconds())", "{}", "1000"},
    {R"(duration("1500us").String())", "{}", R"("1.5ms")"},  // Go picks the unit below 1s
    {R"(duration("-2h45m").String())", "{}", R"("-2h45m0s")"},
    {R"(duration("0").String())", "{}", R"("0s")"},
    {R"(duration("9223372036854775807ns").String())", "{}", R"("2562047h47m16.854775807s")"},
    {R"(duration("-9223372036854775808ns").String())", "{}", R"("-2562047h47m16.854775808s")"},
    {R"(duration("9223372036854775808ns"))", "{}", nullptr, "overflow"},
    {R"(duration("1h"))", "{}", "3600000000000"},
    {R"(duration("5x"))", "{}", nullptr, "unknown unit \"x\""},
    {R"(duration("1"))", "{}", nullptr, "missing unit"},
    {R"(duration(""))", "{}", nullptr, "invalid syntax"},
    // Go's Duration.Round / Truncate doc examples.
    {R"(duration("1h15m30.918273645s").Round(duration("1m")).String())", "{}", R"("1h16m0s")"},
    {R"(duration("1h15m30.918273645s").Truncate(duration("1m")).String())", "{}", R"("1h15m0s")"},
    {R"(duration("-1.5s").Round(duration("1s")).String())", "{}", R"("-2s")"},
    {R"(duration("1h") > duration("59m"))", "{}", "true"},
    {R"(duration("1h") == duration("60m"))", "{}", "true"},
    {R"(duration("1h") != duration("1m"))", "{}", "true"},
    {R"((duration("1h") * 2).String())", "{}", R"("2h0m0s")"},
    {R"((duration("1h") - duration("90m")).String())", "{}", R"("-30m0s")"},
    // runtime.Equal compares a duration with an int by their int64 values.
    {R"(duration("1s") == 1000000000)", "{}", "true"},
    {R"(duration("1h") / 2)", "{}", nullptr, "invalid operation: time.Duration / int"},
    {R"(duration("1h") < 5)", "{}", nullptr, "mismatched types time.Duration and int"},
    {R"(date("2024-01-01T00:00:00Z"))", "{}", R"("2024-01-01T00:00:00Z")"},
    {R"(date("2023-08-14"))", "{}", R"("2023-08-14T00:00:00Z")"},
    {R"(date("2023-08-14 10:30:00").Hour())", "{}", "10"},
    {R"(date("15:04:05"))", "{}", R"("0000-01-01T15:04:05Z")"},  // Go: omitted date is year 0
    {R"(date("Mon, 02 Jan 2006 15:04:05 MST"))", "{}", R"("2006-01-02T15:04:05Z")"},   // RFC 1123
    {R"(date("02 Jan 06 15:04 UTC"))", "{}", R"("2006-01-02T15:04:00Z")"},             // RFC 822
    {R"(date("Monday, 02-Jan-06 15:04:05 UTC"))", "{}", R"("2006-01-02T15:04:05Z")"},  // RFC 850
    {R"(date("2024-01-01T00:00:00+02:00"))", "{}", R"("2024-01-01T00:00:00+02:00")"},
    {R"(date("2024-01-01T00:00:00+02:00").UTC().Hour())", "{}", "22"},
    {R"(date("2024-01-01T00:00:00+02:00") == date("2023-12-31T22:00:00Z"))", "{}", "true"},
    {R"(date("2024-02-29T12:34:56.789Z").Format("2006-01-02 15:04:05.000"))", "{}",
     R"("2024-02-29 12:34:56.789")"},
    {R"(date("2024-01-01T00:00:00.5Z").UnixMilli())", "{}", "1704067200500"},
    {R"(date("14/08/2023", "02/01/2006"))", "{}", R"("2023-08-14T00:00:00Z")"},
    {R"(date("2023-08-14 00:00:00", "2006-01-02 15:04:05", "Europe/Zurich"))", "{}",
     R"("2023-08-14T00:00:00+02:00")"},
    {R"(date("2023-08-14 00:00:00", "2006-01-02 15:04:05", "Europe/Zurich").UTC())", "{}",
     R"("2023-08-13T22:00:00Z")"},
    {R"(date("2023-08-14 00:00:00", "2006-01-02 15:04:05", "UTC"))", "{}",
     R"("2023-08-14T00:00:00Z")"},
    {R"(date("2023-08-14T00:00:00+24:30"))", "{}", nullptr, "invalid date"},
    {R"(date("2023-02-30"))", "{}", nullptr, "invalid date"},
    {R"(date("2023-02-29", "2006-01-02"))", "{}", nullptr, "day out of range"},
    {R"(date("2023", "2006", "No/Such_Zone"))", "{}", nullptr, "unknown time zone"},
    {R"(date("2023", "2006", "../../etc/passwd"))", "{}", nullptr, "unknown time zone"},
    {R"(date(1))", "{}", nullptr, "argument 1 must be a string"},
    {R"(date("2024-07-04T15:04:05Z").Unix())", "{}", "1720105445"},
    {R"(date("2024-07-04T15:04:05Z").Weekday())", "{}", "4"},  // Thursday; Sunday is 0
    {R"(let t = date("2024-07-04T15:04:05Z"); [t.Year(), t.Month(), t.Day(), t.Minute(),
        t.Second(), t.YearDay()])",
     "{}", "[2024, 7, 4, 4, 5, 186]"},
    {R"(date("2024-07-04T15:04:05Z").Format("Mon Jan _2 15:04:05 2006"))", "{}",
     R"("Thu Jul  4 15:04:05 2024")"},                                          // time.ANSIC
    {R"(date("2024-07-04T15:04:05Z").Format("3:04PM"))", "{}", R"("3:04PM")"},  // time.Kitchen
    {R"(date("2024-01-01T00:00:00Z").Format("Monday, January 2, 2006 at 3:04pm (MST) Z07:00"))",
     "{}", R"("Monday, January 1, 2024 at 12:00am (UTC) Z")"},
    {R"(date("2024-01-01T10:00:00+05:30").Format("15:04 -0700 MST"))", "{}",
     R"("10:00 +0530 +0530")"},
    {R"(date("2024-03-10T10:00:00Z") - date("2024-03-10T09:00:00Z"))", "{}", "3600000000000"},
    {R"((date("2024-03-10T10:00:00Z") - date("2024-03-10T09:00:00Z")).String())", "{}",
     R"("1h0m0s")"},
    {R"(date("2024-01-01T00:00:00Z") + duration("36h"))", "{}", R"("2024-01-02T12:00:00Z")"},
    {R"(duration("1h") + date("2024-01-01T00:00:00Z"))", "{}", R"("2024-01-01T01:00:00Z")"},
    {R"(date("2024-01-01T00:00:00Z") - duration("1s"))", "{}", R"("2023-12-31T23:59:59Z")"},
    {R"(date("2024-01-01") < date("2024-01-02"))", "{}", "true"},
    {R"(date("2024-01-02") >= date("2024-01-02T00:00:00Z"))", "{}", "true"},
    {R"(date("2024-01-01").Before(date("2024-01-02")))", "{}", "true"},
    {R"(date("2024-01-01").After(date("2024-01-02")))", "{}", "false"},
    {R"(date("2024-01-01").Equal(date("2024-01-01T01:00:00+01:00")))", "{}", "true"},
    {R"(date("2024-01-02").Sub(date("2024-01-01")).Hours())", "{}", "24.0"},
    {R"(date("2024-01-01").Add(duration("1m")).Minute())", "{}", "1"},
    // Go's AddDate normalises: January 31 + 1 month is March 2 in a leap year.
    {R"(date("2024-01-31").AddDate(0, 1, 0))", "{}", R"("2024-03-02T00:00:00Z")"},
    {R"(date("9999-12-31").AddDate(1000000, 0, 0))", "{}", nullptr, "supported range"},
    {"now() - date('2024-01-01') > duration('1h')", "{}", "true"},
    {"now().Year() >= 2024", "{}", "true"},
    {"type(now())", "{}", R"("time.Time")"},  // the docs' type() example
    {"type(duration('1s'))", "{}", R"("time.Duration")"},
    {R"(string(date("2024-01-01T00:00:00Z")))", "{}", R"("2024-01-01 00:00:00 +0000 UTC")"},
    {R"(string(duration("1h")))", "{}", R"("1h0m0s")"},
    {R"(toJson({t: date("2024-01-01T00:00:00Z"), d: duration("1s")}))", "{}",
     R"("{\"d\":1000000000,\"t\":\"2024-01-01T00:00:00Z\"}")"},
    {R"(date("2024-01-01") in [date("2024-01-01T00:00:00Z")])", "{}", "true"},
    {"map([duration('1s'), duration('1m')], #.Seconds())", "{}", "[1.0, 60.0]"},
    {"sortBy([date('2024-03-01'), date('2024-01-01')], #)", "{}",
     R"(["2024-01-01T00:00:00Z", "2024-03-01T00:00:00Z"])"},
    {"date('2024-01-01')?.Year()", "{}", "2024"},
    {"n?.Seconds()", R"({"n": null})", "null"},
    {"n?.Seconds() ?? -1", R"({"n": null})", "-1"},
    {"now() - s", R"({"s": "2024-01-01T00:00:00Z"})", nullptr, "convert it with date()"},
    {R"(date("2024-01-01") + date("2024-01-01"))", "{}", nullptr,
     "invalid operation: time.Time + time.Time"},
    {"s.Upper()", R"({"s": "x"})", nullptr, "column 3: type string has no method Upper"},
    {"(1.5).Seconds()", "{}", nullptr, "type float64 has no method Seconds"},
    {"n.Seconds()", R"({"n": null})", nullptr, "type nil has no method Seconds"},
    {"duration('1h').Nope()", "{}", nullptr, "type time.Duration has no method Nope"},
    {"date('2024-01-01').Format(1)", "{}", nullptr, "Format: argument 1 must be a string"},
    {"date('2024-01-01').Year(1)", "{}", nullptr, "Year:"},
    {"date('2024-01-01').Sub(1)", "{}", nullptr, "argument 1 must be time.Time, got int"},
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.expr; }

class ExprCaseTest : public ::testing::TestWithParam<Case> {};

TEST_P(ExprCaseTest, Evaluates) {
  const Case& c = GetParam();
  Json env = Json::parse(c.env);
  absl::StatusOr<ExprProgram> program = ExprProgram::Compile(c.expr);
  absl::StatusOr<Json> result =
      program.ok() ? program->Eval(env) : absl::StatusOr<Json>(program.status());
  if (c.want == nullptr) {
    ASSERT_FALSE(result.ok()) << c.expr << " gave " << result->dump();
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(c.error)) << c.expr;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    return;
  }
  ASSERT_TRUE(result.ok()) << c.expr << ": " << result.status();
  Json want = std::string(c.want) == "Infinity" ? Json(std::numeric_limits<double>::infinity())
                                                : Json::parse(c.want);
  EXPECT_TRUE(SameValue(*result, want))
      << c.expr << "\n  got:  " << result->dump() << "\n  want: " << want.dump();
}

INSTANTIATE_TEST_SUITE_P(Table, ExprCaseTest, ::testing::ValuesIn(kCases));

TEST(ExprCaseCount, AtLeast250) { EXPECT_GE(std::size(kCases), 250u); }

// Argo Rollouts analysis conditions use the Rollouts function table.
struct RolloutsCase {
  const char* expr;
  const char* result;
  bool want;
};

TEST(RolloutsConditions, Evaluate) {
  const RolloutsCase cases[] = {
      {"result[0] >= 0.95 && len(result) > 0", "[0.97, 0.99]", true},
      {"result[0] >= 0.95 && len(result) > 0", "[0.5]", false},
      {"result[0] >= 0.99", "[0.991]", true},
      {"result.successful == true", R"({"successful": true})", true},
      {"result.successful == true", R"({"successful": false})", false},
      {"isNaN(result) || result < 5", "3", true},
      {"isNaN(result) || result < 5", "7.5", false},
      {"isInf(result)", "1.0", false},
      {"default(result, 0) > 1", "null", false},
      {"default(result, 0) > 1", "4", true},
      {"isNil(result)", "null", true},
      {"asInt(result) == 3", R"("3")", true},
      {"asFloat(result) > 2.5", R"("2.75")", true},
      {"result == 'It worked!'", R"("It worked!")", true},
      {"len(filter(result, # > 0.9)) == 2", "[0.95, 0.91, 0.2]", true},
      {"all(result, # < 100)", "[1, 2]", true},
  };
  ExprOptions options;
  options.extra_functions = &RolloutsFunctions();
  for (const RolloutsCase& c : cases) {
    absl::StatusOr<ExprProgram> program = ExprProgram::Compile(c.expr, options);
    ASSERT_TRUE(program.ok()) << c.expr << ": " << program.status();
    Json env = {{"result", Json::parse(c.result)}};
    absl::StatusOr<bool> got = program->EvalBool(env);
    ASSERT_TRUE(got.ok()) << c.expr << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.expr << " with result=" << c.result;
  }
  // NaN cannot come from JSON text; build it directly.
  absl::StatusOr<ExprProgram> nan = ExprProgram::Compile("isNaN(result)", options);
  ASSERT_TRUE(nan.ok());
  EXPECT_THAT(nan->EvalBool({{"result", std::nan("")}}), IsOkAndHolds(true));
  // Without the table these names are unknown at compile time.
  EXPECT_THAT(ExprProgram::Compile("isNaN(result)"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown function")));
}

TEST(ExprProgram, EvalBoolRejectsNonBool) {
  absl::StatusOr<ExprProgram> p = ExprProgram::Compile("1 + 1");
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->EvalBool(Json::object()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected bool result")));
}

TEST(ExprProgram, CompiledOnceEvaluatedManyTimes) {
  absl::StatusOr<ExprProgram> p = ExprProgram::Compile("x * 2");
  ASSERT_TRUE(p.ok());
  ExprProgram copy = *p;  // cheap: shares the tree
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<Json> r = copy.Eval({{"x", i}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, i * 2);
  }
  EXPECT_EQ(copy.source(), "x * 2");
}

TEST(ExprProgram, ExtraFunctionsOverrideBuiltins) {
  FunctionTable table;
  table.Add("len", [](std::vector<Json>& args) -> absl::StatusOr<Json> { return Json(-1); });
  table.Add("twice", [](std::vector<Json>& args) -> absl::StatusOr<Json> {
    if (args.size() != 1 || !args[0].is_number_integer()) {
      return absl::InvalidArgumentError("twice wants one int");
    }
    return Json(args[0].get<int64_t>() * 2);
  });
  ExprOptions options;
  options.extra_functions = &table;
  absl::StatusOr<ExprProgram> p = ExprProgram::Compile("len([1]) + twice(4)", options);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->Eval(Json::object()), IsOkAndHolds(Json(7)));
  absl::StatusOr<ExprProgram> bad = ExprProgram::Compile("twice('x')", options);
  ASSERT_TRUE(bad.ok());
  EXPECT_THAT(bad->Eval(Json::object()), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("twice: twice wants one int")));
}

TEST(ExprProgram, EnvMustBeObject) {
  absl::StatusOr<ExprProgram> p = ExprProgram::Compile("1");
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->Eval(Json::array()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(p->Eval(nullptr), IsOkAndHolds(Json(1)));
}

// Hostile input: every case must end in a clear error, quickly.
TEST(Hostile, DeepParenthesesAreRejected) {
  std::string src = std::string(10000, '(') + "1" + std::string(10000, ')');
  EXPECT_THAT(ExprProgram::Compile(src),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deeply")));
}

TEST(Hostile, DeepUnaryAndArraysAreRejected) {
  EXPECT_THAT(ExprProgram::Compile(std::string(5000, '-') + "1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deeply")));
  EXPECT_THAT(ExprProgram::Compile(std::string(5000, '[') + std::string(5000, ']')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deeply")));
  EXPECT_THAT(ExprProgram::Compile(std::string(3000, '!') + "true"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deeply")));
}

TEST(Hostile, LongFlatChainIsBoundedByTreeDepth) {
  std::string src = "1";
  for (int i = 0; i < 1000; ++i) src += "+1";
  EXPECT_THAT(ExprProgram::Compile(src),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deeply")));
  ExprOptions roomy;
  roomy.max_depth = 2000;
  absl::StatusOr<ExprProgram> p = ExprProgram::Compile(src, roomy);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->Eval(Json::object()), IsOkAndHolds(Json(1001)));
}

TEST(Hostile, OneMegabyteExpressionIsRejected) {
  std::string src(1 << 20, '1');
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ExprProgram> p = ExprProgram::Compile(src);
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exceeds the limit")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // The error quotes a bounded prefix, not the whole megabyte.
  EXPECT_LT(p.status().message().size(), 400u);
}

TEST(Hostile, AllocationCaps) {
  const char* cases[] = {
      "repeat(repeat('x', 4096), 8192)",
      "0..100000000",
      "sprig.repeat(1000000, repeat('ab', 1000))",
      "let s = repeat('a', 10000000); s + s",
      "'x' matches repeat('a', 5000)",
  };
  for (const char* src : cases) {
    absl::StatusOr<ExprProgram> p = ExprProgram::Compile(src);
    ASSERT_TRUE(p.ok()) << src << ": " << p.status();
    EXPECT_THAT(p->Eval(Json::object()), StatusIs(absl::StatusCode::kInvalidArgument)) << src;
  }
}

TEST(Hostile, DeepJsonIsRejected) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  absl::StatusOr<ExprProgram> p = ExprProgram::Compile("fromJSON(s)");
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->Eval({{"s", deep}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested deeper")));
}

TEST(Hostile, LiteralRegexIsCompiledOnceAndChecked) {
  EXPECT_THAT(ExprProgram::Compile("s matches '(a'"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("column 11: invalid regular expression")));
  std::string big = "s matches '" + std::string(5000, 'a') + "'";
  EXPECT_THAT(ExprProgram::Compile(big),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exceeds the limit")));
}

}  // namespace
}  // namespace argonaut::expr
