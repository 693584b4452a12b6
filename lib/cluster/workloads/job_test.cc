#include "lib/cluster/workloads/job.h"

#include <deque>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster::workloads {
namespace {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

Json MakeJob(Json spec_extra = Json::object(), std::string restart = "Never") {
  Json job = {
      {"apiVersion", "batch/v1"},
      {"kind", "Job"},
      {"metadata", {{"name", "pi"}, {"namespace", "ns"}, {"uid", "job-uid"}}},
      {"spec",
       {{"template",
         {{"spec",
           {{"restartPolicy", restart}, {"containers", {{{"name", "c"}, {"image", "perl"}}}}}}}}}}};
  for (auto& [k, v] : spec_extra.items()) job["spec"][k] = v;
  EXPECT_OK(DefaultJob(job));
  return job;
}

// Runs the Job controller against a simulated kubelet: each created pod runs for `run_for`
// and then finishes with the next scripted outcome (true = success; default success).
class JobSim {
 public:
  explicit JobSim(Json job) : job_(std::move(job)) {}
  std::deque<bool> outcomes;
  absl::Duration run_for = absl::Seconds(5);
  int max_parallel_seen = 0;
  int created = 0;

  absl::Status Step(absl::Duration dt = absl::Seconds(1)) {
    now_ += dt;
    for (auto it = pods_.begin(); it != pods_.end();) {
      Json& pod = it->second;
      if (IsTerminating(pod)) {
        it = pods_.erase(it);
        continue;
      }
      if (PodPhase(pod) == "Running" &&
          *TimeField(pod["metadata"], "creationTimestamp") + run_for <= now_) {
        bool ok = true;
        if (!outcomes.empty()) {
          ok = outcomes.front();
          outcomes.pop_front();
        }
        pod["status"]["phase"] = ok ? "Succeeded" : "Failed";
        pod["status"]["containerStatuses"] = {
            {{"name", "c"},
             {"state",
              {{"terminated", {{"exitCode", ok ? 0 : 1}, {"finishedAt", FormatK8sTime(now_)}}}}}}};
      }
      ++it;
    }
    std::vector<Json> pods;
    for (const auto& [n, p] : pods_) pods.push_back(p);
    auto d = ReconcileJob(job_, pods, now_, rand_);
    if (!d.ok()) return d.status();
    for (Json pod : d->pods_to_create) {
      pod["metadata"]["creationTimestamp"] = FormatK8sTime(now_);
      pod["status"]["phase"] = "Running";
      pods_[pod["metadata"]["name"]] = pod;
      ++created;
    }
    for (const std::string& n : d->pods_to_delete) {
      pods_[n]["metadata"]["deletionTimestamp"] = FormatK8sTime(now_);
    }
    int running = 0;
    for (const auto& [n, p] : pods_) running += IsPodActive(p) ? 1 : 0;
    max_parallel_seen = std::max(max_parallel_seen, running);
    job_["status"] = d->status;
    last_ = *d;
    return absl::OkStatus();
  }

  // Steps until the Job finishes; bounded.
  int RunToEnd(int max_steps = 2000) {
    for (int i = 0; i < max_steps; ++i) {
      EXPECT_OK(Step());
      if (last_.finished) return i + 1;
    }
    ADD_FAILURE() << "job did not finish: " << job_["status"].dump();
    return -1;
  }

  const Json& status() const { return job_["status"]; }
  const JobDecision& last() const { return last_; }
  absl::Time now() const { return now_; }
  std::map<std::string, Json>& pods() { return pods_; }

