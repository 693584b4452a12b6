#include "services/workflow/archive/archive.h"

#include <iostream>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/store/in_memory_store.h"

namespace argonaut::workflow::archive {
namespace {

using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::ElementsAre;

json Wf(const std::string& ns, const std::string& name, const std::string& uid, int started_minute,
        json labels = json::object()) {
  const std::string started =
      absl::StrCat("2026-01-01T10:", started_minute < 10 ? "0" : "", started_minute, ":00Z");
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "Workflow"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"uid", uid},
            {"resourceVersion", "12"},
            {"labels", std::move(labels)}}},
          {"spec", {{"entrypoint", "main"}}},
          {"status",
           {{"phase", "Succeeded"},
            {"startedAt", started},
            {"finishedAt", started},
            {"nodes", {{name, {{"phase", "Succeeded"}}}}}}}};
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::InMemoryStore::Create({.kinds = {kArchiveFamily}});
    ASSERT_OK(s.status());
    store_ = *std::move(s);
    archive_ = std::make_unique<WorkflowArchive>(store_.get());
    ASSERT_OK(archive_->Archive(Wf("default", "a-1", "u1", 1, {{"team", "x"}})));
    ASSERT_OK(archive_->Archive(Wf("default", "a-2", "u2", 2, {{"team", "y"}})));
    ASSERT_OK(archive_->Archive(Wf("default", "b-1", "u3", 3, {{"team", "x"}, {"env", "p"}})));
    ASSERT_OK(archive_->Archive(Wf("other", "a-3", "u4", 4)));
  }

  std::vector<std::string> Names(const ArchiveListOptions& o) {
    auto r = archive_->List(o);
    EXPECT_OK(r.status());
    std::vector<std::string> names;
    if (!r.ok()) return names;
    for (const json& i : r->items) names.push_back(i["metadata"]["name"]);
    return names;
  }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<WorkflowArchive> archive_;
};

TEST_F(ArchiveTest, GetReturnsTheWholeWorkflowWithoutResourceVersion) {
  auto wf = archive_->Get("u1");
  ASSERT_OK(wf.status());
  EXPECT_EQ((*wf)["status"]["nodes"]["a-1"]["phase"], "Succeeded");
  EXPECT_FALSE((*wf)["metadata"].contains("resourceVersion"));
  EXPECT_THAT(archive_->Get("nope").status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ArchiveTest, ListIsNewestFirstAndSummarized) {
  auto r = archive_->List({});
  ASSERT_OK(r.status());
  ASSERT_EQ(r->items.size(), 4u);
  EXPECT_EQ(r->items[0]["metadata"]["name"], "a-3");
  EXPECT_FALSE(r->items[0]["status"].contains("nodes"));
  EXPECT_EQ(r->items[0]["spec"], json::object());
  EXPECT_TRUE(r->continue_token.empty());
}

TEST_F(ArchiveTest, Filters) {
  EXPECT_THAT(Names({.ns = "default"}), ElementsAre("b-1", "a-2", "a-1"));
  EXPECT_THAT(Names({.label_selector = "team=x"}), ElementsAre("b-1", "a-1"));
  EXPECT_THAT(Names({.label_selector = "team=x,env"}), ElementsAre("b-1"));
  EXPECT_THAT(Names({.field_selector = "metadata.namespace=other"}), ElementsAre("a-3"));
  EXPECT_THAT(Names({.field_selector = "metadata.name=a-2"}), ElementsAre("a-2"));
  EXPECT_THAT(
      Names({.field_selector =
                 "spec.startedAt>2026-01-01T10:01:00Z,spec.startedAt<2026-01-01T10:04:00Z"}),
      ElementsAre("b-1", "a-2"));
  EXPECT_THAT(Names({.name_prefix = "a-"}), ElementsAre("a-3", "a-2", "a-1"));
  EXPECT_THAT(Names({.name_prefix = "-1", .name_filter = "Contains"}), ElementsAre("b-1", "a-1"));
  EXPECT_THAT(Names({.name_prefix = "a-1", .name_filter = "NotEquals"}),
              ElementsAre("a-3", "b-1", "a-2"));
  EXPECT_THAT(archive_->List({.field_selector = "status.phase=Failed"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(archive_->List({.name_filter = "Regex"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ArchiveTest, Pagination) {
  auto p1 = archive_->List({.limit = 3});
  ASSERT_OK(p1.status());
  EXPECT_EQ(p1->items.size(), 3u);
  EXPECT_EQ(p1->continue_token, "3");
  auto p2 = archive_->List({.limit = 3, .continue_token = p1->continue_token});
  ASSERT_OK(p2.status());
  ASSERT_EQ(p2->items.size(), 1u);
  EXPECT_EQ(p2->items[0]["metadata"]["name"], "a-1");
  EXPECT_TRUE(p2->continue_token.empty());
  EXPECT_THAT(archive_->List({.continue_token = "x"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ArchiveTest, LabelKeysAndValues) {
  EXPECT_THAT(*archive_->LabelKeys(""), ElementsAre("env", "team"));
  EXPECT_THAT(*archive_->LabelValues("team", ""), ElementsAre("x", "y"));
  EXPECT_THAT(*archive_->LabelValues("team", "other"), ElementsAre());
}

TEST_F(ArchiveTest, DeleteAndArchiveTtl) {
  ASSERT_OK(archive_->Delete("u2"));
  EXPECT_THAT(archive_->Delete("u2"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Names({.ns = "default"}), ElementsAre("b-1", "a-1"));
  absl::Time cut;
  std::string err;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, "2026-01-01T10:03:30Z", &cut, &err));
  auto n = archive_->DeleteFinishedBefore(cut);
  ASSERT_OK(n.status());
  EXPECT_EQ(*n, 2);
  EXPECT_THAT(Names({}), ElementsAre("a-3"));
}

TEST_F(ArchiveTest, RejectsWorkflowWithoutUid) {
  EXPECT_THAT(archive_->Archive(json{{"metadata", {{"name", "x"}}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// The bar: paging through 10,000 archived workflows in under a second a page.
TEST(ArchiveScaleTest, TenThousandWorkflowsPageUnderASecond) {
  auto s = store::InMemoryStore::Create({.kinds = {kArchiveFamily}});
  ASSERT_OK(s.status());
  WorkflowArchive archive(s->get());
  for (int i = 0; i < 10000; ++i) {
    json wf = Wf("default", absl::StrCat("wf-", i), absl::StrCat("uid-", i), i % 60,
                 {{"team", i % 2 ? "a" : "b"}});
    ASSERT_OK(archive.Archive(wf));
  }
  const absl::Time start = absl::Now();
  auto page = archive.List({.label_selector = "team=a", .limit = 500, .continue_token = "4500"});
  const absl::Duration took = absl::Now() - start;
  ASSERT_OK(page.status());
  EXPECT_EQ(page->items.size(), 500u);
  EXPECT_TRUE(page->continue_token.empty());
  EXPECT_LT(took, absl::Seconds(1));
  std::cout << "list page of 500 out of 10000 archived: " << took << "\n";
}

}  // namespace
}  // namespace argonaut::workflow::archive
