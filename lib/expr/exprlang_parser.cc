#include "lib/expr/exprlang_parser.h"

#include <charconv>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"
#include "lib/expr/builtins.h"
#include "lib/expr/expr_value.h"
#include "lib/expr/lexer.h"
#include "lib/expr/sprig.h"

namespace argonaut::expr::internal {
namespace {

enum class Assoc { kLeft, kRight };
struct BinaryOp {
  std::string_view name;
  int precedence;
  Assoc assoc;
};

// expr-lang's operator table (parser/operator/operator.go).
constexpr BinaryOp kBinary[] = {
    {"|", 0, Assoc::kLeft},           {"or", 10, Assoc::kLeft},
    {"||", 10, Assoc::kLeft},         {"and", 15, Assoc::kLeft},
    {"&&", 15, Assoc::kLeft},         {"==", 20, Assoc::kLeft},
    {"!=", 20, Assoc::kLeft},         {"<", 20, Assoc::kLeft},
    {">", 20, Assoc::kLeft},          {">=", 20, Assoc::kLeft},
    {"<=", 20, Assoc::kLeft},         {"in", 20, Assoc::kLeft},
    {"matches", 20, Assoc::kLeft},    {"contains", 20, Assoc::kLeft},
    {"startsWith", 20, Assoc::kLeft}, {"endsWith", 20, Assoc::kLeft},
    {"..", 25, Assoc::kLeft},         {"+", 30, Assoc::kLeft},
    {"-", 30, Assoc::kLeft},          {"*", 60, Assoc::kLeft},
    {"/", 60, Assoc::kLeft},          {"%", 60, Assoc::kLeft},
    {"**", 100, Assoc::kRight},       {"^", 100, Assoc::kRight},
    {"??", 500, Assoc::kLeft},
};

const BinaryOp* FindBinary(std::string_view op) {
  for (const BinaryOp& b : kBinary) {
    if (b.name == op) return &b;
  }
  return nullptr;
}

int UnaryPrecedence(std::string_view op) {
  if (op == "not" || op == "!") return 50;
  if (op == "-" || op == "+") return 90;
  return -1;
}

Op BinaryCode(std::string_view op) {
  if (op == "&&" || op == "and") return Op::kAnd;
  if (op == "||" || op == "or") return Op::kOr;
  if (op == "??") return Op::kCoalesce;
  if (op == "==") return Op::kEq;
  if (op == "!=") return Op::kNe;
  if (op == "<") return Op::kLt;
  if (op == "<=") return Op::kLe;
  if (op == ">") return Op::kGt;
  if (op == ">=") return Op::kGe;
  if (op == "in") return Op::kIn;
  if (op == "matches") return Op::kMatches;
  if (op == "contains") return Op::kContains;
  if (op == "startsWith") return Op::kStartsWith;
  if (op == "endsWith") return Op::kEndsWith;
  if (op == "..") return Op::kRange;
  return Op::kArithmetic;
}

bool IsOrdering(std::string_view op) { return op == "<" || op == ">" || op == "<=" || op == ">="; }

bool AllowedNegateSuffix(std::string_view op) {
  return op == "in" || op == "matches" || op == "contains" || op == "startsWith" ||
         op == "endsWith";
}

std::string Describe(const Token& t) {
  if (t.kind == TokenKind::kEof) return "end of expression";
  if (t.kind == TokenKind::kString) return "string literal";
  return absl::StrCat("'", t.text, "'");
}

class Parser {
 public:
  Parser(std::string_view source, std::vector<Token> tokens, const ExprOptions& options)
      : source_(source), tokens_(std::move(tokens)), options_(options) {}

  absl::StatusOr<NodePtr> Run() {
    absl::StatusOr<NodePtr> root = ParseExpression(0);
    if (!root.ok()) return root;
    if (Current().kind != TokenKind::kEof) return Unexpected(Current());
    return root;
  }

 private:
  const Token& Current() const { return tokens_[pos_]; }
  const Token& Peek(size_t ahead = 1) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  void Next() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }

