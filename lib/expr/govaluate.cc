#include "lib/expr/govaluate.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/expr/govaluate_lexer.h"
#include "re2/re2.h"

namespace argonaut::expr {
namespace govaluate_internal {
namespace {

// ---------------------------------------------------------------- AST

enum class Op {
  kLiteral,
  kVariable,
  kAccessor,
  kGroup,  // parenthesised clause (value may be nil for "()")
  kNegate,
  kInvert,
  kBitNot,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kBitAnd,
  kBitOr,
  kBitXor,
  kShl,
  kShr,
  kEq,
  kNeq,
  kLt,
  kLte,
  kGt,
  kGte,
  kRegex,
  kNotRegex,
  kIn,
  kAnd,
  kOr,
  kTernaryTrue,
  kTernaryFalse,
  kCoalesce,
  kSeparator,
};

constexpr int kNone = -1;

struct Node {
  Op op;
  int column;
  std::string symbol;
  int lhs = kNone;
  int rhs = kNone;
  int depth = 1;
  Value literal;
  std::vector<std::string> path;
  std::shared_ptr<const RE2> regex;  // precompiled when the right side of =~ is a literal
};

}  // namespace

struct Program {
  std::string source;
  std::vector<Node> nodes;
  int root = kNone;
};

namespace {

Op BinaryOp(std::string_view s) {
  static const std::pair<std::string_view, Op> kOps[] = {
      {"+", Op::kAdd},       {"-", Op::kSub},         {"*", Op::kMul},
      {"/", Op::kDiv},       {"%", Op::kMod},         {"**", Op::kPow},
      {"&", Op::kBitAnd},    {"|", Op::kBitOr},       {"^", Op::kBitXor},
      {"<<", Op::kShl},      {">>", Op::kShr},        {"==", Op::kEq},
      {"!=", Op::kNeq},      {"<", Op::kLt},          {"<=", Op::kLte},
      {">", Op::kGt},        {">=", Op::kGte},        {"=~", Op::kRegex},
      {"!~", Op::kNotRegex}, {"in", Op::kIn},         {"&&", Op::kAnd},
      {"||", Op::kOr},       {"?", Op::kTernaryTrue}, {":", Op::kTernaryFalse},
      {"??", Op::kCoalesce}, {",", Op::kSeparator},
  };
  for (const auto& [sym, op] : kOps) {
    if (sym == s) return op;
  }
  return Op::kLiteral;
}

// Precedence levels, lowest first (govaluate stagePlanner.go).
enum Level {
  kLevelSeparator = 0,
  kLevelTernary,
  kLevelOr,
  kLevelAnd,
  kLevelComparator,
  kLevelBitwise,
  kLevelShift,
  kLevelAdditive,
  kLevelMultiplicative,
  kLevelExponential,
  kLevelCount,
};

bool AtLevel(const Token& t, int level) {
  if (t.kind == Kind::kPrefix || t.kind == Kind::kClause || t.kind == Kind::kClauseClose) {
    return false;
  }
  if (!t.value.IsStr()) return false;
  const std::string& s = t.value.Str();
  switch (level) {
    case kLevelSeparator:
      return t.kind == Kind::kSeparator;
    case kLevelTernary:
      return t.kind == Kind::kTernary;
    case kLevelOr:
      return t.kind == Kind::kLogical && s == "||";
    case kLevelAnd:
      return t.kind == Kind::kLogical && s == "&&";
    case kLevelComparator:
      return t.kind == Kind::kComparator;
    case kLevelBitwise:
      return t.kind == Kind::kModifier && (s == "&" || s == "|" || s == "^");
    case kLevelShift:
      return t.kind == Kind::kModifier && (s == "<<" || s == ">>");
    case kLevelAdditive:
      return t.kind == Kind::kModifier && (s == "+" || s == "-");
    case kLevelMultiplicative:
      return t.kind == Kind::kModifier && (s == "*" || s == "/" || s == "%");
    case kLevelExponential:
      return t.kind == Kind::kModifier && s == "**";
    default:
      return false;
  }
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, Program* program) : toks_(tokens), prog_(program) {}

  absl::StatusOr<int> Parse() {
    if (toks_.empty()) return kNone;
    ASSIGN_OR_RETURN(int root, ParseLevel(kLevelSeparator));
    if (pos_ != toks_.size()) {
      return ErrorAt(prog_->source, toks_[pos_].column,
                     absl::StrCat("unexpected ", Describe(toks_[pos_])));
    }
    return root;
  }

