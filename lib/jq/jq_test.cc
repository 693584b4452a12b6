#include "lib/jq/jq.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::jq {
namespace {

using nlohmann::json;

TEST(Jq, RunsAProgramOverJson) {
  json in = {{"body", {{"message", "hello"}, {"n", 3}}}, {"header", json::object()}};
  auto out = RunFirst(".body | {msg: .message, twice: (.n * 2)}", in);
  ASSERT_OK(out);
  EXPECT_EQ(*out, json({{"msg", "hello"}, {"twice", 6}}));
}

TEST(Jq, EveryOutputInOrder) {
  auto out = jq::Run(".[] | select(. > 1)", json::array({1, 2, 3}));
  ASSERT_OK(out);
  EXPECT_EQ(*out, (std::vector<json>{2, 3}));
  auto none = RunFirst("empty", json::object());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
}

TEST(Jq, ErrorsCarryJqsMessage) {
  auto bad = jq::Run(".a |||", json::object());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("jq: "), std::string_view::npos);
  auto runtime = jq::Run(".a.b", json({{"a", "text"}}));
  EXPECT_EQ(runtime.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(runtime.status().message().find("Cannot index string"), std::string_view::npos)
      << runtime.status();
  auto thrown = jq::Run("error(\"boom\")", json::object());
  EXPECT_NE(thrown.status().message().find("boom"), std::string_view::npos) << thrown.status();
  // The cached program is usable again after a failure.
  auto again = RunFirst(".a", json({{"a", 1}}));
  ASSERT_OK(again);
  EXPECT_EQ(*again, 1);
}

TEST(Jq, Bounded) {
  auto many = jq::Run("range(0; 100000)", json(nullptr), Limits{.max_outputs = 10});
  EXPECT_EQ(many.status().code(), absl::StatusCode::kResourceExhausted);
  // repeat/0 never ends on its own: the first output is enough for RunFirst.
  auto first = RunFirst("repeat(1)", json(nullptr));
  ASSERT_OK(first);
  EXPECT_EQ(*first, 1);
  auto big = jq::Run("[range(0; 100000)]", json(nullptr), Limits{.max_output_bytes = 1000});
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  auto long_program =
      jq::Run(std::string(100, ' ') + ".", json(nullptr), Limits{.max_program_bytes = 10});
  EXPECT_EQ(long_program.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Jq, ThreadsHaveTheirOwnStates) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto out = RunFirst(".x + 1", json({{"x", t * 100 + i}}));
        if (out.ok() && *out == t * 100 + i + 1) ++ok;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, 200);
}

}  // namespace
}  // namespace argonaut::jq
