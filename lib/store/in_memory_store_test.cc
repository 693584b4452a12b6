#include "lib/store/in_memory_store.h"

#include <memory>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "lib/store/store_contract_test.h"

namespace argonaut::store {
namespace {

absl::StatusOr<std::unique_ptr<Store>> OpenInMemory(const StoreTestOptions& options) {
  absl::StatusOr<std::unique_ptr<InMemoryStore>> store =
      InMemoryStore::Create({.kinds = options.kinds, .log_retention = options.log_retention});
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(*std::move(store));
}

INSTANTIATE_TEST_SUITE_P(InMemory, StoreContractTest,
                         ::testing::Values(StoreFactory{"InMemory", OpenInMemory}),
                         StoreFactoryName);

}  // namespace
}  // namespace argonaut::store
