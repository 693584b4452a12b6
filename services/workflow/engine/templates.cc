// Template lookup: by name in the workflow (or the WorkflowTemplate a templateRef led to),
// templateRef, inline templates, and templateDefaults (Argo templateresolution/context.go).
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/workflow/engine/operator.h"

namespace argonaut::workflow::engine::internal {
namespace {

constexpr const char* kTypeKeys[] = {"container", "script",       "steps", "dag",  "resource",
                                     "suspend",   "containerSet", "data",  "http", "plugin"};

bool IsTypeKey(const std::string& k) {
  for (const char* t : kTypeKeys) {
    if (k == t) return true;
  }
  return false;
}

// Template fields win; objects merge recursively. A defaulted type block is only merged into a
// template of that type, so defaults for containers do not turn a steps template into a pod.
void MergeDefaults(json& tmpl, const json& defaults, int depth) {
  if (!defaults.is_object() || depth > 32) return;
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    if (depth == 0 && (it.key() == "name" || (IsTypeKey(it.key()) && !tmpl.contains(it.key())))) {
      continue;
    }
    auto cur = tmpl.find(it.key());
    if (cur == tmpl.end() || cur->is_null()) {
      tmpl[it.key()] = it.value();
    } else if (cur->is_object() && it.value().is_object()) {
      MergeDefaults(*cur, it.value(), depth + 1);
    }
  }
}

const json* FindInSpec(const json& spec, const std::string& name) {
  auto it = spec.find("templates");
  if (it == spec.end() || !it->is_array()) return nullptr;
  for (const json& t : *it) {
    if (t.is_object() && Str(t, "name") == name) return &t;
  }
  return nullptr;
}

// Takes the whole (Cluster)WorkflowTemplate: a json::value("spec", ...) copy would be a temporary
// and the returned pointer would dangle.
const json* FindTemplate(const json& obj, const std::string& name) {
  auto spec = obj.find("spec");
  if (spec == obj.end() || !spec->is_object()) return nullptr;
  return FindInSpec(*spec, name);
}

}  // namespace

absl::StatusOr<Resolved> Operator::Resolve(const json& holder, const TmplCtx& ctx) {
  Resolved r;
  r.ctx = ctx;
  const json* found = nullptr;
  json owned;
  auto load = [&](const std::string& kind, const std::string& name) -> absl::StatusOr<const json*> {
    const std::string key = absl::StrCat(kind, "/", name);
    auto it = template_cache_.find(key);
    if (it == template_cache_.end()) {
      std::optional<json> obj;
      if (in_.lookup) obj = in_.lookup(kind, name);
      it = template_cache_.emplace(key, obj.has_value() ? *obj : json(nullptr)).first;
    }
    if (it->second.is_null()) {
      return absl::NotFoundError(absl::StrCat(kind, " \"", name, "\" not found"));
    }
    return &it->second;
  };
  if (holder.contains("templateRef") && holder["templateRef"].is_object()) {
    const json& ref = holder["templateRef"];
    const std::string kind =
        ref.value("clusterScope", false) ? "ClusterWorkflowTemplate" : "WorkflowTemplate";
    const std::string name = Str(ref, "name");
    const std::string tname = Str(ref, "template");
    if (name.empty() || tname.empty()) {
      return absl::InvalidArgumentError("templateRef: name and template are required");
    }
    absl::StatusOr<const json*> obj = load(kind, name);
    if (!obj.ok())
      return absl::NotFoundError(absl::StrCat("templateRef: ", obj.status().message()));
    found = FindTemplate(**obj, tname);
    if (found == nullptr) {
      return absl::NotFoundError(absl::StrCat("templateRef: template \"", tname, "\" not found in ",
                                              kind, " \"", name, "\""));
    }
    r.ctx = TmplCtx{kind, name};
    r.template_name = tname;
    r.template_ref = ref;
  } else if (holder.contains("inline") && holder["inline"].is_object()) {
    owned = holder["inline"];
    found = &owned;
  } else {
    const std::string name = Str(holder, "template");
    if (name.empty()) return absl::InvalidArgumentError("template name is empty");
    if (ctx.kind.empty()) {
      found = FindInSpec(*spec_, name);
    } else {
      absl::StatusOr<const json*> obj = load(ctx.kind, ctx.name);
      if (!obj.ok()) return obj.status();
      found = FindTemplate(**obj, name);
    }
    if (found == nullptr) {
      if (ctx.kind.empty())
        return absl::NotFoundError(absl::StrCat("template \"", name, "\" not found"));
      return absl::NotFoundError(
          absl::StrCat("template \"", name, "\" not found in ", ctx.kind, " \"", ctx.name, "\""));
    }
    r.template_name = name;
  }
  if (!found->is_object()) return absl::InvalidArgumentError("template is not an object");
  // The steps/dag body stays where it is (see Resolved::body); the rest is copied. Steps win
  // over dag as in the engine's type order.
  r.body_key = found->contains("steps") ? "steps" : found->contains("dag") ? "dag" : nullptr;
  r.tmpl = json::object();
  for (auto it = found->begin(); it != found->end(); ++it) {
    if (r.body_key != nullptr && it.key() == r.body_key) {
      r.body = &it.value();
    } else {
      r.tmpl[it.key()] = it.value();
    }
  }
  if (found == &owned) {
    // `owned` dies with this call: the body moves with the result.
    r.owned_body = std::make_shared<const json>(r.body != nullptr ? *r.body : json());
    if (r.body != nullptr) r.body = r.owned_body.get();
  }
  auto defaults = spec_->find("templateDefaults");
  if (defaults != spec_->end()) {
    if (r.body_key != nullptr && defaults->is_object() && defaults->contains(r.body_key)) {
      // Defaults for the body itself (rare) need a copy to merge into.
      json merged = json::object({{r.body_key, *r.body}});
      MergeDefaults(r.tmpl, *defaults, 0);
      MergeDefaults(merged, json::object({{r.body_key, (*defaults)[r.body_key]}}), 0);
      r.owned_body = std::make_shared<const json>(std::move(merged[r.body_key]));
      r.body = r.owned_body.get();
    } else {
      MergeDefaults(r.tmpl, *defaults, 0);
    }
  }
  if (r.template_name.empty()) r.template_name = Str(r.tmpl, "name");
  return r;
}

}  // namespace argonaut::workflow::engine::internal