 private:
  Json job_;
  absl::Time now_ = kT0;
  std::map<std::string, Json> pods_;
  std::shared_ptr<uint32_t> counter_ = std::make_shared<uint32_t>(0);
  RandomSource rand_ = [c = counter_]() { return (*c)++ * 2654435761u; };
  JobDecision last_;
};

const Json* Cond(const Json& status, const std::string& type) {
  return GetCondition(status["conditions"], type);
}

TEST(JobTest, DefaultingAddsSelectorAndLabels) {
  Json job = MakeJob();
  EXPECT_EQ(job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            "job-uid");
  EXPECT_EQ(job["spec"]["template"]["metadata"]["labels"]["job-name"], "pi");
  EXPECT_EQ(job["spec"]["completions"], 1);
  EXPECT_EQ(job["spec"]["parallelism"], 1);
  EXPECT_EQ(job["spec"]["backoffLimit"], 6);
  Json queue = MakeJob({{"parallelism", 3}});
  EXPECT_FALSE(queue["spec"].contains("completions"));
  Json no_uid = MakeJob();
  no_uid["metadata"].erase("uid");
  EXPECT_THAT(DefaultJob(no_uid),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metadata.uid")));
}

TEST(JobTest, SingleCompletion) {
  JobSim sim(MakeJob());
  ASSERT_OK(sim.Step());
  EXPECT_THAT(sim.last().pods_to_create, SizeIs(1));
  EXPECT_EQ(sim.status()["startTime"], FormatK8sTime(kT0 + absl::Seconds(1)));
  EXPECT_GT(sim.RunToEnd(), 0);
  EXPECT_EQ(sim.status()["succeeded"], 1);
  EXPECT_EQ(sim.status()["active"], 0);
  ASSERT_NE(Cond(sim.status(), "Complete"), nullptr);
  EXPECT_EQ((*Cond(sim.status(), "Complete"))["status"], "True");
  EXPECT_TRUE(sim.status().contains("completionTime"));
  EXPECT_EQ(sim.created, 1);
}

TEST(JobTest, CompletionsFiveParallelismTwoWithRetries) {
  JobSim sim(MakeJob({{"completions", 5}, {"parallelism", 2}, {"backoffLimit", 3}}));
  sim.outcomes = {true, false, true, false, true, true, true};
  EXPECT_GT(sim.RunToEnd(), 0);
  EXPECT_LE(sim.max_parallel_seen, 2);
  EXPECT_EQ(sim.status()["succeeded"], 5);
  EXPECT_EQ(sim.status()["failed"], 2);
  EXPECT_EQ((*Cond(sim.status(), "Complete"))["status"], "True");
  EXPECT_EQ(sim.created, 7);
}

TEST(JobTest, BackoffLimitExceeded) {
  JobSim sim(MakeJob({{"completions", 5}, {"parallelism", 2}, {"backoffLimit", 2}}));
  sim.outcomes = {false, false, false, false, false, false, false, false};
  EXPECT_GT(sim.RunToEnd(), 0);
  const Json* failed = Cond(sim.status(), "Failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ((*failed)["reason"], "BackoffLimitExceeded");
  // Pods fail in pairs (parallelism 2): 2 failures are within the limit, 4 are past it.
  EXPECT_EQ(sim.status()["failed"], 4);
  EXPECT_EQ(sim.created, 4);
  EXPECT_EQ(sim.status()["active"], 0);
  EXPECT_FALSE(sim.status().contains("completionTime"));
  // A finished job creates nothing more.
  ASSERT_OK(sim.Step());
  EXPECT_TRUE(sim.last().pods_to_create.empty());
}

TEST(JobTest, FailureBackoffDelays) {
  EXPECT_EQ(JobBackoffDelay(0), absl::ZeroDuration());
  EXPECT_EQ(JobBackoffDelay(1), absl::Seconds(10));
  EXPECT_EQ(JobBackoffDelay(2), absl::Seconds(20));
  EXPECT_EQ(JobBackoffDelay(3), absl::Seconds(40));
  EXPECT_EQ(JobBackoffDelay(6), absl::Seconds(320));
  EXPECT_EQ(JobBackoffDelay(7), absl::Minutes(6));
  EXPECT_EQ(JobBackoffDelay(1000), absl::Minutes(6));

  JobSim sim(MakeJob({{"backoffLimit", 6}}));
  sim.outcomes = {false, false, false, true};
  std::vector<absl::Time> creations;
  for (int i = 0; i < 300 && !sim.last().finished; ++i) {
    ASSERT_OK(sim.Step());
    if (!sim.last().pods_to_create.empty()) creations.push_back(sim.now());
  }
  ASSERT_THAT(creations, SizeIs(4));
  // Pods run 5s; replacements wait 10s, 20s, 40s after each failure.
  EXPECT_EQ(creations[1] - creations[0], absl::Seconds(15));
  EXPECT_EQ(creations[2] - creations[1], absl::Seconds(25));
  EXPECT_EQ(creations[3] - creations[2], absl::Seconds(45));
}

TEST(JobTest, RequeueAfterReportsBackoff) {
  JobSim sim(MakeJob());
  sim.outcomes = {false};
  for (int i = 0; i < 6; ++i) ASSERT_OK(sim.Step());
  // The first pod failed at t+6; its replacement waits 10 s.
  ASSERT_TRUE(sim.last().requeue_after.has_value());
  EXPECT_EQ(*sim.last().requeue_after, absl::Seconds(10));
  EXPECT_TRUE(sim.last().pods_to_create.empty());
}

TEST(JobTest, ActiveDeadlineExceededTerminatesPods) {
  JobSim sim(MakeJob({{"parallelism", 2}, {"completions", 4}, {"activeDeadlineSeconds", 3}}));
  sim.run_for = absl::Seconds(100);
  ASSERT_OK(sim.Step());
  EXPECT_THAT(sim.last().pods_to_create, SizeIs(2));
  ASSERT_TRUE(sim.last().requeue_after.has_value());
  EXPECT_EQ(*sim.last().requeue_after, absl::Seconds(3));
  ASSERT_OK(sim.Step());
  ASSERT_OK(sim.Step());
  EXPECT_EQ(Cond(sim.status(), "Failed"), nullptr);
  ASSERT_OK(sim.Step());
  const Json* failed = Cond(sim.status(), "Failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ((*failed)["reason"], "DeadlineExceeded");
  EXPECT_THAT(sim.last().pods_to_delete, SizeIs(2));
  EXPECT_EQ(sim.status()["active"], 0);
}

TEST(JobTest, WorkQueueFinishesWhenOneSucceedsAndNoneActive) {
  JobSim sim(MakeJob({{"parallelism", 3}}));
  ASSERT_OK(sim.Step());
  EXPECT_THAT(sim.last().pods_to_create, SizeIs(3));
  // Make one pod succeed early: the others are left to finish, none added.
  auto& first = sim.pods().begin()->second;
  first["status"]["phase"] = "Succeeded";
  ASSERT_OK(sim.Step());
  EXPECT_TRUE(sim.last().pods_to_create.empty());
  EXPECT_TRUE(sim.last().pods_to_delete.empty());
  EXPECT_FALSE(sim.last().finished);
  EXPECT_EQ(sim.status()["active"], 2);
  EXPECT_GT(sim.RunToEnd(), 0);
  EXPECT_EQ(sim.status()["succeeded"], 3);
  EXPECT_EQ(sim.created, 3);
}

TEST(JobTest, OnFailureRestartsCountTowardsBackoffLimit) {
  Json job = MakeJob({{"backoffLimit", 3}}, "OnFailure");
  JobSim sim(job);
  ASSERT_OK(sim.Step());
  auto& pod = sim.pods().begin()->second;
  pod["status"]["containerStatuses"] = {{{"name", "c"}, {"restartCount", 2}}};
  ASSERT_OK(sim.Step());
  EXPECT_FALSE(sim.last().finished);
  pod["status"]["containerStatuses"][0]["restartCount"] = 3;
  ASSERT_OK(sim.Step());
  ASSERT_NE(Cond(sim.status(), "Failed"), nullptr);
  EXPECT_EQ((*Cond(sim.status(), "Failed"))["reason"], "BackoffLimitExceeded");
  EXPECT_THAT(sim.last().pods_to_delete, SizeIs(1));
}

TEST(JobTest, ParallelismReductionDeletesExtraPods) {
  Json job = MakeJob({{"parallelism", 3}, {"completions", 10}});
  JobSim sim(job);
  sim.run_for = absl::Seconds(100);
  ASSERT_OK(sim.Step());
  std::vector<Json> pods;
  for (auto& [n, p] : sim.pods()) pods.push_back(p);
  job["spec"]["parallelism"] = 1;
  job["status"] = sim.status();
  auto d = ReconcileJob(job, pods, sim.now(), [] { return 0u; });
  ASSERT_THAT(d, IsOk());
  EXPECT_THAT(d->pods_to_delete, SizeIs(2));
  EXPECT_EQ(d->status["active"], 1);
}

TEST(JobTest, SuspendDeletesActivePods) {
  Json job = MakeJob({{"parallelism", 2}, {"completions", 2}});
  JobSim sim(job);
  sim.run_for = absl::Seconds(100);
  ASSERT_OK(sim.Step());
  std::vector<Json> pods;
  for (auto& [n, p] : sim.pods()) pods.push_back(p);
  job["spec"]["suspend"] = true;
  auto d = ReconcileJob(job, pods, sim.now(), [] { return 0u; });
  ASSERT_THAT(d, IsOk());
  EXPECT_THAT(d->pods_to_delete, SizeIs(2));
  EXPECT_EQ((*Cond(d->status, "Suspended"))["reason"], "JobSuspended");
}

TEST(JobTest, Validation) {
  Json job = MakeJob();
  job["spec"]["template"]["spec"]["restartPolicy"] = "Always";
  EXPECT_THAT(
      ReconcileJob(job, {}, kT0, [] { return 0u; }),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.template.spec.restartPolicy")));
  job = MakeJob({{"backoffLimit", -1}});
  EXPECT_THAT(ReconcileJob(job, {}, kT0, [] { return 0u; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.backoffLimit")));
  job = MakeJob({{"activeDeadlineSeconds", 0}});
  EXPECT_THAT(
      ReconcileJob(job, {}, kT0, [] { return 0u; }),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.activeDeadlineSeconds")));
  job = MakeJob({{"completions", "five"}});
  EXPECT_THAT(ReconcileJob(job, {}, kT0, [] { return 0u; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.completions")));
  job = MakeJob({{"completionMode", "Indexed"}, {"completions", 3}});
  EXPECT_THAT(ReconcileJob(job, {}, kT0, [] { return 0u; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("spec.completionMode")));
  job = MakeJob({{"parallelism", 100000}});
  auto d = ReconcileJob(job, {}, kT0, [] { return 0u; });
  ASSERT_THAT(d, IsOk());
  EXPECT_THAT(d->pods_to_create, SizeIs(kMaxPodChangesPerSync));
}

}  // namespace
}  // namespace argonaut::cluster::workloads
