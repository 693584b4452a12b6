#include "lib/expr/depends.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::expr {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using P = NodePhase;

TaskStatus Phase(P p) { return TaskStatus{p}; }
TaskStatus Daemon(P p) { return TaskStatus{p, true}; }
TaskStatus Group(P p, std::vector<P> children) {
  TaskStatus s{p};
  s.expanded = true;
  s.children_phases = std::move(children);
  return s;
}

TaskLookup From(const std::map<std::string, TaskStatus>& m) {
  return [m](std::string_view name) -> std::optional<TaskStatus> {
    auto it = m.find(std::string(name));
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

struct Case {
  const char* depends;
  std::map<std::string, TaskStatus> tasks;
  bool want;
};

TEST(DependsTest, Table) {
  const std::vector<Case> cases = {
      // examples/dag-enhanced-depends.yaml: A, B pass; C fails.
      {"A && (C.Succeeded || C.Failed)",
       {{"A", Phase(P::kSucceeded)}, {"C", Phase(P::kFailed)}},
       true},
      {"B || C", {{"B", Phase(P::kSucceeded)}, {"C", Phase(P::kFailed)}}, true},
      {"B && C", {{"B", Phase(P::kSucceeded)}, {"C", Phase(P::kFailed)}}, false},
      {"should-execute-2.Succeeded || should-not-execute",
       {{"should-execute-2", Phase(P::kSucceeded)}, {"should-not-execute", Phase(P::kOmitted)}},
       true},
      {"should-not-execute", {{"should-not-execute", Phase(P::kOmitted)}}, false},
      // Bare name = Succeeded || Skipped || Daemoned.
      {"A", {{"A", Phase(P::kSucceeded)}}, true},
      {"A", {{"A", Phase(P::kSkipped)}}, true},
      {"A", {{"A", Daemon(P::kRunning)}}, true},
      {"A", {{"A", Daemon(P::kPending)}}, false},  // Daemoned requires leaving Pending
      {"A", {{"A", Phase(P::kFailed)}}, false},
      {"A", {{"A", Phase(P::kErrored)}}, false},
      {"A", {{"A", Phase(P::kOmitted)}}, false},
      // Each explicit result.
      {"A.Succeeded", {{"A", Phase(P::kSucceeded)}}, true},
      {"A.Succeeded", {{"A", Phase(P::kSkipped)}}, false},
      {"A.Failed", {{"A", Phase(P::kFailed)}}, true},
      {"A.Failed", {{"A", Phase(P::kErrored)}}, false},
      {"A.Errored", {{"A", Phase(P::kErrored)}}, true},
      {"A.Skipped", {{"A", Phase(P::kSkipped)}}, true},
      {"A.Omitted", {{"A", Phase(P::kOmitted)}}, true},
      {"A.Daemoned", {{"A", Daemon(P::kSucceeded)}}, true},
      {"A.Daemoned", {{"A", Phase(P::kSucceeded)}}, false},
      // examples: "producer.Succeeded || producer.Skipped", "B.Failed && C".
      {"producer.Succeeded || producer.Skipped", {{"producer", Phase(P::kSkipped)}}, true},
      {"B.Failed && C", {{"B", Phase(P::kFailed)}, {"C", Phase(P::kSucceeded)}}, true},
      {"B.Failed && C", {{"B", Phase(P::kSucceeded)}, {"C", Phase(P::kSucceeded)}}, false},
      // Expanded (withItems/withParam) tasks: AnySucceeded / AllFailed look at the children.
      {"A.AnySucceeded", {{"A", Group(P::kFailed, {P::kFailed, P::kSucceeded})}}, true},
      {"A.AnySucceeded", {{"A", Group(P::kFailed, {P::kFailed, P::kFailed})}}, false},
      {"A.AllFailed", {{"A", Group(P::kFailed, {P::kFailed, P::kFailed})}}, true},
      {"A.AllFailed", {{"A", Group(P::kFailed, {P::kFailed, P::kErrored})}}, false},
      {"A.AllFailed", {{"A", Group(P::kSucceeded, {})}}, false},  // no children: not all failed
      {"A.AnySucceeded", {{"A", Phase(P::kSucceeded)}}, false},   // not an expanded task
      {"A.AllFailed", {{"A", Phase(P::kFailed)}}, false},
      // Operators and precedence: && binds tighter than ||; ! binds tightest.
      {"A || B && C", {{"A", Phase(P::kSucceeded)}, {"B", Phase(P::kFailed)}}, true},
      {"(A || B) && C",
       {{"A", Phase(P::kSucceeded)}, {"B", Phase(P::kFailed)}, {"C", Phase(P::kFailed)}},
       false},
      {"!A.Failed", {{"A", Phase(P::kSucceeded)}}, true},
      {"!!A", {{"A", Phase(P::kSucceeded)}}, true},
      {"!(A && B)", {{"A", Phase(P::kSucceeded)}, {"B", Phase(P::kFailed)}}, true},
      {"A&&B", {{"A", Phase(P::kSucceeded)}, {"B", Phase(P::kSucceeded)}}, true},
      {"  A  ||  B  ", {{"A", Phase(P::kFailed)}, {"B", Phase(P::kSkipped)}}, true},
      // Names with dashes and digits.
      {"A-1.Succeeded && 2b", {{"A-1", Phase(P::kSucceeded)}, {"2b", Phase(P::kSucceeded)}}, true},
      {"task-a-b.Errored", {{"task-a-b", Phase(P::kErrored)}}, true},
      // Unknown tasks have every result false.
      {"missing", {}, false},
      {"!missing.Failed", {}, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.depends);
    absl::StatusOr<DependsProgram> p = DependsProgram::Compile(c.depends);
    ASSERT_OK(p);
    absl::StatusOr<bool> got = p->Eval(From(c.tasks));
    ASSERT_OK(got);
    EXPECT_EQ(*got, c.want);
  }
}

TEST(DependsTest, TasksAreOrderedAndDeduplicated) {
  absl::StatusOr<DependsProgram> p =
      DependsProgram::Compile("C && (A.Failed || C.Succeeded) && B-2 && A");
  ASSERT_OK(p);
  EXPECT_THAT(p->Tasks(), ElementsAre("C", "A", "B-2"));
}

TEST(DependsTest, DecideWaitsForUnfinishedDependencies) {
  absl::StatusOr<DependsProgram> p = DependsProgram::Compile("A || B");
  ASSERT_OK(p);
  // B still running: not ready even though A alone would satisfy the expression (Argo waits).
  absl::StatusOr<DependsDecision> d =
      p->Decide(From({{"A", Phase(P::kSucceeded)}, {"B", Phase(P::kRunning)}}));
  ASSERT_OK(d);
  EXPECT_FALSE(d->ready);
  d = p->Decide(From({{"A", Phase(P::kSucceeded)}}));  // B has no node yet
  ASSERT_OK(d);
  EXPECT_FALSE(d->ready);
  d = p->Decide(From({{"A", Phase(P::kFailed)}, {"B", Phase(P::kFailed)}}));
  ASSERT_OK(d);
  EXPECT_TRUE(d->ready);
  EXPECT_FALSE(d->execute);  // -> Omitted
  d = p->Decide(From({{"A", Phase(P::kFailed)}, {"B", Daemon(P::kRunning)}}));
  ASSERT_OK(d);
  EXPECT_TRUE(d->ready);  // a running daemon is fulfilled
  EXPECT_TRUE(d->execute);
}

TEST(DependsTest, TaskFulfilled) {
  EXPECT_FALSE(TaskFulfilled(Phase(P::kPending)));
  EXPECT_FALSE(TaskFulfilled(Phase(P::kRunning)));
  EXPECT_FALSE(TaskFulfilled(Daemon(P::kPending)));
  EXPECT_TRUE(TaskFulfilled(Daemon(P::kRunning)));
  for (P p : {P::kSucceeded, P::kFailed, P::kErrored, P::kSkipped, P::kOmitted}) {
    EXPECT_TRUE(TaskFulfilled(Phase(p)));
  }
}

TEST(DependsTest, DependenciesToDepends) {
  EXPECT_EQ(DependenciesToDepends({"A", "B"}), "A && B");
  EXPECT_EQ(DependenciesToDepends({"A"}), "A");
  EXPECT_EQ(DependenciesToDepends({}), "");
  const std::string s = DependenciesToDepends({"A", "B", "C"}, [](std::string_view t) {
    if (t == "B") return ContinueOn{true, false};
    if (t == "C") return ContinueOn{true, true};
    return ContinueOn{};
  });
  EXPECT_EQ(s,
            "A && (B.Succeeded || B.Skipped || B.Daemoned || B.Failed) && "
            "(C.Succeeded || C.Skipped || C.Daemoned || C.Errored || C.Failed)");
  absl::StatusOr<DependsProgram> p = DependsProgram::Compile(s);
  ASSERT_OK(p);
  EXPECT_TRUE(*p->Eval(
      From({{"A", Phase(P::kSucceeded)}, {"B", Phase(P::kFailed)}, {"C", Phase(P::kErrored)}})));
  EXPECT_FALSE(*p->Eval(
      From({{"A", Phase(P::kSucceeded)}, {"B", Phase(P::kErrored)}, {"C", Phase(P::kErrored)}})));
}

struct ErrorCase {
  const char* depends;
  const char* want;
};

TEST(DependsTest, Errors) {
  const ErrorCase cases[] = {
      {"task.Sucess", "column 6: unknown task result 'Sucess' for task 'task'"},
      {"A.succeeded", "unknown task result 'succeeded'"},
      {"A.", "column 3: unknown task result ''"},
      {"", "empty depends expression"},
      {"   ", "empty depends expression"},
      {"A &&", "column 5: unexpected end of expression"},
      {"A & B", "column 3: unexpected '&'"},
      {"A || || B", "column 6: unexpected '||'"},
      {"(A", "column 1: '(' is never closed"},
      {"A)", "column 2: unexpected ')'"},
      {"A B", "column 3: unexpected 'B'"},
      {"A_b", "column 2: unexpected '_'"},
      {"-A", "column 1: unexpected '-'"},
      {"A == B", "column 3: unexpected '='"},
      {"A.Succeeded.Failed", "column 12: unexpected '.'"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.depends);
    EXPECT_THAT(DependsProgram::Compile(c.depends),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)));
  }
}

TEST(DependsTest, HostileInputs) {
  std::string deep(10000, '(');
  deep += "A";
  deep += std::string(10000, ')');
  EXPECT_THAT(DependsProgram::Compile(deep),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nests too deeply")));
  std::string nots(10000, '!');
  EXPECT_THAT(DependsProgram::Compile(nots + "A"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nests too deeply")));
  std::string chain = "A";
  for (int i = 0; i < 5000; ++i) chain += " && A";
  EXPECT_THAT(DependsProgram::Compile(chain),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too many operators")));
  EXPECT_THAT(DependsProgram::Compile(std::string(DependsProgram::kMaxLength + 1, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
  std::string many;
  for (int i = 0; i < 500; ++i) many += (i ? " || t" : "t") + std::to_string(i);
  absl::StatusOr<DependsProgram> p = DependsProgram::Compile(many);
  ASSERT_OK(p);
  EXPECT_EQ(p->Tasks().size(), 500u);
  EXPECT_FALSE(*p->Eval(From({})));
  EXPECT_THAT(p->Eval(nullptr), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::expr
