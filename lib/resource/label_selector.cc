#include "lib/resource/label_selector.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace argonaut::resource {
namespace {

bool ValidKey(absl::string_view k) {
  if (k.empty() || k.size() > 316) return false;
  for (char c : k) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/')) return false;
  }
  return true;
}

bool ValidValue(absl::string_view v) {
  if (v.size() > 63) return false;
  for (char c : v) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

// Splits on commas that are not inside parentheses, since `in (a,b)` holds commas.
absl::StatusOr<std::vector<std::string>> SplitTerms(absl::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth < 0 || depth > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("label selector \"", text, "\": unbalanced parentheses"));
    }
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (depth != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("label selector \"", text, "\": unbalanced parentheses"));
  }
  out.push_back(cur);
  return out;
}

}  // namespace

absl::StatusOr<LabelSelector> LabelSelector::Parse(absl::string_view text) {
  LabelSelector sel;
  if (absl::StripAsciiWhitespace(text).empty()) return sel;
  auto terms = SplitTerms(text);
  if (!terms.ok()) return terms.status();
  for (const std::string& raw : *terms) {
    absl::string_view term = absl::StripAsciiWhitespace(raw);
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("label selector term \"", term, "\": ", why));
    };
    if (term.empty()) return bad("empty term");
    Requirement req;
    size_t paren = term.find('(');
    if (paren != absl::string_view::npos) {
      absl::string_view head = absl::StripAsciiWhitespace(term.substr(0, paren));
      if (term.back() != ')') return bad("expected ')' at the end");
      absl::string_view body = term.substr(paren + 1, term.size() - paren - 2);
      std::vector<absl::string_view> parts = absl::StrSplit(head, ' ', absl::SkipWhitespace());
      if (parts.size() != 2) return bad("expected `key in (values)` or `key notin (values)`");
      req.key = std::string(parts[0]);
      if (parts[1] == "in") {
        req.op = Op::kIn;
      } else if (parts[1] == "notin") {
        req.op = Op::kNotIn;
      } else {
        return bad(absl::StrCat("unknown operator \"", parts[1], "\""));
      }
      if (absl::StripAsciiWhitespace(body).empty()) return bad("empty value set");
      for (absl::string_view v : absl::StrSplit(body, ',')) {
        v = absl::StripAsciiWhitespace(v);
        if (!ValidValue(v)) return bad(absl::StrCat("invalid value \"", v, "\""));
        req.values.emplace_back(v);
      }
    } else if (size_t ne = term.find("!="); ne != absl::string_view::npos) {
      req.key = std::string(absl::StripAsciiWhitespace(term.substr(0, ne)));
      req.op = Op::kNotEquals;
      req.values.emplace_back(absl::StripAsciiWhitespace(term.substr(ne + 2)));
    } else if (size_t eq = term.find('='); eq != absl::string_view::npos) {
      req.key = std::string(absl::StripAsciiWhitespace(term.substr(0, eq)));
      absl::string_view rest = term.substr(eq + 1);
      absl::ConsumePrefix(&rest, "=");
      req.op = Op::kEquals;
      req.values.emplace_back(absl::StripAsciiWhitespace(rest));
    } else if (term.front() == '!') {
      req.key = std::string(absl::StripAsciiWhitespace(term.substr(1)));
      req.op = Op::kNotExists;
    } else {
      req.key = std::string(term);
      req.op = Op::kExists;
    }
    if (!ValidKey(req.key)) return bad(absl::StrCat("invalid key \"", req.key, "\""));
    for (const std::string& v : req.values) {
      if (!ValidValue(v)) return bad(absl::StrCat("invalid value \"", v, "\""));
    }
    sel.requirements_.push_back(std::move(req));
  }
  return sel;
}

template <typename M>
bool LabelSelector::MatchesImpl(const M& labels) const {
  for (const Requirement& r : requirements_) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    auto in_values = [&] {
      return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    };
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!in_values()) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        // Kubernetes: `!=` and `notin` also match objects without the key.
        if (in_values()) return false;
        break;
      case Op::kExists:
        if (!has) return false;
        break;
      case Op::kNotExists:
        if (has) return false;
        break;
    }
  }
  return true;
}

bool LabelSelector::Matches(const google::protobuf::Map<std::string, std::string>& labels) const {
  return MatchesImpl(labels);
}

bool LabelSelector::Matches(const std::map<std::string, std::string>& labels) const {
  return MatchesImpl(labels);
}

}  // namespace argonaut::resource