  absl::Status Error(size_t at, absl::string_view message) const {
    return ErrorAt(source_, at, message);
  }
  absl::Status Unexpected(const Token& t) const {
    return Error(t.pos, absl::StrCat("unexpected ", Describe(t)));
  }
  absl::Status Expect(TokenKind kind, std::string_view text) {
    if (!Current().Is(kind, text)) {
      return Error(Current().pos,
                   absl::StrCat("expected '", AbslView(text), "' but found ", Describe(Current())));
    }
    Next();
    return absl::OkStatus();
  }

  // Every node goes through here so the tree height stays bounded even for
  // long flat chains such as 1+1+1+... that the parser builds iteratively.
  absl::StatusOr<NodePtr> Make(Node node) {
    int depth = 0;
    for (const NodePtr& c : node.children) {
      if (c != nullptr && c->depth > depth) depth = c->depth;
    }
    node.depth = depth + 1;
    if (node.depth > options_.max_depth) {
      return Error(node.pos,
                   absl::StrCat("expression nested too deeply (limit ", options_.max_depth, ")"));
    }
    return std::make_shared<const Node>(std::move(node));
  }

  absl::StatusOr<NodePtr> MakeBinary(std::string op, size_t pos, NodePtr left, NodePtr right) {
    Node n;
    n.kind = NodeKind::kBinary;
    n.pos = pos;
    n.name = std::move(op);
    n.op = BinaryCode(n.name);
    if (n.name == "matches" && right->kind == NodeKind::kLiteral && right->value.is_string()) {
      absl::StatusOr<std::shared_ptr<const re2::RE2>> re =
          CompileRegex(right->value.get_ref<const std::string&>());
      if (!re.ok()) return Error(right->pos, re.status().message());
      n.regex = *std::move(re);
    }
    n.children = {std::move(left), std::move(right)};
    return Make(std::move(n));
  }

  absl::StatusOr<NodePtr> MakeUnary(std::string op, size_t pos, NodePtr child) {
    Node n;
    n.kind = NodeKind::kUnary;
    n.pos = pos;
    n.name = std::move(op);
    n.children = {std::move(child)};
    return Make(std::move(n));
  }

  // Guards the recursion of the parser itself (nested parentheses, unary
  // chains) independently of the final tree height.
  struct DepthGuard {
    explicit DepthGuard(int* d) : depth(d) { ++*depth; }
    ~DepthGuard() { --*depth; }
    int* depth;
  };

