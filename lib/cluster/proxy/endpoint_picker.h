// Chooses the endpoint for each new proxied connection: plain round-robin, or
// a weighted split between named endpoint groups (a canary's traffic split).
// Pure logic, not thread-safe: ServiceProxy calls it under its own lock.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace argonaut::cluster {

struct Endpoint {
  std::string group;  // e.g. "stable", "canary"; may be empty
  std::string ip;     // IPv4 or IPv6 literal
  int port = 0;

  bool operator==(const Endpoint& o) const {
    return group == o.group && ip == o.ip && port == o.port;
  }
};

class EndpointPicker {
 public:
  void SetEndpoints(std::vector<Endpoint> endpoints);
  // Empty: round-robin over every endpoint. Otherwise each group gets new
  // connections in proportion to its weight; a group with weight 0, or not
  // named in the map, gets none. Groups without endpoints do not take part,
  // so their share goes to the others.
  void SetWeights(std::map<std::string, int> weights);

  // The next endpoint, skipping any in `tried` (same ip and port), or nullopt
  // when none is eligible.
  std::optional<Endpoint> Pick(const std::vector<Endpoint>& tried);

  const std::vector<Endpoint>& endpoints() const { return endpoints_; }

 private:
  struct Group {
    std::string name;
    int weight = 0;
    long current = 0;  // smooth weighted round-robin state
    size_t cursor = 0;
    std::vector<size_t> members;  // indexes into endpoints_
  };
  void Rebuild();

  std::vector<Endpoint> endpoints_;
  std::map<std::string, int> weights_;
  std::vector<Group> groups_;  // weighted mode only
  size_t cursor_ = 0;          // unweighted mode
};

}  // namespace argonaut::cluster
