#include "lib/template/template.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/expr/exprlang.h"

namespace argonaut::tmpl {
namespace internal {

struct Segment {
  enum Kind { kText, kSimple, kExpression } kind;
  std::string text;  // literal text, the raw tag body (between the braces), or the expression
  std::string name;  // kSimple: trimmed name
  std::shared_ptr<const absl::StatusOr<expr::ExprProgram>> program;  // kExpression
};

struct Parsed {
  std::vector<Segment> segments;
};

}  // namespace internal

namespace {

constexpr int kMaxJsonDepth = 200;

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Go's encoding/json (what Argo prints expression results with) writes a
// whole float64 without a fraction: 43, not 43.0. Iterative, so deep values
// cannot exhaust the stack.
nlohmann::json GoNumbers(nlohmann::json v) {
  std::vector<nlohmann::json*> todo = {&v};
  while (!todo.empty()) {
    nlohmann::json* cur = todo.back();
    todo.pop_back();
    if (cur->is_number_float()) {
      const double d = cur->get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
        *cur = static_cast<int64_t>(d);
      }
    } else if (cur->is_structured()) {
      for (auto& child : *cur) todo.push_back(&child);
    }
  }
  return v;
}

std::string ValueText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return GoNumbers(v).dump();
}

// Flattens a JSON value under `prefix` into string leaves ("item.a.b" -> "1").
void Flatten(const std::string& prefix, const nlohmann::json& v, int depth,
             std::map<std::string, std::string, std::less<>>* out) {
  if (v.is_object() && !v.empty() && depth < kMaxJsonDepth) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      Flatten(prefix + "." + it.key(), it.value(), depth + 1, out);
    }
    return;
  }
  (*out)[prefix] = ValueText(v);
}

class Output {
 public:
  explicit Output(size_t cap) : cap_(cap) {}
  absl::Status Append(std::string_view s) {
    if (out_.size() + s.size() > cap_) {
      return absl::ResourceExhaustedError(absl::StrCat("template output would exceed ", cap_,
                                                       " bytes (substituted values too large)"));
    }
    out_.append(s);
    return absl::OkStatus();
  }
  std::string Take() { return std::move(out_); }
  size_t size() const { return out_.size(); }

 private:
  size_t cap_;
  std::string out_;
};

class Renderer {
 public:
  Renderer(const Scope& scope, const RenderOptions& opts) : scope_(scope), opts_(opts) {}

