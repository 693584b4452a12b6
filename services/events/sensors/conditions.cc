#include "services/events/sensors/conditions.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace argonaut::events::sensors {

struct Conditions::Node {
  enum Kind { kName, kAnd, kOr } kind = kName;
  std::string name;
  std::shared_ptr<const Node> left, right;
};

namespace {

using Node = Conditions::Node;

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  absl::StatusOr<std::shared_ptr<const Node>> Run() {
    auto n = Or(0);
    if (!n.ok()) return n;
    Skip();
    if (pos_ != s_.size()) return Error("unexpected input");
    return n;
  }
  bool saw_and = false;

 private:
  static constexpr int kMaxDepth = 200;

  void Skip() {
    while (pos_ < s_.size() && absl::ascii_isspace(s_[pos_])) ++pos_;
  }
  bool Eat(std::string_view tok) {
    Skip();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  absl::Status Error(std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("conditions: ", std::string(what), " at column ",
                                                   pos_ + 1, " in \"", std::string(s_), "\""));
  }
  absl::StatusOr<std::shared_ptr<const Node>> Or(int depth) {
    auto left = And(depth);
    if (!left.ok()) return left;
    while (Eat("||")) {
      auto right = And(depth);
      if (!right.ok()) return right;
      left = std::make_shared<const Node>(Node{Node::kOr, "", *left, *right});
    }
    return left;
  }
  absl::StatusOr<std::shared_ptr<const Node>> And(int depth) {
    auto left = Atom(depth);
    if (!left.ok()) return left;
    while (Eat("&&")) {
      saw_and = true;
      auto right = Atom(depth);
      if (!right.ok()) return right;
      left = std::make_shared<const Node>(Node{Node::kAnd, "", *left, *right});
    }
    return left;
  }
  absl::StatusOr<std::shared_ptr<const Node>> Atom(int depth) {
    if (depth > kMaxDepth) return Error("too deeply nested");
    if (Eat("(")) {
      auto inner = Or(depth + 1);
      if (!inner.ok()) return inner;
      if (!Eat(")")) return Error("expected ')'");
      return inner;
    }
    Skip();
    size_t start = pos_;
    while (pos_ < s_.size() &&
           (absl::ascii_isalnum(s_[pos_]) || s_[pos_] == '-' || s_[pos_] == '_' || s_[pos_] == '.'))
      ++pos_;
    if (pos_ == start) return Error("expected a dependency name");
    return std::make_shared<const Node>(
        Node{Node::kName, std::string(s_.substr(start, pos_ - start)), nullptr, nullptr});
  }

  std::string_view s_;
  size_t pos_ = 0;
};

void Collect(const Node& n, std::set<std::string>& out) {
  if (n.kind == Node::kName) {
    out.insert(n.name);
    return;
  }
  Collect(*n.left, out);
  Collect(*n.right, out);
}

bool EvalNode(const Node& n, const std::set<std::string>& present) {
  switch (n.kind) {
    case Node::kName:
      return present.count(n.name) > 0;
    case Node::kAnd:
      return EvalNode(*n.left, present) && EvalNode(*n.right, present);
    case Node::kOr:
      return EvalNode(*n.left, present) || EvalNode(*n.right, present);
  }
  return false;
}

}  // namespace

absl::StatusOr<Conditions> Conditions::Parse(std::string_view expr,
                                             const std::vector<std::string>& dependencies) {
  std::string text(absl::StripAsciiWhitespace(absl::string_view(expr.data(), expr.size())));
  if (text.empty()) {
    if (dependencies.empty()) return absl::InvalidArgumentError("sensor has no dependencies");
    text = absl::StrJoin(dependencies, " && ");
  }
  Parser parser(text);
  auto root = parser.Run();
  if (!root.ok()) return root.status();
  Conditions c;
  c.root_ = *root;
  Collect(**root, c.names_);
  c.or_only_ = !parser.saw_and;
  std::set<std::string> known(dependencies.begin(), dependencies.end());
  for (const std::string& name : c.names_)
    if (!known.count(name))
      return absl::InvalidArgumentError(
          absl::StrCat("conditions: \"", name, "\" is not a dependency of the sensor"));
  return c;
}

bool Conditions::Eval(const std::set<std::string>& present) const {
  return root_ && EvalNode(*root_, present);
}

}  // namespace argonaut::events::sensors
