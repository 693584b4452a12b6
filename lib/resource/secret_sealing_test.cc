#include "lib/resource/secret_sealing.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/resource/object_meta.h"
#include "lib/store/in_memory_store.h"
#include "nlohmann/json.hpp"

namespace argonaut::resource {
namespace {

using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kKey(32, 'K');
constexpr char kValue[] = "s3cr3t-value-8d1f";

class SecretSealingTest : public ::testing::Test {
 protected:
  SecretSealingTest()
      : store_(*store::InMemoryStore::Create(
            {.kinds = ResourceApi::ColumnFamilies(KindsOfService("cluster"))})) {}

  // A fresh API over the same store: nothing remembered from earlier writes.
  std::unique_ptr<ResourceApi> Api(const std::string& key) {
    auto api = std::make_unique<ResourceApi>(store_.get(), KindsOfService("cluster"));
    if (!key.empty()) {
      EXPECT_OK(SealSecretsAtRest(*api, key));
    }
    return api;
  }

  std::string RawSecret(const std::string& name) {
    absl::StatusOr<store::Record> r = store_->Get("secrets", "default/" + name);
    EXPECT_OK(r);
    return r.ok() ? r->value : "";
  }

  static json Secret(const std::string& name) {
    return {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata",
             {{"name", name},
              {"namespace", "default"},
              {"labels", {{"app", "db"}}},
              {"annotations",
               {{"kubectl.kubernetes.io/last-applied-configuration",
                 json({{"stringData", {{"token", kValue}}}}).dump()},
                {"note", "kept"}}}}},
            {"data", {{"password", absl::Base64Escape(kValue)}}},
            {"stringData", {{"token", kValue}}}};
  }

  std::unique_ptr<store::InMemoryStore> store_;
};

TEST_F(SecretSealingTest, StoreHoldsCiphertextReadsReturnPlaintext) {
  auto api = Api(kKey);
  ASSERT_OK(api->Create("Secret", Secret("db").dump(), false));
  const std::string raw = RawSecret("db");
  EXPECT_THAT(raw, Not(HasSubstr(kValue)));
  EXPECT_THAT(raw, Not(HasSubstr(absl::Base64Escape(kValue))));
  EXPECT_THAT(raw, HasSubstr("argn:v1:"));
  // Metadata stays readable.
  EXPECT_THAT(raw, HasSubstr("app"));
  EXPECT_THAT(raw, HasSubstr("kept"));

  auto fresh = Api(kKey);
  absl::StatusOr<json> got = fresh->GetObject("Secret", "default", "db");
  ASSERT_OK(got);
  EXPECT_EQ((*got)["data"]["password"], absl::Base64Escape(kValue));
  EXPECT_EQ((*got)["stringData"]["token"], kValue);
  EXPECT_EQ((*got)["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
            json({{"stringData", {{"token", kValue}}}}).dump());

  absl::StatusOr<std::vector<json>> list = fresh->ListObjects("Secret", "default", "app=db");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0]["stringData"]["token"], kValue);

  auto watcher = Api(kKey)->Watch("Secret", "default", "", "");
  ASSERT_OK(watcher);
  absl::StatusOr<std::vector<WatchEventOut>> events =
      (*watcher)->Next(absl::Now() + absl::Seconds(2));
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].object["stringData"]["token"], kValue);
}

TEST_F(SecretSealingTest, OtherKindsAreStoredAsIs) {
  auto api = Api(kKey);
  json cm = Secret("cm");
  cm["kind"] = "ConfigMap";
  cm.erase("stringData");
  ASSERT_OK(api->Create("ConfigMap", cm.dump(), false));
  absl::StatusOr<store::Record> r = store_->Get("configmaps", "default/cm");
  ASSERT_OK(r);
  EXPECT_THAT(r->value, HasSubstr(absl::Base64Escape(kValue)));
}

TEST_F(SecretSealingTest, PlaintextFromBeforeReadsAndIsSealedOnNextWrite) {
  ASSERT_OK(Api("")->Create("Secret", Secret("old").dump(), false));
  EXPECT_THAT(RawSecret("old"), HasSubstr(kValue));
  auto api = Api(kKey);
  absl::StatusOr<json> got = api->GetObject("Secret", "default", "old");
  ASSERT_OK(got);
  EXPECT_EQ((*got)["stringData"]["token"], kValue);
  json again = Secret("old");
  ASSERT_OK(api->Create("Secret", again.dump(), /*upsert=*/true));
  EXPECT_THAT(RawSecret("old"), Not(HasSubstr(kValue)));
  absl::StatusOr<json> reread = Api(kKey)->GetObject("Secret", "default", "old");
  ASSERT_OK(reread);
  EXPECT_EQ((*reread)["stringData"]["token"], kValue);
}

TEST_F(SecretSealingTest, WrongKeyIsAnErrorWithoutTheValue) {
  ASSERT_OK(Api(kKey)->Create("Secret", Secret("db").dump(), false));
  absl::StatusOr<json> got = Api(std::string(32, 'W'))->GetObject("Secret", "default", "db");
  EXPECT_THAT(got, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not open")));
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("default/db"));
  EXPECT_THAT(std::string(got.status().message()), Not(HasSubstr(kValue)));
}

TEST_F(SecretSealingTest, AValueMovedToAnotherSecretDoesNotOpen) {
  auto api = Api(kKey);
  ASSERT_OK(api->Create("Secret", Secret("a").dump(), false));
  // Someone with write access to the store's files passes a's sealed values
  // off as b's.
  absl::StatusOr<store::Record> a = store_->Get("secrets", "default/a");
  ASSERT_OK(a);
  std::unique_ptr<google::protobuf::Message> msg = FindKind("Secret")->NewMessage();
  ASSERT_TRUE(msg->ParseFromString(a->value));
  MutableMeta(*msg)->set_name("b");
  ASSERT_OK(store_->Put("secrets", "default/b", msg->SerializeAsString(), store::kMustNotExist));
  EXPECT_THAT(Api(kKey)->GetObject("Secret", "default", "b"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not open")));
}

TEST_F(SecretSealingTest, DecodingErrorsDoNotQuoteValues) {
  json bad = Secret("bad");
  bad["stringData"] = "hunter2-in-the-wrong-place";
  absl::StatusOr<std::string> created = Api(kKey)->Create("Secret", bad.dump(), false);
  EXPECT_THAT(created, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stringData")));
  EXPECT_THAT(std::string(created.status().message()), Not(HasSubstr("hunter2")));
  bad["stringData"] = {{"pin", 123456789}};
  created = Api(kKey)->Create("Secret", bad.dump(), false);
  EXPECT_THAT(created, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stringData")));
  EXPECT_THAT(std::string(created.status().message()), Not(HasSubstr("123456789")));
}

TEST_F(SecretSealingTest, RefusesAShortKey) {
  ResourceApi api(store_.get(), KindsOfService("cluster"));
  EXPECT_THAT(SealSecretsAtRest(api, "short"), StatusIs(absl::StatusCode::kInvalidArgument));
  ResourceApi workflows(store_.get(), KindsOfService("workflow"));
  EXPECT_THAT(SealSecretsAtRest(workflows, kKey), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace argonaut::resource
