#include "lib/cluster/proxy/endpoint_picker.h"

#include <algorithm>
#include <utility>

namespace argonaut::cluster {
namespace {

bool Tried(const std::vector<Endpoint>& tried, const Endpoint& e) {
  for (const Endpoint& t : tried) {
    if (t.ip == e.ip && t.port == e.port) return true;
  }
  return false;
}

}  // namespace

void EndpointPicker::SetEndpoints(std::vector<Endpoint> endpoints) {
  endpoints_ = std::move(endpoints);
  Rebuild();
}

void EndpointPicker::SetWeights(std::map<std::string, int> weights) {
  weights_ = std::move(weights);
  Rebuild();
}

void EndpointPicker::Rebuild() {
  // Keep each group's position so that an endpoint change does not restart
  // the split from the top.
  std::map<std::string, std::pair<long, size_t>> state;
  for (const Group& g : groups_) state[g.name] = {g.current, g.cursor};
  groups_.clear();
  if (weights_.empty()) return;
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    auto w = weights_.find(endpoints_[i].group);
    if (w == weights_.end() || w->second <= 0) continue;
    auto it = std::find_if(groups_.begin(), groups_.end(),
                           [&](const Group& g) { return g.name == endpoints_[i].group; });
    if (it == groups_.end()) {
      Group g;
      g.name = endpoints_[i].group;
      g.weight = w->second;
      if (auto s = state.find(g.name); s != state.end()) {
        g.current = s->second.first;
        g.cursor = s->second.second;
      }
      groups_.push_back(std::move(g));
      it = groups_.end() - 1;
    }
    it->members.push_back(i);
  }
}

std::optional<Endpoint> EndpointPicker::Pick(const std::vector<Endpoint>& tried) {
  if (weights_.empty()) {
    size_t n = endpoints_.size();
    for (size_t k = 0; k < n; ++k) {
      const Endpoint& e = endpoints_[cursor_++ % n];
      if (!Tried(tried, e)) return e;
    }
    return std::nullopt;
  }
  // Smooth weighted round-robin (as in nginx) over the groups that still have
  // an untried endpoint: deterministic, and interleaves instead of bursting.
  std::vector<Group*> live;
  long total = 0;
  for (Group& g : groups_) {
    bool any = std::any_of(g.members.begin(), g.members.end(),
                           [&](size_t i) { return !Tried(tried, endpoints_[i]); });
    if (!any) continue;
    live.push_back(&g);
    total += g.weight;
  }
  if (live.empty()) return std::nullopt;
  Group* best = nullptr;
  for (Group* g : live) {
    g->current += g->weight;
    if (best == nullptr || g->current > best->current) best = g;
  }
  best->current -= total;
  size_t n = best->members.size();
  for (size_t k = 0; k < n; ++k) {
    const Endpoint& e = endpoints_[best->members[best->cursor++ % n]];
    if (!Tried(tried, e)) return e;
  }
  return std::nullopt;  // unreachable: `best` has an untried member
}

}  // namespace argonaut::cluster
