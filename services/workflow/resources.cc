#include "services/workflow/resources.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/base/strings.h"
#include "lib/cluster/api_cluster.h"

namespace argonaut::workflow {
namespace {

using nlohmann::json;

// Splits on commas outside parentheses: "a in (x,y),b=1" -> two requirements.
std::vector<std::string> SplitRequirements(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(cur);
  return out;
}

// The value at a dotted path with optional [n] indexes; nullptr if absent.
const json* Lookup(const json& obj, std::string_view path) {
  const json* cur = &obj;
  for (absl::string_view part : absl::StrSplit(AbslView(path), '.')) {
    std::string key(part);
    std::vector<size_t> indexes;
    while (!key.empty() && key.back() == ']') {
      const size_t open = key.rfind('[');
      if (open == std::string::npos) return nullptr;
      size_t idx = 0;
      if (!absl::SimpleAtoi(key.substr(open + 1, key.size() - open - 2), &idx)) return nullptr;
      indexes.insert(indexes.begin(), idx);
      key.resize(open);
    }
    if (!key.empty()) {
      if (!cur->is_object() || !cur->contains(key)) return nullptr;
      cur = &(*cur)[key];
    }
    for (size_t i : indexes) {
      if (!cur->is_array() || i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    }
  }
  return cur;
}

std::string Text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

bool Equal(const json& v, const std::string& want) {
  double a = 0, b = 0;
  if (v.is_number() && absl::SimpleAtod(want, &b)) return v.get<double>() == b;
  if (v.is_string() && absl::SimpleAtod(v.get<std::string>(), &a) && absl::SimpleAtod(want, &b)) {
    return a == b;
  }
  return Text(v) == want;
}

}  // namespace

absl::StatusOr<bool> EvaluateResourceCondition(std::string_view condition, const json& object) {
  for (std::string req : SplitRequirements(condition)) {
    std::string r(absl::StripAsciiWhitespace(req));
    if (r.empty()) continue;
    auto bad = [&] {
      return absl::InvalidArgumentError(
          absl::StrCat("condition requirement \"", r, "\": expected `path op value`"));
    };
    // Set-based: "path in (a, b)", "path notin (a, b)".
    for (const char* op : {" notin ", " in "}) {
      const size_t at = r.find(op);
      if (at == std::string::npos) continue;
      const std::string path(absl::StripAsciiWhitespace(r.substr(0, at)));
      std::string set(absl::StripAsciiWhitespace(r.substr(at + strlen(op))));
      if (set.size() < 2 || set.front() != '(' || set.back() != ')') return bad();
      bool found = false;
      const json* v = Lookup(object, path);
      for (absl::string_view item : absl::StrSplit(set.substr(1, set.size() - 2), ',')) {
        if (v != nullptr && Equal(*v, std::string(absl::StripAsciiWhitespace(item)))) found = true;
      }
      const bool notin = std::string(op) == " notin ";
      if (notin ? found : !found) return false;
      goto next;
    }
    for (const char* op : {"==", "!=", ">=", "<=", "=", ">", "<"}) {
      const size_t at = r.find(op);
      if (at == std::string::npos) continue;
      const std::string path(absl::StripAsciiWhitespace(r.substr(0, at)));
      const std::string want(absl::StripAsciiWhitespace(r.substr(at + strlen(op))));
      if (path.empty()) return bad();
      const json* v = Lookup(object, path);
      const std::string o = op;
      if (o == "!=") {
        if (v != nullptr && Equal(*v, want)) return false;
      } else if (o == "==" || o == "=") {
        if (v == nullptr || !Equal(*v, want)) return false;
      } else {
        double a = 0, b = 0;
        if (v == nullptr || !absl::SimpleAtod(Text(*v), &a) || !absl::SimpleAtod(want, &b)) {
          return false;
        }
        if ((o == ">" && !(a > b)) || (o == "<" && !(a < b)) || (o == ">=" && !(a >= b)) ||
            (o == "<=" && !(a <= b))) {
          return false;
        }
      }
      goto next;
    }
    // Existence: "path" or "!path".
    if (r[0] == '!') {
      if (Lookup(object, std::string_view(r).substr(1)) != nullptr) return false;
    } else if (r.find(' ') != std::string::npos) {
      return bad();
    } else if (Lookup(object, r) == nullptr) {
      return false;
    }
  next:;
  }
  return true;
}

engine::ResourceState ResourceRunner::Evaluate(Started& s) {
  if (s.state.phase == "Succeeded" || s.state.phase == "Failed") return s.state;
  if (s.action.is_object() && s.action.contains("action") && s.action["action"] == "delete") {
    return s.state;
  }
  absl::StatusOr<json> obj = cluster_->Get(s.kind, s.ns, s.name);
  if (!obj.ok()) {
    s.state = {"Failed", absl::StrCat(s.kind, " ", s.name, ": ", obj.status().message()), json()};
    return s.state;
  }
  s.state.object = *obj;
  for (const char* field : {"failureCondition", "successCondition"}) {
    const std::string cond =
        s.action.is_object() && s.action.contains(field) && s.action[field].is_string()
            ? s.action[field].get<std::string>()
            : "";
    if (cond.empty()) continue;
    absl::StatusOr<bool> holds = EvaluateResourceCondition(cond, *obj);
    if (!holds.ok()) {
      s.state.phase = "Failed";
      s.state.message = absl::StrCat(field, ": ", holds.status().message());
      return s.state;
    }
    if (*holds && std::string(field) == "failureCondition") {
      s.state.phase = "Failed";
      s.state.message = absl::StrCat("failure condition '", cond, "' met");
      return s.state;
    }
    if (std::string(field) == "successCondition") {
      s.state.phase = *holds ? "Succeeded" : "Running";
      return s.state;
    }
  }
  s.state.phase = "Succeeded";  // no success condition: done once the action is
  return s.state;
}

std::map<std::string, engine::ResourceState> ResourceRunner::Observe(const std::string& wf_key) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, engine::ResourceState> out;
  auto it = started_.find(wf_key);
  if (it == started_.end()) return out;
  for (auto& [id, s] : it->second) out[id] = Evaluate(s);
  return out;
}

bool ResourceRunner::Run(const std::string& wf_key, const std::string& ns,
                         const std::map<std::string, json>& actions) {
  absl::MutexLock lock(&mu_);
  bool waiting = false;
  auto& started = started_[wf_key];
  for (const auto& [id, action] : actions) {
    if (started.count(id) > 0) {
      waiting = waiting || started[id].state.phase.empty() || started[id].state.phase == "Running";
      continue;
    }
    Started s;
    s.action = action;
    json manifest = action.is_object() && action.contains("manifest") ? action["manifest"] : json();
    const std::string verb =
        action.is_object() && action.contains("action") && action["action"].is_string()
            ? action["action"].get<std::string>()
            : "";
    if (!manifest.is_object() ||
        (manifest.contains("metadata") && !manifest["metadata"].is_object())) {
      // delete-with-flags and patch forms without an object are kubectl
      // features the local cluster does not offer.
      s.state = {
          "Failed",
          absl::StrCat("resource action \"", verb, "\": the local cluster needs a manifest object"),
          json()};
      started[id] = std::move(s);
      continue;
    }
    if (!manifest.contains("metadata")) manifest["metadata"] = json::object();
    json& meta = manifest["metadata"];
    if (!meta.contains("namespace") || !meta["namespace"].is_string() ||
        meta["namespace"].get<std::string>().empty()) {
      meta["namespace"] = ns;
    }
    s.kind = cluster::KindOf(manifest);
    s.ns = cluster::NamespaceOf(manifest);
    s.name = cluster::NameOf(manifest);
    absl::StatusOr<json> result = absl::UnimplementedError(
        absl::StrCat("resource action \"", verb, "\" is not supported locally"));
    if (verb == "create") {
      result = cluster_->Create(manifest);
      // After a controller restart the object may exist already: ours.
      if (absl::IsAlreadyExists(result.status()) && !s.name.empty()) {
        result = cluster_->Get(s.kind, s.ns, s.name);
      }
    } else if (verb == "apply" || verb == "replace") {
      result = cluster_->Apply(manifest);
    } else if (verb == "get") {
      result = cluster_->Get(s.kind, s.ns, s.name);
    } else if (verb == "delete") {
      absl::Status d = cluster_->Delete(s.kind, s.ns, s.name);
      result = d.ok() || absl::IsNotFound(d) ? absl::StatusOr<json>(json()) : d;
      if (result.ok()) s.state.phase = "Succeeded";
    }
    if (!result.ok()) {
      s.state = {"Failed", std::string(result.status().message()), json()};
    } else if (result->is_object()) {
      s.name = cluster::NameOf(*result);  // generateName resolved
    }
    if (s.state.phase.empty()) {
      Evaluate(s);
      waiting = waiting || s.state.phase == "Running";
    }
    started[id] = std::move(s);
  }
  return waiting;
}

void ResourceRunner::Forget(const std::string& wf_key) {
  absl::MutexLock lock(&mu_);
  started_.erase(wf_key);
}

}  // namespace argonaut::workflow