 private:
  int Add(Node n) {
    int depth = 1;
    if (n.lhs != kNone) depth = std::max(depth, prog_->nodes[n.lhs].depth + 1);
    if (n.rhs != kNone) depth = std::max(depth, prog_->nodes[n.rhs].depth + 1);
    n.depth = depth;
    prog_->nodes.push_back(std::move(n));
    return static_cast<int>(prog_->nodes.size()) - 1;
  }

  absl::Status CheckTreeDepth(int node) {
    if (prog_->nodes[node].depth > kGovaluateMaxTreeDepth) {
      return ErrorAt(
          prog_->source, prog_->nodes[node].column,
          absl::StrCat("expression nests more than ", kGovaluateMaxTreeDepth, " operators deep"));
    }
    return absl::OkStatus();
  }

  // Same-precedence operators associate to the left, which is what govaluate's reorderStages
  // produces.
  absl::StatusOr<int> ParseLevel(int level) {
    if (level == kLevelCount) return ParseUnary();
    ASSIGN_OR_RETURN(int lhs, ParseLevel(level + 1));
    while (pos_ < toks_.size() && AtLevel(toks_[pos_], level)) {
      const Token& op = toks_[pos_++];
      ASSIGN_OR_RETURN(int rhs, ParseLevel(level + 1));
      Node n{BinaryOp(op.value.Str()), op.column, op.value.Str()};
      n.lhs = lhs;
      n.rhs = rhs;
      if (n.op == Op::kRegex || n.op == Op::kNotRegex) {
        RETURN_IF_ERROR(PrecompileRegex(&n));
      }
      lhs = Add(std::move(n));
      RETURN_IF_ERROR(CheckTreeDepth(lhs));
    }
    return lhs;
  }

  absl::Status PrecompileRegex(Node* n) {
    const Node& r = prog_->nodes[n->rhs];
    if (r.op != Op::kLiteral || !r.literal.IsStr()) return absl::OkStatus();
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_max_mem(8 << 20);
    auto re = std::make_shared<RE2>(r.literal.Str(), opts);
    if (!re->ok()) {
      return ErrorAt(
          prog_->source, r.column,
          absl::StrCat("unable to compile regexp pattern '", r.literal.Str(), "': ", re->error()));
    }
    n->regex = std::move(re);
    return absl::OkStatus();
  }

  absl::StatusOr<int> ParseUnary() {
    if (pos_ >= toks_.size()) {
      return ErrorAt(prog_->source, static_cast<int>(prog_->source.size()) + 1,
                     "unexpected end of expression");
    }
    const Token& t = toks_[pos_];
    if (t.kind == Kind::kPrefix) {
      ++pos_;
      if (++depth_ > kGovaluateMaxDepth) return TooDeep(t);
      ASSIGN_OR_RETURN(int operand, ParseUnary());
      --depth_;
      const std::string& s = t.value.Str();
      Node n{s == "-" ? Op::kNegate : (s == "!" ? Op::kInvert : Op::kBitNot), t.column, s};
      n.rhs = operand;
      const int id = Add(std::move(n));
      RETURN_IF_ERROR(CheckTreeDepth(id));
      return id;
    }
    ++pos_;
    switch (t.kind) {
      case Kind::kNumeric:
      case Kind::kBoolean:
      case Kind::kString: {
        Node n{Op::kLiteral, t.column, t.text};
        n.literal = t.value;
        return Add(std::move(n));
      }
      case Kind::kVariable: {
        Node n{Op::kVariable, t.column, t.text};
        n.literal = t.value;
        return Add(std::move(n));
      }
      case Kind::kAccessor: {
        Node n{Op::kAccessor, t.column, t.text};
        n.path = t.path;
        return Add(std::move(n));
      }
      case Kind::kClause: {
        if (++depth_ > kGovaluateMaxDepth) return TooDeep(t);
        Node n{Op::kGroup, t.column, "("};
        if (pos_ < toks_.size() && toks_[pos_].kind == Kind::kClauseClose) {
          ++pos_;
          --depth_;
          return Add(std::move(n));
        }
        ASSIGN_OR_RETURN(int inner, ParseLevel(kLevelSeparator));
        if (pos_ >= toks_.size() || toks_[pos_].kind != Kind::kClauseClose) {
          return ErrorAt(prog_->source, t.column, "unbalanced parenthesis");
        }
        ++pos_;
        --depth_;
        n.rhs = inner;
        const int id = Add(std::move(n));
        RETURN_IF_ERROR(CheckTreeDepth(id));
        return id;
      }
      default:
        return ErrorAt(prog_->source, t.column, absl::StrCat("unexpected ", Describe(t)));
    }
  }

