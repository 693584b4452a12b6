#include "lib/artifacts/s3/s3_xml.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::artifacts::s3 {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseXml, ListBucketResult) {
  auto doc = ParseXml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<!-- a comment --><IsTruncated>false</IsTruncated>"
      "<Contents><Key>a &amp; b/&lt;c&gt;&#x20AC;&#65;</Key><Size>12</Size>"
      "<ETag>&quot;abc&quot;</ETag></Contents><Contents><Key><![CDATA[x<y]]></Key></Contents>"
      "<Empty/></ListBucketResult>");
  ASSERT_OK(doc);
  EXPECT_EQ(doc->name, "ListBucketResult");
  EXPECT_EQ(doc->ChildText("IsTruncated"), "false");
  ASSERT_EQ(doc->children.size(), 4u);
  EXPECT_EQ(doc->children[1].ChildText("Key"),
            "a & b/<c>\xE2\x82\xAC"
            "A");
  EXPECT_EQ(doc->children[1].ChildText("ETag"), "\"abc\"");
  EXPECT_EQ(doc->children[2].ChildText("Key"), "x<y");
  EXPECT_NE(doc->Child("Empty"), nullptr);
  EXPECT_EQ(doc->Child("Missing"), nullptr);
}

TEST(ParseXml, NamespacePrefixesAreDropped) {
  auto doc = ParseXml("<s3:Error a='1' b=\"2\"><s3:Code>SlowDown</s3:Code></s3:Error>");
  ASSERT_OK(doc);
  EXPECT_EQ(doc->name, "Error");
  EXPECT_EQ(doc->ChildText("Code"), "SlowDown");
}

TEST(ParseXml, HostileAndMalformedInputsAreErrors) {
  const std::string deep = std::string("<a>") + [] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += "<a>";
    return s;
  }();
  for (const std::string& bad : std::vector<std::string>{
           "",
           "   ",
           "not xml",
           "<",
           "<a",
           "<a>",
           "<a></b>",
           "</a>",
           "<a></a><b></b>",
           "<a></a>trailing",
           "<a>&bogus;</a>",
           "<a>&amp</a>",
           "<a>&#;</a>",
           "<a>&#xD800;</a>",
           "<a>&#0;</a>",
           "<a>&#x110000;</a>",
           "<a>&#99999999999999;</a>",
           "<a b></a>",
           "<a b=c></a>",
           "<a b=\"c></a>",
           "<a><![CDATA[x</a>",
           "<a><!-- x</a>",
           "<?xml",
           "<!DOCTYPE x [<!ENTITY a 'b'>]><a>&a;</a>",
           "<a/ >",
           std::string("\x00\xff<a>", 5),
           deep,
       }) {
    EXPECT_THAT(ParseXml(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << "input: " << bad.substr(0, 40);
  }
  EXPECT_THAT(ParseXml(deep), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deep")));
  EXPECT_THAT(ParseXml("<a>" + std::string(kMaxXmlBytes, ' ') + "</a>"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too large")));
}

TEST(ParseXml, NestingUpToTheLimitIsFine) {
  std::string doc;
  for (int i = 0; i < kMaxXmlDepth; ++i) doc += "<a>";
  doc += "x";
  for (int i = 0; i < kMaxXmlDepth; ++i) doc += "</a>";
  auto parsed = ParseXml(doc);
  ASSERT_OK(parsed);
  const XmlElement* e = &*parsed;
  for (int i = 1; i < kMaxXmlDepth; ++i) e = &e->children.at(0);
  EXPECT_EQ(e->text, "x");
}

}  // namespace
}  // namespace argonaut::artifacts::s3
