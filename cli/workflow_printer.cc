#include "cli/workflow_printer.h"

#include <algorithm>
#include <map>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace argonaut::cli {
namespace {

using nlohmann::json;

std::string Str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Obj(const json& obj, const char* key) {
  static const json* const kEmpty = new json(json::object());
  if (!obj.is_object()) return *kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : *kEmpty;
}

// Zero (InfinitePast) when absent or unparsable.
absl::Time ParseTime(const std::string& s) {
  absl::Time t;
  if (s.empty() || !absl::ParseTime(absl::RFC3339_full, s, &t, nullptr)) {
    return absl::InfinitePast();
  }
  return t;
}

size_t Runes(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string Plural(int64_t n, const char* unit) {
  return absl::StrCat(n, " ", unit, n == 1 ? "" : "s");
}

std::string Icon(const std::string& phase) {
  static const auto* m =
      new std::map<std::string, std::string>{{"Pending", "◷"}, {"Running", "●"}, {"Succeeded", "✔"},
                                             {"Skipped", "○"}, {"Failed", "✖"},  {"Error", "⚠"}};
  auto it = m->find(phase);
  return it == m->end() ? "" : it->second;
}

// The index of a loop child "name(3:value)" or -1, for ordering siblings started together.
int IndexOfName(const std::string& name) {
  const size_t open = name.rfind('(');
  if (open == std::string::npos) return -1;
  const size_t colon = name.find(':', open);
  const size_t end = colon == std::string::npos ? name.find(')', open) : colon;
  int i = -1;
  if (end == std::string::npos || !absl::SimpleAtoi(name.substr(open + 1, end - open - 1), &i)) {
    return -1;
  }
  return i;
}

enum class Kind { kBoundary, kGroup, kExecution, kNone };

Kind KindOf(const std::string& type) {
  if (type == "DAG" || type == "Steps") return Kind::kBoundary;
  if (type == "StepGroup" || type == "Retry") return Kind::kGroup;
  if (type == "Pod" || type == "Skipped" || type == "Suspend" || type == "HTTP" ||
      type == "Plugin" || type == "Container") {
    return Kind::kExecution;
  }
  return Kind::kNone;
}

struct RenderNode {
  std::string id;
  std::vector<RenderNode*> children;
};

class TreePrinter {
 public:
  TreePrinter(const json& wf, absl::Time now) : wf_(wf), now_(now) {
    name_ = Str(Obj(wf, "metadata"), "name");
    nodes_ = &Obj(Obj(wf, "status"), "nodes");
  }

  std::vector<std::string> Rows() {
    BuildTrees();
    std::vector<std::string> rows = {"STEP\tTEMPLATE\tPODNAME\tDURATION\tMESSAGE"};
    rows_ = &rows;
    auto main = roots_.find(name_);
    if (main == roots_.end()) return {};
    Render(main->second, 0, " ", " ");
    // The exit handler is a tree of its own, after a blank row.
    for (const auto& [id, root] : roots_) {
      if (Str(Node(id), "name") == name_ + ".onExit") {
        rows.push_back("\t\t\t\t");
        Render(root, 0, " ", " ");
      }
    }
    return rows;
  }

 private:
  const json& Node(const std::string& id) const {
    static const json* const kEmpty = new json(json::object());
    auto it = nodes_->find(id);
    return it != nodes_->end() && it->is_object() ? *it : *kEmpty;
  }

  // Started earlier first; ties by loop index, then by display name.
  bool Before(const RenderNode* a, const RenderNode* b) const {
    const absl::Time ta = ParseTime(Str(Node(a->id), "startedAt"));
    const absl::Time tb = ParseTime(Str(Node(b->id), "startedAt"));
    if (ta != tb) return ta < tb;
    const std::string na = Str(Node(a->id), "displayName");
    const std::string nb = Str(Node(b->id), "displayName");
    const int ia = IndexOfName(na), ib = IndexOfName(nb);
    if (ia >= 0 && ib >= 0) return ia < ib;
    return na < nb;
  }

  void BuildTrees() {
    // Children of steps groups and retries hang under them; everything else under the
    // steps/dag node named by its boundaryID.
    std::map<std::string, std::string> group_parent;
    for (const auto& [id, node] : nodes_->items()) {
      if (KindOf(Str(node, "type")) != Kind::kGroup) continue;
      const json& children = node.value("children", json::array());
      if (!children.is_array()) continue;
      for (const json& c : children) {
        if (c.is_string()) group_parent[c.get<std::string>()] = id;
      }
    }
    for (const auto& [id, node] : nodes_->items()) {
      if (KindOf(Str(node, "type")) == Kind::kNone) continue;
      RenderNode* r = Get(id);
      auto gp = group_parent.find(id);
      const std::string boundary = Str(node, "boundaryID");
      RenderNode* parent = nullptr;
      if (gp != group_parent.end()) {
        parent = Get(gp->second);
      } else if (!boundary.empty() && nodes_->contains(boundary)) {
        parent = Get(boundary);
      }
      if (parent == nullptr) {
        roots_[id] = r;
      } else {
        parent->children.push_back(r);
      }
    }
    for (auto& [id, r] : all_) {
      std::stable_sort(r->children.begin(), r->children.end(),
                       [this](const RenderNode* a, const RenderNode* b) { return Before(a, b); });
    }
  }

  RenderNode* Get(const std::string& id) {
    auto& slot = all_[id];
    if (!slot) slot = std::make_unique<RenderNode>(RenderNode{id, {}});
    return slot.get();
  }

  // (filtered, children get their own connector) as `argo get` hides some nodes.
  std::pair<bool, bool> Filter(const json& node) const {
    const std::string type = Str(node, "type");
    const json& children = node.value("children", json::array());
    if (type == "Retry" && children.is_array() && children.size() == 1) return {true, false};
    if (type == "StepGroup") return {true, true};
    if (type == "Skipped" && Str(node, "phase") == "Omitted") return {true, false};
    return {false, false};
  }

  void Render(const RenderNode* r, int depth, const std::string& node_prefix,
              const std::string& child_prefix) {
    if (depth > 512 || ++rendered_ > nodes_->size() + 1)
      return;  // a hostile status could nest without end
    const json& node = Node(r->id);
    auto [filtered, child_indent] = Filter(node);
    if (!filtered) PrintRow(r->id, node, node_prefix);
    const size_t max = r->children.empty() ? 0 : r->children.size() - 1;
    for (size_t i = 0; i < r->children.size(); ++i) {
      std::string part, sub;
      if (filtered && child_indent) {
        if (max == 0) {
          part = "──";
          sub = "  ";
        } else if (i == 0) {
          part = "┬─";
          sub = "│ ";
        } else if (i == max) {
          part = "└─";
          sub = "  ";
        } else {
          part = "├─";
          sub = "│ ";
        }
      } else if (!filtered) {
        part = i == max ? "└─" : "├─";
        sub = i == max ? "  " : "│ ";
      }
      std::string next_node, next_child;
      int next_depth = depth;
      if (!filtered) {
        ++next_depth;
        next_node = child_prefix + part;
        next_child = child_prefix + sub;
      } else {
        next_node = (i == 0 ? node_prefix : child_prefix) + part;
        next_child = child_prefix + sub;
      }
      Render(r->children[i], next_depth, next_node, next_child);
    }
  }

  void PrintRow(const std::string& id, const json& node, const std::string& prefix) {
    const std::string phase = Str(node, "phase");
    std::string icon = Icon(phase);
    if (Str(node, "type") == "Suspend" && phase == "Running") icon = "ǁ";
    const std::string label = absl::StrCat(prefix, icon, " ", Str(node, "displayName"));
    const json& ref = Obj(node, "templateRef");
    const std::string tmpl = !Str(ref, "name").empty()
                                 ? absl::StrCat(Str(ref, "name"), "/", Str(ref, "template"))
                                 : Str(node, "templateName");
    std::string pod, duration;
    if (Str(node, "type") == "Pod") {
      pod = PodNameOfNode(name_, id, node);
      const absl::Time start = ParseTime(Str(node, "startedAt"));
      absl::Time end = ParseTime(Str(node, "finishedAt"));
      if (end == absl::InfinitePast()) end = now_;
      if (start != absl::InfinitePast()) duration = ShortDuration(end - start);
    }
    rows_->push_back(
        absl::StrCat(label, "\t", tmpl, "\t", pod, "\t", duration, "\t", Str(node, "message")));
  }

  const json& wf_;
  absl::Time now_;
  std::string name_;
  const json* nodes_;
  std::map<std::string, std::unique_ptr<RenderNode>> all_;
  std::map<std::string, RenderNode*> roots_;
  std::vector<std::string>* rows_ = nullptr;
  // A status whose boundaryIDs form a cycle would otherwise render without end.
  size_t rendered_ = 0;
};

}  // namespace

std::string HumanDuration(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s <= 0) return "0 seconds";
  std::vector<std::string> parts;
  if (s >= 86400) parts.push_back(Plural(s / 86400, "day")), s %= 86400;
  if (s >= 3600) parts.push_back(Plural(s / 3600, "hour")), s %= 3600;
  if (s >= 60) parts.push_back(Plural(s / 60, "minute")), s %= 60;
  if (s > 0) parts.push_back(Plural(s, "second"));
  return absl::StrJoin(parts, " ");
}

