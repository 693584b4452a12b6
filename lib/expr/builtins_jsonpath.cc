// jsonpath(doc, path) as Argo Workflows exposes it (PaesslerAG/jsonpath
// semantics): a path without wildcards, slices, unions, filters or `..`
// yields one value and fails on a missing key; otherwise a list of matches.
#include <cctype>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"
#include "lib/expr/builtins_util.h"
#include "lib/expr/expr_value.h"
#include "lib/expr/exprlang.h"

namespace argonaut::expr::internal {
namespace {

struct Step {
  enum Kind { kKey, kIndex, kWildcard, kSlice, kUnion, kFilter, kRecursive } kind;
  std::string key;
  int64_t index = 0;
  std::optional<int64_t> from, to;
  int64_t stride = 1;
  std::vector<Json> members;  // union: strings or ints
  std::shared_ptr<ExprProgram> filter;
  // For kRecursive: the step applied at every level (key or wildcard).
  std::shared_ptr<Step> inner;
};

absl::Status PathError(std::string_view path, size_t pos, std::string_view msg) {
  return absl::InvalidArgumentError(
      absl::StrCat("jsonpath \"", AbslView(path), "\" at offset ", pos, ": ", AbslView(msg)));
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '$';
}

// Turns a filter body like `@.age > 42 && @.name == "x"` into expr-lang over
// the variable `__at`, leaving string literals alone.
std::string TranslateFilter(std::string_view body) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (quote != 0) {
      out += c;
      if (c == '\\' && i + 1 < body.size()) {
        out += body[++i];
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    if (c == '@') {
      out += "__at";
    } else {
      out += c;
    }
  }
  return out;
}

class PathParser {
 public:
  explicit PathParser(std::string_view path) : path_(path) {}

  absl::StatusOr<std::vector<Step>> Parse(bool* plural) {
    std::vector<Step> steps;
    if (path_.empty() || path_[0] != '$') return PathError(path_, 0, "must start with '$'");
    pos_ = 1;
    while (pos_ < path_.size()) {
      if (steps.size() > 256) return PathError(path_, pos_, "too many steps");
      char c = path_[pos_];
      if (c == '.') {
        ++pos_;
        bool recursive = pos_ < path_.size() && path_[pos_] == '.';
        if (recursive) ++pos_;
        absl::StatusOr<Step> step;
        if (pos_ < path_.size() && path_[pos_] == '[' && recursive) {
          step = Bracket();
        } else {
          step = Name();
        }
        if (!step.ok()) return step.status();
        if (recursive) {
          Step r;
          r.kind = Step::kRecursive;
          r.inner = std::make_shared<Step>(*std::move(step));
          steps.push_back(std::move(r));
          *plural = true;
        } else {
          if (step->kind != Step::kKey) *plural = true;
          steps.push_back(*std::move(step));
        }
      } else if (c == '[') {
        absl::StatusOr<Step> step = Bracket();
        if (!step.ok()) return step.status();
        if (step->kind != Step::kKey && step->kind != Step::kIndex) *plural = true;
        steps.push_back(*std::move(step));
      } else {
        return PathError(path_, pos_, absl::StrCat("unexpected '", std::string(1, c), "'"));
      }
    }
    return steps;
  }

 private:
  absl::StatusOr<Step> Name() {
    Step s;
    if (pos_ < path_.size() && path_[pos_] == '*') {
      ++pos_;
      s.kind = Step::kWildcard;
      return s;
    }
    size_t start = pos_;
    while (pos_ < path_.size() && IsNameChar(path_[pos_])) ++pos_;
    if (start == pos_) return PathError(path_, start, "expected a field name");
    s.kind = Step::kKey;
    s.key = std::string(path_.substr(start, pos_ - start));
    return s;
  }

  void SkipSpace() {
    while (pos_ < path_.size() && path_[pos_] == ' ') ++pos_;
  }

