#include "services/cd/metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace argonaut::cd {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

json App(const std::string& sync, const std::string& health) {
  return json{
      {"metadata", {{"name", "guestbook"}, {"namespace", "argocd"}}},
      {"spec",
       {{"project", "default"},
        {"source", {{"repoURL", "https://example.com/repo.git"}, {"path", "guestbook"}}},
        {"destination", {{"server", "https://kubernetes.default.svc"}, {"namespace", "web"}}},
        {"syncPolicy", {{"automated", {{"selfHeal", true}}}}}}},
      {"status", {{"sync", {{"status", sync}}}, {"health", {{"status", health}}}}}};
}

TEST(AppMetrics, InfoCarriesArgoCdLabelsAndFollowsTheApp) {
  metrics::MetricsRegistry registry({.process_metrics = false});
  auto m = AppMetrics::Create(registry);
  ASSERT_TRUE(m.ok()) << m.status();
  (*m)->ObserveApp(App("OutOfSync", "Progressing"), false);
  (*m)->ObserveApp(App("Synced", "Healthy"), false);
  const std::string text = registry.Serialize();
  EXPECT_THAT(text, HasSubstr("argocd_app_info{"));
  EXPECT_THAT(text, HasSubstr("name=\"guestbook\""));
  EXPECT_THAT(text, HasSubstr("dest_server=\"https://kubernetes.default.svc\""));
  EXPECT_THAT(text, HasSubstr("dest_namespace=\"web\""));
  EXPECT_THAT(text, HasSubstr("repo=\"https://example.com/repo.git\""));
  EXPECT_THAT(text, HasSubstr("autosync_enabled=\"true\""));
  EXPECT_THAT(text, HasSubstr("sync_status=\"Synced\""));
  EXPECT_THAT(text, HasSubstr("health_status=\"Healthy\""));
  // The old state's series is gone, not left at 1 beside the new one.
  EXPECT_THAT(text, Not(HasSubstr("OutOfSync")));

  (*m)->ObserveApp(App("Synced", "Healthy"), true);
  EXPECT_THAT(registry.Serialize(), Not(HasSubstr("name=\"guestbook\"")));
}

TEST(AppMetrics, SyncCounterAndReconcileHistogram) {
  metrics::MetricsRegistry registry({.process_metrics = false});
  auto m = AppMetrics::Create(registry);
  ASSERT_TRUE(m.ok()) << m.status();
  (*m)->CountSync(App("Synced", "Healthy"), "Succeeded", false);
  (*m)->CountSync(App("Synced", "Healthy"), "Succeeded", false);
  (*m)->ObserveReconcile(App("Synced", "Healthy"), absl::Milliseconds(300));
  const std::string text = registry.Serialize();
  EXPECT_THAT(text, HasSubstr("argocd_app_sync_total{"));
  EXPECT_THAT(text, HasSubstr("phase=\"Succeeded\""));
  EXPECT_THAT(text, HasSubstr("} 2"));
  EXPECT_THAT(text, HasSubstr("argocd_app_reconcile_bucket{"));
  EXPECT_THAT(text, HasSubstr("le=\"0.5\"} 1"));
  EXPECT_THAT(text, HasSubstr("le=\"0.25\"} 0"));
}

}  // namespace
}  // namespace argonaut::cd
