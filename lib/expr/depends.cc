#include "lib/expr/depends.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"

namespace argonaut::expr {
namespace {

enum class Result {
  kDefault,  // bare task name
  kSucceeded,
  kFailed,
  kErrored,
  kSkipped,
  kOmitted,
  kDaemoned,
  kAnySucceeded,
  kAllFailed,
};

struct Node {
  enum Kind { kOperand, kNot, kAnd, kOr } kind;
  int task = -1;  // index into Impl::tasks
  Result result = Result::kDefault;
  int lhs = -1;
  int rhs = -1;
};

constexpr std::pair<std::string_view, Result> kResults[] = {
    {"Succeeded", Result::kSucceeded},       {"Failed", Result::kFailed},
    {"Errored", Result::kErrored},           {"Skipped", Result::kSkipped},
    {"Omitted", Result::kOmitted},           {"Daemoned", Result::kDaemoned},
    {"AnySucceeded", Result::kAnySucceeded}, {"AllFailed", Result::kAllFailed},
};

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 120;
  if (s.size() <= kMax) return absl::StrCat("\"", AbslView(s), "\"");
  return absl::StrCat("\"", AbslView(s.substr(0, kMax)), "...\"");
}

}  // namespace

namespace depends_internal {
struct Impl {
  std::string source;
  std::vector<std::string> tasks;
  std::vector<Node> nodes;
  int root = -1;
};
}  // namespace depends_internal

using depends_internal::Impl;

namespace {

class Parser {
 public:
  explicit Parser(Impl* impl) : impl_(impl), src_(impl->source) {}

  absl::StatusOr<int> Parse() {
    Skip();
    if (pos_ >= src_.size()) return Error(pos_, "empty depends expression");
    ASSIGN_OR_RETURN(int root, ParseOr());
    Skip();
    if (pos_ < src_.size()) return Error(pos_, absl::StrCat("unexpected ", TokenAt(pos_)));
    return root;
  }

 private:
  absl::Status Error(size_t at, std::string_view msg) {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", at + 1, ": ", AbslView(msg), " in ", Quote(src_)));
  }

  std::string TokenAt(size_t at) {
    if (at >= src_.size()) return "end of expression";
    size_t end = at + 1;
    if (IsAlnum(src_[at])) {
      while (end < src_.size() && (IsAlnum(src_[end]) || src_[end] == '-' || src_[end] == '.')) {
        ++end;
      }
    } else if ((src_[at] == '&' || src_[at] == '|') && end < src_.size() && src_[end] == src_[at]) {
      ++end;
    }
    return absl::StrCat("'", AbslView(src_.substr(at, end - at)), "'");
  }

  void Skip() {
    while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
  }

  bool Consume(std::string_view op) {
    Skip();
    if (src_.substr(pos_, op.size()) == op) {
      pos_ += op.size();
      return true;
    }
    return false;
  }

  int Add(Node n) {
    impl_->nodes.push_back(n);
    return static_cast<int>(impl_->nodes.size()) - 1;
  }

  absl::StatusOr<int> ParseOr() {
    ASSIGN_OR_RETURN(int lhs, ParseAnd());
    while (Consume("||")) {
      ASSIGN_OR_RETURN(int rhs, ParseAnd());
      lhs = Add(Node{Node::kOr, -1, Result::kDefault, lhs, rhs});
      RETURN_IF_ERROR(CountNode());
    }
    return lhs;
  }

  absl::StatusOr<int> ParseAnd() {
    ASSIGN_OR_RETURN(int lhs, ParseUnary());
    while (Consume("&&")) {
      ASSIGN_OR_RETURN(int rhs, ParseUnary());
      lhs = Add(Node{Node::kAnd, -1, Result::kDefault, lhs, rhs});
      RETURN_IF_ERROR(CountNode());
    }
    return lhs;
  }

