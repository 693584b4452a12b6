#include "lib/store/encoding.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::store::internal {
namespace {

using ::argonaut::testing::StatusIs;

TEST(EncodingTest, VersionKeysSortNumerically) {
  EXPECT_LT(EncodeVersion(255), EncodeVersion(256));
  EXPECT_LT(EncodeVersion(1), EncodeVersion(uint64_t{1} << 40));
  EXPECT_EQ(DecodeVersion(EncodeVersion(0x0102030405060708)).value_or(0), 0x0102030405060708u);
  EXPECT_THAT(DecodeVersion("short"), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(EncodingTest, RecordValueRoundTrip) {
  const std::string value("\0bytes\xff", 7);
  // The decoded value borrows from the encoded buffer, which must stay alive.
  const std::string encoded = EncodeRecordValue(42, value);
  absl::StatusOr<RecordValue> decoded = DecodeRecordValue(encoded);
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->version, 42u);
  EXPECT_EQ(decoded->value, value);
  EXPECT_THAT(DecodeRecordValue("tiny"), StatusIs(absl::StatusCode::kDataLoss));
  std::string bad_format = EncodeRecordValue(1, "v");
  bad_format[0] = 9;
  EXPECT_THAT(DecodeRecordValue(bad_format), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(EncodingTest, LogEntryRoundTrip) {
  const std::string value("v\0v", 3);
  absl::StatusOr<Event> e =
      DecodeLogEntry(7, EncodeLogEntry(EventType::kDelete, false, "workflows", "ns/a", value));
  ASSERT_OK(e);
  EXPECT_EQ(e->type, EventType::kDelete);
  EXPECT_EQ(e->kind, "workflows");
  EXPECT_EQ(e->record.key, "ns/a");
  EXPECT_EQ(e->record.value, value);
  EXPECT_EQ(e->record.resource_version, 7u);

  absl::StatusOr<Event> empty =
      DecodeLogEntry(8, EncodeLogEntry(EventType::kPut, true, "k", "", ""));
  ASSERT_OK(empty);
  EXPECT_EQ(empty->type, EventType::kPut);
  EXPECT_EQ(empty->record.key, "");
}

TEST(EncodingTest, TruncatedLogEntryIsDataLoss) {
  const std::string full = EncodeLogEntry(EventType::kPut, false, "workflows", "ns/a", "");
  // Every strict prefix of an entry without a value is truncated somewhere.
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_THAT(DecodeLogEntry(1, full.substr(0, n)), StatusIs(absl::StatusCode::kDataLoss))
        << "prefix of " << n << " bytes";
  }
  std::string bad_type = full;
  bad_type[1] = 'X';
  EXPECT_THAT(DecodeLogEntry(1, bad_type), StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace argonaut::store::internal
