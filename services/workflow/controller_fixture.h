// A workflow controller end to end inside one test process: in-memory stores,
// the local cluster running real pods (the executor from :test_images), the
// engine. Shared by the controller's tests and the HTTP template tests.
#ifndef ARGONAUT_SERVICES_WORKFLOW_CONTROLLER_FIXTURE_H_
#define ARGONAUT_SERVICES_WORKFLOW_CONTROLLER_FIXTURE_H_

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/local_cluster.h"
#include "lib/cluster/validator.h"
#include "lib/controller/clock.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"
#include "services/workflow/controller.h"

namespace argonaut::workflow::testing {

inline std::string TestImages() {
  const char* src = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(src != nullptr ? src : ".", "/", ws != nullptr ? ws : "argonaut",
                      "/services/workflow/test_images");
}

class ControllerFixture : public ::testing::Test {
 protected:
  // The controller's options; by default its time is clock_, which only the
  // test moves (pods still run in real time).
  virtual WorkflowControllerOptions ControllerOptions() {
    return WorkflowControllerOptions{.clock = &clock_};
  }

  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", info->test_suite_name(), "-",
                        info->name());
    std::filesystem::remove_all(dir_);
    auto ckinds = resource::KindsOfService("cluster");
    cstore_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(ckinds)});
    capi_ = std::make_unique<resource::ResourceApi>(cstore_.get(), ckinds,
                                                    cluster::KubernetesValidator());
    auto c = cluster::LocalCluster::Start(
        capi_.get(), {.data_dir = dir_, .builtin_binary = TestImages(), .builtin_prefix = {}});
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    auto wkinds = resource::KindsOfService("workflow");
    wstore_ =
        *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(wkinds)});
    wapi_ = std::make_unique<resource::ResourceApi>(wstore_.get(), wkinds);
    controller_ =
        std::make_unique<WorkflowController>(wapi_.get(), cluster_.get(), ControllerOptions());
    ASSERT_OK(controller_->Start());
  }
  void TearDown() override {
    if (controller_) controller_->Stop();
    if (cluster_) cluster_->Stop(absl::Seconds(2));
  }

  // Creates the first document of `yaml` (a Workflow unless it says
  // otherwise); returns its name, "" on failure.
  std::string Submit(const std::string& yaml) {
    auto docs = manifest::ParseDocuments(yaml);
    EXPECT_TRUE(docs.ok()) << docs.status();
    if (!docs.ok()) return "";
    auto out = wapi_->Create((*docs)[0].value("kind", "Workflow"), (*docs)[0].dump(), false);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? (*manifest::ParseJsonText(*out))["metadata"]["name"].get<std::string>() : "";
  }

  // Polls until the workflow ends, for at most `timeout` of real time (pods
  // run in real time); each poll moves clock_ on by `tick`.
  nlohmann::json WaitDone(const std::string& name, absl::Duration timeout = absl::Seconds(60),
                          absl::Duration tick = absl::ZeroDuration()) {
    const absl::Time deadline = absl::Now() + timeout;
    nlohmann::json wf;
    while (absl::Now() < deadline) {
      if (tick > absl::ZeroDuration()) clock_.Advance(tick);
      auto text = wapi_->Get("Workflow", "default", name);
      if (text.ok()) {
        wf = *manifest::ParseJsonText(*text);
        const std::string phase = wf.value("status", nlohmann::json::object()).value("phase", "");
        if (phase == "Succeeded" || phase == "Failed" || phase == "Error") return wf;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "workflow " << name << " did not finish: " << wf.dump();
    return wf;
  }

  static const nlohmann::json* Node(const nlohmann::json& wf, const std::string& display) {
    for (const auto& [id, n] : wf["status"]["nodes"].items()) {
      if (n.value("displayName", "") == display) return &n;
    }
    return nullptr;
  }

  // Declared first: the controller waits on it until destroyed.
  controller::FakeClock clock_{absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()))};
  std::string dir_;
  std::unique_ptr<store::InMemoryStore> cstore_, wstore_;
  std::unique_ptr<resource::ResourceApi> capi_, wapi_;
  std::unique_ptr<cluster::LocalCluster> cluster_;
  std::unique_ptr<WorkflowController> controller_;
};

}  // namespace argonaut::workflow::testing

#endif  // ARGONAUT_SERVICES_WORKFLOW_CONTROLLER_FIXTURE_H_
