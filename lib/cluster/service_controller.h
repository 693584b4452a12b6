// ServiceController: realises each Service as real listening ports on this
// machine (one ServiceProxy per Service port), keeps their endpoints in step
// with the ready pods the selector matches and the Service's traffic split,
// and reports the local address as a load balancer's, the way Kubernetes
// does: status.loadBalancer.ingress[0].ip and .ports[].port.
//
// A Service keeps its local ports across restarts of the runtime when they
// are still free (they are read back from its status).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "lib/cluster/api_cluster.h"
#include "lib/cluster/informer.h"
#include "lib/cluster/proxy/service_proxy.h"
#include "lib/controller/controller.h"

namespace argonaut::cluster {

class ServiceController : public controller::Reconciler {
 public:
  ServiceController(ApiCluster* cluster, std::string bind_address);
  ~ServiceController() override;

  absl::Status Start();
  void Stop();

  absl::StatusOr<controller::Result> Reconcile(const std::string& key) override;

 private:
  struct Proxies {
    std::vector<std::unique_ptr<ServiceProxy>> by_port;  // in spec.ports order
    std::vector<int> service_ports;
  };

  ApiCluster* const cluster_;
  const std::string bind_address_;
  std::unique_ptr<controller::Controller> controller_;
  std::vector<std::unique_ptr<Informer>> informers_;
  absl::Mutex mu_;
  std::map<std::string, Proxies> proxies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace argonaut::cluster
