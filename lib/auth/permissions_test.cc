#include "lib/auth/permissions.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "argonaut/auth/v1/auth.grpc.pb.h"
#include "argonaut/cd/v1/cd_service.grpc.pb.h"
#include "argonaut/cluster/v1/cluster_service.grpc.pb.h"
#include "argonaut/events/v1/events_service.grpc.pb.h"
#include "argonaut/rollout/v1/rollout_service.grpc.pb.h"
#include "argonaut/workflow/v1/workflow_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "lib/auth/policy.h"
#include "lib/base/status_matchers.h"

namespace argonaut::auth {
namespace {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using google::protobuf::DescriptorPool;
using google::protobuf::Message;
using google::protobuf::MessageFactory;

// Every proto file with services that the servers host. The coverage test
// below also walks every other linked file, so a service added to one of
// these libraries fails the test until the table has it.
const std::vector<std::string> kServiceFiles = {
    "argonaut/api/v1/resource.proto",
    "argonaut/auth/v1/auth.proto",
    "argonaut/cd/v1/cd_service.proto",
    "argonaut/cluster/v1/cluster_service.proto",
    "argonaut/events/v1/events_service.proto",
    "argonaut/rollout/v1/rollout_service.proto",
    "argonaut/workflow/v1/archive_service.proto",
    "argonaut/workflow/v1/workflow_service.proto",
    "grpc/health/v1/health.proto",
};

std::vector<std::string> LinkedFiles() {
  std::vector<std::string> names;
  DescriptorPool::internal_generated_database()->FindAllFileNames(&names);
  return names;
}

TEST(PermissionsCoverageTest, EveryMethodOfEveryLinkedServiceHasARequirement) {
  std::vector<std::string> files = LinkedFiles();
  for (const std::string& want : kServiceFiles) {
    ASSERT_NE(std::find(files.begin(), files.end(), want), files.end()) << want << " not linked";
  }
  int methods = 0;
  for (const std::string& name : files) {
    const auto* file = DescriptorPool::generated_pool()->FindFileByName(name);
    ASSERT_NE(file, nullptr) << name;
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const auto* method = service->method(m);
        const std::string full = absl::StrCat("/", service->full_name(), "/", method->name());
        const Message* request =
            MessageFactory::generated_factory()->GetPrototype(method->input_type());
        ASSERT_NE(request, nullptr) << full;
        absl::StatusOr<Requirement> need = RequiredPermission(full, *request);
        EXPECT_THAT(need.status(), IsOk()) << full << " has no requirement";
        if (need.ok() && need->access == Access::kAuthorized) {
          EXPECT_FALSE(need->permission.action.empty()) << full;
          EXPECT_FALSE(need->permission.object.empty()) << full;
        }
        ++methods;
      }
    }
  }
  EXPECT_GT(methods, 80);
}

TEST(PermissionsCoverageTest, TableHasNoStaleMethods) {
  for (const std::string& full : KnownMethods()) {
    if (absl::StartsWith(full, "/grpc.reflection.")) continue;  // not linked here
    const std::vector<std::string> parts = {full.substr(1, full.rfind('/') - 1),
                                            full.substr(full.rfind('/') + 1)};
    const auto* service = DescriptorPool::generated_pool()->FindServiceByName(parts[0]);
    ASSERT_NE(service, nullptr) << full;
    EXPECT_NE(service->FindMethodByName(parts[1]), nullptr) << full;
  }
}

TEST(PermissionsCoverageTest, ResourcesAreKnown) {
  for (const std::string& full : KnownMethods()) {
    const auto* service =
        DescriptorPool::generated_pool()->FindServiceByName(full.substr(1, full.rfind('/') - 1));
    if (service == nullptr) continue;
    const auto* method = service->FindMethodByName(full.substr(full.rfind('/') + 1));
    auto need = RequiredPermission(
        full, *MessageFactory::generated_factory()->GetPrototype(method->input_type()));
    ASSERT_OK(need.status());
    if (need->access != Access::kAuthorized || absl::StrContains(full, "ResourceService")) {
      continue;
    }
    const auto& known = KnownResources();
    EXPECT_NE(std::find(known.begin(), known.end(), need->permission.resource), known.end())
        << full << " -> " << need->permission.resource;
  }
}

struct Case {
  std::string method;
  std::string request_type;
  std::string request_text;  // text format
  Access access;
  Permission want;
};

std::unique_ptr<Message> Parse(const std::string& type, const std::string& text) {
  const auto* descriptor = DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  EXPECT_NE(descriptor, nullptr) << type;
  if (descriptor == nullptr) return nullptr;
  std::unique_ptr<Message> message(
      MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, message.get())) << text;
  return message;
}