  absl::Status CheckRecursion() const {
    if (recursion_ > options_.max_depth) {
      return Error(Current().pos,
                   absl::StrCat("expression nested too deeply (limit ", options_.max_depth, ")"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<NodePtr> ParseExpression(int precedence) {
    DepthGuard guard(&recursion_);
    if (absl::Status s = CheckRecursion(); !s.ok()) return s;
    if (precedence == 0 && Current().Is(TokenKind::kOperator, "let")) return ParseLet();

    absl::StatusOr<NodePtr> left_or = ParsePrimary();
    if (!left_or.ok()) return left_or;
    NodePtr left = *std::move(left_or);
    std::string prev_operator;
    while (Current().kind == TokenKind::kOperator) {
      Token op_token = Current();
      bool negate = op_token.text == "not";
      if (negate) {
        // "not in", "not matches", ...: a negated binary operator.
        const Token& suffix = Peek();
        if (suffix.kind != TokenKind::kOperator || !AllowedNegateSuffix(suffix.text)) {
          return Unexpected(op_token);
        }
        const BinaryOp* op = FindBinary(suffix.text);
        if (op->precedence < precedence) break;
        Next();
        op_token = Current();
      }
      const BinaryOp* op = FindBinary(op_token.text);
      if (op == nullptr || op->precedence < precedence) break;
      Next();
      if (prev_operator == "??" && op_token.text != "??") {
        return Error(op_token.pos,
                     absl::StrCat("operator (", op_token.text,
                                  ") and coalesce expressions (?\?) cannot be mixed; wrap either "
                                  "in parentheses"));
      }
      if (op_token.text == "|") {
        if (Current().kind != TokenKind::kIdentifier) {
          return Error(Current().pos, "expected a function name after '|'");
        }
        Token name = Current();
        Next();
        absl::StatusOr<NodePtr> call = ParseCall(name, left);
        if (!call.ok()) return call;
        left = *std::move(call);
      } else if (IsOrdering(op_token.text)) {
        absl::StatusOr<NodePtr> cmp = ParseComparison(left, op_token, op->precedence);
        if (!cmp.ok()) return cmp;
        left = *std::move(cmp);
      } else {
        absl::StatusOr<NodePtr> right =
            ParseExpression(op->assoc == Assoc::kLeft ? op->precedence + 1 : op->precedence);
        if (!right.ok()) return right;
        absl::StatusOr<NodePtr> bin =
            MakeBinary(op_token.text, op_token.pos, std::move(left), *std::move(right));
        if (!bin.ok()) return bin;
        left = *std::move(bin);
        if (negate) {
          absl::StatusOr<NodePtr> neg = MakeUnary("not", op_token.pos, std::move(left));
          if (!neg.ok()) return neg;
          left = *std::move(neg);
        }
      }
      prev_operator = op_token.text;
    }
    if (precedence == 0) return ParseConditional(std::move(left));
    return left;
  }

  // a < b < c means a < b && b < c, as in expr.
  absl::StatusOr<NodePtr> ParseComparison(NodePtr left, Token op_token, int precedence) {
    NodePtr root;
    for (int guard = 0; guard < 100000; ++guard) {
      absl::StatusOr<NodePtr> right = ParseExpression(precedence + 1);
      if (!right.ok()) return right;
      absl::StatusOr<NodePtr> cmp = MakeBinary(op_token.text, op_token.pos, left, *right);
      if (!cmp.ok()) return cmp;
      if (root == nullptr) {
        root = *std::move(cmp);
      } else {
        absl::StatusOr<NodePtr> both = MakeBinary("&&", op_token.pos, root, *std::move(cmp));
        if (!both.ok()) return both;
        root = *std::move(both);
      }
      left = *std::move(right);
      if (Current().kind != TokenKind::kOperator || !IsOrdering(Current().text)) break;
      op_token = Current();
      Next();
    }
    return root;
  }

  absl::StatusOr<NodePtr> ParseConditional(NodePtr cond) {
    while (Current().Is(TokenKind::kOperator, "?")) {
      size_t pos = Current().pos;
      Next();
      NodePtr then_node;
      NodePtr else_node;
      if (Current().Is(TokenKind::kOperator, ":")) {
        // a ?: b is a ? a : b.
        Next();
        then_node = cond;
      } else {
        absl::StatusOr<NodePtr> t = ParseExpression(0);
        if (!t.ok()) return t;
        then_node = *std::move(t);
        if (absl::Status s = Expect(TokenKind::kOperator, ":"); !s.ok()) return s;
      }
      absl::StatusOr<NodePtr> e = ParseExpression(0);
      if (!e.ok()) return e;
      else_node = *std::move(e);
      Node n;
      n.kind = NodeKind::kConditional;
      n.pos = pos;
      n.children = {std::move(cond), std::move(then_node), std::move(else_node)};
      absl::StatusOr<NodePtr> made = Make(std::move(n));
      if (!made.ok()) return made;
      cond = *std::move(made);
    }
    return cond;
  }

  absl::StatusOr<NodePtr> ParseLet() {
    size_t pos = Current().pos;
    Next();
    if (Current().kind != TokenKind::kIdentifier) {
      return Error(Current().pos, "expected a variable name after 'let'");
    }
    std::string name = Current().text;
    Next();
    if (absl::Status s = Expect(TokenKind::kOperator, "="); !s.ok()) return s;
    absl::StatusOr<NodePtr> value = ParseExpression(0);
    if (!value.ok()) return value;
    if (absl::Status s = Expect(TokenKind::kOperator, ";"); !s.ok()) return s;
    absl::StatusOr<NodePtr> body = ParseExpression(0);
    if (!body.ok()) return body;
    Node n;
    n.kind = NodeKind::kLet;
    n.pos = pos;
    n.name = std::move(name);
    n.children = {*std::move(value), *std::move(body)};
    return Make(std::move(n));
  }

  absl::StatusOr<NodePtr> ParsePrimary() {
    const Token token = Current();
    if (token.kind == TokenKind::kOperator) {
      int prec = UnaryPrecedence(token.text);
      if (prec >= 0) {
        Next();
        absl::StatusOr<NodePtr> operand = ParseExpression(prec);
        if (!operand.ok()) return operand;
        absl::StatusOr<NodePtr> unary = MakeUnary(token.text, token.pos, *std::move(operand));
        if (!unary.ok()) return unary;
        return ParsePostfix(*std::move(unary));
      }
    }
    if (token.Is(TokenKind::kBracket, "(")) {
      Next();
      absl::StatusOr<NodePtr> inner = ParseExpression(0);
      if (!inner.ok()) return inner;
      if (!Current().Is(TokenKind::kBracket, ")")) {
        if (Current().kind == TokenKind::kEof) {
          return Error(token.pos, "opened parenthesis is not closed");
        }
        return Unexpected(Current());
      }
      Next();
      return ParsePostfix(*std::move(inner));
    }
    if (token.Is(TokenKind::kOperator, "#") || token.Is(TokenKind::kOperator, ".")) {
      if (closure_depth_ == 0) {
        return Error(token.pos, "cannot use pointer accessor outside closure");
      }
      Node n;
      n.kind = NodeKind::kPointer;
      n.pos = token.pos;
      if (token.text == "#") {
        Next();
        if (Current().kind == TokenKind::kIdentifier) {
          if (Current().text != "index" && Current().text != "acc") {
            return Error(Current().pos, absl::StrCat("unknown pointer #", Current().text));
          }
          n.name = Current().text;
          Next();
        }
      }
      absl::StatusOr<NodePtr> ptr = Make(std::move(n));
      if (!ptr.ok()) return ptr;
      // For `.field` the dot is still current, so the postfix loop reads it
      // as `#.field`.
      return ParsePostfix(*std::move(ptr));
    }
    return ParseSecondary();
  }

  absl::StatusOr<NodePtr> Literal(Json value, size_t pos) {
    Node n;
    n.kind = NodeKind::kLiteral;
    n.pos = pos;
    n.value = std::move(value);
    return Make(std::move(n));
  }

  absl::StatusOr<NodePtr> ParseSecondary() {
    const Token token = Current();
    absl::StatusOr<NodePtr> node;
    switch (token.kind) {
      case TokenKind::kIdentifier: {
        Next();
        if (token.text == "true" || token.text == "false") {
          node = Literal(Json(token.text == "true"), token.pos);
        } else if (token.text == "nil") {
          node = Literal(Json(nullptr), token.pos);
        } else if (token.text == "$env") {
          Node n;
          n.kind = NodeKind::kEnv;
          n.pos = token.pos;
          node = Make(std::move(n));
        } else if (Current().Is(TokenKind::kBracket, "(")) {
          node = ParseCall(token, nullptr);
        } else if (token.text == "sprig" && Current().Is(TokenKind::kOperator, ".") &&
                   IsMemberName(Peek()) && Peek(2).Is(TokenKind::kBracket, "(")) {
          Next();
          Token fn = Current();
          Next();
          node = ParseSprigCall(fn);
        } else {
          Node n;
          n.kind = NodeKind::kIdent;
          n.pos = token.pos;
          n.name = token.text;
          node = Make(std::move(n));
        }
        break;
      }
      case TokenKind::kInteger: {
        Next();
        int64_t v = 0;
        auto res = std::from_chars(token.text.data(), token.text.data() + token.text.size(), v);
        if (res.ec != std::errc()) return Error(token.pos, "integer literal overflows int64");
        node = Literal(Json(v), token.pos);
        break;
      }
      case TokenKind::kFloat: {
        Next();
        node = Literal(Json(std::strtod(token.text.c_str(), nullptr)), token.pos);
        break;
      }
      case TokenKind::kString:
        Next();
        node = Literal(Json(token.text), token.pos);
        break;
      case TokenKind::kBracket:
        if (token.text == "[") {
          node = ParseArray();
        } else if (token.text == "{") {
          node = ParseMap();
        } else {
          return Unexpected(token);
        }
        break;
      default:
        return Unexpected(token);
    }
    if (!node.ok()) return node;
    return ParsePostfix(*std::move(node));
  }

  // Reads `(a, b, ...)` after the opening parenthesis is current.
  absl::Status ParseArgs(std::vector<NodePtr>* args) {
    if (absl::Status s = Expect(TokenKind::kBracket, "("); !s.ok()) return s;
    while (!Current().Is(TokenKind::kBracket, ")")) {
      if (!args->empty()) {
        if (absl::Status s = Expect(TokenKind::kOperator, ","); !s.ok()) return s;
        if (Current().Is(TokenKind::kBracket, ")")) break;  // trailing comma
      }
      absl::StatusOr<NodePtr> arg = ParseExpression(0);
      if (!arg.ok()) return arg.status();
      args->push_back(*std::move(arg));
    }
    return Expect(TokenKind::kBracket, ")");
  }

  absl::StatusOr<NodePtr> ParseClosure() {
    size_t pos = Current().pos;
    bool braced = Current().Is(TokenKind::kBracket, "{");
    if (braced) Next();
    ++closure_depth_;
    absl::StatusOr<NodePtr> body = ParseExpression(0);
    --closure_depth_;
    if (!body.ok()) return body;
    if (braced) {
      if (absl::Status s = Expect(TokenKind::kBracket, "}"); !s.ok()) return s;
    }
    Node n;
    n.kind = NodeKind::kClosure;
    n.pos = pos;
    n.children = {*std::move(body)};
    return Make(std::move(n));
  }

  // `first` is the left side of a pipe, passed as the first argument.
  absl::StatusOr<NodePtr> ParseCall(const Token& name, NodePtr first) {
    Node n;
    n.pos = name.pos;
    n.name = name.text;
    if (first != nullptr) n.children.push_back(std::move(first));
    const Function* fn = nullptr;
    if (options_.extra_functions != nullptr) fn = options_.extra_functions->Find(name.text);
    if (fn == nullptr && IsPredicateBuiltin(name.text)) {
      n.kind = NodeKind::kPredicate;
      if (absl::Status s = Expect(TokenKind::kBracket, "("); !s.ok()) return s;
      if (n.children.empty()) {
        absl::StatusOr<NodePtr> coll = ParseExpression(0);
        if (!coll.ok()) return coll;
        n.children.push_back(*std::move(coll));
        bool optional_predicate = name.text == "count" || name.text == "sum";
        if (optional_predicate && Current().Is(TokenKind::kBracket, ")")) {
          Next();
          return Make(std::move(n));
        }
        if (absl::Status s = Expect(TokenKind::kOperator, ","); !s.ok()) return s;
      }
      absl::StatusOr<NodePtr> closure = ParseClosure();
      if (!closure.ok()) return closure;
      n.children.push_back(*std::move(closure));
      // reduce(coll, pred, initial) and sortBy(coll, pred, order).
      while (Current().Is(TokenKind::kOperator, ",") && n.children.size() < 4) {
        Next();
        if (Current().Is(TokenKind::kBracket, ")")) break;
        absl::StatusOr<NodePtr> extra = ParseExpression(0);
        if (!extra.ok()) return extra;
        n.children.push_back(*std::move(extra));
      }
      if (absl::Status s = Expect(TokenKind::kBracket, ")"); !s.ok()) return s;
      return Make(std::move(n));
    }
    if (fn == nullptr) fn = FindBuiltin(name.text);
    if (fn == nullptr) {
      return Error(name.pos, absl::StrCat("unknown function \"", name.text, "\""));
    }
    n.kind = NodeKind::kCall;
    n.function = *fn;
    std::vector<NodePtr> args;
    if (absl::Status s = ParseArgs(&args); !s.ok()) return s;
    for (NodePtr& a : args) n.children.push_back(std::move(a));
    if (fn == FindBuiltin("len") && n.children.size() == 1) n.op = Op::kLen;
    return Make(std::move(n));
  }

  absl::StatusOr<NodePtr> ParseSprigCall(const Token& name) {
    const Function* fn = FindSprig(name.text);
    if (fn == nullptr) {
      return Error(name.pos, absl::StrCat("unknown function \"sprig.", name.text, "\""));
    }
    Node n;
    n.kind = NodeKind::kCall;
    n.pos = name.pos;
    n.name = "sprig." + name.text;
    n.function = *fn;
    if (absl::Status s = ParseArgs(&n.children); !s.ok()) return s;
    return Make(std::move(n));
  }

  absl::StatusOr<NodePtr> ParseArray() {
    size_t pos = Current().pos;
    Next();
    Node n;
    n.kind = NodeKind::kArray;
    n.pos = pos;
    while (!Current().Is(TokenKind::kBracket, "]")) {
      if (!n.children.empty()) {
        if (absl::Status s = Expect(TokenKind::kOperator, ","); !s.ok()) return s;
        if (Current().Is(TokenKind::kBracket, "]")) break;
      }
      absl::StatusOr<NodePtr> e = ParseExpression(0);
      if (!e.ok()) return e;
      n.children.push_back(*std::move(e));
    }
    Next();
    return Make(std::move(n));
  }

  absl::StatusOr<NodePtr> ParseMap() {
    size_t pos = Current().pos;
    Next();
    Node n;
    n.kind = NodeKind::kMap;
    n.pos = pos;
    while (!Current().Is(TokenKind::kBracket, "}")) {
      if (!n.children.empty()) {
        if (absl::Status s = Expect(TokenKind::kOperator, ","); !s.ok()) return s;
        if (Current().Is(TokenKind::kBracket, "}")) break;
      }
      const Token key = Current();
      absl::StatusOr<NodePtr> key_node;
      if (key.kind == TokenKind::kIdentifier || key.kind == TokenKind::kString ||
          key.kind == TokenKind::kInteger) {
        Next();
        key_node = Literal(Json(key.text), key.pos);
      } else if (key.Is(TokenKind::kBracket, "(")) {
        key_node = ParsePrimary();
      } else {
        return Error(key.pos, absl::StrCat("a map key must be a quoted string, an identifier, a "
                                           "number or a parenthesized expression, found ",
                                           Describe(key)));
      }
      if (!key_node.ok()) return key_node;
      if (absl::Status s = Expect(TokenKind::kOperator, ":"); !s.ok()) return s;
      absl::StatusOr<NodePtr> value = ParseExpression(0);
      if (!value.ok()) return value;
      n.children.push_back(*std::move(key_node));
      n.children.push_back(*std::move(value));
    }
    Next();
    return Make(std::move(n));
  }

  bool IsMemberName(const Token& t) const {
    // Word operators are still valid field names after a dot (a.in, x.contains).
    return t.kind == TokenKind::kIdentifier ||
           (t.kind == TokenKind::kOperator && !t.text.empty() && std::isalpha(t.text[0]));
  }

  absl::StatusOr<NodePtr> ParsePostfix(NodePtr node) {
    for (;;) {
      const Token token = Current();
      bool optional = token.Is(TokenKind::kOperator, "?.");
      if (token.Is(TokenKind::kOperator, ".") || optional) {
        Next();
        if (optional && Current().Is(TokenKind::kBracket, "[")) {
          absl::StatusOr<NodePtr> idx = ParseIndex(std::move(node), true);
          if (!idx.ok()) return idx;
          node = *std::move(idx);
          continue;
        }
        if (!IsMemberName(Current())) {
          return Error(Current().pos, absl::StrCat("expected a field name after '", token.text,
                                                   "' but found ", Describe(Current())));
        }
        Token field = Current();
        Next();
        if (Current().Is(TokenKind::kBracket, "(")) {
          // x.Name(args): a method of the value, resolved when evaluated.
          std::vector<NodePtr> args;
          if (absl::Status s = ParseArgs(&args); !s.ok()) return s;
          Node m;
          m.kind = NodeKind::kMethod;
          m.pos = field.pos;
          m.name = field.text;
          m.optional = optional || node->optional;
          m.children.push_back(std::move(node));
          for (NodePtr& a : args) m.children.push_back(std::move(a));
          absl::StatusOr<NodePtr> made = Make(std::move(m));
          if (!made.ok()) return made;
          node = *std::move(made);
          continue;
        }
        Node n;
        n.kind = NodeKind::kMember;
        n.pos = field.pos;
        n.name = field.text;
        n.optional = optional || node->optional;
        n.children = {std::move(node)};
        absl::StatusOr<NodePtr> made = Make(std::move(n));
        if (!made.ok()) return made;
        node = *std::move(made);
      } else if (token.Is(TokenKind::kBracket, "[")) {
        absl::StatusOr<NodePtr> idx = ParseIndex(std::move(node), false);
        if (!idx.ok()) return idx;
        node = *std::move(idx);
      } else if (token.Is(TokenKind::kBracket, "(") && node->kind != NodeKind::kCall) {
        return Error(token.pos, "only named functions can be called");
      } else {
        return node;
      }
    }
  }

  // At '[': an index a[i] or a slice a[i:j].
  absl::StatusOr<NodePtr> ParseIndex(NodePtr object, bool optional) {
    size_t pos = Current().pos;
    Next();
    NodePtr from;
    if (!Current().Is(TokenKind::kOperator, ":")) {
      absl::StatusOr<NodePtr> e = ParseExpression(0);
      if (!e.ok()) return e;
      from = *std::move(e);
    }
    Node n;
    n.pos = pos;
    n.optional = optional || object->optional;
    if (Current().Is(TokenKind::kOperator, ":")) {
      Next();
      NodePtr to;
      if (!Current().Is(TokenKind::kBracket, "]")) {
        absl::StatusOr<NodePtr> e = ParseExpression(0);
        if (!e.ok()) return e;
        to = *std::move(e);
      }
      n.kind = NodeKind::kSlice;
      n.children = {std::move(object), std::move(from), std::move(to)};
    } else {
      n.kind = NodeKind::kIndex;
      n.children = {std::move(object), std::move(from)};
    }
    if (absl::Status s = Expect(TokenKind::kBracket, "]"); !s.ok()) return s;
    return Make(std::move(n));
  }

  std::string_view source_;
  std::vector<Token> tokens_;
  const ExprOptions& options_;
  size_t pos_ = 0;
  int recursion_ = 0;
  int closure_depth_ = 0;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const re2::RE2>> CompileRegex(std::string_view pattern) {
  if (pattern.size() > kMaxRegexLength) {
    return absl::InvalidArgumentError(absl::StrCat("regular expression of ", pattern.size(),
                                                   " bytes exceeds the limit of ", kMaxRegexLength,
                                                   " bytes"));
  }
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(8 << 20);
  auto re =
      std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), opts);
  if (!re->ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid regular expression: ", re->error()));
  }
  return re;
}

absl::StatusOr<NodePtr> Parse(std::string_view source, const ExprOptions& options) {
  if (source.size() > options.max_length) {
    return absl::InvalidArgumentError(absl::StrCat("expression of ", source.size(),
                                                   " bytes exceeds the limit of ",
                                                   options.max_length, " bytes"));
  }
  absl::StatusOr<std::vector<Token>> tokens = Tokenize(source);
  if (!tokens.ok()) return tokens.status();
  if (tokens->size() == 1) return ErrorAt(source, 0, "empty expression");
  Parser parser(source, *std::move(tokens), options);
  return parser.Run();
}

}  // namespace argonaut::expr::internal
