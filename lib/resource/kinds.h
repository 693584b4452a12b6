// The table of every kind Argonaut serves: names as kubectl resolves them,
// scope, owning service and the protobuf message that types it.
//
//   const KindInfo* k = FindKind("wf");   // -> Workflow
//   k->service == "workflow"
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/message.h"

namespace argonaut::resource {

struct KindInfo {
  std::string kind;         // Workflow
  std::string api_version;  // argoproj.io/v1alpha1
  std::string plural;       // workflows (also the store column family)
  std::string singular;     // workflow
  std::vector<std::string> short_names;
  bool namespaced = true;
  std::string service;  // cluster | workflow | rollout | events | cd
  // Default instance of the message that types the kind.
  const google::protobuf::Message* prototype = nullptr;
  // Kubernetes' status subresource: spec writes keep the stored status and
  // bump metadata.generation when the spec changes; UpdateStatus writes only
  // the status.
  bool status_subresource = false;

  std::unique_ptr<google::protobuf::Message> NewMessage() const {
    return std::unique_ptr<google::protobuf::Message>(prototype->New());
  }
};

// Every kind, in a stable order.
const std::vector<KindInfo>& AllKinds();

// Resolves a name the way kubectl does: Kind, kind, plural, singular or a
// short name, case-insensitively. nullptr when unknown.
const KindInfo* FindKind(std::string_view name);

// Kinds owned by one service.
std::vector<const KindInfo*> KindsOfService(std::string_view service);

// The services, in start order.
const std::vector<std::string>& ServiceNames();

}  // namespace argonaut::resource
