// Fixture pieces the rollout service's tests share: a real LocalCluster of plain processes over an
// in-memory cluster store, and an in-memory store for the rollout kinds. Test-only.
#ifndef SERVICES_ROLLOUT_TEST_UTIL_H_
#define SERVICES_ROLLOUT_TEST_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/cluster/local_cluster.h"
#include "lib/resource/resource_api.h"
#include "lib/store/in_memory_store.h"

namespace argonaut::rollout::test_util {

// Members are declared in dependency order, so the cluster goes before the API it writes to and
// the API before its store. Call cluster->Stop() before destroying it.
struct TestCluster {
  std::string dir;  // the cluster's data directory, fresh for each test
  std::unique_ptr<store::InMemoryStore> store;
  std::unique_ptr<resource::ResourceApi> api;
  std::unique_ptr<cluster::LocalCluster> cluster;
};

// Starts a plain-process LocalCluster in $TEST_TMPDIR/<prefix><current test name> (emptied first).
// With `builtin_images` every image runs as //lib/cluster/images:builtin_images from the test's
// runfiles (the test needs it in `data`).
absl::StatusOr<TestCluster> StartTestCluster(const std::string& prefix,
                                             bool builtin_images = false);

struct TestRolloutStore {
  std::unique_ptr<store::InMemoryStore> store;
  std::unique_ptr<resource::ResourceApi> api;
};

// The rollout service's kinds in memory; `validator` (may be empty) runs on writes.
TestRolloutStore NewRolloutStore(resource::Validator validator = {});

}  // namespace argonaut::rollout::test_util

#endif  // SERVICES_ROLLOUT_TEST_UTIL_H_
