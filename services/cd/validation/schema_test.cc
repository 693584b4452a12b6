// "Field for field": the cd.v1 messages against the definitions of Argo CD's REST schema
// (../shared/api/argo-cd.swagger.json next to the workspace, or $ARGONAUT_API_DIR). Starting at
// v1alpha1Application and v1alpha1AppProject, every property of every reachable definition is a
// field of the matching message under the same JSON key, with a compatible type (boolean, integer,
// string, list, map, object), and every field of the message is a property of the definition.
// The two Go structs Argo CD embeds `json:",inline"` appear in the schema under their protobuf
// names (syncStrategyApply, resId/gvk); the messages flatten them, and so does this check.

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "argonaut/cd/v1/cd.pb.h"
#include "argonaut/common/v1/meta.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/test_corpus.h"
#include "nlohmann/json.hpp"

namespace argonaut::cd::validation {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

constexpr char kAnchor[] = "services/cd/validation/testdata/corpus_anchor.txt";

std::string RefName(const json& schema) {
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"].get<std::string>();
    return ref.substr(ref.rfind('/') + 1);
  }
  return "";
}

class SchemaChecker {
 public:
  explicit SchemaChecker(const json& definitions) : defs_(definitions) {}

  // `def` against `msg`; `flattened` lists definitions whose properties sit in `msg` too.
  void Check(const std::string& def, const Descriptor* msg) {
    if (!visited_.insert(def + "|" + msg->full_name()).second) return;
    ++definitions_;
    std::set<std::string> keys;
    CheckProperties(def, msg, &keys);
    for (int i = 0; i < msg->field_count(); ++i) {
      const FieldDescriptor* f = msg->field(i);
      if (keys.count(f->json_name()) == 0 && f->json_name() != "apiVersion" &&
          f->json_name() != "kind") {
        ADD_FAILURE() << msg->name() << "." << f->json_name() << " is not in " << def;
      }
    }
  }

  int definitions() const { return definitions_; }
  int properties() const { return properties_; }

 private:
  void CheckProperties(const std::string& def, const Descriptor* msg, std::set<std::string>* keys) {
    ASSERT_TRUE(defs_.contains(def)) << def;
    const json& props = defs_[def].value("properties", json::object());
    for (const auto& [key, schema] : props.items()) {
      // Inline Go embedding: the embedded struct's properties belong to this message.
      if ((def == "v1alpha1SyncStrategyHook" && key == "syncStrategyApply") ||
          (def == "v1alpha1KustomizeSelector" && key == "resId") ||
          (def == "v1alpha1KustomizeResId" && key == "gvk")) {
        CheckProperties(RefName(schema), msg, keys);
        continue;
      }
      ++properties_;
      keys->insert(key);
      const FieldDescriptor* f = nullptr;
      for (int i = 0; i < msg->field_count(); ++i) {
        if (msg->field(i)->json_name() == key) f = msg->field(i);
      }
      if (f == nullptr) {
        ADD_FAILURE() << def << "." << key << " has no field in " << msg->full_name();
        continue;
      }
      CheckType(absl::StrCat(def, ".", key), schema, f);
    }
  }

  void CheckType(const std::string& where, const json& schema, const FieldDescriptor* f) {
    const std::string type = schema.value("type", "");
    if (f->is_map()) {
      ASSERT_EQ(type, "object") << where << " is a map in the proto";
      ASSERT_TRUE(schema.contains("additionalProperties")) << where;
      CheckValue(where + "{}", schema["additionalProperties"], f->message_type()->map_value());
      return;
    }
    if (f->is_repeated()) {
      ASSERT_EQ(type, "array") << where << " is repeated in the proto";
      CheckValue(where + "[]", schema["items"], f);
      return;
    }
    EXPECT_NE(type, "array") << where << " is a list in the schema";
    CheckValue(where, schema, f);
  }

  // One value (a list element, a map value or a singular field).
  void CheckValue(const std::string& where, const json& schema, const FieldDescriptor* f) {
    const std::string ref = RefName(schema);
    const std::string type = schema.value("type", "");
    if (ref == "v1ObjectMeta") {
      EXPECT_EQ(f->message_type(), common::v1::ObjectMeta::descriptor()) << where;
    } else if (ref == "v1Time") {
      EXPECT_EQ(f->type(), FieldDescriptor::TYPE_STRING) << where << ": RFC 3339 string";
    } else if (ref == "runtimeRawExtension") {
      ASSERT_NE(f->message_type(), nullptr) << where;
      EXPECT_EQ(f->message_type()->full_name(), "google.protobuf.Struct") << where;
    } else if (ref == "intstrIntOrString") {
      EXPECT_EQ(f->type(), FieldDescriptor::TYPE_STRING) << where;
      EXPECT_TRUE(f->options().GetExtension(common::v1::int_or_string)) << where;
    } else if (!ref.empty()) {
      ASSERT_EQ(f->type(), FieldDescriptor::TYPE_MESSAGE) << where << " refers to " << ref;
      Check(ref, f->message_type());
    } else if (type == "boolean") {
      EXPECT_EQ(f->type(), FieldDescriptor::TYPE_BOOL) << where;
    } else if (type == "integer") {
      EXPECT_TRUE(f->type() == FieldDescriptor::TYPE_INT64 ||
                  f->type() == FieldDescriptor::TYPE_INT32)
          << where;
      if (schema.value("format", "") == "int64") {
        EXPECT_EQ(f->type(), FieldDescriptor::TYPE_INT64) << where << " is int64 in the schema";
      }
    } else if (type == "string") {
      EXPECT_EQ(f->type(), FieldDescriptor::TYPE_STRING) << where;
    } else {
      ADD_FAILURE() << where << ": unexpected schema " << schema.dump();
    }
  }

  const json& defs_;
  std::set<std::string> visited_;
  int definitions_ = 0;
  int properties_ = 0;
};

TEST(CdSchemaTest, MessagesMatchArgoCdDefinitions) {
  fs::path api;
  if (const char* env = std::getenv("ARGONAUT_API_DIR"); env != nullptr && *env != '\0') {
    api = env;
  } else if (absl::StatusOr<fs::path> corpus = argonaut::testing::TestCorpusDir(kAnchor);
             corpus.ok()) {
    api = corpus->parent_path() / "api";
  }
  const fs::path file = api / "argo-cd.swagger.json";
  if (!fs::exists(file)) {
    GTEST_SKIP() << file << " not found; set ARGONAUT_API_DIR to the directory holding it";
  }
  absl::StatusOr<std::string> text = argonaut::testing::ReadTestFile(file);
  ASSERT_TRUE(text.ok()) << text.status();
  const json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(doc.is_object() && doc.contains("definitions")) << file;
  SchemaChecker checker(doc["definitions"]);
  checker.Check("v1alpha1Application", v1::Application::descriptor());
  checker.Check("v1alpha1AppProject", v1::AppProject::descriptor());
  std::cout << checker.definitions() << " definitions, " << checker.properties()
            << " properties checked\n";
  EXPECT_GE(checker.definitions(), 50);
}

}  // namespace
}  // namespace argonaut::cd::validation
