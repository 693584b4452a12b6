#include "lib/manifest/yaml.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "nlohmann/json.hpp"

namespace argonaut::manifest {
namespace {

using ::argonaut::testing::StatusIs;
using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::SizeIs;

json ParseOne(std::string_view text) {
  absl::StatusOr<std::vector<json>> docs = ParseDocuments(text);
  EXPECT_OK(docs);
  if (!docs.ok() || docs->size() != 1) {
    ADD_FAILURE() << "expected one document in:\n" << text;
    return nullptr;
  }
  return (*docs)[0];
}

TEST(ParseDocumentsTest, PlainScalarsFollowCoreSchema) {
  const json doc = ParseOne(R"(
int: 42
negative: -7
plus: +3
octal: 0o17
hex: 0x1F
big: 18446744073709551615
huge: 123456789012345678901234567890
float: 1.5
exp: 1e3
dot: .5
inf: -.inf
bool_t: true
bool_u: TRUE
bool_f: False
null_word: null
tilde: ~
empty:
yes_is_string: yes
on_is_string: on
version: 1.2.3
date: 2024-01-02
word: hello world
colon_inside: a:b
)");
  EXPECT_EQ(doc["int"], json(42));
  EXPECT_TRUE(doc["int"].is_number_integer());
  EXPECT_EQ(doc["negative"], json(-7));
  EXPECT_EQ(doc["plus"], json(3));
  EXPECT_EQ(doc["octal"], json(15));
  EXPECT_EQ(doc["hex"], json(31));
  EXPECT_TRUE(doc["big"].is_number_unsigned());
  EXPECT_EQ(doc["big"].get<uint64_t>(), UINT64_MAX);
  EXPECT_TRUE(doc["huge"].is_number_float());
  EXPECT_TRUE(doc["float"].is_number_float());
  EXPECT_EQ(doc["float"].get<double>(), 1.5);
  EXPECT_EQ(doc["exp"].get<double>(), 1000.0);
  EXPECT_TRUE(doc["exp"].is_number_float());
  EXPECT_EQ(doc["dot"].get<double>(), 0.5);
  EXPECT_TRUE(std::isinf(doc["inf"].get<double>()));
  EXPECT_EQ(doc["bool_t"], json(true));
  EXPECT_EQ(doc["bool_u"], json(true));
  EXPECT_EQ(doc["bool_f"], json(false));
  EXPECT_TRUE(doc["null_word"].is_null());
  EXPECT_TRUE(doc["tilde"].is_null());
  EXPECT_TRUE(doc.contains("empty"));
  EXPECT_TRUE(doc["empty"].is_null());
  EXPECT_EQ(doc["yes_is_string"], json("yes"));
  EXPECT_EQ(doc["on_is_string"], json("on"));
  EXPECT_EQ(doc["version"], json("1.2.3"));
  EXPECT_EQ(doc["date"], json("2024-01-02"));
  EXPECT_EQ(doc["word"], json("hello world"));
  EXPECT_EQ(doc["colon_inside"], json("a:b"));
}

TEST(ParseDocumentsTest, QuotedBlockAndTaggedScalarsAreStrings) {
  const json doc = ParseOne(R"(
double: "42"
single: 'true'
empty_quoted: ""
literal: |
  line one
    indented
folded: >-
  a
  b
tagged_str: !!str 3
tagged_float: !!float 3
custom_tag: !Ref 12
"quoted key": 1
7: seven
)");
  EXPECT_EQ(doc["double"], json("42"));
  EXPECT_EQ(doc["single"], json("true"));
  EXPECT_EQ(doc["empty_quoted"], json(""));
  EXPECT_EQ(doc["literal"], json("line one\n  indented\n"));
  EXPECT_EQ(doc["folded"], json("a b"));
  EXPECT_EQ(doc["tagged_str"], json("3"));
  EXPECT_TRUE(doc["tagged_float"].is_number_float());
  EXPECT_EQ(doc["custom_tag"], json("12"));
  EXPECT_EQ(doc["quoted key"], json(1));
  EXPECT_EQ(doc["7"], json("seven"));
}

TEST(ParseDocumentsTest, BadCoreTagIsAnError) {
  EXPECT_THAT(ParseDocuments("a: !!int abc\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("doc 1: line 1: cannot read \"abc\" as !!int")));
}

TEST(ParseDocumentsTest, MultipleDocumentsSkipEmptyOnes) {
  absl::StatusOr<std::vector<json>> docs = ParseDocuments(R"(---
# only a comment
---
kind: A
---
---
null
---
kind: B
...
)");
  ASSERT_OK(docs);
  ASSERT_THAT(*docs, SizeIs(2));
  EXPECT_EQ((*docs)[0], json({{"kind", "A"}}));
  EXPECT_EQ((*docs)[1], json({{"kind", "B"}}));
}

TEST(ParseDocumentsTest, CommentOnlyAndEmptyInputHaveNoDocuments) {
  for (std::string_view text : {"", "# nothing\n", "---\n", "\n\n"}) {
    absl::StatusOr<std::vector<json>> docs = ParseDocuments(text);
    ASSERT_OK(docs);
    EXPECT_THAT(*docs, SizeIs(0)) << text;
  }
}

TEST(ParseDocumentsTest, JsonInput) {
  const json doc = ParseOne(R"({"a": [1, 2.5, "3", true, null], "b": {"c": "\u00e9\n"}})");
  EXPECT_EQ(doc, json::parse(R"({"a": [1, 2.5, "3", true, null], "b": {"c": "\u00e9\n"}})"));
}

TEST(ParseDocumentsTest, AnchorsAliasesAndMergeKeys) {
  const json doc = ParseOne(R"(
base: &base
  image: nginx
  port: 80
list: &list [1, 2]
copy: *list
merged:
  <<: *base
  port: 8080
multi:
  <<: [{a: 1}, {a: 2, b: 2}]
quoted_merge_key:
  "<<": literal
)");
  EXPECT_EQ(doc["copy"], json({1, 2}));
  EXPECT_EQ(doc["merged"], json({{"image", "nginx"}, {"port", 8080}}));
  EXPECT_EQ(doc["multi"], json({{"a", 1}, {"b", 2}}));
  EXPECT_EQ(doc["quoted_merge_key"], json({{"<<", "literal"}}));
}

TEST(ParseDocumentsTest, DuplicateKeyIsAnError) {
  EXPECT_THAT(ParseDocuments("a: 1\nb: 2\na: 3\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("doc 1: line 3: duplicate key \"a\"")));
}