  absl::Status Render(const internal::Parsed& parsed, Output* out) {
    for (const internal::Segment& seg : parsed.segments) {
      switch (seg.kind) {
        case internal::Segment::kText:
          RETURN_IF_ERROR(out->Append(seg.text));
          break;
        case internal::Segment::kSimple:
          RETURN_IF_ERROR(Simple(seg, out));
          break;
        case internal::Segment::kExpression:
          RETURN_IF_ERROR(Expression(seg, out));
          break;
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Verbatim(const internal::Segment& seg, Output* out) {
    RETURN_IF_ERROR(out->Append(seg.kind == internal::Segment::kExpression ? "{{=" : "{{"));
    RETURN_IF_ERROR(out->Append(seg.text));
    return out->Append("}}");
  }

  absl::Status Simple(const internal::Segment& seg, Output* out) {
    if (std::optional<std::string> v = scope_.Get(seg.name); v.has_value()) {
      return out->Append(*v);
    }
    // Argo resolves the innermost of nested tags such as {{inputs.parameters.{{item}}}}: the
    // inner name is substituted and the outer tag is re-emitted for a later pass.
    const size_t nested = seg.text.rfind("{{");
    if (nested != std::string::npos && nested > 0) {
      if (std::optional<std::string> v = scope_.Get(seg.text.substr(nested + 2)); v.has_value()) {
        RETURN_IF_ERROR(out->Append("{{"));
        RETURN_IF_ERROR(out->Append(std::string_view(seg.text).substr(0, nested)));
        return out->Append(*v);
      }
    }
    if (opts_.unresolved == Unresolved::kLeave || (opts_.leave_if && opts_.leave_if(seg.name))) {
      return Verbatim(seg, out);
    }
    return absl::InvalidArgumentError(absl::StrCat("unresolved reference {{", seg.text, "}}"));
  }

  absl::Status Expression(const internal::Segment& seg, Output* out) {
    if (!opts_.expressions) return Verbatim(seg, out);
    const bool leave = opts_.unresolved == Unresolved::kLeave;
    const absl::StatusOr<expr::ExprProgram>& program = *seg.program;
    if (!program.ok()) {
      if (leave) return Verbatim(seg, out);
      return absl::InvalidArgumentError(
          absl::StrCat("invalid expression {{=", seg.text, "}}: ", program.status().message()));
    }
    if (!env_.has_value()) env_ = scope_.ToEnv();
    absl::StatusOr<nlohmann::json> result = program->Eval(*env_);
    if (!result.ok() || result->is_null()) {
      if (leave) return Verbatim(seg, out);
      if (!result.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "failed to evaluate expression {{=", seg.text, "}}: ", result.status().message()));
      }
      return absl::InvalidArgumentError(
          absl::StrCat("expression {{=", seg.text, "}} evaluated to nil"));
    }
    return out->Append(ValueText(*result));
  }

  const Scope& scope_;
  const RenderOptions& opts_;
  std::optional<nlohmann::json> env_;
};

absl::StatusOr<nlohmann::json> RenderJsonRec(const nlohmann::json& v, const Scope& scope,
                                             const RenderOptions& opts, int depth, size_t* budget) {
  if (depth > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON value nests deeper than ", kMaxJsonDepth, " levels"));
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.find("{{") == std::string::npos) {
      if (s.size() > *budget) {
        return absl::ResourceExhaustedError("template output exceeds the size limit");
      }
      *budget -= s.size();
      return v;
    }
    RenderOptions local = opts;
    local.max_output_bytes = *budget;
    ASSIGN_OR_RETURN(std::string out, RenderString(s, scope, local));
    *budget -= out.size();
    return nlohmann::json(std::move(out));
  }
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : v) {
      ASSIGN_OR_RETURN(nlohmann::json r, RenderJsonRec(e, scope, opts, depth + 1, budget));
      out.push_back(std::move(r));
    }
    return out;
  }
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      ASSIGN_OR_RETURN(nlohmann::json r, RenderJsonRec(it.value(), scope, opts, depth + 1, budget));
      out[it.key()] = std::move(r);
    }
    return out;
  }
  return v;
}

}  // namespace

void Scope::Set(std::string name, std::string value) {
  json_.erase(name);
  strings_[std::move(name)] = std::move(value);
}

void Scope::SetJson(std::string name, nlohmann::json value) {
  if (value.is_string()) {
    Set(std::move(name), value.get<std::string>());
    return;
  }
  strings_.erase(name);
  json_[std::move(name)] = std::move(value);
}

std::optional<std::string> Scope::Get(std::string_view name) const {
  if (auto it = strings_.find(name); it != strings_.end()) return it->second;
  if (auto it = json_.find(name); it != json_.end()) return ValueText(it->second);
  // item.key.sub: the longest JSON-valued prefix, then object fields.
  for (size_t dot = name.rfind('.'); dot != std::string_view::npos && dot > 0;
       dot = name.rfind('.', dot - 1)) {
    auto it = json_.find(name.substr(0, dot));
    if (it == json_.end()) continue;
    const nlohmann::json* cur = &it->second;
    for (absl::string_view part : absl::StrSplit(AbslView(name.substr(dot + 1)), '.')) {
      if (!cur->is_object()) return std::nullopt;
      auto f = cur->find(std::string(part));
      if (f == cur->end()) return std::nullopt;
      cur = &*f;
    }
    return ValueText(*cur);
  }
  return std::nullopt;
}

