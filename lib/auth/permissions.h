// What each gRPC method needs: public, any authenticated caller, or one RBAC
// permission (resource, action, object) read from the request.
//
//   ASSIGN_OR_RETURN(Requirement need,
//                    RequiredPermission("/argonaut.workflow.v1.WorkflowService/ResumeWorkflow",
//                    req));
//   // need.permission == {"workflows", "update", "default/hello"}
//
// Resources are lowercase plurals of the kind (AppProject -> projects,
// WorkflowEventBinding -> workfloweventbindings): see KnownResources() in
// policy.h. Actions: get create update delete sync override. Workflow
// suspend/resume/stop/terminate/retry/set and rollout promote/abort/retry/
// restart/undo/pause/set-image are `update`; submit/resubmit `create`; lint
// `get`; log streams are `get` on `logs`. Objects are "NAMESPACE/NAME",
// "NAME" for cluster-scoped kinds and repositories (the repo URL), and
// "NAMESPACE/*" for lists and watches ("*/*" across namespaces). Where a
// service defaults an empty namespace ("default"; Argo CD's "argocd" for
// applications and projects), the object uses that default.
//
// Pure: no I/O. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace argonaut::auth {

struct Permission {
  std::string resource, action, object;
  bool operator==(const Permission&) const = default;
};

enum class Access {
  kPublic,         // no token needed (health, reflection)
  kAuthenticated,  // any valid token (version, userinfo, can-i)
  kAuthorized,     // a valid token whose account the policy allows `permission`
};

struct Requirement {
  Access access = Access::kAuthorized;
  Permission permission;  // set when access == kAuthorized
};

// full_method: "/package.Service/Method"; request: the call's first message
// (generated or dynamic). NOT_FOUND for a method outside the table (the
// proxy must deny it). A request body that cannot be parsed is not an error
// here: the object then has an empty name and the service rejects the body.
absl::StatusOr<Requirement> RequiredPermission(std::string_view full_method,
                                               const google::protobuf::Message& request);

// Every method the table knows ("/package.Service/Method"), sorted. For tests
// and documentation.
std::vector<std::string> KnownMethods();

// The RBAC resource of a kind as kubectl would name it ("Workflow", "wf",
// "workflows", "AppProject" -> "projects"). Unknown kinds: lowercased input.
std::string ResourceOfKind(std::string_view kind);

}  // namespace argonaut::auth
