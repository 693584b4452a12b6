#include "services/cd/repo/semver.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace argonaut::cd::repo {
namespace {

// A version in a constraint: missing or wildcard components are nullopt.
struct Partial {
  std::optional<long> major, minor, patch;
  std::string prerelease;
};

bool IsWildcard(absl::string_view s) { return s == "x" || s == "X" || s == "*"; }

std::optional<Partial> ParsePartial(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  absl::ConsumePrefix(&text, "v");
  if (text.empty()) return std::nullopt;
  Partial p;
  if (size_t plus = text.find('+'); plus != text.npos) text = text.substr(0, plus);
  if (size_t dash = text.find('-'); dash != text.npos) {
    p.prerelease = std::string(text.substr(dash + 1));
    if (p.prerelease.empty()) return std::nullopt;
    text = text.substr(0, dash);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.empty() || parts.size() > 3) return std::nullopt;
  std::optional<long>* fields[] = {&p.major, &p.minor, &p.patch};
  bool wild = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (IsWildcard(parts[i])) {
      wild = true;
      continue;
    }
    long n = 0;
    if (wild || parts[i].empty() || !absl::ascii_isdigit(static_cast<unsigned char>(parts[i][0])) ||
        !absl::SimpleAtoi(parts[i], &n) || n < 0) {
      return std::nullopt;
    }
    *fields[i] = n;
  }
  return p;
}

SemVer Fill(const Partial& p) {
  return SemVer{p.major.value_or(0), p.minor.value_or(0), p.patch.value_or(0), p.prerelease};
}

int ComparePre(const std::string& a, const std::string& b) {
  if (a == b) return 0;
  if (a.empty()) return 1;  // a release sorts after its prereleases
  if (b.empty()) return -1;
  std::vector<absl::string_view> x = absl::StrSplit(a, '.'), y = absl::StrSplit(b, '.');
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    long m = 0, n = 0;
    bool xn = absl::SimpleAtoi(x[i], &m), yn = absl::SimpleAtoi(y[i], &n);
    if (xn && yn && m != n) return m < n ? -1 : 1;
    if (xn != yn) return xn ? -1 : 1;
    if (!xn && x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.size() == y.size() ? 0 : (x.size() < y.size() ? -1 : 1);
}

int Compare(const SemVer& a, const SemVer& b) {
  if (a.major != b.major) return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
  return ComparePre(a.prerelease, b.prerelease);
}

// The first version after every version the partial covers ("1.2" -> 1.3.0).
SemVer BumpLast(const Partial& p) {
  if (!p.minor) return {p.major.value_or(0) + 1, 0, 0, ""};
  if (!p.patch) return {*p.major, *p.minor + 1, 0, ""};
  return {*p.major, *p.minor, *p.patch + 1, ""};
}

struct Term {
  std::string op;
  Partial version;
};

bool Satisfies(const Term& t, const SemVer& v) {
  const Partial& p = t.version;
  if (!p.major) return t.op != "!=" && t.op != "<" && t.op != ">";  // "*" matches everything
  const bool exact = p.minor && p.patch;
  const SemVer lo = Fill(p);
  auto in_range = [&](const SemVer& hi) { return Compare(v, lo) >= 0 && Compare(v, hi) < 0; };
  if (t.op.empty() || t.op == "=") return exact ? Compare(v, lo) == 0 : in_range(BumpLast(p));
  if (t.op == "!=") return exact ? Compare(v, lo) != 0 : !in_range(BumpLast(p));
  if (t.op == ">") return exact ? Compare(v, lo) > 0 : Compare(v, BumpLast(p)) >= 0;
  if (t.op == ">=") return Compare(v, lo) >= 0;
  if (t.op == "<") return Compare(v, lo) < 0;
  if (t.op == "<=") return exact ? Compare(v, lo) <= 0 : Compare(v, BumpLast(p)) < 0;
  if (t.op == "~") {
    SemVer hi = p.minor ? SemVer{*p.major, *p.minor + 1, 0, ""} : SemVer{*p.major + 1, 0, 0, ""};
    return in_range(hi);
  }
  if (t.op == "^") {
    SemVer hi;
    if (*p.major > 0 || !p.minor) {
      hi = {*p.major + 1, 0, 0, ""};
    } else if (*p.minor > 0 || !p.patch) {
      hi = {0, *p.minor + 1, 0, ""};
    } else {
      hi = {0, 0, *p.patch + 1, ""};
    }
    return in_range(hi);
  }
  return false;
}

using Group = std::vector<Term>;  // all must hold

std::optional<std::vector<Group>> ParseConstraint(absl::string_view text) {
  std::vector<Group> groups;
  for (absl::string_view alt : absl::StrSplit(text, "||")) {
    // "1.2 - 1.4" ranges first, then space/comma separated terms.
    std::vector<std::string> tokens;
    for (absl::string_view tok : absl::StrSplit(alt, absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
      tokens.emplace_back(tok);
    }
    Group group;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i + 2 < tokens.size() && tokens[i + 1] == "-") {
        auto lo = ParsePartial(tokens[i]), hi = ParsePartial(tokens[i + 2]);
        if (!lo || !hi) return std::nullopt;
        group.push_back({">=", *lo});
        group.push_back({"<=", *hi});
        i += 2;
        continue;
      }
      absl::string_view tok = tokens[i];
      std::string op;
      for (const char* candidate : {">=", "<=", "!=", "=>", "=<", ">", "<", "=", "~>", "~", "^"}) {
        if (absl::ConsumePrefix(&tok, candidate)) {
          op = candidate;
          break;
        }
      }
      if (op == "=>") op = ">=";
      if (op == "=<") op = "<=";
      if (op == "~>") op = "~";
      if (tok.empty() && i + 1 < tokens.size()) tok = tokens[++i];  // ">= 1.2"
      auto v = ParsePartial(tok);
      if (!v) return std::nullopt;
      group.push_back({op, *v});
    }
    if (group.empty()) return std::nullopt;
    groups.push_back(std::move(group));
  }
  if (groups.empty()) return std::nullopt;
  return groups;
}

}  // namespace

std::optional<SemVer> ParseSemVer(absl::string_view text) {
  std::optional<Partial> p = ParsePartial(text);
  if (!p || !p->major) return std::nullopt;
  return Fill(*p);
}

bool IsSemVerConstraint(absl::string_view text) { return ParseConstraint(text).has_value(); }

std::string MaxSatisfying(absl::string_view constraint,
                          const std::map<std::string, std::string>& tags) {
  std::optional<std::vector<Group>> groups = ParseConstraint(constraint);
  if (!groups) return "";
  std::string best;
  SemVer best_version;
  for (const auto& [name, sha] : tags) {
    std::optional<SemVer> v = ParseSemVer(name);
    if (!v) continue;
    bool ok = false;
    for (const Group& g : *groups) {
      bool all = true, names_prerelease = false;
      for (const Term& t : g) {
        all = all && Satisfies(t, *v);
        names_prerelease = names_prerelease || !t.version.prerelease.empty();
      }
      if (all && (v->prerelease.empty() || names_prerelease)) ok = true;
    }
    if (ok && (best.empty() || Compare(*v, best_version) > 0)) {
      best = name;
      best_version = *v;
    }
  }
  return best;
}

}  // namespace argonaut::cd::repo
