#include "lib/expr/exprlang_eval.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"
#include "lib/expr/expr_value.h"
#include "lib/expr/exprlang_parser.h"
#include "lib/expr/lexer.h"
#include "lib/expr/time_value.h"

namespace argonaut::expr::internal {
namespace {

// A value that either borrows from longer-lived storage (the env, a
// collection being iterated) or owns a temporary. Borrowing keeps
// `result[0]` from copying the whole `result` array on every evaluation.
class Val {
 public:
  Val() = default;
  static Val Borrow(const Json* ref) {
    Val v;
    v.ref_ = ref;
    return v;
  }
  static Val Own(Json j) {
    Val v;
    v.own_ = std::move(j);
    return v;
  }
  const Json& get() const { return ref_ != nullptr ? *ref_ : own_; }
  bool owned() const { return ref_ == nullptr; }
  Json Take() && { return ref_ != nullptr ? *ref_ : std::move(own_); }
  Json& mutable_owned() { return own_; }

 private:
  const Json* ref_ = nullptr;
  Json own_;
};

class Evaluator {
 public:
  Evaluator(const Json& env, std::string_view source, int max_depth)
      : env_(env), source_(source), max_depth_(max_depth) {}

  absl::StatusOr<Val> Eval(const Node& n) {
    if (++depth_ > max_depth_ + 8) {
      --depth_;
      return Fail(n, "evaluation nested too deeply");
    }
    // Closures multiply work (map(1..1000000, map(1..1000000, ...))), so the
    // whole evaluation has a step budget and a budget for the bytes of the
    // intermediate values it creates, on top of the per-value caps.
    if (++steps_ > kMaxSteps) {
      --depth_;
      return Fail(n, absl::StrCat("evaluation exceeded the limit of ", kMaxSteps, " steps"));
    }
    absl::StatusOr<Val> v = EvalNode(n);
    --depth_;
    if (v.ok() && v->owned()) {
      const Json& j = v->get();
      if (j.is_string()) {
        bytes_ += j.get_ref<const std::string&>().size();
      } else if (j.is_array() || j.is_object()) {
        bytes_ += j.size() * 16;
      }
      if (bytes_ > kMaxEvalBytes) {
        return Fail(n, absl::StrCat("evaluation exceeded the limit of ", kMaxEvalBytes,
                                    " bytes of intermediate values"));
      }
    }
    return v;
  }

 private:
  struct Frame {
    const Json* element = nullptr;
    int64_t index = 0;
    const Json* acc = nullptr;
  };

  absl::Status Fail(const Node& n, absl::string_view message) const {
    return ErrorAt(source_, n.pos, message);
  }

  absl::StatusOr<Val> EvalNode(const Node& n) {
    switch (n.kind) {
      case NodeKind::kLiteral:
        return Val::Borrow(&n.value);
      case NodeKind::kEnv:
        return Val::Borrow(&env_);
      case NodeKind::kIdent:
        return Ident(n);
      case NodeKind::kPointer:
        return Pointer(n);
      case NodeKind::kMember:
        return Member(n);
      case NodeKind::kIndex:
        return Index(n);
      case NodeKind::kSlice:
        return Slice(n);
      case NodeKind::kUnary:
        return Unary(n);
      case NodeKind::kBinary:
        return Binary(n);
      case NodeKind::kConditional: {
        absl::StatusOr<Val> cond = Eval(*n.children[0]);
        if (!cond.ok()) return cond;
        if (!cond->get().is_boolean()) {
          return Fail(n,
                      absl::StrCat("ternary condition must be bool, got ", TypeName(cond->get())));
        }
        return Eval(*n.children[cond->get().get<bool>() ? 1 : 2]);
      }
      case NodeKind::kArray: {
        Json out = Json::array();
        for (const NodePtr& c : n.children) {
          absl::StatusOr<Val> v = Eval(*c);
          if (!v.ok()) return v;
          out.push_back(std::move(*v).Take());
        }
        return Val::Own(std::move(out));
      }
      case NodeKind::kMap: {
        Json out = Json::object();
        for (size_t i = 0; i + 1 < n.children.size(); i += 2) {
          absl::StatusOr<Val> k = Eval(*n.children[i]);
          if (!k.ok()) return k;
          absl::StatusOr<Val> v = Eval(*n.children[i + 1]);
          if (!v.ok()) return v;
          const Json& key = k->get();
          std::string key_str = key.is_string() ? key.get<std::string>() : GoFormat(key);
          out[key_str] = std::move(*v).Take();
        }
        return Val::Own(std::move(out));
      }
      case NodeKind::kCall:
        return Call(n);
      case NodeKind::kMethod:
        return Method(n);
      case NodeKind::kPredicate:
        return Predicate(n);
      case NodeKind::kClosure:
        return Fail(n, "a closure can only be an argument of a builtin such as filter");
      case NodeKind::kLet: {
        absl::StatusOr<Val> value = Eval(*n.children[0]);
        if (!value.ok()) return value;
        vars_.emplace_back(n.name, std::move(*value).Take());
        absl::StatusOr<Val> body = Eval(*n.children[1]);
        // The body may borrow from the variable, which dies here.
        absl::StatusOr<Val> result =
            body.ok() ? absl::StatusOr<Val>(Val::Own(std::move(*body).Take())) : body;
        vars_.pop_back();
        return result;
      }
    }
    return Fail(n, "unknown node");
  }