  absl::StatusOr<Json> Member() {
    SkipSpace();
    if (pos_ >= path_.size()) return PathError(path_, pos_, "unterminated '['");
    char c = path_[pos_];
    if (c == '\'' || c == '"') {
      size_t end = path_.find(c, pos_ + 1);
      if (end == std::string_view::npos) return PathError(path_, pos_, "unterminated string");
      Json key = std::string(path_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      return key;
    }
    size_t start = pos_;
    if (c == '-' || c == '+') ++pos_;
    while (pos_ < path_.size() && std::isdigit(static_cast<unsigned char>(path_[pos_]))) ++pos_;
    int64_t v = 0;
    if (!ParseGoInt(path_.substr(start, pos_ - start), &v)) {
      return PathError(path_, start, "expected an index, a quoted key, '*' or '?('");
    }
    return Json(v);
  }

  absl::StatusOr<Step> Bracket() {
    size_t open = pos_;
    ++pos_;  // '['
    SkipSpace();
    Step s;
    if (pos_ < path_.size() && path_[pos_] == '*') {
      ++pos_;
      s.kind = Step::kWildcard;
    } else if (pos_ + 1 < path_.size() && path_[pos_] == '?' && path_[pos_ + 1] == '(') {
      size_t start = pos_ + 2;
      int depth = 1;
      char quote = 0;
      size_t i = start;
      for (; i < path_.size() && depth > 0; ++i) {
        char c = path_[i];
        if (quote != 0) {
          if (c == '\\') {
            ++i;
          } else if (c == quote) {
            quote = 0;
          }
        } else if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '(') {
          ++depth;
        } else if (c == ')') {
          --depth;
        }
      }
      if (depth != 0) return PathError(path_, pos_, "unterminated filter");
      std::string expr = TranslateFilter(path_.substr(start, i - 1 - start));
      absl::StatusOr<ExprProgram> program = ExprProgram::Compile(expr);
      if (!program.ok()) {
        return PathError(path_, start, absl::StrCat("bad filter: ", program.status().message()));
      }
      s.kind = Step::kFilter;
      s.filter = std::make_shared<ExprProgram>(*std::move(program));
      pos_ = i;
    } else if (pos_ < path_.size() && path_[pos_] == ':') {
      s.kind = Step::kSlice;
    } else {
      absl::StatusOr<Json> first = Member();
      if (!first.ok()) return first.status();
      SkipSpace();
      if (pos_ < path_.size() && path_[pos_] == ':' && IsInt(*first)) {
        s.kind = Step::kSlice;
        s.from = AsInt(*first);
      } else if (pos_ < path_.size() && path_[pos_] == ',') {
        s.kind = Step::kUnion;
        s.members.push_back(*std::move(first));
        while (pos_ < path_.size() && path_[pos_] == ',') {
          ++pos_;
          absl::StatusOr<Json> m = Member();
          if (!m.ok()) return m.status();
          s.members.push_back(*std::move(m));
          SkipSpace();
          if (s.members.size() > 1000) return PathError(path_, pos_, "union too large");
        }
      } else if (first->is_string()) {
        s.kind = Step::kKey;
        s.key = first->get<std::string>();
      } else {
        s.kind = Step::kIndex;
        s.index = AsInt(*first);
      }
    }
    if (s.kind == Step::kSlice) {
      // At ':' after an optional start.
      for (int part = 0; part < 2 && pos_ < path_.size() && path_[pos_] == ':'; ++part) {
        ++pos_;
        SkipSpace();
        if (pos_ < path_.size() && path_[pos_] != ']' && path_[pos_] != ':') {
          absl::StatusOr<Json> v = Member();
          if (!v.ok()) return v.status();
          if (!IsInt(*v)) return PathError(path_, pos_, "slice bounds must be integers");
          if (part == 0) {
            s.to = AsInt(*v);
          } else {
            s.stride = AsInt(*v);
            if (s.stride == 0) return PathError(path_, pos_, "slice step cannot be 0");
          }
        }
        SkipSpace();
      }
    }
    SkipSpace();
    if (pos_ >= path_.size() || path_[pos_] != ']') {
      return PathError(path_, open, "unterminated '['");
    }
    ++pos_;
    return s;
  }

