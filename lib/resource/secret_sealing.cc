#include "lib/resource/secret_sealing.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "lib/crypto/aead.h"
#include "lib/resource/object_meta.h"

namespace argonaut::resource {
namespace {

namespace pb = ::google::protobuf;

// kubectl apply (and Argo CD's sync) records the whole applied object, values
// included, in this annotation.
constexpr char kLastApplied[] = "kubectl.kubernetes.io/last-applied-configuration";

class SealedMaps : public AtRestTransform {
 public:
  SealedMaps(std::string key, std::vector<std::string> fields, std::vector<std::string> annotations)
      : key_(std::move(key)), fields_(std::move(fields)), annotations_(std::move(annotations)) {}

  absl::Status Seal(const KindInfo& kind, pb::Message& object) const override {
    return Each(kind, object, [&](const std::string& aad, std::string& value) -> absl::Status {
      absl::StatusOr<std::string> sealed = crypto::Seal(key_, value, aad);
      if (!sealed.ok()) return sealed.status();
      value = std::move(*sealed);
      return absl::OkStatus();
    });
  }

  absl::Status Open(const KindInfo& kind, pb::Message& object) const override {
    return Each(kind, object, [&](const std::string& aad, std::string& value) -> absl::Status {
      // Written before sealing was on: plaintext, returned as is.
      if (!crypto::IsSealed(value)) return absl::OkStatus();
      absl::StatusOr<std::string> opened = crypto::Open(key_, value, aad);
      if (!opened.ok()) return opened.status();
      value = std::move(*opened);
      return absl::OkStatus();
    });
  }

 private:
  // Calls `fn` on each value of the sealed fields, with its binding; errors
  // name the field and key (never the value).
  template <typename Fn>
  absl::Status Each(const KindInfo& kind, pb::Message& object, Fn fn) const {
    const pb::Descriptor* desc = object.GetDescriptor();
    const pb::Reflection* refl = object.GetReflection();
    common::v1::ObjectMeta& meta = *MutableMeta(object);
    for (const std::string& name : annotations_) {
      auto it = meta.mutable_annotations()->find(name);
      if (it == meta.mutable_annotations()->end()) continue;
      const std::string aad = absl::StrCat(kind.plural, "/", meta.namespace_(), "/", meta.name(),
                                           "/metadata.annotations/", name);
      if (absl::Status s = fn(aad, it->second); !s.ok()) {
        return absl::Status(s.code(),
                            absl::StrCat("metadata.annotations[\"", name, "\"]: ", s.message()));
      }
    }
    for (const std::string& name : fields_) {
      const pb::FieldDescriptor* field = desc->FindFieldByName(name);
      if (field == nullptr || !field->is_map() ||
          field->message_type()->map_value()->type() != pb::FieldDescriptor::TYPE_STRING) {
        return absl::InternalError(
            absl::StrCat(kind.kind, " has no map<string, string> field ", name));
      }
      const int n = refl->FieldSize(object, field);
      for (int i = 0; i < n; ++i) {
        pb::Message* entry = refl->MutableRepeatedMessage(&object, field, i);
        const pb::Reflection* er = entry->GetReflection();
        const pb::FieldDescriptor* kf = field->message_type()->map_key();
        const pb::FieldDescriptor* vf = field->message_type()->map_value();
        const std::string map_key = er->GetString(*entry, kf);
        std::string value = er->GetString(*entry, vf);
        const std::string aad = absl::StrCat(kind.plural, "/", meta.namespace_(), "/", meta.name(),
                                             "/", name, "/", map_key);
        if (absl::Status s = fn(aad, value); !s.ok()) {
          return absl::Status(
              s.code(), absl::StrCat(field->json_name(), "[\"", map_key, "\"]: ", s.message()));
        }
        er->SetString(entry, vf, std::move(value));
      }
    }
    return absl::OkStatus();
  }

  std::string key_;
  std::vector<std::string> fields_;
  std::vector<std::string> annotations_;
};

}  // namespace

std::shared_ptr<const AtRestTransform> SealedStringMaps(std::string key,
                                                        std::vector<std::string> fields,
                                                        std::vector<std::string> annotations) {
  return std::make_shared<SealedMaps>(std::move(key), std::move(fields), std::move(annotations));
}

absl::Status SealSecretsAtRest(ResourceApi& api, std::string key) {
  if (key.size() != crypto::kKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("encryption key must be ", crypto::kKeySize, " bytes"));
  }
  return api.SetAtRestTransform(
      "Secret", SealedStringMaps(std::move(key), {"data", "string_data"}, {kLastApplied}));
}

}  // namespace argonaut::resource
