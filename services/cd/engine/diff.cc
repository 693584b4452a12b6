#include "services/cd/engine/diff.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/yaml.h"
#include "services/cd/engine/merge.h"
#include "services/cd/engine/resource_key.h"

namespace argonaut::cd::engine {
namespace {

using json = nlohmann::json;

json LastApplied(const json& live) {
  if (!live.is_object() || !live.contains("metadata")) return nullptr;
  const json& md = live["metadata"];
  if (!md.is_object() || !md.contains("annotations") || !md["annotations"].is_object())
    return nullptr;
  const json& ann = md["annotations"];
  auto it = ann.find(kLastAppliedAnnotation);
  if (it == ann.end() || !it->is_string()) return nullptr;
  json orig = json::parse(it->get<std::string>(), nullptr, /*allow_exceptions=*/false);
  return orig.is_object() ? orig : json(nullptr);
}

// Kubernetes' own API groups get strategic merge (kubectl knows their
// schemas), and so do Argo's kinds, whose pod templates Argo CD diffs as core
// PodSpecs; other CRDs get JSON merge.
bool Strategic(const std::string& group) {
  return group.find('.') == std::string::npos || group == "argoproj.io" ||
         (group.size() > 7 && group.compare(group.size() - 7, 7, ".k8s.io") == 0);
}

// Argo CD never shows Secret values: equal values become one run of "+",
// differing values runs of different lengths, so a change still shows.
void MaskSecret(json& live, json& target) {
  auto data = [](json& obj) -> json* {
    if (!obj.is_object() || !obj.contains("data") || !obj["data"].is_object()) return nullptr;
    return &obj["data"];
  };
  json* l = data(live);
  json* t = data(target);
  if (l != nullptr) {
    for (auto& [k, v] : l->items()) {
      bool same = t != nullptr && t->contains(k) && (*t)[k] == v;
      if (t != nullptr && t->contains(k)) (*t)[k] = std::string(same ? 8 : 9, '+');
      v = std::string(8, '+');
    }
  }
  if (t != nullptr)
    for (auto& [k, v] : t->items())
      if (l == nullptr || !l->contains(k)) v = std::string(8, '+');
}

std::string YamlOf(const json& obj) { return obj.is_null() ? "" : manifest::ToYaml(obj); }

}  // namespace

json WithLastApplied(const json& target) {
  json out = target;
  if (!out.is_object()) return out;
  // Recorded as `kubectl apply` records it: what was sent, without status,
  // server-set metadata or the annotation itself.
  json applied = target;
  applied.erase("status");
  if (applied.contains("metadata") && applied["metadata"].is_object()) {
    json& md = applied["metadata"];
    for (const char* k : {"resourceVersion", "uid", "creationTimestamp", "generation",
                          "managedFields", "deletionTimestamp"}) {
      md.erase(k);
    }
    if (md.contains("annotations") && md["annotations"].is_object()) {
      md["annotations"].erase(kLastAppliedAnnotation);
      if (md["annotations"].empty()) md.erase("annotations");
    }
  }
  if (!out.contains("metadata") || !out["metadata"].is_object()) out["metadata"] = json::object();
  if (!out["metadata"].contains("annotations") || !out["metadata"]["annotations"].is_object())
    out["metadata"]["annotations"] = json::object();
  out["metadata"]["annotations"][kLastAppliedAnnotation] =
      applied.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

absl::StatusOr<ResourceDiff> Diff(const json* target, const json* live,
                                  const json& ignore_differences) {
  if (target == nullptr && live == nullptr)
    return absl::InvalidArgumentError("diff: neither a target nor a live object");
  ResourceKey key = KeyOf(target != nullptr ? *target : *live);
  ASSIGN_OR_RETURN(IgnoreRules rules, IgnoreRules::For(ignore_differences, key));
  json config, current, orig;
  if (live != nullptr) {
    rules.CollectManagedFields(*live);
    orig = LastApplied(*live);
    current = *live;
    NormalizeObject(current);
    rules.Apply(current);
  }
  if (target != nullptr) {
    config = *target;
    NormalizeObject(config);
    rules.Apply(config);
  }
  if (!orig.is_null()) {
    NormalizeObject(orig);
    rules.Apply(orig);
  }
  ResourceDiff d;
  if (target == nullptr) {
    d.modified = true;
    d.normalized_live = std::move(current);
  } else if (live == nullptr) {
    d.modified = true;
    d.predicted_live = std::move(config);
  } else {
    // Without last-applied, kubectl's 2-way: the target is its own original.
    const json& original = orig.is_null() ? config : orig;
    d.predicted_live = ThreeWayMerge(original, config, current, Strategic(key.group));
    d.normalized_live = std::move(current);
    d.modified = d.predicted_live != d.normalized_live;
  }
  if (key.group.empty() && key.kind == "Secret") MaskSecret(d.normalized_live, d.predicted_live);
  if (d.modified) d.text = UnifiedDiff(YamlOf(d.normalized_live), YamlOf(d.predicted_live));
  return d;
}

json HideSecretValues(const json& object) {
  if (!object.is_object() || object.value("kind", json()) != "Secret" ||
      object.value("apiVersion", json()) != "v1") {
    return object;
  }
  json out = object;
  for (const char* field : {"data", "stringData"}) {
    if (!out.contains(field) || !out[field].is_object()) continue;
    for (auto& [k, v] : out[field].items()) v = std::string(8, '+');
  }
  if (out.contains("metadata") && out["metadata"].is_object() &&
      out["metadata"].contains("annotations") && out["metadata"]["annotations"].is_object()) {
    out["metadata"]["annotations"].erase(kLastAppliedAnnotation);
  }
  return out;
}

std::string UnifiedDiff(const std::string& before, const std::string& after, int context) {
  auto split = [](const std::string& s) {
    std::vector<std::string_view> lines;
    if (s.empty()) return lines;
    std::string_view text(s);
    if (text.back() == '\n') text.remove_suffix(1);
    for (absl::string_view l : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n'))
      lines.emplace_back(l.data(), l.size());
    return lines;
  };
  std::vector<std::string_view> a = split(before), b = split(after);
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  size_t n = a.size() - prefix - suffix, m = b.size() - prefix - suffix;
  // Edit script: ' ' keep, '-' only in a, '+' only in b (with line indexes).
  struct Op {
    char op;
    size_t ai, bi;
  };
  std::vector<Op> ops;
  for (size_t i = 0; i < prefix; ++i) ops.push_back({' ', i, i});
  if (n > 0 && m > 0 && n * m <= size_t{4'000'000}) {
    std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
    for (size_t i = n; i-- > 0;)
      for (size_t j = m; j-- > 0;)
        lcs[i][j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1
                                                   : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
        ops.push_back({' ', prefix + i++, prefix + j++});
      } else if (j < m && (i == n || lcs[i][j + 1] > lcs[i + 1][j])) {
        ops.push_back({'+', prefix + i, prefix + j++});
      } else {
        ops.push_back({'-', prefix + i++, prefix + j});
      }
    }
  } else {
    for (size_t i = 0; i < n; ++i) ops.push_back({'-', prefix + i, prefix});
    for (size_t j = 0; j < m; ++j) ops.push_back({'+', prefix + n, prefix + j});
  }
  for (size_t i = 0; i < suffix; ++i) ops.push_back({' ', prefix + n + i, prefix + m + i});

  std::string out;
  size_t k = 0;
  while (k < ops.size()) {
    while (k < ops.size() && ops[k].op == ' ') ++k;
    if (k == ops.size()) break;
    size_t start = k >= static_cast<size_t>(context) ? k - context : 0;
    // Extend the hunk while the next change is within 2*context kept lines.
    size_t end = k;
    while (end < ops.size()) {
      if (ops[end].op != ' ') {
        ++end;
        continue;
      }
      size_t run = end;
      while (run < ops.size() && ops[run].op == ' ') ++run;
      if (run == ops.size() || run - end > static_cast<size_t>(2 * context)) {
        end = std::min(ops.size(), end + context);
        break;
      }
      end = run;
    }
    size_t a_count = 0, b_count = 0;
    for (size_t x = start; x < end; ++x) {
      if (ops[x].op != '+') ++a_count;
      if (ops[x].op != '-') ++b_count;
    }
    absl::StrAppend(&out, "@@ -", ops[start].ai + (a_count > 0 ? 1 : 0), ",", a_count, " +",
                    ops[start].bi + (b_count > 0 ? 1 : 0), ",", b_count, " @@\n");
    for (size_t x = start; x < end; ++x) {
      std::string_view line = ops[x].op == '+' ? b[ops[x].bi] : a[ops[x].ai];
      out.push_back(ops[x].op);
      out.append(line.data(), line.size());
      out.push_back('\n');
    }
    k = end;
  }
  return out;
}

}  // namespace argonaut::cd::engine
