// GoogleTest matchers for absl::Status and absl::StatusOr.
//
//   EXPECT_THAT(store->Get("wf", "default/x"), StatusIs(absl::StatusCode::kNotFound));
//   ASSERT_THAT(status, IsOk());
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace argonaut::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::argonaut::testing::GetStatus(arg);
  *result_listener << s.ToString();
  return s.ok();
}

MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& s = ::argonaut::testing::GetStatus(arg);
  *result_listener << s.ToString();
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher, "has status code and message") {
  const absl::Status& s = ::argonaut::testing::GetStatus(arg);
  *result_listener << s.ToString();
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

}  // namespace argonaut::testing

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::argonaut::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::argonaut::testing::IsOk())