  absl::Status TooDeep(const Token& t) {
    return ErrorAt(
        prog_->source, t.column,
        absl::StrCat("parentheses/prefix operators nest more than ", kGovaluateMaxDepth, " deep"));
  }

  const std::vector<Token>& toks_;
  Program* prog_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------- evaluation

class Evaluator {
 public:
  Evaluator(const Program& p, const nlohmann::json& params) : p_(p), params_(params) {}

  absl::StatusOr<Value> Eval(int id) {
    const Node& n = p_.nodes[id];
    switch (n.op) {
      case Op::kLiteral:
        return n.literal;
      case Op::kVariable:
        return Variable(n);
      case Op::kAccessor:
        return Accessor(n);
      case Op::kGroup:
        if (n.rhs == kNone) return Value{};
        return Eval(n.rhs);
      default:
        break;
    }
    Value left;
    if (n.lhs != kNone) {
      ASSIGN_OR_RETURN(left, Eval(n.lhs));
    }
    bool skip_right = false;
    switch (n.op) {
      case Op::kAnd:
        if (left.IsBool() && !left.Bool()) return Value{false};
        break;
      case Op::kOr:
        if (left.IsBool() && left.Bool()) return Value{true};
        break;
      case Op::kCoalesce:
        if (!left.IsNil()) return left;
        break;
      case Op::kTernaryTrue:
        skip_right = left.IsBool() && !left.Bool();
        break;
      case Op::kTernaryFalse:
        skip_right = !left.IsNil();
        break;
      default:
        break;
    }
    Value right;
    if (!skip_right && n.rhs != kNone) {
      ASSIGN_OR_RETURN(right, Eval(n.rhs));
    }
    return Apply(n, std::move(left), std::move(right));
  }

 private:
  absl::StatusOr<Value> Variable(const Node& n) {
    const std::string& name = n.literal.Str();
    if (params_.is_object()) {
      auto it = params_.find(name);
      if (it != params_.end()) return FromJson(*it, name, 0);
    }
    // Argo's shouldExecute turns every VARIABLE token into a STRING token of the same text.
    return Value{name};
  }

  absl::StatusOr<Value> Accessor(const Node& n) {
    const nlohmann::json* cur = nullptr;
    if (params_.is_object()) {
      auto it = params_.find(n.path[0]);
      if (it != params_.end()) cur = &*it;
    }
    if (cur == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column ", n.column, ": no parameter '", n.path[0], "' found (for accessor '", n.symbol,
          "'; quote the value if it is meant as a string)"));
    }
    for (size_t i = 1; i < n.path.size(); ++i) {
      if (!cur->is_object()) {
        return absl::InvalidArgumentError(absl::StrCat("column ", n.column, ": unable to access '",
                                                       n.path[i], "', '", n.path[i - 1],
                                                       "' is not an object"));
      }
      auto it = cur->find(n.path[i]);
      if (it == cur->end()) {
        return absl::InvalidArgumentError(absl::StrCat("column ", n.column, ": no field '",
                                                       n.path[i], "' present on parameter '",
                                                       n.path[i - 1], "'"));
      }
      cur = &*it;
    }
    return FromJson(*cur, n.symbol, 0);
  }

  absl::Status TypeError(const Node& n, const Value& v, std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("column ", n.column, ": value '", GoString(v),
                                                   "' cannot be used with the ", AbslView(what),
                                                   " '", n.symbol, "'"));
  }

