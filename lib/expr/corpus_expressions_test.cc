// Every expression in the Argo example corpora must compile with the engine Argo uses for it:
//   workflows `when:`        -> govaluate, after replacing every {{...}} tag with a placeholder
//   workflows `depends:`     -> DependsProgram
//   `{{=...}}` tags anywhere -> expr-lang
//   rollouts successCondition / failureCondition -> expr-lang with the Rollouts functions
//   events sensor filters `exprs[].expr` -> govaluate (argo-events evaluates them with govaluate)
//
// The corpus lives next to the workspace (<workspace>/../shared/corpus), outside Bazel's view.
// ARGONAUT_CORPUS_DIR overrides; otherwise the symlinked runfile testdata/corpus_anchor.txt is
// resolved to its real path and the workspace found three directories above it.

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "lib/base/strings.h"
#include "lib/base/test_corpus.h"
#include "lib/expr/depends.h"
#include "lib/expr/exprlang.h"
#include "lib/expr/govaluate.h"
#include "lib/manifest/yaml.h"
#include "lib/template/template.h"
#include "nlohmann/json.hpp"

namespace argonaut::expr {
namespace {

namespace fs = std::filesystem;
using ::nlohmann::json;

constexpr char kCorpusAnchor[] = "lib/expr/testdata/corpus_anchor.txt";

// Argo substitutes tags before govaluate sees the condition; any placeholder without operator
// characters stands in for the runtime value.
std::string SubstitutePlaceholders(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(text, pos, open - pos);
    out += "x";
    pos = close + 2;
  }
  out.append(text, pos);
  return out;
}

struct Counts {
  int files = 0;
  int unparsed = 0;
  int documents = 0;
  int when = 0;
  int depends = 0;
  int expression_tags = 0;
  int conditions = 0;
  int exprs = 0;
  std::vector<std::string> failures;
};

class Walker {
 public:
  Walker(std::string corpus, std::string file, Counts* counts)
      : corpus_(std::move(corpus)), file_(std::move(file)), counts_(counts) {}

  void Walk(const json& v, const std::string& key, int depth) {
    if (depth > 200) return;
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) Walk(it.value(), it.key(), depth + 1);
      return;
    }
    if (v.is_array()) {
      if (corpus_ == "argo-events" && key == "exprs") {
        for (const json& e : v) {
          if (e.is_object() && e.contains("expr") && e["expr"].is_string()) {
            ++counts_->exprs;
            Check("exprs", e["expr"].get<std::string>(), Govaluate(e["expr"].get<std::string>()));
          }
        }
      }
      for (const json& e : v) Walk(e, key, depth + 1);
      return;
    }
    if (!v.is_string()) return;
    const std::string& s = v.get_ref<const std::string&>();
    if (absl::StrContains(s, "{{=")) ExpressionTags(s);
    if (corpus_ == "argo-workflows" && key == "when") {
      ++counts_->when;
      Check("when", s, Govaluate(SubstitutePlaceholders(s)));
    }
    if (corpus_ == "argo-workflows" && key == "depends") {
      ++counts_->depends;
      Check("depends", s, DependsProgram::Compile(s).status());
    }
    if (corpus_ == "argo-rollouts" && (key == "successCondition" || key == "failureCondition")) {
      ++counts_->conditions;
      ExprOptions opts;
      opts.extra_functions = &RolloutsFunctions();
      Check(key, s, ExprProgram::Compile(s, opts).status());
    }
  }

 private:
  static absl::Status Govaluate(const std::string& s) {
    return GovaluateProgram::Compile(s).status();
  }

  void ExpressionTags(const std::string& s) {
    absl::StatusOr<tmpl::Template> t = tmpl::Template::Parse(s);
    if (!t.ok()) {
      Check("{{=}}", s, t.status());
      return;
    }
    for (const std::string& e : t->Expressions()) {
      ++counts_->expression_tags;
      Check("{{=}}", e, ExprProgram::Compile(e).status());
    }
  }

  void Check(std::string_view kind, const std::string& text, const absl::Status& status) {
    if (status.ok()) return;
    counts_->failures.push_back(absl::StrCat(corpus_, "/", file_, ": ", AbslView(kind), " \"", text,
                                             "\": ", status.message()));
  }

  std::string corpus_;
  std::string file_;
  Counts* counts_;
};

