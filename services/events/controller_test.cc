// RunnerController over a real events store and a real local bus, with
// runners whose status the test sets: start on create, restart on a spec
// change only (not on a status write), stop on delete, a failed start in the
// status and retried, statuses written only when they change.
#include "services/events/controller.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/resource/kinds.h"
#include "lib/store/in_memory_store.h"
#include "services/events/validation/validate.h"

namespace argonaut::events {
namespace {

using nlohmann::json;

struct Shared {
  absl::Mutex mu;
  json status = json{{"listeners", json::array()}};
  std::atomic<int> running{0};
  std::atomic<int> stopped{0};
  std::atomic<bool> fail{false};
  std::atomic<bus::EventBus*> last_bus{nullptr};
};

class TestRunner : public Runner {
 public:
  explicit TestRunner(Shared* s) : s_(s) { ++s_->running; }
  json Status() const override {
    absl::MutexLock lock(&s_->mu);
    return s_->status;
  }
  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    --s_->running;
    ++s_->stopped;
  }

 private:
  Shared* s_;
  bool stopped_ = false;
};

json Webhook(int port) {
  return json{{"apiVersion", "argoproj.io/v1alpha1"},
              {"kind", "EventSource"},
              {"metadata", {{"name", "webhook"}, {"namespace", "default"}}},
              {"spec",
               {{"webhook",
                 {{"example",
                   {{"port", std::to_string(port)}, {"endpoint", "/x"}, {"method", "POST"}}}}}}}};
}

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/evc-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto kinds = resource::KindsOfService("events");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ =
        std::make_unique<resource::ResourceApi>(store_.get(), kinds, validation::EventsValidator());
    buses_ = std::make_unique<BusRegistry>(api_.get(), dir_);
    ASSERT_OK(buses_->EnsureDefault());
    controller_ = std::make_unique<RunnerController>(
        api_.get(), buses_.get(),
        RunnerControllerOptions{.kind = "EventSource",
                                .start = [this](const json&, bus::EventBus* bus)
                                    -> absl::StatusOr<std::unique_ptr<Runner>> {
                                  if (shared_.fail) return absl::UnavailableError("port 1 in use");
                                  shared_.last_bus = bus;
                                  return std::make_unique<TestRunner>(&shared_);
                                },
                                .status_period = absl::Milliseconds(50),
                                .retry_period = absl::Milliseconds(100)});
    ASSERT_OK(controller_->Start());
  }
  void TearDown() override {
    if (controller_) controller_->Stop();
  }

  json Get() {
    auto got = api_->GetObject("EventSource", "default", "webhook");
    return got.ok() ? *got : json();
  }

  bool WaitFor(const std::function<bool()>& pred, absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (pred()) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return pred();
  }

  std::string dir_;
  Shared shared_;
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<BusRegistry> buses_;
  std::unique_ptr<RunnerController> controller_;
};

TEST_F(ControllerTest, DefaultBusObjectIsCreatedOnce) {
  auto buses = api_->ListObjects("EventBus", "", "");
  ASSERT_OK(buses.status());
  ASSERT_EQ(buses->size(), 1u);
  EXPECT_EQ((*buses)[0]["metadata"]["name"], "default");
  ASSERT_OK(buses_->EnsureDefault());
  EXPECT_EQ(api_->ListObjects("EventBus", "", "")->size(), 1u);
}

TEST_F(ControllerTest, StartsRestartsOnSpecChangeAndStopsOnDelete) {
  ASSERT_OK(api_->CreateObject("EventSource", Webhook(12001), false).status());
  ASSERT_TRUE(WaitFor([&] { return shared_.running == 1; }));
  EXPECT_NE(shared_.last_bus.load(), nullptr);
  // The status reaches the object, with the Deployed condition added.
  ASSERT_TRUE(WaitFor([&] { return Get().contains("status"); })) << Get().dump();
  json status = Get()["status"];
  EXPECT_EQ(status["conditions"][0]["type"], "Deployed");
  EXPECT_EQ(status["conditions"][0]["status"], "True");

  // Status writes alone do not restart the runner.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(controller_->starts("default/webhook"), 1);
  EXPECT_EQ(shared_.stopped, 0);

  // A new runner status is written (listeners are part of the proto).
  {
    absl::MutexLock lock(&shared_.mu);
    shared_.status = json{{"listeners", json::array({{{"name", "example"}, {"eventsSent", 3}}})}};
  }
  ASSERT_TRUE(WaitFor([&] {
    const json s = Get()["status"];
    return s.contains("listeners") && s["listeners"].size() == 1;
  })) << Get().dump();

  // Nothing changes: the resourceVersion holds still.
  const std::string rv = Get()["metadata"]["resourceVersion"];
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_EQ(Get()["metadata"]["resourceVersion"], rv);

  // A spec change restarts it.
  json changed = Get();
  changed["spec"] = Webhook(12002)["spec"];
  ASSERT_OK(api_->UpdateObject("EventSource", changed).status());
  ASSERT_TRUE(WaitFor([&] { return controller_->starts("default/webhook") == 2; }));
  EXPECT_EQ(shared_.stopped, 1);
  EXPECT_EQ(shared_.running, 1);

  ASSERT_OK(api_->Delete("EventSource", "default", "webhook", ""));
  ASSERT_TRUE(WaitFor([&] { return shared_.running == 0; }));
  EXPECT_EQ(controller_->running(), 0u);
}

TEST_F(ControllerTest, FailedStartIsReportedAndRetried) {
  shared_.fail = true;
  ASSERT_OK(api_->CreateObject("EventSource", Webhook(12003), false).status());
  ASSERT_TRUE(WaitFor([&] {
    const json s = Get().value("status", json::object());
    return s.contains("conditions") && s["conditions"][0]["status"] == "False";
  })) << Get().dump();
  EXPECT_EQ(Get()["status"]["conditions"][0]["message"], "port 1 in use");
  shared_.fail = false;
  ASSERT_TRUE(WaitFor([&] { return shared_.running == 1; }));
  ASSERT_TRUE(WaitFor([&] { return Get()["status"]["conditions"][0]["status"] == "True"; }))
      << Get().dump();
}

TEST_F(ControllerTest, UnknownBusIsAReasonNotACrash) {
  json es = Webhook(12004);
  es["spec"]["eventBusName"] = "missing";
  ASSERT_OK(api_->CreateObject("EventSource", es, false).status());
  ASSERT_TRUE(WaitFor([&] {
    const json s = Get().value("status", json::object());
    return s.contains("conditions") && s["conditions"][0]["status"] == "False";
  })) << Get().dump();
  EXPECT_NE(Get()["status"]["conditions"][0]["message"].get<std::string>().find("missing"),
            std::string::npos);
  EXPECT_EQ(shared_.running, 0);
}

}  // namespace
}  // namespace argonaut::events