std::string ShortDuration(absl::Duration d) {
  const int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m");
  if (s < 86400) return absl::StrCat(s / 3600, "h");
  return absl::StrCat(s / 86400, "d");
}

std::string HumanTimestamp(absl::Time t, absl::Time now) {
  const int64_t s = absl::ToInt64Seconds(now - t);
  std::string ago;
  if (s < 1) {
    ago = "now";
  } else if (s < 60) {
    ago = Plural(s, "second") + " ago";
  } else if (s < 3600) {
    ago = Plural(s / 60, "minute") + " ago";
  } else if (s < 86400) {
    ago = Plural(s / 3600, "hour") + " ago";
  } else {
    ago = Plural(s / 86400, "day") + " ago";
  }
  return absl::StrCat(absl::FormatTime("%a %b %d %H:%M:%S %z", t, absl::UTCTimeZone()), " (", ago,
                      ")");
}

std::string WorkflowStatusText(const json& wf) {
  std::string phase = Str(Obj(wf, "status"), "phase");
  if (phase.empty()) phase = "Pending";
  const json& spec = Obj(wf, "spec");
  const bool done = phase == "Succeeded" || phase == "Failed" || phase == "Error";
  if (!done && spec.value("suspend", false) == true) return phase + " (Suspended)";
  if (!done && !Str(spec, "shutdown").empty()) return phase + " (Terminating)";
  return phase;
}