TEST(CorpusExpressionsTest, EveryExpressionCompiles) {
  const absl::StatusOr<fs::path> corpus_dir = argonaut::testing::TestCorpusDir(kCorpusAnchor);
  ASSERT_TRUE(corpus_dir.ok()) << corpus_dir.status();
  const fs::path& root = *corpus_dir;
  ASSERT_TRUE(fs::is_directory(root / "argo-workflows"))
      << "corpus not found at " << root << "; set ARGONAUT_CORPUS_DIR";
  Counts counts;
  for (const char* corpus : {"argo-workflows", "argo-rollouts", "argo-events"}) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(root / corpus)) {
      const std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& path : files) {
      const std::string rel = fs::relative(path, root / corpus).string();
      const absl::StatusOr<std::string> text = argonaut::testing::ReadTestFile(path);
      ASSERT_TRUE(text.ok()) << text.status();
      absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(*text);
      if (!docs.ok()) {  // not every file is a manifest (e.g. Helm values with templates)
        ++counts.unparsed;
        continue;
      }
      ++counts.files;
      Walker walker(corpus, rel, &counts);
      for (const json& doc : *docs) {
        ++counts.documents;
        walker.Walk(doc, "", 0);
      }
    }
  }
  std::cerr << "corpus: " << counts.files << " files (" << counts.unparsed << " not parsable), "
            << counts.documents << " documents\n"
            << "when: " << counts.when << ", depends: " << counts.depends
            << ", {{=}}: " << counts.expression_tags
            << ", successCondition/failureCondition: " << counts.conditions
            << ", exprs: " << counts.exprs << "\n";
  // Known gaps of the expr-lang engine, listed so they stay visible: each must still fail, and
  // the entry must be removed once the engine handles it.
  const std::vector<std::pair<std::string, std::string>> kKnownGaps = {};
  std::vector<bool> gap_seen(kKnownGaps.size(), false);
  for (const std::string& f : counts.failures) {
    bool known = false;
    for (size_t i = 0; i < kKnownGaps.size(); ++i) {
      if (absl::StartsWith(f, kKnownGaps[i].first + ":") &&
          absl::StrContains(f, kKnownGaps[i].second)) {
        known = gap_seen[i] = true;
      }
    }
    if (known) {
      std::cerr << "known gap: " << f << "\n";
    } else {
      ADD_FAILURE() << f;
    }
  }
  for (size_t i = 0; i < kKnownGaps.size(); ++i) {
    EXPECT_TRUE(gap_seen[i]) << "known gap no longer fails, remove it: " << kKnownGaps[i].first;
  }
  // Guards against the walk silently matching nothing (moved corpus, renamed fields).
  EXPECT_GE(counts.when, 30);
  EXPECT_GE(counts.depends, 50);
  EXPECT_GE(counts.expression_tags, 10);
  EXPECT_GE(counts.conditions, 2);
  EXPECT_GE(counts.exprs, 5);
}

// The CronWorkflow `when` of examples/cron-when.yaml evaluated the way Argo's cron operator
// does: cronworkflow.lastScheduledTime is nil before the first run, a time afterwards.
TEST(CorpusExpressionsTest, CronWhenEvaluates) {
  const absl::StatusOr<fs::path> corpus_dir = argonaut::testing::TestCorpusDir(kCorpusAnchor);
  ASSERT_TRUE(corpus_dir.ok()) << corpus_dir.status();
  const fs::path file = *corpus_dir / "argo-workflows/examples/cron-when.yaml";
  ASSERT_TRUE(fs::is_regular_file(file)) << file;
  const absl::StatusOr<std::string> content = argonaut::testing::ReadTestFile(file);
  ASSERT_TRUE(content.ok()) << content.status();
  absl::StatusOr<std::vector<json>> docs = manifest::ParseDocuments(*content);
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 1u);
  const std::string when = (*docs)[0]["spec"]["when"].get<std::string>();
  absl::StatusOr<tmpl::Template> t = tmpl::Template::Parse(when);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->Expressions().size(), 1u);
  absl::StatusOr<ExprProgram> program = ExprProgram::Compile(t->Expressions()[0]);
  ASSERT_TRUE(program.ok()) << program.status();

  auto run = [&](json last) {
    return program->EvalBool({{"cronworkflow", {{"lastScheduledTime", std::move(last)}}}});
  };
  absl::StatusOr<bool> never = run(nullptr);
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_TRUE(*never);
  absl::StatusOr<bool> long_ago = run(TimeValue(absl::Now() - absl::Minutes(10)));
  ASSERT_TRUE(long_ago.ok()) << long_ago.status();
  EXPECT_TRUE(*long_ago);
  absl::StatusOr<bool> recent = run(TimeValue(absl::Now() - absl::Minutes(1)));
  ASSERT_TRUE(recent.ok()) << recent.status();
  EXPECT_FALSE(*recent);
  // An RFC 3339 string is not a time: the caller must pass TimeValue (or the expression must
  // use date()).
  absl::StatusOr<bool> text = run("2024-01-01T00:00:00Z");
  EXPECT_FALSE(text.ok());
  EXPECT_TRUE(absl::StrContains(text.status().message(), "convert it with date()"))
      << text.status();
}

}  // namespace
}  // namespace argonaut::expr