  std::string_view path_;
  size_t pos_ = 0;
};

// Applies one non-recursive step to v, appending matches. In singular mode
// a missing key or index is an error, as in PaesslerAG/jsonpath.
absl::Status Apply(const Step& s, const Json& v, bool plural, std::vector<const Json*>* out) {
  switch (s.kind) {
    case Step::kKey: {
      if (v.is_object()) {
        auto it = v.find(s.key);
        if (it != v.end()) {
          out->push_back(&*it);
          return absl::OkStatus();
        }
      }
      if (plural) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat("jsonpath: unknown key ", s.key));
    }
    case Step::kIndex: {
      if (v.is_array()) {
        int64_t len = static_cast<int64_t>(v.size());
        int64_t i = s.index < 0 ? s.index + len : s.index;
        if (i >= 0 && i < len) {
          out->push_back(&v[static_cast<size_t>(i)]);
          return absl::OkStatus();
        }
      }
      if (plural) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat("jsonpath: index ", s.index, " out of bounds"));
    }
    case Step::kWildcard:
      if (v.is_array() || v.is_object()) {
        for (const Json& e : v) out->push_back(&e);
      }
      return absl::OkStatus();
    case Step::kSlice: {
      if (!v.is_array()) return absl::OkStatus();
      int64_t len = static_cast<int64_t>(v.size());
      auto clamp = [len](int64_t x) {
        if (x < 0) x += len;
        return x < 0 ? 0 : (x > len ? len : x);
      };
      if (s.stride > 0) {
        int64_t a = s.from ? clamp(*s.from) : 0, z = s.to ? clamp(*s.to) : len;
        for (int64_t i = a; i < z; i += s.stride) out->push_back(&v[static_cast<size_t>(i)]);
      } else {
        int64_t a = s.from ? clamp(*s.from) : len - 1, z = s.to ? clamp(*s.to) : -1;
        if (a >= len) a = len - 1;
        for (int64_t i = a; i > z; i += s.stride) out->push_back(&v[static_cast<size_t>(i)]);
      }
      return absl::OkStatus();
    }
    case Step::kUnion:
      for (const Json& m : s.members) {
        Step one;
        if (m.is_string()) {
          one.kind = Step::kKey;
          one.key = m.get<std::string>();
        } else {
          one.kind = Step::kIndex;
          one.index = AsInt(m);
        }
        if (absl::Status st = Apply(one, v, true, out); !st.ok()) return st;
      }
      return absl::OkStatus();
    case Step::kFilter:
      if (v.is_array() || v.is_object()) {
        for (const Json& e : v) {
          Json env = Json::object();
          env["__at"] = e;
          absl::StatusOr<Json> r = s.filter->Eval(env);
          // A filter that cannot be evaluated for an element (missing field
          // compared with a number) just does not select it.
          if (r.ok() && r->is_boolean() && r->get<bool>()) out->push_back(&e);
        }
      }
      return absl::OkStatus();
    case Step::kRecursive: {
      // Iterative pre-order walk so deep documents cannot exhaust the stack.
      std::vector<const Json*> stack = {&v};
      std::vector<const Json*> order;
      while (!stack.empty()) {
        const Json* cur = stack.back();
        stack.pop_back();
        order.push_back(cur);
        if (auto s2 = CheckElementCount(order.size(), "jsonpath"); !s2.ok()) return s2;
        if (cur->is_array() || cur->is_object()) {
          std::vector<const Json*> kids;
          for (const Json& e : *cur) kids.push_back(&e);
          for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back(*it);
        }
      }
      for (const Json* node : order) {
        if (absl::Status st = Apply(*s.inner, *node, true, out); !st.ok()) return st;
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Json> JsonPath(const Json& doc, std::string_view path) {
  bool plural = false;
  PathParser parser(path);
  absl::StatusOr<std::vector<Step>> steps = parser.Parse(&plural);
  if (!steps.ok()) return steps.status();
  std::vector<const Json*> current = {&doc};
  for (const Step& s : *steps) {
    std::vector<const Json*> next;
    for (const Json* v : current) {
      if (absl::Status st = Apply(s, *v, plural, &next); !st.ok()) return st;
      if (auto st = CheckElementCount(next.size(), "jsonpath"); !st.ok()) return st;
    }
    current = std::move(next);
  }
  if (!plural) return current.empty() ? Json(nullptr) : *current[0];
  Json out = Json::array();
  for (const Json* v : current) out.push_back(*v);
  return out;
}

}  // namespace argonaut::expr::internal