std::string PodNameOfNode(const std::string& workflow, const std::string& node_id,
                          const json& node) {
  if (node_id == workflow) return workflow;
  const json& ref = Obj(node, "templateRef");
  const std::string tmpl =
      !Str(ref, "template").empty() ? Str(ref, "template") : Str(node, "templateName");
  const size_t dash = node_id.rfind('-');
  const std::string hash = dash == std::string::npos ? node_id : node_id.substr(dash + 1);
  std::string prefix = tmpl.empty() ? workflow : absl::StrCat(workflow, "-", tmpl);
  // Kubernetes names stop at 253 characters; Argo cuts the prefix to leave room for the hash.
  constexpr size_t kMaxPrefix = 253 - 10 - 1;
  if (prefix.size() > kMaxPrefix) prefix.resize(kMaxPrefix);
  return absl::StrCat(prefix, "-", hash);
}

std::string TabAlign(const std::vector<std::string>& lines, int padding) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> widths;
  for (const std::string& line : lines) {
    std::vector<std::string> c = absl::StrSplit(line, '\t');
    for (size_t i = 0; i + 1 < c.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, 0);
      widths[i] = std::max(widths[i], Runes(c[i]));
    }
    cells.push_back(std::move(c));
  }
  std::string out;
  for (const auto& c : cells) {
    for (size_t i = 0; i < c.size(); ++i) {
      out += c[i];
      if (i + 1 < c.size()) out.append(widths[i] + padding - Runes(c[i]), ' ');
    }
    out += "\n";
  }
  return out;
}

std::string FormatNodeTree(const json& wf, absl::Time now) {
  std::vector<std::string> rows = TreePrinter(wf, now).Rows();
  if (rows.empty()) return "";
  return TabAlign(rows, 2);
}

