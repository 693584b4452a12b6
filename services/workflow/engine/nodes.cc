#include "services/workflow/engine/nodes.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "lib/base/strings.h"

namespace argonaut::workflow::engine {

uint32_t Fnv32a(std::string_view s, uint32_t seed) {
  uint32_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

std::string NodeId(std::string_view wf_name, std::string_view node_name) {
  if (wf_name == node_name) return std::string(wf_name);
  return absl::StrCat(AbslView(wf_name), "-", Fnv32a(node_name));
}

std::string PodName(std::string_view wf_name, std::string_view node_name,
                    std::string_view template_name) {
  if (wf_name == node_name) return std::string(wf_name);
  constexpr size_t kMaxName = 253;
  constexpr size_t kHashLen = 10;
  std::string prefix = absl::StrCat(AbslView(wf_name), "-", AbslView(template_name));
  if (template_name.empty()) prefix = std::string(wf_name);
  const size_t max_prefix = kMaxName - kHashLen - 1;
  if (prefix.size() > max_prefix - 1) prefix.resize(max_prefix - 1);
  return absl::StrCat(prefix, "-", Fnv32a(node_name));
}

std::string FormatTimestamp(absl::Time t) {
  // Formatted by hand for the common years: absl::FormatTime is slow per node and leaves spare
  // capacity in every string the status keeps (two per node).
  const absl::CivilSecond cs = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture() || cs.year() < 1000 ||
      cs.year() > 9999) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  }
  char buf[21];
  const int n =
      std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", static_cast<int>(cs.year()),
                    cs.month(), cs.day(), cs.hour(), cs.minute(), cs.second());
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

absl::Time ParseTimestamp(const nlohmann::json& v) {
  if (!v.is_string()) return absl::InfinitePast();
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, v.get<std::string>(), &t, &err)) {
    return absl::InfinitePast();
  }
  return t;
}

std::optional<absl::Duration> ParseArgoDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t secs = 0;
  if (absl::SimpleAtoi(AbslView(s), &secs)) return absl::Seconds(secs);
  absl::Duration d;
  if (absl::ParseDuration(AbslView(s), &d)) return d;
  return std::nullopt;
}

std::optional<int64_t> IntOrString(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  int64_t out = 0;
  if (v.is_string() && absl::SimpleAtoi(v.get<std::string>(), &out)) return out;
  return std::nullopt;
}

bool PhaseCompleted(std::string_view p) {
  return p == "Succeeded" || p == "Failed" || p == "Error" || p == "Skipped" || p == "Omitted";
}

bool PhaseFailedOrError(std::string_view p) { return p == "Failed" || p == "Error"; }

const std::string& Str(const nlohmann::json& obj, const char* key) {
  static const std::string kEmpty;
  if (!obj.is_object()) return kEmpty;
  // A string_view key: the map's comparisons then skip a strlen each.
  auto it = obj.find(std::string_view(key));
  if (it == obj.end() || !it->is_string()) return kEmpty;
  return it->get_ref<const std::string&>();
}

bool NodeFulfilled(const nlohmann::json& node) {
  if (PhaseCompleted(Str(node, "phase"))) return true;
  return node.value("daemoned", false);
}

std::string ItemText(const nlohmann::json& item) {
  if (item.is_string()) return item.get<std::string>();
  if (item.is_number_float()) {
    const double d = item.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      return absl::StrCat(static_cast<int64_t>(d));
    }
  }
  return item.dump();
}

std::string ItemDescription(const nlohmann::json& item) {
  std::string out;
  if (item.is_object()) {
    bool first = true;
    for (auto it = item.begin(); it != item.end(); ++it) {
      if (!first) out += ",";
      first = false;
      absl::StrAppend(&out, it.key(), ":", ItemText(it.value()));
    }
  } else {
    out = ItemText(item);
  }
  return absl::StrReplaceAll(out, {{"(", ""}, {")", ""}});
}

}  // namespace argonaut::workflow::engine
