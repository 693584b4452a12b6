// Resource tracking (Argo CD's "annotation+label" method): what marks an object
// as belonging to an Application.
#pragma once

#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "services/cd/engine/resource_key.h"

namespace argonaut::cd::engine {

inline constexpr char kInstanceLabel[] = "app.kubernetes.io/instance";
inline constexpr char kTrackingAnnotation[] = "argocd.argoproj.io/tracking-id";

// "<app>:<group>/<kind>:<namespace>/<name>" (group empty for core kinds).
std::string TrackingId(std::string_view app_name, const ResourceKey& key);

// A copy of `manifest` with the namespace defaulted to `dest_ns` for namespaced
// kinds (a cluster-scoped kind keeps none) and the tracking label and
// annotation set for `app_name`.
nlohmann::json PrepareTarget(const nlohmann::json& manifest, std::string_view app_name,
                             std::string_view dest_ns);

// Whether a live object belongs to `app_name`: its tracking annotation names
// the app and the object itself (a copy made by another tool points elsewhere
// and does not count), or, without the annotation, its instance label equals
// the app name.
bool BelongsTo(const nlohmann::json& live, std::string_view app_name);

}  // namespace argonaut::cd::engine