std::string FormatWorkflow(const json& wf, absl::Time now) {
  auto line = [](const std::string& label, const std::string& value) {
    return absl::StrFormat("%-20s %s\n", label, value);
  };
  const json& meta = Obj(wf, "metadata");
  const json& spec = Obj(wf, "spec");
  const json& status = Obj(wf, "status");
  std::string out;
  out += line("Name:", Str(meta, "name"));
  out += line("Namespace:", Str(meta, "namespace"));
  std::string sa = Str(spec, "serviceAccountName");
  if (sa.empty()) {
    sa = spec.contains("workflowTemplateRef") ? "unset"
                                              : "unset (will run with the default ServiceAccount)";
  }
  out += line("ServiceAccount:", sa);
  out += line("Status:", WorkflowStatusText(wf));
  if (!Str(status, "message").empty()) out += line("Message:", Str(status, "message"));
  const json& conditions = status.value("conditions", json::array());
  if (conditions.is_array() && !conditions.empty()) {
    out += line("Conditions:", "");
    for (const json& c : conditions) out += line(" " + Str(c, "type"), Str(c, "status"));
  }
  const absl::Time created = ParseTime(Str(meta, "creationTimestamp"));
  if (created != absl::InfinitePast()) out += line("Created:", HumanTimestamp(created, now));
  const absl::Time started = ParseTime(Str(status, "startedAt"));
  const absl::Time finished = ParseTime(Str(status, "finishedAt"));
  if (started != absl::InfinitePast()) out += line("Started:", HumanTimestamp(started, now));
  if (finished != absl::InfinitePast()) out += line("Finished:", HumanTimestamp(finished, now));
  if (started != absl::InfinitePast()) {
    out += line("Duration:",
                HumanDuration((finished == absl::InfinitePast() ? now : finished) - started));
  }
  out += line("Progress:", Str(status, "progress"));
  const json& params = Obj(spec, "arguments").value("parameters", json::array());
  if (params.is_array() && !params.empty()) {
    out += line("Parameters:", "");
    for (const json& p : params) {
      if (!p.is_object() || !p.contains("value")) continue;
      const json& v = p["value"];
      out += line("  " + Str(p, "name") + ":", v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  const json& outputs = Obj(status, "outputs").value("parameters", json::array());
  if (outputs.is_array() && !outputs.empty()) {
    out += line("Output Parameters:", "");
    for (const json& p : outputs) {
      if (!p.is_object() || !p.contains("value")) continue;
      const json& v = p["value"];
      out += line("  " + Str(p, "name") + ":", v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  const std::string tree = FormatNodeTree(wf, now);
  if (!tree.empty()) out += "\n" + tree;
  return out;
}

std::string FormatWorkflowList(const std::vector<json>& items, bool all_namespaces, bool wide,
                               absl::Time now) {
  std::vector<std::string> rows;
  std::string header = "NAME\tSTATUS\tAGE\tDURATION\tPRIORITY\tMESSAGE";
  if (wide) header = "NAME\tSTATUS\tAGE\tDURATION\tPRIORITY\tMESSAGE\tP/R/C\tPARAMETERS";
  if (all_namespaces) header = "NAMESPACE\t" + header;
  rows.push_back(header);
  for (const json& wf : items) {
    const json& meta = Obj(wf, "metadata");
    const json& status = Obj(wf, "status");
    const absl::Time created = ParseTime(Str(meta, "creationTimestamp"));
    const absl::Time started = ParseTime(Str(status, "startedAt"));
    absl::Time finished = ParseTime(Str(status, "finishedAt"));
    if (finished == absl::InfinitePast()) finished = now;
    const std::string age = created == absl::InfinitePast() ? "" : ShortDuration(now - created);
    const std::string duration =
        started == absl::InfinitePast() ? "0s" : ShortDuration(finished - started);
    const json& prio = Obj(wf, "spec").value("priority", json(0));
    std::string row =
        absl::StrCat(Str(meta, "name"), "\t", WorkflowStatusText(wf), "\t", age, "\t", duration,
                     "\t", prio.is_number() ? prio.dump() : "0", "\t", Str(status, "message"));
    if (wide) {
      int pending = 0, running = 0, completed = 0;
      for (const auto& [id, node] : Obj(status, "nodes").items()) {
        if (Str(node, "type") != "Pod") continue;
        const std::string p = Str(node, "phase");
        if (p == "Pending")
          ++pending;
        else if (p == "Running")
          ++running;
        else
          ++completed;
      }
      std::vector<std::string> params;
      const json& ps = Obj(Obj(wf, "spec"), "arguments").value("parameters", json::array());
      if (ps.is_array()) {
        for (const json& p : ps) {
          if (p.is_object() && p.contains("value")) {
            params.push_back(absl::StrCat(
                Str(p, "name"), "=",
                p["value"].is_string() ? p["value"].get<std::string>() : p["value"].dump()));
          }
        }
      }
      absl::StrAppend(&row, "\t", pending, "/", running, "/", completed, "\t",
                      absl::StrJoin(params, ","));
    }
    if (all_namespaces) row = Str(meta, "namespace") + "\t" + row;
    rows.push_back(row);
  }
  return TabAlign(rows, 3);
}

}  // namespace argonaut::cli
