// Compiling a DAG's task graph, and the process-wide cache of compiled graphs.
#include "services/workflow/engine/dag_graph.h"

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/workflow/engine/nodes.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

using nlohmann::json;

// Everything the compiled graph is built from, read in one pass over the task's fields. Both
// DagKey and CompileDag read tasks only through this, so the key covers exactly what the
// compiled graph depends on.
struct TaskFields {
  std::string_view name;
  const std::string* depends = nullptr;  // `depends`, when it is a string
  const json* dependencies = nullptr;    // `dependencies`, when it is a list
  bool continue_failed = false;
  bool continue_error = false;
  bool has_hooks = false;  // `hooks` or `onExit` present
  bool mentions_tasks = false;
};

TaskFields ReadTaskFields(const json& ts) {
  TaskFields f;
  if (!ts.is_object()) {
    // Depth 1: the tasks list itself is level 0, as when the whole list is searched.
    f.mentions_tasks = Mentions(ts, "tasks.", 1);
    return f;
  }
  for (auto it = ts.begin(); it != ts.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "name") {
      if (v.is_string()) f.name = v.get_ref<const std::string&>();
    } else if (k == "depends") {
      if (v.is_string()) f.depends = &v.get_ref<const std::string&>();
    } else if (k == "dependencies") {
      if (v.is_array()) f.dependencies = &v;
    } else if (k == "hooks" || k == "onExit") {
      f.has_hooks = true;
    }
    if (k == "continueOn") {
      f.continue_failed = StepContinuesOn(ts, "Failed");
      f.continue_error = StepContinuesOn(ts, "Error");
    }
    // Members sit at depth 2 below the tasks list.
    if (!f.mentions_tasks) f.mentions_tasks = Mentions(v, "tasks.", 2);
  }
  return f;
}

void AppendField(std::string* key, std::string_view s) {
  absl::StrAppend(key, s.size(), ":");
  key->append(s.data(), s.size());
}

}  // namespace

bool Mentions(const json& v, std::string_view needle, int depth) {
  if (depth > 64) return true;
  if (v.is_string()) {
    return v.get_ref<const std::string&>().find(needle) != std::string::npos;
  }
  if (v.is_object() || v.is_array()) {
    for (const json& e : v) {
      if (Mentions(e, needle, depth + 1)) return true;
    }
  }
  return false;
}

std::optional<uint32_t> CompiledDag::Find(std::string_view name) const {
  auto it = std::lower_bound(by_name.begin(), by_name.end(), name,
                             [&](uint32_t i, std::string_view n) { return tasks[i].name < n; });
  if (it == by_name.end() || tasks[*it].name != name) return std::nullopt;
  return *it;
}

expr::DependsDecision DependsNative(const CompiledDag& g, const DagTask& task,
                                    const std::vector<DepState>& states) {
  using expr::NodePhase;
  bool execute = true;
  for (uint32_t d : g.Deps(task)) {
    const DepState& st = states[d];
    if (!st.exists) return expr::DependsDecision{false, false};
    expr::TaskStatus ts;
    ts.phase = st.phase;
    ts.daemoned = st.daemoned;
    if (!expr::TaskFulfilled(ts)) return expr::DependsDecision{false, false};
    const NodePhase p = st.phase;
    const DagTask& dep = g.tasks[d];
    const bool holds = p == NodePhase::kSucceeded || p == NodePhase::kSkipped ||
                       (st.daemoned && p != NodePhase::kPending) ||
                       (dep.continue_error && p == NodePhase::kErrored) ||
                       (dep.continue_failed && p == NodePhase::kFailed);
    execute = execute && holds;
  }
  return expr::DependsDecision{true, execute};
}

// Everything CompileDag reads goes into the key, and nothing else.
std::string DagKey(const json& tasks) {
  std::string key;
  key.reserve(tasks.size() * 32);
  absl::StrAppend(&key, tasks.size(), "|");
  for (const json& ts : tasks) {
    const TaskFields f = ReadTaskFields(ts);
    AppendField(&key, f.name);
    if (f.depends != nullptr) {
      key.push_back('d');
      AppendField(&key, *f.depends);
    } else if (f.dependencies != nullptr) {
      key.push_back('l');
      for (const json& e : *f.dependencies) {
        if (e.is_string()) AppendField(&key, e.get_ref<const std::string&>());
      }
      key.push_back(';');
    } else {
      key.push_back('n');
    }
    key.push_back(static_cast<char>('0' + (f.continue_failed ? 1 : 0) + (f.continue_error ? 2 : 0) +
                                    (f.has_hooks ? 4 : 0) + (f.mentions_tasks ? 8 : 0)));
  }
  return key;
}