nlohmann::json Scope::ToEnv() const {
  std::map<std::string, std::string, std::less<>> flat = strings_;
  for (const auto& [name, value] : json_) Flatten(name, value, 0, &flat);
  // Drop "a" when "a.<anything>" exists (Argo util/expand removeConflicts). In sorted order a
  // key's children, if any, start right after it (keys between "a" and "a." sort before "a.").
  std::vector<const std::pair<const std::string, std::string>*> kept;
  for (auto it = flat.begin(); it != flat.end(); ++it) {
    const std::string child_prefix = it->first + ".";
    auto next = flat.lower_bound(child_prefix);
    if (next != flat.end() && next->first.compare(0, child_prefix.size(), child_prefix) == 0) {
      continue;
    }
    kept.push_back(&*it);
  }
  nlohmann::json env = nlohmann::json::object();
  for (const auto* kv : kept) {
    nlohmann::json* cur = &env;
    std::vector<std::string> parts = absl::StrSplit(kv->first, '.');
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      nlohmann::json& child = (*cur)[parts[i]];
      if (!child.is_object()) child = nlohmann::json::object();
      cur = &child;
    }
    (*cur)[parts.back()] = kv->second;
  }
  return env;
}

std::function<bool(std::string_view)> LeavePrefixes(std::vector<std::string> prefixes) {
  return [prefixes = std::move(prefixes)](std::string_view name) {
    for (const std::string& p : prefixes) {
      if (name.substr(0, p.size()) == p) return true;
    }
    return false;
  };
}

absl::StatusOr<Template> Template::Parse(std::string_view text) {
  if (text.size() > kMaxInputBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "template is ", text.size(), " bytes, larger than the ", kMaxInputBytes, "-byte limit"));
  }
  auto parsed = std::make_shared<internal::Parsed>();
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      parsed->segments.push_back({internal::Segment::kText, std::string(text.substr(pos)), ""});
      break;
    }
    if (open > pos) {
      parsed->segments.push_back(
          {internal::Segment::kText, std::string(text.substr(pos, open - pos)), ""});
    }
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("position ", open + 1, ": '{{' has no closing '}}'"));
    }
    std::string body(text.substr(open + 2, close - open - 2));
    internal::Segment seg;
    if (!body.empty() && body[0] == '=') {
      seg.kind = internal::Segment::kExpression;
      seg.text = body.substr(1);
      seg.program = std::make_shared<const absl::StatusOr<expr::ExprProgram>>(
          expr::ExprProgram::Compile(seg.text));
    } else {
      seg.kind = internal::Segment::kSimple;
      seg.name = std::string(Trim(body));
      seg.text = std::move(body);
    }
    parsed->segments.push_back(std::move(seg));
    pos = close + 2;
  }
  return Template(std::move(parsed));
}

absl::StatusOr<std::string> Template::Render(const Scope& scope, const RenderOptions& opts) const {
  Output out(opts.max_output_bytes);
  Renderer renderer(scope, opts);
  RETURN_IF_ERROR(renderer.Render(*parsed_, &out));
  return out.Take();
}

std::vector<std::string> Template::References() const {
  std::vector<std::string> out;
  for (const internal::Segment& seg : parsed_->segments) {
    if (seg.kind != internal::Segment::kSimple) continue;
    if (std::find(out.begin(), out.end(), seg.name) == out.end()) out.push_back(seg.name);
  }
  return out;
}

std::vector<std::string> Template::Expressions() const {
  std::vector<std::string> out;
  for (const internal::Segment& seg : parsed_->segments) {
    if (seg.kind == internal::Segment::kExpression) out.push_back(seg.text);
  }
  return out;
}

absl::StatusOr<std::string> RenderString(std::string_view text, const Scope& scope,
                                         const RenderOptions& opts) {
  ASSIGN_OR_RETURN(Template t, Template::Parse(text));
  return t.Render(scope, opts);
}

absl::StatusOr<nlohmann::json> RenderJson(const nlohmann::json& value, const Scope& scope,
                                          const RenderOptions& opts) {
  size_t budget = opts.max_output_bytes;
  return RenderJsonRec(value, scope, opts, 0, &budget);
}

}  // namespace argonaut::tmpl
