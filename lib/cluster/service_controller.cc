#include "lib/cluster/service_controller.h"

#include "absl/strings/str_cat.h"
#include "lib/base/log.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/service_endpoints.h"

namespace argonaut::cluster {
namespace {

// The local port a previous run reported for port index `i`, or 0.
int PreviousLocalPort(const Object& svc, size_t i) {
  const Object& lb = svc.value("status", Object::object()).value("loadBalancer", Object::object());
  if (!lb.is_object() || !lb.contains("ingress") || !lb["ingress"].is_array() ||
      lb["ingress"].empty()) {
    return 0;
  }
  const Object& ports = lb["ingress"][0].value("ports", Object::array());
  if (!ports.is_array() || i >= ports.size()) return 0;
  return ports[i].value("port", 0);
}

}  // namespace

ServiceController::ServiceController(ApiCluster* cluster, std::string bind_address)
    : cluster_(cluster), bind_address_(std::move(bind_address)) {}

ServiceController::~ServiceController() { Stop(); }

absl::Status ServiceController::Start() {
  controller_ = std::make_unique<controller::Controller>(
      controller::ControllerOptions{.name = "service",
                                    .workers = 1,
                                    .list_keys =
                                        [this] {
                                          std::vector<std::string> keys;
                                          auto items = cluster_->List("Service", "", "");
                                          if (items.ok()) {
                                            for (const Object& o : *items) keys.push_back(KeyOf(o));
                                          }
                                          return keys;
                                        },
                                    .resync_period = absl::Seconds(30)},
      this);
  RETURN_IF_ERROR(controller_->Start());
  auto service_informer = std::make_unique<Informer>(
      cluster_->api(), "Service",
      [this](const WatchEvent& e) { controller_->Enqueue(KeyOf(e.object)); });
  // Any pod change may change the endpoints of the Services of its namespace.
  auto pod_informer =
      std::make_unique<Informer>(cluster_->api(), "Pod", [this](const WatchEvent& e) {
        absl::StatusOr<std::vector<Object>> services =
            cluster_->List("Service", NamespaceOf(e.object), "");
        if (!services.ok()) return;
        for (const Object& s : *services) controller_->Enqueue(KeyOf(s));
      });
  service_informer->Start();
  pod_informer->Start();
  informers_.push_back(std::move(service_informer));
  informers_.push_back(std::move(pod_informer));
  return absl::OkStatus();
}

void ServiceController::Stop() {
  for (auto& i : informers_) i->Stop();
  informers_.clear();
  if (controller_) controller_->Stop();
  std::map<std::string, Proxies> proxies;
  {
    absl::MutexLock lock(&mu_);
    proxies.swap(proxies_);
  }
  for (auto& [key, p] : proxies) {
    for (auto& proxy : p.by_port) proxy->Stop();
  }
}

absl::StatusOr<controller::Result> ServiceController::Reconcile(const std::string& key) {
  const size_t slash = key.find('/');
  const std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
  absl::StatusOr<Object> svc = cluster_->Get("Service", ns, name);
  if (absl::IsNotFound(svc.status())) {
    Proxies gone;
    {
      absl::MutexLock lock(&mu_);
      auto it = proxies_.find(key);
      if (it == proxies_.end()) return controller::Result{};
      gone = std::move(it->second);
      proxies_.erase(it);
    }
    for (auto& p : gone.by_port) p->Stop();
    return controller::Result{};
  }
  if (!svc.ok()) return svc.status();
  ASSIGN_OR_RETURN(std::vector<Object> pods, cluster_->List("Pod", ns, ""));
  absl::StatusOr<std::vector<ServicePortEndpoints>> endpoints = ComputeEndpoints(*svc, pods);
  if (!endpoints.ok()) {
    LogWarn("service-controller", "invalid service",
            {{"service", key}, {"error", endpoints.status().ToString()}});
    return absl::FailedPreconditionError(endpoints.status().message());
  }
  const TrafficSplit split = TrafficSplitOf(*svc);
  std::vector<int> local_ports;
  {
    absl::MutexLock lock(&mu_);
    Proxies& proxies = proxies_[key];
    std::vector<int> wanted;
    for (const auto& e : *endpoints) wanted.push_back(e.port);
    if (proxies.service_ports != wanted) {
      // The port list changed: rebuild. Connections through removed ports end.
      for (auto& p : proxies.by_port) p->Stop();
      proxies.by_port.clear();
      proxies.service_ports.clear();
      for (size_t i = 0; i < endpoints->size(); ++i) {
        const std::string label = absl::StrCat(key, ":", (*endpoints)[i].port);
        absl::StatusOr<std::unique_ptr<ServiceProxy>> proxy = absl::UnavailableError("");
        if (int previous = PreviousLocalPort(*svc, i); previous > 0) {
          proxy =
              ServiceProxy::Start({.name = label, .bind_address = bind_address_, .port = previous});
        }
        if (!proxy.ok()) {
          proxy = ServiceProxy::Start({.name = label, .bind_address = bind_address_, .port = 0});
        }
        if (!proxy.ok()) return proxy.status();
        proxies.by_port.push_back(std::move(*proxy));
      }
      proxies.service_ports = wanted;
    }
    for (size_t i = 0; i < endpoints->size(); ++i) {
      ServiceProxy& proxy = *proxies.by_port[i];
      RETURN_IF_ERROR(proxy.SetEndpoints((*endpoints)[i].endpoints));
      RETURN_IF_ERROR(proxy.SetWeights(split.weights));
      local_ports.push_back(proxy.port());
    }
  }
  Object ports = Object::array();
  for (int p : local_ports) ports.push_back({{"port", p}, {"protocol", "TCP"}});
  Object status = {
      {"loadBalancer", {{"ingress", Object::array({{{"ip", bind_address_}, {"ports", ports}}})}}}};
  if (svc->value("status", Object()) != status) {
    Object out = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata", {{"name", name}, {"namespace", ns}}},
                  {"status", status}};
    absl::StatusOr<Object> written = cluster_->UpdateStatus(out);
    if (!written.ok() && !absl::IsNotFound(written.status())) return written.status();
  }
  return controller::Result{};
}

}  // namespace argonaut::cluster
