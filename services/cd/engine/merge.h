// The live object kubectl apply would leave behind: a 3-way merge of the
// last-applied configuration (orig), the desired configuration (config) and
// the live object, as kubectl's patch does. Internal to the diff.
#pragma once

#include "nlohmann/json.hpp"

namespace argonaut::cd::engine {

// Fields in `orig` but not in `config` are removed from `live`; fields in
// `config` are set on `live`, objects merged recursively. Lists are replaced
// by config's (JSON merge, as for unknown types) unless `strategic` and the
// list is one strategic merge patches by key (containers/env/volumes by name,
// ports by containerPort or port, volumeMounts by mountPath, ...): then items
// are matched by key and merged, live-only items never in orig survive.
// `orig` may be null (nothing to remove).
nlohmann::json ThreeWayMerge(const nlohmann::json& orig, const nlohmann::json& config,
                             const nlohmann::json& live, bool strategic);

}  // namespace argonaut::cd::engine
