#include "lib/crypto/aead.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::crypto {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kKey(32, 'k');
const std::string kOtherKey(32, 'o');

TEST(AeadTest, RoundTripsAndHidesThePlaintext) {
  const std::string plain = "correct horse battery staple";
  absl::StatusOr<std::string> sealed = Seal(kKey, plain, "secrets/default/db/data/password");
  ASSERT_OK(sealed);
  EXPECT_TRUE(absl::StartsWith(*sealed, "argn:v1:"));
  EXPECT_TRUE(IsSealed(*sealed));
  EXPECT_THAT(*sealed, Not(HasSubstr(plain)));
  EXPECT_THAT(*sealed, Not(HasSubstr(absl::Base64Escape(plain))));
  absl::StatusOr<std::string> opened = Open(kKey, *sealed, "secrets/default/db/data/password");
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, plain);
}

TEST(AeadTest, EmptyAndBinaryValues) {
  for (const std::string& plain : {std::string(), std::string("\0\xff\x01", 3)}) {
    absl::StatusOr<std::string> sealed = Seal(kKey, plain, "");
    ASSERT_OK(sealed);
    absl::StatusOr<std::string> opened = Open(kKey, *sealed, "");
    ASSERT_OK(opened);
    EXPECT_EQ(*opened, plain);
  }
}

TEST(AeadTest, NoncesDiffer) {
  absl::StatusOr<std::string> a = Seal(kKey, "same", "aad");
  absl::StatusOr<std::string> b = Seal(kKey, "same", "aad");
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_NE(*a, *b);
}

TEST(AeadTest, WrongKeyAadOrTamperingIsDataLoss) {
  absl::StatusOr<std::string> sealed = Seal(kKey, "value", "here");
  ASSERT_OK(sealed);
  EXPECT_THAT(Open(kOtherKey, *sealed, "here"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not open")));
  EXPECT_THAT(Open(kKey, *sealed, "elsewhere"), StatusIs(absl::StatusCode::kDataLoss));
  std::string raw;
  ASSERT_TRUE(absl::Base64Unescape(sealed->substr(8), &raw));
  raw[14] ^= 1;
  EXPECT_THAT(Open(kKey, absl::StrCat("argn:v1:", absl::Base64Escape(raw)), "here"),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Open(kKey, "argn:v1:!!", "here"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Open(kKey, "argn:v1:AAAA", "here"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Open(kKey, "plain", "here"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_FALSE(IsSealed("plain"));
}

TEST(AeadTest, ReadsTheLegacyRepositoryEnvelope) {
  absl::StatusOr<std::string> sealed = Seal(kKey, "pw", "https://git.example/r");
  ASSERT_OK(sealed);
  const std::string legacy = absl::StrCat("enc:v1:", sealed->substr(8));
  EXPECT_TRUE(IsSealed(legacy));
  absl::StatusOr<std::string> opened = Open(kKey, legacy, "https://git.example/r");
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "pw");
}

TEST(AeadTest, RefusesShortKeys) {
  EXPECT_THAT(Seal("short", "v", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
  EXPECT_THAT(Open("short", "argn:v1:AAAA", ""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace argonaut::crypto
