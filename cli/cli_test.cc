#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/printer.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cli {
namespace {

using ::argonaut::testing::StatusIs;
using nlohmann::json;

const std::vector<FlagSpec> kSpecs = {{"namespace", "n"},
                                      {"output", "o"},
                                      {"all-namespaces", "A", false},
                                      {"filename", "f", true, true}};

TEST(ArgsTest, MixedPositionalsAndFlags) {
  auto a = ParseArgs({"wf", "-n", "team", "hello", "--output=json", "-A"}, kSpecs);
  ASSERT_OK(a);
  EXPECT_EQ(a->positional, (std::vector<std::string>{"wf", "hello"}));
  EXPECT_EQ(a->Get("namespace"), "team");
  EXPECT_EQ(a->Get("output"), "json");
  EXPECT_TRUE(a->Has("all-namespaces"));
  EXPECT_EQ(a->Get("missing", "dflt"), "dflt");
}

TEST(ArgsTest, RepeatedFlagsAndStdin) {
  auto a = ParseArgs({"-f", "a.yaml", "-f", "-", "--filename", "b.yaml"}, kSpecs);
  ASSERT_OK(a);
  EXPECT_EQ(a->All("filename"), (std::vector<std::string>{"a.yaml", "-", "b.yaml"}));
}

TEST(ArgsTest, Errors) {
  EXPECT_THAT(ParseArgs({"--bogus"}, kSpecs), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseArgs({"-n"}, kSpecs), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseArgs({"-A=x"}, kSpecs), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseArgs({"-=x"}, kSpecs), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PrinterTest, Ages) {
  absl::Time t0 = absl::FromUnixSeconds(1000000);
  EXPECT_EQ(FormatAge(t0, t0 + absl::Seconds(45)), "45s");
  EXPECT_EQ(FormatAge(t0, t0 + absl::Minutes(12)), "12m");
  EXPECT_EQ(FormatAge(t0, t0 + absl::Hours(5)), "5h");
  EXPECT_EQ(FormatAge(t0, t0 + absl::Hours(24 * 3)), "3d");
  EXPECT_EQ(FormatAge(t0 + absl::Seconds(5), t0), "0s");
}

json Wf(const std::string& name, const std::string& phase) {
  json o = {{"metadata",
             {{"name", name},
              {"namespace", "default"},
              {"creationTimestamp", "2026-01-01T00:00:00Z"},
              {"labels", {{"app", "x"}}}}}};
  if (!phase.empty()) o["status"]["phase"] = phase;
  return o;
}

TEST(PrinterTest, WorkflowTable) {
  const auto* kind = resource::FindKind("wf");
  absl::Time now = absl::FromUnixSeconds(1767225600 + 90);  // 90 s after creation
  std::string table =
      FormatTable(*kind, {Wf("a", "Succeeded"), Wf("long-name", "")}, false, false, now);
  EXPECT_EQ(table,
            "NAME        STATUS      AGE   MESSAGE\n"
            "a           Succeeded   90s\n"
            "long-name   Pending     90s\n");
  std::string wide = FormatTable(*kind, {Wf("a", "Running")}, true, true, now);
  EXPECT_NE(wide.find("NAMESPACE"), std::string::npos);
  EXPECT_NE(wide.find("app=x"), std::string::npos);
}

TEST(PrinterTest, ListAsJsonAndName) {
  const auto* kind = resource::FindKind("wftmpl");
  auto text = FormatObjects(*kind, {Wf("a", ""), Wf("b", "")}, true, "json", false, absl::Now());
  ASSERT_OK(text);
  json doc = json::parse(*text);
  EXPECT_EQ(doc["kind"], "List");
  EXPECT_EQ(doc["items"].size(), 2u);
  auto names = FormatObjects(*kind, {Wf("a", "")}, true, "name", false, absl::Now());
  ASSERT_OK(names);
  EXPECT_EQ(*names, "workflowtemplate.argoproj.io/a\n");
  EXPECT_THAT(FormatObjects(*kind, {}, true, "xml", false, absl::Now()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::cli