CompiledDag CompileDag(const json& tasks) {
  CompiledDag g;
  std::map<std::string, uint32_t, std::less<>> index;
  std::vector<TaskFields> fields;
  fields.reserve(tasks.size());
  g.tasks.reserve(tasks.size());
  for (const json& ts : tasks) {
    fields.push_back(ReadTaskFields(ts));
    const TaskFields& f = fields.back();
    DagTask task;
    task.name = std::string(f.name);
    if (task.name.empty() || index.count(task.name)) {
      g.error = absl::StrCat("dag.tasks: ", task.name.empty()
                                                ? "a task has no name"
                                                : "duplicate task name \"" + task.name + "\"");
      g.tasks.clear();
      return g;
    }
    task.continue_failed = f.continue_failed;
    task.continue_error = f.continue_error;
    task.has_hooks = f.has_hooks;
    if (f.mentions_tasks) g.refs_tasks = true;
    index[task.name] = static_cast<uint32_t>(g.tasks.size());
    g.tasks.push_back(std::move(task));
  }
  for (size_t i = 0; i < g.tasks.size(); ++i) {
    DagTask& task = g.tasks[i];
    const TaskFields& f = fields[i];
    task.deps_begin = static_cast<uint32_t>(g.deps.size());
    task.deps_end = task.deps_begin;
    std::string src;
    std::vector<std::string> listed;  // a `dependencies` list, deduplicated in order
    bool legacy = false;
    if (f.depends != nullptr) {
      src = *f.depends;
    } else if (f.dependencies != nullptr) {
      legacy = true;
      std::vector<std::string> deps;
      for (const json& e : *f.dependencies) {
        if (!e.is_string()) continue;
        deps.push_back(e.get<std::string>());
        if (std::find(listed.begin(), listed.end(), deps.back()) == listed.end()) {
          listed.push_back(deps.back());
        }
      }
      src = expr::DependenciesToDepends(deps, [&](std::string_view dep) {
        expr::ContinueOn c;
        auto it = index.find(dep);
        if (it != index.end()) {
          c.failed = g.tasks[it->second].continue_failed;
          c.error = g.tasks[it->second].continue_error;
        }
        return c;
      });
    }
    if (src.empty()) continue;
    task.has_condition = true;
    absl::StatusOr<expr::DependsProgram> prog = expr::DependsProgram::Compile(src);
    if (!prog.ok()) {
      task.error = static_cast<int32_t>(g.errors.size());
      g.errors.push_back(
          absl::StrCat("dag.tasks.", task.name, ".depends: ", prog.status().message()));
      continue;
    }
    for (const std::string& d : prog->Tasks()) {
      auto it = index.find(d);
      if (it == index.end()) {
        task.error = static_cast<int32_t>(g.errors.size());
        g.errors.push_back(
            absl::StrCat("dag.tasks.", task.name, ".depends: unknown task \"", d, "\""));
        break;
      }
      g.deps.push_back(it->second);
      ++task.deps_end;
    }
    // A plain list whose expression names exactly its entries is decided natively; anything
    // else (a `depends` expression, an entry the parser read differently) keeps its program.
    if (task.error < 0 && !(legacy && prog->Tasks() == listed)) {
      task.program = static_cast<int32_t>(g.programs.size());
      g.programs.push_back(std::move(*prog));
    }
  }
  // Topological order (Kahn); a cycle is a spec error.
  const size_t n = g.tasks.size();
  std::vector<uint32_t> indeg(n, 0);
  std::vector<std::vector<uint32_t>> dependents(n);
  for (uint32_t t = 0; t < n; ++t) {
    for (uint32_t d : g.Deps(g.tasks[t])) {
      ++indeg[t];
      dependents[d].push_back(t);
    }
  }
  g.order.reserve(n);
  std::deque<uint32_t> ready;
  for (uint32_t t = 0; t < n; ++t) {
    if (indeg[t] == 0) ready.push_back(t);
  }
  while (!ready.empty()) {
    const uint32_t t = ready.front();
    ready.pop_front();
    g.order.push_back(t);
    for (uint32_t j : dependents[t]) {
      if (--indeg[j] == 0) ready.push_back(j);
    }
  }
  if (g.order.size() != n) {
    g.error = "dag.tasks: dependency cycle";
    return g;
  }
  for (uint32_t t = 0; t < n; ++t) g.tasks[t].sink = dependents[t].empty();
  g.by_name.resize(n);
  for (uint32_t t = 0; t < n; ++t) g.by_name[t] = t;
  std::sort(g.by_name.begin(), g.by_name.end(),
            [&](uint32_t a, uint32_t b) { return g.tasks[a].name < g.tasks[b].name; });
  g.deps.shrink_to_fit();
  return g;
}

DagCache::DagCache(size_t max_entries, size_t max_tasks)
    : max_entries_(max_entries), max_tasks_(max_tasks) {}

std::shared_ptr<const CompiledDag> DagCache::Get(const json& tasks) {
  std::string key = DagKey(tasks);
  {
    absl::MutexLock lock(&mu_);
    auto it = by_key_.find(std::string_view(key));
    if (it != by_key_.end()) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->graph;
    }
    ++misses_;
  }
  // Compiled outside the lock: other workers go on meanwhile; two compiling the same graph at
  // once both get a correct one and the first to finish is kept.
  auto compiled = std::make_shared<CompiledDag>(CompileDag(tasks));
  compiled->key = std::move(key);
  std::shared_ptr<const CompiledDag> graph = std::move(compiled);
  const size_t size = graph->tasks.size();
  if (size > max_tasks_ || max_entries_ == 0) return graph;
  absl::MutexLock lock(&mu_);
  if (auto it = by_key_.find(std::string_view(graph->key)); it != by_key_.end()) {
    return it->second->graph;
  }
  lru_.push_front(Entry{graph});
  by_key_.emplace(std::string_view(graph->key), lru_.begin());
  tasks_ += size;
  while (lru_.size() > max_entries_ || tasks_ > max_tasks_) {
    const Entry& last = lru_.back();
    tasks_ -= last.graph->tasks.size();
    by_key_.erase(std::string_view(last.graph->key));
    lru_.pop_back();
  }
  return graph;
}

void DagCache::Forget(const CompiledDag& graph) {
  absl::MutexLock lock(&mu_);
  auto it = by_key_.find(std::string_view(graph.key));
  if (it == by_key_.end() || it->second->graph.get() != &graph) return;
  tasks_ -= graph.tasks.size();
  const auto entry = it->second;
  by_key_.erase(it);
  lru_.erase(entry);
}

DagCache::Stats DagCache::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{lru_.size(), tasks_, hits_, misses_};
}

DagCache& DagCache::Global() {
  static DagCache* cache = new DagCache(256, 200000);
  return *cache;
}

}  // namespace argonaut::workflow::engine::internal