TEST(RequiredPermissionTest, RepresentativeMethods) {
  const std::string wf = "/argonaut.workflow.v1.WorkflowService/";
  const std::string rs = "/argonaut.api.v1.ResourceService/";
  const std::string app = "/argonaut.cd.v1.ApplicationService/";
  const std::vector<Case> cases = {
      {wf + "ResumeWorkflow",
       "argonaut.workflow.v1.ResumeWorkflowRequest",
       R"(namespace: "team" name: "hello")",
       Access::kAuthorized,
       {"workflows", "update", "team/hello"}},
      {wf + "TerminateWorkflow",
       "argonaut.workflow.v1.WorkflowNameRequest",
       R"(name: "hello")",
       Access::kAuthorized,
       {"workflows", "update", "default/hello"}},
      {wf + "CreateWorkflow",
       "argonaut.workflow.v1.CreateWorkflowRequest",
       R"(json: '{"metadata":{"generateName":"hello-"}}')",
       Access::kAuthorized,
       {"workflows", "create", "default/hello-"}},
      {wf + "CreateWorkflow",
       "argonaut.workflow.v1.CreateWorkflowRequest",
       R"(json: '{"metadata":{"name":"x","namespace":"prod"}}')",
       Access::kAuthorized,
       {"workflows", "create", "prod/x"}},
      {wf + "CreateWorkflow",
       "argonaut.workflow.v1.CreateWorkflowRequest",
       R"(namespace: "team" json: "not json")",
       Access::kAuthorized,
       {"workflows", "create", "team/"}},
      {wf + "SubmitWorkflow",
       "argonaut.workflow.v1.SubmitWorkflowRequest",
       R"(namespace: "team" resource_kind: "WorkflowTemplate" resource_name: "t" generate_name: "t-")",
       Access::kAuthorized,
       {"workflows", "create", "team/t-"}},
      {wf + "ListWorkflows",
       "argonaut.workflow.v1.ListWorkflowsRequest",
       "",
       Access::kAuthorized,
       {"workflows", "get", "*/*"}},
      {wf + "WatchWorkflows",
       "argonaut.workflow.v1.WatchWorkflowsRequest",
       R"(namespace: "team" name: "w")",
       Access::kAuthorized,
       {"workflows", "get", "team/w"}},
      {wf + "WorkflowLogs",
       "argonaut.workflow.v1.WorkflowLogsRequest",
       R"(namespace: "team" name: "w")",
       Access::kAuthorized,
       {"logs", "get", "team/w"}},
      {"/argonaut.cluster.v1.ClusterService/PodLogs",
       "argonaut.cluster.v1.PodLogsRequest",
       R"(namespace: "default" name: "p")",
       Access::kAuthorized,
       {"logs", "get", "default/p"}},
      {"/argonaut.rollout.v1.RolloutService/PromoteRollout",
       "argonaut.rollout.v1.PromoteRolloutRequest",
       R"(namespace: "prod" name: "web" full: true)",
       Access::kAuthorized,
       {"rollouts", "update", "prod/web"}},
      {"/argonaut.rollout.v1.RolloutService/Version",
       "argonaut.rollout.v1.VersionRequest",
       "",
       Access::kAuthenticated,
       {}},
      {"/argonaut.events.v1.SensorService/UpdateSensor",
       "argonaut.events.v1.UpdateEventsObjectRequest",
       R"(json: '{"metadata":{"name":"s","namespace":"prod"}}')",
       Access::kAuthorized,
       {"sensors", "update", "prod/s"}},
      {"/argonaut.events.v1.EventService/SendEvent",
       "argonaut.events.v1.SendEventRequest",
       R"(event_source: "webhook")",
       Access::kAuthorized,
       {"eventsources", "update", "default/webhook"}},
      {app + "Sync",
       "argonaut.cd.v1.ApplicationSyncRequest",
       R"(name: "guestbook")",
       Access::kAuthorized,
       {"applications", "sync", "argocd/guestbook"}},
      {app + "List",
       "argonaut.cd.v1.ApplicationQuery",
       "",
       Access::kAuthorized,
       {"applications", "get", "*/*"}},
      {app + "ResourceTree",
       "argonaut.cd.v1.ResourcesQuery",
       R"(application_name: "guestbook" name: "pod-1" app_namespace: "apps")",
       Access::kAuthorized,
       {"applications", "get", "apps/guestbook"}},
      {app + "Create",
       "argonaut.cd.v1.ApplicationCreateRequest",
       R"(json: '{"metadata":{"name":"guestbook"}}')",
       Access::kAuthorized,
       {"applications", "create", "argocd/guestbook"}},
      {"/argonaut.cd.v1.RepositoryService/Create",
       "argonaut.cd.v1.RepoCreateRequest",
       R"(json: '{"repo":"https://git.example/r.git","password":"hunter2"}')",
       Access::kAuthorized,
       {"repositories", "create", "https://git.example/r.git"}},
      {"/argonaut.cd.v1.ProjectService/Delete",
       "argonaut.cd.v1.ProjectQuery",
       R"(name: "default")",
       Access::kAuthorized,
       {"projects", "delete", "argocd/default"}},
      {rs + "Get",
       "argonaut.api.v1.GetRequest",
       R"(kind: "Secret" name: "s")",
       Access::kAuthorized,
       {"secrets", "get", "default/s"}},
      {rs + "List",
       "argonaut.api.v1.ListRequest",
       R"(kind: "secrets")",
       Access::kAuthorized,
       {"secrets", "get", "*/*"}},
      {rs + "Watch",
       "argonaut.api.v1.WatchRequest",
       R"(kind: "cm" namespace: "kube")",
       Access::kAuthorized,
       {"configmaps", "get", "kube/*"}},
      {rs + "Delete",
       "argonaut.api.v1.DeleteRequest",
       R"(kind: "wf" namespace: "a" name: "b")",
       Access::kAuthorized,
       {"workflows", "delete", "a/b"}},
      {rs + "Get",
       "argonaut.api.v1.GetRequest",
       R"(kind: "ClusterWorkflowTemplate" name: "t")",
       Access::kAuthorized,
       {"clusterworkflowtemplates", "get", "t"}},
      {rs + "Create",
       "argonaut.api.v1.CreateRequest",
       R"(kind: "AppProject" json: '{"kind":"AppProject","metadata":{"name":"p","namespace":"argocd"}}')",
       Access::kAuthorized,
       {"projects", "create", "argocd/p"}},
      {rs + "Create",
       "argonaut.api.v1.CreateRequest",
       R"(kind: "Workflow" json: "{oops")",
       Access::kAuthorized,
       {"workflows", "create", "default/"}},
      {rs + "Update",
       "argonaut.api.v1.UpdateRequest",
       R"(json: '{"kind":"EventBus","metadata":{"name":"default","namespace":"ev"}}' subresource: "status")",
       Access::kAuthorized,
       {"eventbus", "update", "ev/default"}},
      {rs + "List",
       "argonaut.api.v1.ListRequest",
       R"(kind: "WorkflowEventBinding")",
       Access::kAuthorized,
       {"workfloweventbindings", "get", "*/*"}},
      {rs + "List",
       "argonaut.api.v1.ListRequest",
       R"(kind: "Namespace")",
       Access::kAuthorized,
       {"namespaces", "get", "*"}},
      {rs + "ListKinds", "argonaut.api.v1.ListKindsRequest", "", Access::kAuthenticated, {}},
      {"/grpc.health.v1.Health/Check",
       "grpc.health.v1.HealthCheckRequest",
       "",
       Access::kPublic,
       {}},
      {"/argonaut.auth.v1.AccountService/CreateToken",
       "argonaut.auth.v1.CreateTokenRequest",
       R"(account: "bob")",
       Access::kAuthorized,
       {"accounts", "update", "bob"}},
      {"/argonaut.auth.v1.AccountService/CreateToken",
       "argonaut.auth.v1.CreateTokenRequest",
       "",
       Access::kAuthenticated,
       {}},
      {"/argonaut.auth.v1.AccountService/CanI",
       "argonaut.auth.v1.CanIRequest",
       "",
       Access::kAuthenticated,
       {}},
  };
  for (const Case& c : cases) {
    std::unique_ptr<Message> request = Parse(c.request_type, c.request_text);
    ASSERT_NE(request, nullptr);
    absl::StatusOr<Requirement> need = RequiredPermission(c.method, *request);
    ASSERT_OK(need.status()) << c.method;
    EXPECT_EQ(need->access, c.access) << c.method << " " << c.request_text;
    EXPECT_EQ(need->permission, c.want)
        << c.method << " " << c.request_text << " -> " << need->permission.resource << " "
        << need->permission.action << " " << need->permission.object;
  }
}

TEST(RequiredPermissionTest, DynamicMessagesWork) {
  // The proxy may decode with a DynamicMessageFactory rather than the
  // generated classes.
  google::protobuf::DynamicMessageFactory factory(DescriptorPool::generated_pool());
  const auto* descriptor = DescriptorPool::generated_pool()->FindMessageTypeByName(
      "argonaut.workflow.v1.DeleteWorkflowRequest");
  ASSERT_NE(descriptor, nullptr);
  std::unique_ptr<Message> request(factory.GetPrototype(descriptor)->New());
  ASSERT_TRUE(
      google::protobuf::TextFormat::ParseFromString(R"(namespace: "a" name: "b")", request.get()));
  auto need = RequiredPermission("/argonaut.workflow.v1.WorkflowService/DeleteWorkflow", *request);
  ASSERT_OK(need.status());
  EXPECT_EQ(need->permission, (Permission{"workflows", "delete", "a/b"}));
}

TEST(RequiredPermissionTest, UnknownMethodIsNotFound) {
  argonaut::api::v1::GetRequest request;
  EXPECT_THAT(RequiredPermission("/argonaut.workflow.v1.WorkflowService/Nope", request).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(RequiredPermission("/argonaut.api.v1.ResourceService/Nope", request).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(RequiredPermission("", request).status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST(ResourceOfKindTest, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Workflow", "workflows"},
      {"WorkflowTemplate", "workflowtemplates"},
      {"CronWorkflow", "cronworkflows"},
      {"Application", "applications"},
      {"AppProject", "projects"},
      {"Secret", "secrets"},
      {"Pod", "pods"},
      {"EventBus", "eventbus"},
      {"wf", "workflows"},
      {"rollouts", "rollouts"},
      {"Widget", "widget"},
  };
  for (const auto& [kind, want] : cases) EXPECT_EQ(ResourceOfKind(kind), want) << kind;
}

}  // namespace
}  // namespace argonaut::auth