  absl::StatusOr<Value> Apply(const Node& n, Value l, Value r) {
    switch (n.op) {
      case Op::kNegate:
        if (!r.IsNum()) return TypeError(n, r, "prefix");
        return Value{-r.Num()};
      case Op::kInvert:
        if (!r.IsBool()) return TypeError(n, r, "prefix");
        return Value{!r.Bool()};
      case Op::kBitNot:
        if (!r.IsNum()) return TypeError(n, r, "prefix");
        return Value{static_cast<double>(~ToInt(r.Num()))};
      case Op::kAdd:
        if (l.IsNum() && r.IsNum()) return Value{l.Num() + r.Num()};
        if (l.IsStr() || r.IsStr()) return Value{GoString(l) + GoString(r)};
        return TypeError(n, l, "modifier");
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMod:
      case Op::kPow:
      case Op::kBitAnd:
      case Op::kBitOr:
      case Op::kBitXor:
      case Op::kShl:
      case Op::kShr:
        if (!l.IsNum()) return TypeError(n, l, "modifier");
        if (!r.IsNum()) return TypeError(n, r, "modifier");
        return Arith(n.op, l.Num(), r.Num());
      case Op::kEq:
        return Value{DeepEqual(l, r)};
      case Op::kNeq:
        return Value{!DeepEqual(l, r)};
      case Op::kLt:
      case Op::kLte:
      case Op::kGt:
      case Op::kGte:
        return Compare(n, l, r);
      case Op::kRegex:
      case Op::kNotRegex: {
        if (!l.IsStr()) return TypeError(n, l, "comparator");
        bool matched = false;
        if (n.regex != nullptr) {
          matched = RE2::PartialMatch(l.Str(), *n.regex);
        } else {
          if (!r.IsStr()) return TypeError(n, r, "comparator");
          RE2::Options opts;
          opts.set_log_errors(false);
          opts.set_max_mem(8 << 20);
          RE2 re(r.Str(), opts);
          if (!re.ok()) {
            return absl::InvalidArgumentError(absl::StrCat("column ", n.column,
                                                           ": unable to compile regexp pattern '",
                                                           r.Str(), "': ", re.error()));
          }
          matched = RE2::PartialMatch(l.Str(), re);
        }
        return Value{n.op == Op::kRegex ? matched : !matched};
      }
      case Op::kIn: {
        if (!r.IsArr()) return TypeError(n, r, "comparator");
        for (const Value& e : r.Arr()) {
          if (DeepEqual(l, e)) return Value{true};
        }
        return Value{false};
      }
      case Op::kAnd:
      case Op::kOr:
        if (!l.IsBool()) return TypeError(n, l, "logical operator");
        if (!r.IsBool()) return TypeError(n, r, "logical operator");
        return Value{n.op == Op::kAnd ? (l.Bool() && r.Bool()) : (l.Bool() || r.Bool())};
      case Op::kTernaryTrue:
        if (!l.IsBool()) return TypeError(n, l, "ternary operator");
        if (l.Bool()) return r;
        return Value{};
      case Op::kTernaryFalse:
      case Op::kCoalesce:
        if (!l.IsNil()) return l;
        return r;
      case Op::kSeparator: {
        // govaluate appends to a left-hand array, so "(1, 2), 3" flattens to [1 2 3].
        Array out;
        if (l.IsArr()) {
          out = std::move(std::get<Array>(l.v));
        } else {
          out.push_back(std::move(l));
        }
        out.push_back(std::move(r));
        return Value{std::move(out)};
      }
      default:
        return absl::InternalError("govaluate: unhandled operator");
    }
  }

  absl::StatusOr<Value> Compare(const Node& n, const Value& l, const Value& r) {
    if (l.IsNum() && r.IsNum()) {
      const double a = l.Num(), b = r.Num();
      switch (n.op) {
        case Op::kLt:
          return Value{a < b};
        case Op::kLte:
          return Value{a <= b};
        case Op::kGt:
          return Value{a > b};
        default:
          return Value{a >= b};
      }
    }
    if (l.IsStr() && r.IsStr()) {
      const int c = l.Str().compare(r.Str());
      switch (n.op) {
        case Op::kLt:
          return Value{c < 0};
        case Op::kLte:
          return Value{c <= 0};
        case Op::kGt:
          return Value{c > 0};
        default:
          return Value{c >= 0};
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat("column ", n.column, ": value '", GoString(l), "' cannot be compared with '",
                     GoString(r), "' using '", n.symbol, "' (needs two numbers or two strings)"));
  }

  static Value Arith(Op op, double a, double b) {
    switch (op) {
      case Op::kSub:
        return Value{a - b};
      case Op::kMul:
        return Value{a * b};
      case Op::kDiv:
        return Value{a / b};
      case Op::kMod:
        return Value{std::fmod(a, b)};
      case Op::kPow:
        return Value{std::pow(a, b)};
      case Op::kBitAnd:
        return Value{static_cast<double>(ToInt(a) & ToInt(b))};
      case Op::kBitOr:
        return Value{static_cast<double>(ToInt(a) | ToInt(b))};
      case Op::kBitXor:
        return Value{static_cast<double>(ToInt(a) ^ ToInt(b))};
      case Op::kShl:
        return Value{static_cast<double>(ToUint(a) << (ToUint(b) & 63))};
      default:
        return Value{static_cast<double>(ToUint(a) >> (ToUint(b) & 63))};
    }
  }

  // Go's float->int conversion of out-of-range values is implementation defined; clamp so the
  // C++ conversion is never undefined behaviour.
  static int64_t ToInt(double d) {
    if (std::isnan(d)) return 0;
    if (d >= 9.2e18) return INT64_MAX;
    if (d <= -9.2e18) return INT64_MIN;
    return static_cast<int64_t>(d);
  }
  static uint64_t ToUint(double d) {
    if (std::isnan(d) || d <= 0) return static_cast<uint64_t>(ToInt(d));
    if (d >= 1.8e19) return UINT64_MAX;
    return static_cast<uint64_t>(d);
  }

  const Program& p_;
  const nlohmann::json& params_;
};

}  // namespace
}  // namespace govaluate_internal