TEST(ParseDocumentsTest, ComplexKeyIsAnError) {
  EXPECT_THAT(ParseDocuments("? [a]\n: 1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keys must be scalars")));
}

TEST(ParseDocumentsTest, SyntaxErrorNamesDocumentAndLine) {
  // Empty documents do not count: the broken one is the second returned document.
  EXPECT_THAT(ParseDocuments("a: 1\n---\n---\nb: 2\nc: [1, 2\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("doc 2: line ")));
  EXPECT_THAT(
      ParseDocuments("a: 1\n---\nb: 1\n c: 2\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("doc 2: line 4: illegal map value")));
  EXPECT_THAT(ParseDocuments("a: 1\n  b: 2\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("doc 1: line 2: ")));
}

TEST(ParseDocumentsTest, InvalidUtf8IsAnError) {
  EXPECT_THAT(
      ParseDocuments("a: ok\nb: \"x\xff\"\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("doc 1: line 2: invalid UTF-8")));
  EXPECT_THAT(ParseDocuments("\xc3\x28: 1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid UTF-8")));
  const json doc = ParseOne("caf\xc3\xa9: \"\\u00e9\\x00\"\n");
  EXPECT_EQ(doc, json({{"caf\u00e9", std::string("\u00e9\0", 3)}}));
}

TEST(ParseDocumentsTest, UndefinedAndRecursiveAliases) {
  EXPECT_THAT(ParseDocuments("a: *nope\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("doc 1: line 1: ")));
  EXPECT_THAT(ParseDocuments("a: &x [1, *x]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("contains it")));
}

// --- Hostile input: each must fail fast with a clear error, never crash.

template <typename F>
absl::Duration Timed(F f) {
  const absl::Time start = absl::Now();
  f();
  return absl::Now() - start;
}

TEST(ParseDocumentsHostileTest, DeepFlowNesting) {
  std::string maps;
  for (int i = 0; i < 10'000; ++i) maps += "{a: ";
  maps += "1" + std::string(10'000, '}');
  for (const std::string& text : {std::string(10'000, '[') + std::string(10'000, ']'), maps}) {
    absl::Duration took = Timed([&] {
      EXPECT_THAT(ParseDocuments(text), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 HasSubstr("nesting deeper than 200 levels")));
    });
    EXPECT_LT(took, absl::Seconds(2));
  }
  // Unclosed: yaml-cpp reads "[[" as a collection used as a mapping key, which is refused
  // before the depth limit is even reached.
  for (char open : {'[', '{'}) {
    absl::Duration took = Timed([&] {
      EXPECT_THAT(ParseDocuments(std::string(10'000, open)),
                  StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("doc 1: line 1: ")));
    });
    EXPECT_LT(took, absl::Seconds(2));
  }
}

TEST(ParseDocumentsHostileTest, StrayCommaDoesNotLoopForever) {
  // yaml-cpp 0.7 alone emits empty documents at this position forever.
  EXPECT_THAT(ParseDocuments(",1&a@"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("doc 1: line 1: ")));
  EXPECT_THAT(ParseDocuments("a: 1\n---\n,\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("doc 2: line 3: ")));
}

TEST(ParseDocumentsHostileTest, DeepBlockNesting) {
  std::string text;
  for (int i = 0; i < 10'000; ++i) text += "- ";
  text += "x\n";
  EXPECT_THAT(ParseDocuments(text), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("nesting deeper than 200 levels")));
}

TEST(ParseDocumentsHostileTest, DepthLimitIsExact) {
  const std::string ok = std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']');
  EXPECT_OK(ParseDocuments(ok));
  const std::string deep = "[" + ok + "]";
  EXPECT_THAT(ParseDocuments(deep), StatusIs(absl::StatusCode::kInvalidArgument));
  // An alias may not smuggle depth past the limit either.
  const std::string via_alias = "a: &x " + ok + "\nb: [*x]\n";
  EXPECT_THAT(ParseDocuments(via_alias),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nesting deeper")));
}

TEST(ParseDocumentsHostileTest, BillionLaughs) {
  const std::string bomb = R"(
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
)";
  absl::Duration took = Timed([&] {
    EXPECT_THAT(ParseDocuments(bomb),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("alias")));
  });
  EXPECT_LT(took, absl::Seconds(2));
}

TEST(ParseDocumentsHostileTest, ModerateAliasReuseIsFine) {
  std::string text = "base: &b {image: nginx, port: 80, args: [a, b, c]}\nitems:\n";
  for (int i = 0; i < 50; ++i) text += "  - *b\n";
  absl::StatusOr<std::vector<json>> docs = ParseDocuments(text);
  ASSERT_OK(docs);
  EXPECT_THAT((*docs)[0]["items"], SizeIs(50));
}

TEST(ParseDocumentsHostileTest, OversizedInput) {
  const std::string big(70u << 20, ' ');
  absl::Duration took = Timed([&] {
    EXPECT_THAT(ParseDocuments(big),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit is 64 MiB")));
  });
  EXPECT_LT(took, absl::Seconds(1));
}

// --- ToYaml

TEST(ToYamlTest, QuotesStringsYamlWouldMisread) {
  const json doc = {
      {"bool_word", "true"},  {"number", "3"},    {"float", "1.5"},         {"empty", ""},
      {"null_word", "null"},  {"tilde", "~"},     {"yaml11", "yes"},        {"colon", "a: b"},
      {"dash", "- x"},        {"comment", "#x"},  {"hash", "a #b"},         {"star", "*x"},
      {"lead_space", " x"},   {"trail", "x "},    {"hex", "0x1F"},          {"merge", "<<"},
      {"date", "2024-01-02"}, {"plain", "nginx"}, {"path", "/a/b:c"},       {"url", "http://x"},
      {"quote", "it's"},      {"brace", "{a}"},   {"unicode", "caf\u00e9"},
  };
  const std::string yaml = ToYaml(doc);
  EXPECT_THAT(yaml, HasSubstr("bool_word: \"true\"\n"));
  EXPECT_THAT(yaml, HasSubstr("number: \"3\"\n"));
  EXPECT_THAT(yaml, HasSubstr("empty: \"\"\n"));
  EXPECT_THAT(yaml, HasSubstr("colon: \"a: b\"\n"));
  EXPECT_THAT(yaml, HasSubstr("dash: \"- x\"\n"));
  EXPECT_THAT(yaml, HasSubstr("yaml11: \"yes\"\n"));
  EXPECT_THAT(yaml, HasSubstr("merge: \"<<\"\n"));
  EXPECT_THAT(yaml, HasSubstr("plain: nginx\n"));
  EXPECT_THAT(yaml, HasSubstr("path: /a/b:c\n"));
  EXPECT_THAT(yaml, HasSubstr("url: http://x\n"));
  EXPECT_THAT(yaml, HasSubstr("quote: it's\n"));
  EXPECT_EQ(ParseOne(yaml), doc) << yaml;
}

TEST(ToYamlTest, BlockLayout) {
  const json doc = json::parse(R"({
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "x", "labels": {"app": "x"}},
    "spec": {
      "replicas": 3,
      "ratio": 0.5,
      "paused": false,
      "empty": {},
      "none": [],
      "nothing": null,
      "steps": [{"setWeight": 20}, {"pause": {}}, [1, [2]]],
      "script": "echo hi\nexit 1\n"
    }
  })");
  EXPECT_EQ(ToYaml(doc), R"(apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  labels:
    app: x
  name: x
spec:
  empty: {}
  none: []
  nothing: null
  paused: false
  ratio: 0.5
  replicas: 3
  script: |
    echo hi
    exit 1
  steps:
    - setWeight: 20
    - pause: {}
    - - 1
      - - 2
)");
  EXPECT_EQ(ParseOne(ToYaml(doc)), doc);
}

TEST(ToYamlTest, MultiLineStrings) {
  const std::vector<std::string> cases = {
      "a\nb",
      "a\nb\n",
      "a\nb\n\n\n",
      "a\n\n  indented\n",
      "\nleading newline",
      " leading\nx",
      "trail \nx",
      "tab\tin\nx",
      "x\r\ny",
      "- dash\n# hash\n",
      "a\n   \nb",
      "x\n\u2028y",
      "---\n...\n",
      "key: v\n",
  };
  for (const std::string& s : cases) {
    const json doc = {{"k", s}, {"list", {s, {{"n", s}}}}};
    const std::string yaml = ToYaml(doc);
    EXPECT_EQ(ParseOne(yaml), doc) << yaml;
  }
  EXPECT_THAT(ToYaml(json{{"k", "a\nb\n"}}), HasSubstr("k: |\n  a\n  b\n"));
  EXPECT_THAT(ToYaml(json{{"k", "a\nb"}}), HasSubstr("k: |-\n"));
}

TEST(ToYamlTest, ScalarsAndTopLevelValues) {
  const std::vector<json> cases = {
      json(1.0),        json(-0.25),   json(1e300),    json(1e-7),    json(INT64_MIN),
      json(UINT64_MAX), json("x\ny"),  json({1, 2}),   json("plain"), json(false),
      json(3),          json::array(), json::object(), json("..."),   json("---"),
  };
  for (const json& v : cases) {
    const std::string yaml = ToYaml(v);
    EXPECT_EQ(ParseOne(yaml), v) << yaml;
  }
  const json nonfinite = {{"inf", INFINITY}, {"ninf", -INFINITY}};
  EXPECT_EQ(ParseOne(ToYaml(nonfinite)), nonfinite);
  EXPECT_TRUE(std::isnan(ParseOne(ToYaml(json{{"nan", NAN}})).at("nan").get<double>()));
}

TEST(ToYamlTest, LongKeysAndOddKeys) {
  const json doc = {
      {std::string(2000, 'k'), 1},
      {std::string(1500, ' '), {{std::string(1200, '"'), {1, 2}}}},
      {"long" + std::string(1100, 'v'), {{"a", "x\ny\n"}}},
      {"", 2},
      {"a: b", 3},
      {"true", 4},
      {"multi\nline", 5},
      {"- x", 6},
      {"1", 7},
      {"app.kubernetes.io/name", 8},
  };
  const std::string yaml = ToYaml(doc);
  EXPECT_EQ(ParseOne(yaml), doc) << yaml;
  EXPECT_EQ(ParseOne(ToYaml(json::array({doc}))), json::array({doc}));
}

// Random trees of awkward strings and numbers must survive ToYaml -> ParseDocuments, and
// ToJsonText -> ParseDocuments (JSON read as YAML).
class RandomTree {
 public:
  explicit RandomTree(uint32_t seed) : rng_(seed) {}

  json Value(int depth) {
    switch (Pick(depth > 3 ? 5 : 7)) {
      case 0:
        return String();
      case 1:
        return Pick(2) == 0;
      case 2:
        return static_cast<int64_t>(rng_()) - (int64_t{1} << 31);
      case 3:
        return std::ldexp(static_cast<double>(rng_()) / 7.0, static_cast<int>(Pick(40)) - 20);
      case 4:
        return nullptr;
      case 5: {
        json a = json::array();
        for (size_t n = Pick(4); n > 0; --n) a.push_back(Value(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (size_t n = Pick(4); n > 0; --n) o[String()] = Value(depth + 1);
        return o;
      }
    }
  }

  std::string String() {
    static const std::vector<std::string> kPieces = {
        "a",  "Z",  "1",    "0",    ".",      "-",      " ",      "\n", "\t",  ":",   "#",
        "\"", "'",  "\\",   "{",    "}",      "[",      "]",      ",",  "&",   "*",   "!",
        "|",  ">",  "%",    "@",    "`",      "?",      "~",      "e",  "x",   "+",   "\r",
        "<<", "no", "null", "true", "\u00e9", "\u2028", "\u00a0", "0x", "---", "...",
    };
    std::string s;
    for (size_t n = Pick(7); n > 0; --n) s += kPieces[Pick(kPieces.size())];
    return s;
  }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::mt19937 rng_;
};

TEST(ToYamlTest, RandomTreesRoundTrip) {
  for (uint32_t seed = 0; seed < 3000; ++seed) {
    RandomTree gen(seed);
    json doc = json::object();
    for (int i = 0; i < 4; ++i) doc[gen.String()] = gen.Value(0);
    const std::string yaml = ToYaml(doc);
    absl::StatusOr<std::vector<json>> back = ParseDocuments(yaml);
    ASSERT_OK(back) << "seed " << seed << "\n" << yaml;
    ASSERT_THAT(*back, SizeIs(1)) << yaml;
    ASSERT_EQ((*back)[0], doc) << "seed " << seed << "\n" << yaml;
    for (bool pretty : {false, true}) {
      absl::StatusOr<std::vector<json>> from_json = ParseDocuments(ToJsonText(doc, pretty));
      ASSERT_OK(from_json) << ToJsonText(doc, pretty);
      ASSERT_EQ((*from_json)[0], doc) << "seed " << seed << "\n" << ToJsonText(doc, pretty);
    }
  }
}

bool ContainsNaN(const json& j) {
  if (j.is_number_float()) return std::isnan(j.get<double>());
  if (j.is_structured()) {
    for (const json& child : j) {
      if (ContainsNaN(child)) return true;
    }
  }
  return false;
}

// Random YAML-ish text: must never crash, and whatever is accepted must survive ToYaml.
TEST(ParseDocumentsFuzzTest, AcceptedInputSurvivesToYaml) {
  static const std::vector<std::string> kPieces = {
      "a",     "b",      "1",
      "-",     ":",      ": ",
      " ",     "  ",     "\n",
      "\n  ",  "- ",     "[",
      "]",     "{",      "}",
      ",",     "\"",     "'",
      "#",     "&a",     "*a",
      "!",     "!!str ", "|",
      "|\n  ", ">",      "?",
      "~",     "---",    "...",
      "\t",    "<<: ",   "\\",
      "%",     "@",      ".5",
      "0x1",   "\xff",   std::string(1, '\0'),
      "true",  "\r\n",   "\xc3\xa9",
  };
  std::mt19937 rng(7);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const size_t n = std::uniform_int_distribution<size_t>(1, 24)(rng);
    for (size_t i = 0; i < n; ++i) {
      text += kPieces[std::uniform_int_distribution<size_t>(0, kPieces.size() - 1)(rng)];
    }
    absl::StatusOr<std::vector<json>> docs = ParseDocuments(text);
    if (!docs.ok()) continue;
    ++accepted;
    for (const json& doc : *docs) {
      if (ContainsNaN(doc)) continue;
      absl::StatusOr<std::vector<json>> again = ParseDocuments(ToYaml(doc));
      ASSERT_OK(again) << "input:\n" << text << "\nyaml:\n" << ToYaml(doc);
      ASSERT_THAT(*again, SizeIs(1)) << ToYaml(doc);
      ASSERT_EQ((*again)[0], doc) << "input:\n" << text << "\nyaml:\n" << ToYaml(doc);
    }
  }
  EXPECT_GT(accepted, 1000);
}

TEST(ToJsonTextTest, CompactAndPretty) {
  const json doc = {{"a", {1, "x"}}, {"b", nullptr}};
  EXPECT_EQ(ToJsonText(doc, false), R"({"a":[1,"x"],"b":null})");
  EXPECT_EQ(ToJsonText(doc, true), "{\n  \"a\": [\n    1,\n    \"x\"\n  ],\n  \"b\": null\n}");
  // Invalid UTF-8 must not throw.
  EXPECT_EQ(ToJsonText(json("a\xff"), false), "\"a\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace argonaut::manifest
