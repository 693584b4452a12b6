#include "services/rollout/test_util.h"

#include <cstdlib>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/base/status_macros.h"
#include "lib/cluster/validator.h"
#include "lib/resource/kinds.h"

namespace argonaut::rollout::test_util {

absl::StatusOr<TestCluster> StartTestCluster(const std::string& prefix, bool builtin_images) {
  TestCluster t;
  const char* tmp = std::getenv("TEST_TMPDIR");
  t.dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", prefix,
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(t.dir);
  auto kinds = resource::KindsOfService("cluster");
  ASSIGN_OR_RETURN(t.store, store::InMemoryStore::Create(
                                {.kinds = resource::ResourceApi::ColumnFamilies(kinds)}));
  t.api =
      std::make_unique<resource::ResourceApi>(t.store.get(), kinds, cluster::KubernetesValidator());
  cluster::LocalClusterOptions options{.data_dir = t.dir,
                                       .isolation = cluster::LocalClusterOptions::Isolation::kPlain,
                                       .pod_network = false};
  if (builtin_images) {
    const char* src = std::getenv("TEST_SRCDIR");
    const char* ws = std::getenv("TEST_WORKSPACE");
    options.builtin_binary =
        absl::StrCat(src != nullptr ? src : ".", "/", ws != nullptr ? ws : "argonaut",
                     "/lib/cluster/images/builtin_images");
    options.builtin_prefix = {};
  }
  ASSIGN_OR_RETURN(t.cluster, cluster::LocalCluster::Start(t.api.get(), options));
  return t;
}

TestRolloutStore NewRolloutStore(resource::Validator validator) {
  TestRolloutStore t;
  auto kinds = resource::KindsOfService("rollout");
  t.store = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
  t.api = std::make_unique<resource::ResourceApi>(t.store.get(), kinds, std::move(validator));
  return t;
}

}  // namespace argonaut::rollout::test_util