  absl::StatusOr<Val> Ident(const Node& n) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == n.name) return Val::Borrow(&it->second);
    }
    if (env_.is_object()) {
      auto it = env_.find(n.name);
      if (it != env_.end()) return Val::Borrow(&*it);
    }
    if (lenient_ > 0) return Val::Own(nullptr);
    return Fail(n, absl::StrCat("unknown name \"", n.name, "\""));
  }

  absl::StatusOr<Val> Pointer(const Node& n) {
    if (frames_.empty()) return Fail(n, "pointer used outside a closure");
    const Frame& f = frames_.back();
    if (n.name == "index") return Val::Own(Json(f.index));
    if (n.name == "acc") {
      if (f.acc == nullptr) return Fail(n, "#acc is only defined inside reduce");
      return Val::Borrow(f.acc);
    }
    return Val::Borrow(f.element);
  }

  // Fetches obj[key] (member access or string index) keeping borrow/own.
  absl::StatusOr<Val> FetchKey(const Node& n, Val obj, const std::string& key) {
    const Json& o = obj.get();
    if (o.is_object()) {
      auto it = o.find(key);
      if (it == o.end()) return Val::Own(nullptr);  // missing map keys read as nil
      if (!obj.owned()) return Val::Borrow(&*it);
      return Val::Own(std::move(obj.mutable_owned()[key]));
    }
    if (o.is_null() && (n.optional || lenient_ > 0)) return Val::Own(nullptr);
    return Fail(n, absl::StrCat("cannot fetch \"", key, "\" from ", TypeName(o)));
  }

  absl::StatusOr<Val> Member(const Node& n) {
    absl::StatusOr<Val> obj = Eval(*n.children[0]);
    if (!obj.ok()) return obj;
    return FetchKey(n, *std::move(obj), n.name);
  }

  absl::StatusOr<Val> Index(const Node& n) {
    absl::StatusOr<Val> obj = Eval(*n.children[0]);
    if (!obj.ok()) return obj;
    absl::StatusOr<Val> idx = Eval(*n.children[1]);
    if (!idx.ok()) return idx;
    const Json& o = obj->get();
    const Json& i = idx->get();
    if (o.is_object()) {
      if (!i.is_string()) {
        return Fail(n, absl::StrCat("cannot index map with ", TypeName(i)));
      }
      return FetchKey(n, *std::move(obj), i.get<std::string>());
    }
    if (o.is_array() || o.is_string()) {
      if (!IsInt(i)) {
        return Fail(n, absl::StrCat("cannot index ", TypeName(o), " with ", TypeName(i)));
      }
      int64_t len = o.is_array() ? static_cast<int64_t>(o.size())
                                 : static_cast<int64_t>(o.get_ref<const std::string&>().size());
      int64_t k = AsInt(i);
      if (k < 0) k += len;  // negative indexes count from the end
      if (k < 0 || k >= len) {
        return Fail(n, absl::StrCat("index out of range: ", AsInt(i), " (length ", len, ")"));
      }
      size_t at = static_cast<size_t>(k);
      if (o.is_string()) return Val::Own(Json(std::string(1, o.get_ref<const std::string&>()[at])));
      if (!obj->owned()) return Val::Borrow(&o[at]);
      return Val::Own(std::move(obj->mutable_owned()[at]));
    }
    if (o.is_null() && (n.optional || lenient_ > 0)) return Val::Own(nullptr);
    return Fail(n, absl::StrCat("cannot index ", TypeName(o), " with ", TypeName(i)));
  }

  absl::StatusOr<Val> Slice(const Node& n) {
    absl::StatusOr<Val> obj = Eval(*n.children[0]);
    if (!obj.ok()) return obj;
    const Json& o = obj->get();
    if (!o.is_array() && !o.is_string()) {
      if (o.is_null() && n.optional) return Val::Own(nullptr);
      return Fail(n, absl::StrCat("cannot slice ", TypeName(o)));
    }
    int64_t len = o.is_array() ? static_cast<int64_t>(o.size())
                               : static_cast<int64_t>(o.get_ref<const std::string&>().size());
    int64_t bounds[2] = {0, len};
    for (int b = 0; b < 2; ++b) {
      const NodePtr& c = n.children[1 + static_cast<size_t>(b)];
      if (c == nullptr) continue;
      absl::StatusOr<Val> v = Eval(*c);
      if (!v.ok()) return v;
      if (!IsInt(v->get())) {
        return Fail(*c, absl::StrCat("slice bound must be int, got ", TypeName(v->get())));
      }
      bounds[b] = AsInt(v->get());
    }
    // Clamped like expr's runtime.Slice rather than failing.
    int64_t a = bounds[0], z = bounds[1];
    if (a < 0) a = std::max<int64_t>(len + a, 0);
    if (z < 0) z = std::max<int64_t>(len + z, 0);
    z = std::min(z, len);
    a = std::min(a, z);
    if (o.is_string()) {
      return Val::Own(Json(o.get_ref<const std::string&>().substr(static_cast<size_t>(a),
                                                                  static_cast<size_t>(z - a))));
    }
    Json out = Json::array();
    for (int64_t k = a; k < z; ++k) out.push_back(o[static_cast<size_t>(k)]);
    return Val::Own(std::move(out));
  }

  absl::StatusOr<Val> Unary(const Node& n) {
    absl::StatusOr<Val> v = Eval(*n.children[0]);
    if (!v.ok()) return v;
    const Json& x = v->get();
    if (n.name == "not" || n.name == "!") {
      if (!x.is_boolean()) {
        return Fail(n, absl::StrCat("invalid operation: ", n.name, " ", TypeName(x)));
      }
      return Val::Own(Json(!x.get<bool>()));
    }
    if (!IsNumber(x)) {
      return Fail(n, absl::StrCat("invalid operation: ", n.name, " ", TypeName(x)));
    }
    if (n.name == "+") return Val::Own(NormalizeNumber(x));
    if (IsInt(x)) return Val::Own(Json(WrapSub(0, AsInt(x))));
    return Val::Own(Json(-AsDouble(x)));
  }

  absl::StatusOr<bool> Bool(const Node& n, const Node& operand, std::string_view op) {
    absl::StatusOr<Val> v = Eval(operand);
    if (!v.ok()) return v.status();
    if (!v->get().is_boolean()) {
      return Fail(n, absl::StrCat("invalid operation: ", AbslView(op), " needs bool operands, got ",
                                  TypeName(v->get())));
    }
    return v->get().get<bool>();
  }

  absl::StatusOr<Val> Binary(const Node& n) {
    const std::string& op = n.name;
    switch (n.op) {
      case Op::kAnd:
      case Op::kOr: {
        bool is_and = n.op == Op::kAnd;
        absl::StatusOr<bool> left = Bool(n, *n.children[0], op);
        if (!left.ok()) return left.status();
        if (*left != is_and) return Val::Own(Json(*left));  // short-circuit
        absl::StatusOr<bool> right = Bool(n, *n.children[1], op);
        if (!right.ok()) return right.status();
        return Val::Own(Json(*right));
      }
      case Op::kCoalesce: {
        // A missing name or a fetch through nil on the left reads as nil, so
        // `tasks.x.outputs.parameters.msg ?? 'fallback'` works when x has no
        // outputs (expr treats undefined variables the same way here).
        ++lenient_;
        absl::StatusOr<Val> left = Eval(*n.children[0]);
        --lenient_;
        if (!left.ok()) return left;
        if (!left->get().is_null()) return left;
        return Eval(*n.children[1]);
      }
      default:
        break;
    }
    absl::StatusOr<Val> lv = Eval(*n.children[0]);
    if (!lv.ok()) return lv;
    absl::StatusOr<Val> rv = Eval(*n.children[1]);
    if (!rv.ok()) return rv;
    const Json& a = lv->get();
    const Json& b = rv->get();
    switch (n.op) {
      case Op::kEq:
        return Val::Own(Json(Equal(a, b)));
      case Op::kNe:
        return Val::Own(Json(!Equal(a, b)));
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        absl::StatusOr<int> c = Compare(a, b, op);
        if (!c.ok()) return Fail(n, c.status().message());
        if (*c == 2) return Val::Own(Json(false));  // NaN
        bool r = n.op == Op::kLt   ? *c < 0
                 : n.op == Op::kGt ? *c > 0
                 : n.op == Op::kLe ? *c <= 0
                                   : *c >= 0;
        return Val::Own(Json(r));
      }
      case Op::kIn:
        return In(n, a, b);
      case Op::kMatches:
        return Matches(n, a, b);
      case Op::kContains:
      case Op::kStartsWith:
      case Op::kEndsWith: {
        if (!a.is_string() || !b.is_string()) {
          return Fail(n, absl::StrCat("invalid operation: ", TypeName(a), " ", op, " ", TypeName(b),
                                      " (needs strings)"));
        }
        absl::string_view x = a.get_ref<const std::string&>();
        absl::string_view y = b.get_ref<const std::string&>();
        bool r = n.op == Op::kContains     ? absl::StrContains(x, y)
                 : n.op == Op::kStartsWith ? absl::StartsWith(x, y)
                                           : absl::EndsWith(x, y);
        return Val::Own(Json(r));
      }
      case Op::kRange:
        return Range(n, a, b);
      default:
        break;
    }
    absl::StatusOr<Json> r = Arithmetic(op, a, b);
    if (!r.ok()) return Fail(n, r.status().message());
    return Val::Own(*std::move(r));
  }

  absl::StatusOr<Val> Range(const Node& n, const Json& a, const Json& b) {
    if (!IsInt(a) || !IsInt(b)) {
      return Fail(n, absl::StrCat("invalid operation: ", TypeName(a), " .. ", TypeName(b),
                                  " (range needs ints)"));
    }
    int64_t from = AsInt(a), to = AsInt(b);
    Json out = Json::array();
    if (to >= from) {
      uint64_t count = static_cast<uint64_t>(to) - static_cast<uint64_t>(from) + 1;
      if (count > kMaxElements || count == 0) {
        return Fail(n, absl::StrCat("range ", from, "..", to, " exceeds the limit of ",
                                    kMaxElements, " elements"));
      }
      for (int64_t k = from;; ++k) {
        out.push_back(k);
        if (k == to) break;
      }
    }
    return Val::Own(std::move(out));
  }

  absl::StatusOr<Val> In(const Node& n, const Json& needle, const Json& hay) {
    if (hay.is_array()) {
      for (const Json& e : hay) {
        if (Equal(e, needle)) return Val::Own(Json(true));
      }
      return Val::Own(Json(false));
    }
    if (hay.is_object()) {
      if (!needle.is_string()) {
        return Fail(n, absl::StrCat("cannot use ", TypeName(needle), " as a map key in 'in'"));
      }
      return Val::Own(Json(hay.contains(needle.get<std::string>())));
    }
    return Fail(n, absl::StrCat("operator in not defined on ", TypeName(hay)));
  }

  absl::StatusOr<Val> Matches(const Node& n, const Json& s, const Json& pattern) {
    if (!s.is_string() || !pattern.is_string()) {
      return Fail(n, absl::StrCat("invalid operation: ", TypeName(s), " matches ",
                                  TypeName(pattern), " (needs strings)"));
    }
    std::shared_ptr<const re2::RE2> re = n.regex;
    if (re == nullptr) {
      absl::StatusOr<std::shared_ptr<const re2::RE2>> compiled =
          CompileRegex(pattern.get_ref<const std::string&>());
      if (!compiled.ok()) return Fail(n, compiled.status().message());
      re = *std::move(compiled);
    }
    return Val::Own(Json(re2::RE2::PartialMatch(s.get_ref<const std::string&>(), *re)));
  }

  absl::StatusOr<Val> Call(const Node& n) {
    if (n.op == Op::kLen) {
      absl::StatusOr<Val> v = Eval(*n.children[0]);
      if (!v.ok()) return v;
      const Json& x = v->get();
      if (x.is_string()) {
        return Val::Own(Json(static_cast<int64_t>(x.get_ref<const std::string&>().size())));
      }
      if (x.is_array() || x.is_object()) return Val::Own(Json(static_cast<int64_t>(x.size())));
      return Fail(n, absl::StrCat("len: invalid argument for len (type ", TypeName(x), ")"));
    }
    std::vector<Json> args;
    args.reserve(n.children.size());
    for (const NodePtr& c : n.children) {
      absl::StatusOr<Val> v = Eval(*c);
      if (!v.ok()) return v;
      args.push_back(std::move(*v).Take());
    }
    absl::StatusOr<Json> r = n.function(args);
    if (!r.ok()) return Fail(n, absl::StrCat(n.name, ": ", r.status().message()));
    return Val::Own(*std::move(r));
  }

  absl::StatusOr<Val> Method(const Node& n) {
    absl::StatusOr<Val> receiver = Eval(*n.children[0]);
    if (!receiver.ok()) return receiver;
    if (receiver->get().is_null() && (n.optional || lenient_ > 0)) return Val::Own(nullptr);
    std::vector<Json> args;
    args.reserve(n.children.size() - 1);
    for (size_t i = 1; i < n.children.size(); ++i) {
      absl::StatusOr<Val> v = Eval(*n.children[i]);
      if (!v.ok()) return v;
      args.push_back(std::move(*v).Take());
    }
    absl::StatusOr<Json> r = CallMethod(n.name, receiver->get(), args);
    if (!r.ok()) return Fail(n, r.status().message());
    return Val::Own(*std::move(r));
  }

  // Runs the closure body with # bound to element.
  absl::StatusOr<Val> RunClosure(const Node& closure, const Json& element, int64_t index,
                                 const Json* acc = nullptr) {
    frames_.push_back(Frame{&element, index, acc});
    absl::StatusOr<Val> v = Eval(*closure.children[0]);
    frames_.pop_back();
    return v;
  }

  absl::StatusOr<bool> RunPredicate(const Node& n, const Node& closure, const Json& element,
                                    int64_t index) {
    absl::StatusOr<Val> v = RunClosure(closure, element, index);
    if (!v.ok()) return v.status();
    if (!v->get().is_boolean()) {
      return Fail(closure,
                  absl::StrCat(n.name, ": predicate must return bool, got ", TypeName(v->get())));
    }
    return v->get().get<bool>();
  }

  absl::StatusOr<Val> Predicate(const Node& n) {
    absl::StatusOr<Val> coll_val = Eval(*n.children[0]);
    if (!coll_val.ok()) return coll_val;
    const Json& coll = coll_val->get();
    if (!coll.is_array()) {
      return Fail(n, absl::StrCat(n.name, ": cannot iterate over ", TypeName(coll)));
    }
    const std::string& name = n.name;
    const Node* closure = n.children.size() > 1 ? n.children[1].get() : nullptr;
    const size_t size = coll.size();

    if (closure == nullptr) {  // count(arr) / sum(arr)
      if (name == "count") {
        int64_t count = 0;
        for (const Json& e : coll) {
          if (!e.is_boolean()) {
            return Fail(n, absl::StrCat("count: element is ", TypeName(e), ", not bool"));
          }
          count += e.get<bool>() ? 1 : 0;
        }
        return Val::Own(Json(count));
      }
      return Sum(n, coll);
    }

    if (name == "all" || name == "any" || name == "none" || name == "one" || name == "count" ||
        name == "filter" || name == "find" || name == "findIndex") {
      int64_t matched = 0;
      Json filtered = Json::array();
      for (size_t i = 0; i < size; ++i) {
        absl::StatusOr<bool> ok = RunPredicate(n, *closure, coll[i], static_cast<int64_t>(i));
        if (!ok.ok()) return ok.status();
        if (name == "all" && !*ok) return Val::Own(Json(false));
        if ((name == "any") && *ok) return Val::Own(Json(true));
        if (name == "none" && *ok) return Val::Own(Json(false));
        if (name == "find" && *ok) return Val::Own(coll[i]);
        if (name == "findIndex" && *ok) return Val::Own(Json(static_cast<int64_t>(i)));
        if (*ok) {
          ++matched;
          if (name == "filter") filtered.push_back(coll[i]);
        }
      }
      if (name == "all" || name == "none") return Val::Own(Json(true));
      if (name == "any") return Val::Own(Json(false));
      if (name == "one") return Val::Own(Json(matched == 1));
      if (name == "count") return Val::Own(Json(matched));
      if (name == "find") return Val::Own(nullptr);
      if (name == "findIndex") return Val::Own(Json(int64_t{-1}));
      return Val::Own(std::move(filtered));
    }
    if (name == "findLast" || name == "findLastIndex") {
      for (size_t i = size; i-- > 0;) {
        absl::StatusOr<bool> ok = RunPredicate(n, *closure, coll[i], static_cast<int64_t>(i));
        if (!ok.ok()) return ok.status();
        if (*ok) {
          return name == "findLast" ? Val::Own(coll[i]) : Val::Own(Json(static_cast<int64_t>(i)));
        }
      }
      return name == "findLast" ? Val::Own(nullptr) : Val::Own(Json(int64_t{-1}));
    }
    if (name == "map" || name == "sum" || name == "groupBy" || name == "sortBy") {
      Json mapped = Json::array();
      for (size_t i = 0; i < size; ++i) {
        absl::StatusOr<Val> v = RunClosure(*closure, coll[i], static_cast<int64_t>(i));
        if (!v.ok()) return v;
        mapped.push_back(std::move(*v).Take());
      }
      if (name == "map") return Val::Own(std::move(mapped));
      if (name == "sum") return Sum(n, mapped);
      if (name == "groupBy") {
        Json groups = Json::object();
        for (size_t i = 0; i < size; ++i) {
          const Json& key = mapped[i];
          groups[key.is_string() ? key.get<std::string>() : GoFormat(key)].push_back(coll[i]);
        }
        return Val::Own(std::move(groups));
      }
      return SortBy(n, coll, mapped);
    }
    if (name == "reduce") {
      Json acc;
      size_t start = 0;
      if (n.children.size() > 2) {
        absl::StatusOr<Val> init = Eval(*n.children[2]);
        if (!init.ok()) return init;
        acc = std::move(*init).Take();
      } else {
        if (size == 0) return Fail(n, "reduce of empty array with no initial value");
        acc = coll[0];
        start = 1;
      }
      for (size_t i = start; i < size; ++i) {
        absl::StatusOr<Val> v = RunClosure(*closure, coll[i], static_cast<int64_t>(i), &acc);
        if (!v.ok()) return v;
        acc = std::move(*v).Take();
      }
      return Val::Own(std::move(acc));
    }
    return Fail(n, absl::StrCat("unknown builtin ", name));
  }

  absl::StatusOr<Val> Sum(const Node& n, const Json& values) {
    int64_t isum = 0;
    double fsum = 0;
    bool is_float = false;
    for (const Json& e : values) {
      if (!IsNumber(e)) return Fail(n, absl::StrCat("sum: element is ", TypeName(e)));
      if (IsFloat(e)) is_float = true;
      isum = WrapAdd(isum, AsInt(e));
      fsum += AsDouble(e);
    }
    return is_float ? Val::Own(Json(fsum)) : Val::Own(Json(isum));
  }

  absl::StatusOr<Val> SortBy(const Node& n, const Json& coll, const Json& keys) {
    bool desc = false;
    if (n.children.size() > 2) {
      absl::StatusOr<Val> order = Eval(*n.children[2]);
      if (!order.ok()) return order;
      const Json& o = order->get();
      if (!o.is_string() || (o != "asc" && o != "desc")) {
        return Fail(n, "sortBy: order must be \"asc\" or \"desc\"");
      }
      desc = o == "desc";
    }
    std::vector<size_t> idx(coll.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    absl::Status err;
    std::stable_sort(idx.begin(), idx.end(), [&](size_t x, size_t y) {
      absl::StatusOr<int> c = Compare(keys[x], keys[y], "sortBy");
      if (!c.ok()) {
        if (err.ok()) err = c.status();
        return false;
      }
      return desc ? *c == 1 : *c == -1;
    });
    if (!err.ok()) return Fail(n, err.message());
    Json out = Json::array();
    for (size_t i : idx) out.push_back(coll[i]);
    return Val::Own(std::move(out));
  }

  static constexpr uint64_t kMaxSteps = 10'000'000;
  static constexpr uint64_t kMaxEvalBytes = 256ull << 20;

  const Json& env_;
  std::string_view source_;
  int max_depth_;
  int depth_ = 0;
  uint64_t steps_ = 0;
  uint64_t bytes_ = 0;
  int lenient_ = 0;
  std::vector<Frame> frames_;
  // A deque keeps element addresses stable while borrowed values point at them.
  std::deque<std::pair<std::string, Json>> vars_;
};

}  // namespace

absl::StatusOr<Json> Evaluate(const Node& root, const Json& env, std::string_view source,
                              int max_depth) {
  Evaluator evaluator(env, source, max_depth);
  absl::StatusOr<Val> v = evaluator.Eval(root);
  if (!v.ok()) return v.status();
  return std::move(*v).Take();
}

}  // namespace argonaut::expr::internal