  // Evaluation recurses along the left spine of && / || chains, so their length is bounded too.
  absl::Status CountNode() {
    if (++chain_ > 10 * DependsProgram::kMaxDepth) {
      return Error(pos_, "too many operators");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int> ParseUnary() {
    Skip();
    if (pos_ >= src_.size()) return Error(pos_, "unexpected end of expression");
    const char c = src_[pos_];
    if (c == '!') {
      const size_t at = pos_++;
      if (++depth_ > DependsProgram::kMaxDepth) return Error(at, "expression nests too deeply");
      ASSIGN_OR_RETURN(int operand, ParseUnary());
      --depth_;
      return Add(Node{Node::kNot, -1, Result::kDefault, -1, operand});
    }
    if (c == '(') {
      const size_t at = pos_++;
      if (++depth_ > DependsProgram::kMaxDepth) return Error(at, "expression nests too deeply");
      ASSIGN_OR_RETURN(int inner, ParseOr());
      Skip();
      if (pos_ >= src_.size() || src_[pos_] != ')') {
        if (pos_ >= src_.size()) return Error(at, "'(' is never closed");
        return Error(pos_, absl::StrCat("expected ')' but found ", TokenAt(pos_)));
      }
      ++pos_;
      --depth_;
      return inner;
    }
    if (IsAlnum(c)) return ParseOperand();
    return Error(pos_, absl::StrCat("unexpected ", TokenAt(pos_)));
  }

  absl::StatusOr<int> ParseOperand() {
    const size_t start = pos_;
    while (pos_ < src_.size() && (IsAlnum(src_[pos_]) || src_[pos_] == '-')) ++pos_;
    std::string name(src_.substr(start, pos_ - start));
    Result result = Result::kDefault;
    if (pos_ < src_.size() && src_[pos_] == '.') {
      const size_t rstart = ++pos_;
      while (pos_ < src_.size() && IsAlnum(src_[pos_])) ++pos_;
      const std::string_view word = src_.substr(rstart, pos_ - rstart);
      bool found = false;
      for (const auto& [text, r] : kResults) {
        if (text == word) {
          result = r;
          found = true;
        }
      }
      if (!found) {
        return Error(rstart,
                     absl::StrCat("unknown task result '", AbslView(word), "' for task '", name,
                                  "' (want Succeeded, Failed, Errored, Skipped, Omitted, "
                                  "Daemoned, AnySucceeded or AllFailed)"));
      }
    }
    auto it = std::find(impl_->tasks.begin(), impl_->tasks.end(), name);
    int index = static_cast<int>(it - impl_->tasks.begin());
    if (it == impl_->tasks.end()) impl_->tasks.push_back(std::move(name));
    return Add(Node{Node::kOperand, index, result, -1, -1});
  }

  Impl* impl_;
  std::string_view src_;
  size_t pos_ = 0;
  int depth_ = 0;
  int chain_ = 0;
};

bool ResultHolds(const std::optional<TaskStatus>& st, Result r) {
  if (!st.has_value()) return false;
  const NodePhase p = st->phase;
  const bool daemoned = st->daemoned && p != NodePhase::kPending;
  switch (r) {
    case Result::kDefault:
      return p == NodePhase::kSucceeded || p == NodePhase::kSkipped || daemoned;
    case Result::kSucceeded:
      return p == NodePhase::kSucceeded;
    case Result::kFailed:
      return p == NodePhase::kFailed;
    case Result::kErrored:
      return p == NodePhase::kErrored;
    case Result::kSkipped:
      return p == NodePhase::kSkipped;
    case Result::kOmitted:
      return p == NodePhase::kOmitted;
    case Result::kDaemoned:
      return daemoned;
    case Result::kAnySucceeded:
      if (!st->expanded) return false;
      return std::any_of(st->children_phases.begin(), st->children_phases.end(),
                         [](NodePhase c) { return c == NodePhase::kSucceeded; });
    case Result::kAllFailed:
      if (!st->expanded || st->children_phases.empty() || st->children_missing) return false;
      return std::all_of(st->children_phases.begin(), st->children_phases.end(),
                         [](NodePhase c) { return c == NodePhase::kFailed; });
  }
  return false;
}

bool EvalNode(const Impl& impl, int id, const std::vector<std::optional<TaskStatus>>& statuses) {
  const Node& n = impl.nodes[id];
  switch (n.kind) {
    case Node::kOperand:
      return ResultHolds(statuses[n.task], n.result);
    case Node::kNot:
      return !EvalNode(impl, n.rhs, statuses);
    case Node::kAnd:
      return EvalNode(impl, n.lhs, statuses) && EvalNode(impl, n.rhs, statuses);
    case Node::kOr:
      return EvalNode(impl, n.lhs, statuses) || EvalNode(impl, n.rhs, statuses);
  }
  return false;
}

}  // namespace

bool TaskFulfilled(const TaskStatus& status) {
  switch (status.phase) {
    case NodePhase::kSucceeded:
    case NodePhase::kFailed:
    case NodePhase::kErrored:
    case NodePhase::kSkipped:
    case NodePhase::kOmitted:
      return true;
    case NodePhase::kRunning:
      return status.daemoned;
    case NodePhase::kPending:
      return false;
  }
  return false;
}

absl::StatusOr<DependsProgram> DependsProgram::Compile(std::string_view source) {
  if (source.size() > kMaxLength) {
    return absl::InvalidArgumentError(absl::StrCat("depends expression is ", source.size(),
                                                   " bytes, larger than the ", kMaxLength,
                                                   "-byte limit"));
  }
  auto impl = std::make_shared<Impl>();
  impl->source = std::string(source);
  Parser parser(impl.get());
  ASSIGN_OR_RETURN(impl->root, parser.Parse());
  return DependsProgram(std::move(impl));
}

const std::vector<std::string>& DependsProgram::Tasks() const { return impl_->tasks; }
const std::string& DependsProgram::source() const { return impl_->source; }

absl::StatusOr<bool> DependsProgram::Eval(const TaskLookup& lookup) const {
  if (!lookup) return absl::InvalidArgumentError("depends: no task lookup given");
  std::vector<std::optional<TaskStatus>> statuses;
  statuses.reserve(impl_->tasks.size());
  for (const std::string& t : impl_->tasks) statuses.push_back(lookup(t));
  return EvalNode(*impl_, impl_->root, statuses);
}

absl::StatusOr<DependsDecision> DependsProgram::Decide(const TaskLookup& lookup) const {
  if (!lookup) return absl::InvalidArgumentError("depends: no task lookup given");
  std::vector<std::optional<TaskStatus>> statuses;
  statuses.reserve(impl_->tasks.size());
  for (const std::string& t : impl_->tasks) {
    std::optional<TaskStatus> st = lookup(t);
    if (!st.has_value() || !TaskFulfilled(*st)) return DependsDecision{false, false};
    statuses.push_back(std::move(st));
  }
  return DependsDecision{true, EvalNode(*impl_, impl_->root, statuses)};
}

std::string DependenciesToDepends(const std::vector<std::string>& dependencies,
                                  const std::function<ContinueOn(std::string_view)>& continue_on) {
  std::vector<std::string> parts;
  parts.reserve(dependencies.size());
  for (const std::string& dep : dependencies) {
    const ContinueOn c = continue_on ? continue_on(dep) : ContinueOn{};
    if (!c.failed && !c.error) {
      // Equivalent to Argo's (dep.Succeeded || dep.Skipped || dep.Daemoned) expansion.
      parts.push_back(dep);
      continue;
    }
    std::vector<std::string> results = {dep + ".Succeeded", dep + ".Skipped", dep + ".Daemoned"};
    if (c.error) results.push_back(dep + ".Errored");
    if (c.failed) results.push_back(dep + ".Failed");
    parts.push_back(absl::StrCat("(", absl::StrJoin(results, " || "), ")"));
  }
  return absl::StrJoin(parts, " && ");
}

}  // namespace argonaut::expr
