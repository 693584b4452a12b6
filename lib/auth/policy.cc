#include "lib/auth/policy.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/auth/token_store.h"
#include "lib/base/strings.h"

namespace argonaut::auth {
namespace {

absl::Status LineError(int line, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("policy.csv line ", line, ": ", message));
}

// Splits one CSV line into trimmed fields. A field may be double-quoted (as
// casbin's CSV adapter allows) to hold commas; "" inside quotes is a quote.
absl::StatusOr<std::vector<std::string>> SplitCsvLine(absl::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  for (;;) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      const size_t field_number = fields.size() + 1;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        field.push_back(line[i++]);
      }
      if (!closed) {
        return absl::InvalidArgumentError(
            absl::StrCat("field ", field_number, " has an unterminated quote"));
      }
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      if (i < line.size() && line[i] != ',') {
        return absl::InvalidArgumentError(
            absl::StrCat("field ", field_number, " has text after its closing quote"));
      }
    } else {
      const size_t comma = line.find(',', i);
      const size_t end = comma == absl::string_view::npos ? line.size() : comma;
      field = std::string(absl::StripAsciiWhitespace(line.substr(i, end - i)));
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

}  // namespace

const std::vector<std::string>& KnownResources() {
  static const std::vector<std::string>* resources = new std::vector<std::string>{
      "workflows",
      "workflowtemplates",
      "clusterworkflowtemplates",
      "cronworkflows",
      "workfloweventbindings",
      "workflowtaskresults",
      "rollouts",
      "analysistemplates",
      "clusteranalysistemplates",
      "analysisruns",
      "experiments",
      "eventsources",
      "sensors",
      "eventbus",
      "applications",
      "projects",
      "repositories",
      "pods",
      "logs",
      "secrets",
      "configmaps",
      "services",
      "deployments",
      "replicasets",
      "jobs",
      "namespaces",
      "events",
      "leases",
      "accounts",
  };
  return *resources;
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative matcher with one backtrack point per `*`: linear in practice
  // and never recursive, so a hostile pattern or object cannot blow the stack.
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    // `*` first: a literal `*` in the text (List's "*/*") must not be taken for a plain match
    // of the pattern's `*`, which would leave no backtrack point.
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Policy Policy::BuiltIn() {
  Policy policy;
  policy.rules_.push_back({kRoleAdmin, "*", "*", "*", Effect::kAllow});
  // Listed resource by resource rather than `*` plus a deny on secrets: a
  // deny would also win over an operator's explicit allow for a role that
  // inherits readonly.
  for (const std::string& resource : KnownResources()) {
    if (resource == "secrets") continue;
    policy.rules_.push_back({kRoleReadonly, resource, "get", "*", Effect::kAllow});
  }
  policy.groups_[kAdminAccount].push_back(kRoleAdmin);
  policy.groups_[kServiceAccount].push_back(kRoleAdmin);
  return policy;
}

absl::StatusOr<Policy> Policy::Parse(std::string_view csv, std::string default_role) {
  Policy policy = BuiltIn();
  policy.default_role_ = std::string(absl::StripAsciiWhitespace(AbslView(default_role)));
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(AbslView(csv), '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#') continue;
    absl::StatusOr<std::vector<std::string>> split = SplitCsvLine(line);
    if (!split.ok()) return LineError(line_number, split.status().message());
    std::vector<std::string> fields = *std::move(split);
    const std::string& type = fields[0];
    auto require = [&](size_t index, absl::string_view name) -> absl::Status {
      if (fields[index].empty()) {
        return LineError(line_number, absl::StrCat(name, " (field ", index + 1, ") is empty"));
      }
      return absl::OkStatus();
    };
    if (type == "p") {
      if (fields.size() != 5 && fields.size() != 6) {
        return LineError(line_number,
                         absl::StrCat("a p line has 5 or 6 fields (p, subject, resource, action, "
                                      "object[, effect]), got ",
                                      fields.size()));
      }
      static constexpr absl::string_view kNames[] = {"type", "subject", "resource", "action",
                                                     "object"};
      for (size_t i = 1; i < 5; ++i) {
        if (absl::Status s = require(i, kNames[i]); !s.ok()) return s;
      }
      Rule rule{fields[1], fields[2], fields[3], fields[4], Effect::kAllow};
      if (fields.size() == 6) {
        const std::string effect = absl::AsciiStrToLower(fields[5]);
        if (effect == "deny") {
          rule.effect = Effect::kDeny;
        } else if (effect != "allow") {
          return LineError(line_number, absl::StrCat("effect (field 6) \"", fields[5].substr(0, 64),
                                                     "\" is neither allow nor deny"));
        }
      }
      policy.rules_.push_back(std::move(rule));
    } else if (type == "g") {
      if (fields.size() != 3) {
        return LineError(line_number, absl::StrCat("a g line has 3 fields (g, subject, role), got ",
                                                   fields.size()));
      }
      if (absl::Status s = require(1, "subject"); !s.ok()) return s;
      if (absl::Status s = require(2, "role"); !s.ok()) return s;
      policy.groups_[fields[1]].push_back(fields[2]);
    } else {
      return LineError(line_number, absl::StrCat("line type (field 1) \"", type.substr(0, 64),
                                                 "\" is neither p nor g"));
    }
  }
  return policy;
}

void Policy::Closure(const std::string& subject, std::set<std::string>* out) const {
  std::vector<std::string> stack{subject};
  while (!stack.empty()) {
    std::string s = std::move(stack.back());
    stack.pop_back();
    if (!out->insert(s).second) continue;  // seen: also ends cycles
    auto it = groups_.find(s);
    if (it == groups_.end()) continue;
    for (const std::string& role : it->second) stack.push_back(role);
  }
}

bool Policy::Enforce(std::string_view account, std::string_view resource, std::string_view action,
                     std::string_view object) const {
  if (account.empty()) return false;
  std::set<std::string> subjects;
  Closure(std::string(account), &subjects);
  if (!default_role_.empty()) Closure(default_role_, &subjects);
  bool allowed = false;
  for (const Rule& rule : rules_) {
    if (!subjects.contains(rule.subject)) continue;
    if (!GlobMatch(rule.resource, resource) || !GlobMatch(rule.action, action) ||
        !GlobMatch(rule.object, object)) {
      continue;
    }
    if (rule.effect == Effect::kDeny) return false;
    allowed = true;
  }
  return allowed;
}

std::vector<std::string> Policy::RolesOf(std::string_view account) const {
  std::set<std::string> subjects;
  Closure(std::string(account), &subjects);
  if (!default_role_.empty()) Closure(default_role_, &subjects);
  subjects.erase(std::string(account));
  return {subjects.begin(), subjects.end()};
}

}  // namespace argonaut::auth
