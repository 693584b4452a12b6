#include "lib/cluster/owner_index.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace argonaut::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Object Owned(const std::string& ns, const std::string& name, const std::string& owner_uid,
             bool controller = true) {
  Object o = {{"kind", "Pod"}, {"metadata", {{"name", name}, {"namespace", ns}}}};
  if (!owner_uid.empty()) {
    o["metadata"]["ownerReferences"] = Object::array(
        {{{"kind", "ReplicaSet"}, {"name", "rs"}, {"uid", owner_uid}, {"controller", controller}}});
  }
  return o;
}

WatchEvent Event(const char* type, Object o) { return {type, std::move(o), 1}; }

TEST(OwnerIndexTest, KeysByControllerOwnerSortedAndPerNamespace) {
  OwnerIndex index;
  index.Observe(Event("ADDED", Owned("default", "web-b", "u1")));
  index.Observe(Event("ADDED", Owned("default", "web-a", "u1")));
  index.Observe(Event("ADDED", Owned("default", "api-a", "u2")));
  index.Observe(Event("ADDED", Owned("other", "web-c", "u1")));
  EXPECT_THAT(index.KeysOwnedBy("default", "u1"), ElementsAre("default/web-a", "default/web-b"));
  EXPECT_THAT(index.KeysOwnedBy("other", "u1"), ElementsAre("other/web-c"));
  EXPECT_THAT(index.KeysOwnedBy("default", "u2"), ElementsAre("default/api-a"));
  EXPECT_THAT(index.KeysOwnedBy("default", "u3"), IsEmpty());
  EXPECT_THAT(index.KeysOwnedBy("default", ""), IsEmpty());
}

TEST(OwnerIndexTest, NonControllerReferencesAndOrphansAreNotOwned) {
  OwnerIndex index;
  index.Add(Owned("default", "loose", "u1", /*controller=*/false));
  index.Add(Owned("default", "orphan", ""));
  EXPECT_THAT(index.KeysOwnedBy("default", "u1"), IsEmpty());
  // Still known by name.
  EXPECT_THAT(index.KeysWithNamePrefix("default", ""),
              ElementsAre("default/loose", "default/orphan"));
}

TEST(OwnerIndexTest, ModifiedMovesTheKeyAndDeletedForgetsIt) {
  OwnerIndex index;
  index.Observe(Event("ADDED", Owned("default", "p", "u1")));
  index.Observe(Event("MODIFIED", Owned("default", "p", "u2")));
  EXPECT_THAT(index.KeysOwnedBy("default", "u1"), IsEmpty());
  EXPECT_THAT(index.KeysOwnedBy("default", "u2"), ElementsAre("default/p"));
  // Released by its owner: no longer owned, still present.
  index.Observe(Event("MODIFIED", Owned("default", "p", "")));
  EXPECT_THAT(index.KeysOwnedBy("default", "u2"), IsEmpty());
  EXPECT_THAT(index.KeysWithNamePrefix("default", "p"), ElementsAre("default/p"));
  index.Observe(Event("DELETED", Owned("default", "p", "")));
  EXPECT_THAT(index.KeysWithNamePrefix("default", "p"), IsEmpty());
}

TEST(OwnerIndexTest, AddThenTheInformersOwnAddedIsOneKey) {
  OwnerIndex index;
  index.Add(Owned("default", "p", "u1"));
  index.Observe(Event("ADDED", Owned("default", "p", "u1")));
  EXPECT_THAT(index.KeysOwnedBy("default", "u1"), ElementsAre("default/p"));
}

TEST(OwnerIndexTest, NamePrefixIsARangeOfOneNamespace) {
  OwnerIndex index;
  for (const char* n : {"web-1", "web-2", "web2-1", "webx", "we"}) {
    index.Add(Owned("default", n, "u"));
  }
  index.Add(Owned("defaultx", "web-3", "u"));
  EXPECT_THAT(index.KeysWithNamePrefix("default", "web-"),
              ElementsAre("default/web-1", "default/web-2"));
  EXPECT_THAT(index.KeysWithNamePrefix("defaultx", "web-"), ElementsAre("defaultx/web-3"));
  EXPECT_THAT(index.KeysWithNamePrefix("nope", "web-"), IsEmpty());
}

TEST(OwnerIndexTest, NamespaceDefaultsLikeTheStoreKey) {
  OwnerIndex index;
  Object o = Owned("", "p", "u1");
  o["metadata"].erase("namespace");
  index.Add(o);
  EXPECT_THAT(index.KeysOwnedBy("default", "u1"), ElementsAre("default/p"));
}

}  // namespace
}  // namespace argonaut::cluster