using govaluate_internal::Kind;

std::string FormatGoFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  // Shortest round-trip digits in scientific form: d.ddddde±XX.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  const int exp = std::stoi(sci.substr(e + 1));
  bool neg = false;
  if (!mant.empty() && mant[0] == '-') {
    neg = true;
    mant.erase(0, 1);
  }
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits += c;
  }
  std::string out = neg ? "-" : "";
  // strconv's 'g' with shortest precision uses the exponent form when exp < -4 || exp >= 6
  // (so fmt.Sprint(1e6) is "1e+06").
  if (exp < -4 || exp >= 6) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += "e";
    out += exp < 0 ? "-" : "+";
    const int ax = exp < 0 ? -exp : exp;
    if (ax < 10) out += "0";
    out += std::to_string(ax);
    return out;
  }
  if (exp < 0) {
    out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    out += digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0');
  } else {
    out += digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
  }
  return out;
}

absl::StatusOr<GovaluateProgram> GovaluateProgram::Compile(std::string_view source) {
  using govaluate_internal::ErrorAt;
  using govaluate_internal::Program;
  using govaluate_internal::Token;
  if (source.size() > kGovaluateMaxLength) {
    return absl::InvalidArgumentError(absl::StrCat("expression is ", source.size(),
                                                   " bytes, larger than the ", kGovaluateMaxLength,
                                                   "-byte limit"));
  }
  auto program = std::make_shared<Program>();
  program->source = std::string(source);
  ASSIGN_OR_RETURN(std::vector<Token> tokens, govaluate_internal::Lex(program->source));

  // Balance first, then token transitions: the order govaluate reports problems in.
  std::vector<int> open;
  for (const Token& t : tokens) {
    if (t.kind == Kind::kClause) open.push_back(t.column);
    if (t.kind == Kind::kClauseClose) {
      if (open.empty()) return ErrorAt(program->source, t.column, "unexpected ')'");
      open.pop_back();
    }
  }
  if (!open.empty()) {
    return ErrorAt(program->source, open.back(), "unbalanced parenthesis: '(' is never closed");
  }
  std::optional<Kind> state;
  for (const Token& t : tokens) {
    if (!govaluate_internal::CanTransition(state, t.kind)) {
      return ErrorAt(program->source, t.column,
                     absl::StrCat("unexpected ", govaluate_internal::Describe(t)));
    }
    state = t.kind;
  }
  if (state.has_value() && !govaluate_internal::CanEnd(*state)) {
    return ErrorAt(program->source, static_cast<int>(program->source.size()) + 1,
                   "unexpected end of expression");
  }
  program->nodes.reserve(tokens.size());
  govaluate_internal::Parser parser(tokens, program.get());
  ASSIGN_OR_RETURN(program->root, parser.Parse());
  return GovaluateProgram(std::move(program));
}

const std::string& GovaluateProgram::source() const { return program_->source; }

absl::StatusOr<nlohmann::json> GovaluateProgram::Eval(const nlohmann::json& params) const {
  if (program_->root == govaluate_internal::kNone) return nullptr;
  govaluate_internal::Evaluator ev(*program_, params);
  ASSIGN_OR_RETURN(govaluate_internal::Value v, ev.Eval(program_->root));
  return govaluate_internal::ToJson(v);
}

absl::StatusOr<bool> GovaluateProgram::EvalBool(const nlohmann::json& params) const {
  ASSIGN_OR_RETURN(nlohmann::json v, Eval(params));
  if (!v.is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat("expected a boolean result from \"",
                                                   govaluate_internal::Truncated(source()),
                                                   "\", got ", v.dump()));
  }
  return v.get<bool>();
}

absl::StatusOr<bool> ShouldExecute(std::string_view when) {
  if (when.empty()) return true;
  absl::StatusOr<GovaluateProgram> program = GovaluateProgram::Compile(when);
  if (!program.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid 'when' expression: ", program.status().message()));
  }
  absl::StatusOr<bool> result = program->EvalBool();
  if (!result.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to evaluate 'when' expression: ", result.status().message()));
  }
  return *result;
}

}  // namespace argonaut::expr
