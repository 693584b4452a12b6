#include "lib/resource/resource_api.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/message_differencer.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/label_selector.h"
#include "lib/resource/object_meta.h"
#include "nlohmann/json.hpp"

namespace argonaut::resource {
namespace {

// Objects larger than this are refused before decoding: Kubernetes' own
// limit for one object in etcd is 1.5 MiB; we allow more since node status
// does not live inside the object, but not without bound.
constexpr size_t kMaxObjectBytes = 8 << 20;

// Attempts of a write without a caller's resourceVersion that lost a race.
constexpr int kUnconditionalRetries = 10;

absl::StatusOr<uint64_t> ParseVersion(std::string_view rv) {
  if (rv.empty()) return 0;
  uint64_t v = 0;
  if (!absl::SimpleAtoi(AbslView(rv), &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata.resourceVersion: \"", AbslView(rv), "\" is not a resource version"));
  }
  return v;
}

// A user value for an error message: strings quoted and cut short, other
// types by name, so that a hostile value cannot make the message huge.
std::string Shown(const nlohmann::json& v) {
  if (!v.is_string()) return v.type_name();
  std::string s = v.get<std::string>();
  if (s.size() > 64) s = s.substr(0, 64) + "...";
  return absl::StrCat("\"", s, "\"");
}

// A decoding error of a kind kept sealed at rest (a Secret), without the
// value it quotes: "data: expected object, got string \"hunter2\"" keeps
// "... got string".
absl::Status WithoutValue(const absl::Status& s) {
  std::string m(s.message());
  const size_t got = m.find(", got ");
  if (got == std::string::npos) return s;
  const size_t type_end = m.find(' ', got + 6);
  if (type_end != std::string::npos) m.resize(type_end);
  return absl::Status(s.code(), m);
}

std::string NamespacePrefix(const KindInfo& kind, std::string_view ns) {
  if (!kind.namespaced) return "/";
  if (ns.empty()) return "";
  return absl::StrCat(AbslView(ns), "/");
}

// A watcher over the store's change log that turns records into objects.
class StoreObjectWatcher : public ObjectWatcher {
 public:
  // `listed` maps the keys of the initial list to their versions.
  StoreObjectWatcher(ResourceApi* api, const KindInfo* kind, LabelSelector selector,
                     std::unique_ptr<store::Watcher> watcher, std::vector<WatchEventOut> initial,
                     std::map<std::string, uint64_t> listed)
      : api_(api),
        kind_(kind),
        selector_(std::move(selector)),
        watcher_(std::move(watcher)),
        pending_(std::move(initial)),
        listed_(std::move(listed)) {
    for (const WatchEventOut& e : pending_) matching_.insert(e.key);
    for (const auto& [key, rv] : listed_) max_listed_ = std::max(max_listed_, rv);
  }

  absl::StatusOr<std::vector<WatchEventOut>> Next(absl::Time deadline) override {
    if (!pending_.empty()) return std::exchange(pending_, {});
    ASSIGN_OR_RETURN(std::vector<store::Event> events, watcher_->Next(deadline));
    std::vector<WatchEventOut> out;
    for (const store::Event& e : events) {
      // The list and the log overlap by the writes that landed between
      // reading the version and listing: skip what the list already showed.
      if (!listed_.empty()) {
        auto it = listed_.find(e.record.key);
        if (it != listed_.end() && e.record.resource_version <= it->second) continue;
        if (e.record.resource_version > max_listed_) listed_.clear();
      }
      ASSIGN_OR_RETURN(std::shared_ptr<const ResourceApi::Decoded> decoded,
                       api_->DecodeJson(*kind_, e.record));
      WatchEventOut ev;
      if (selector_.Empty()) {
        ev.type = e.type == store::EventType::kDelete ? "DELETED"
                  : e.created                         ? "ADDED"
                                                      : "MODIFIED";
      } else {
        // Kubernetes' filtered watch: an object entering the selection is
        // ADDED, one leaving it (by a label change) is DELETED.
        const bool matches =
            e.type != store::EventType::kDelete && selector_.Matches(decoded->labels);
        const bool matched = matching_.erase(e.record.key) > 0;
        if (matches) matching_.insert(e.record.key);
        if (!matches && !matched) continue;
        ev.type = !matches ? "DELETED" : matched ? "MODIFIED" : "ADDED";
      }
      ev.object = decoded->object;
      ev.resource_version = e.record.resource_version;
      ev.key = e.record.key;
      out.push_back(std::move(ev));
    }
    return out;
  }

  void Cancel() override { watcher_->Cancel(); }

 private:
  ResourceApi* api_;
  const KindInfo* kind_;
  LabelSelector selector_;
  std::unique_ptr<store::Watcher> watcher_;
  std::vector<WatchEventOut> pending_;
  std::map<std::string, uint64_t> listed_;
  // Keys currently inside a label selection (only used with a selector).
  absl::flat_hash_set<std::string> matching_;
  uint64_t max_listed_ = 0;
};

}  // namespace

std::string WatchEventOut::Json() const { return manifest::ToJsonText(object, /*pretty=*/false); }

std::string ObjectKey(std::string_view ns, std::string_view name) {
  return absl::StrCat(AbslView(ns), "/", AbslView(name));
}

ResourceApi::ResourceApi(store::Store* store, std::vector<const KindInfo*> kinds,
                         Validator validator)
    : store_(store), kinds_(std::move(kinds)), validator_(std::move(validator)) {}

std::vector<std::string> ResourceApi::ColumnFamilies(const std::vector<const KindInfo*>& kinds) {
  std::vector<std::string> out;
  for (const KindInfo* k : kinds) out.push_back(k->plural);
  return out;
}

absl::StatusOr<const KindInfo*> ResourceApi::Resolve(std::string_view kind) const {
  const KindInfo* k = FindKind(kind);
  if (k == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown kind \"", AbslView(kind), "\""));
  }
  for (const KindInfo* own : kinds_) {
    if (own == k) return k;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("kind ", k->kind, " is served by the ", k->service, " service"));
}

absl::Status ResourceApi::SetAtRestTransform(std::string_view kind,
                                             std::shared_ptr<const AtRestTransform> transform) {
  ASSIGN_OR_RETURN(const KindInfo* k, Resolve(kind));
  at_rest_[k->plural] = std::move(transform);
  return absl::OkStatus();
}

absl::Status ResourceApi::Serialize(const KindInfo& kind, const google::protobuf::Message& object,
                                    std::string* bytes) const {
  auto t = at_rest_.find(kind.plural);
  if (t == at_rest_.end()) {
    if (!object.SerializeToString(bytes)) return absl::InternalError("serialize failed");
    return absl::OkStatus();
  }
  std::unique_ptr<google::protobuf::Message> sealed(object.New());
  sealed->CopyFrom(object);
  RETURN_IF_ERROR(t->second->Seal(kind, *sealed));
  if (!sealed->SerializeToString(bytes)) return absl::InternalError("serialize failed");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ResourceApi::Decode(
    const KindInfo& kind, const store::Record& record) {
  auto msg = kind.NewMessage();
  if (!msg->ParseFromString(record.value)) {
    return absl::DataLossError(
        absl::StrCat("stored ", kind.kind, " ", record.key, " does not parse"));
  }
  if (auto t = at_rest_.find(kind.plural); t != at_rest_.end()) {
    if (absl::Status s = t->second->Open(kind, *msg); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("stored ", kind.kind, " ", record.key, ": ", s.message()));
    }
  }
  MutableMeta(*msg)->set_resource_version(absl::StrCat(record.resource_version));
  return msg;
}

absl::StatusOr<std::shared_ptr<const ResourceApi::Decoded>> ResourceApi::DecodeJson(
    const KindInfo& kind, const store::Record& record) {
  const std::string cache_key = absl::StrCat(kind.plural, "\n", record.key);
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(cache_key);
    if (it != cache_.end() && it->second.resource_version == record.resource_version) {
      return it->second.decoded;
    }
  }
  ASSIGN_OR_RETURN(auto msg, Decode(kind, record));
  return Remember(kind, record.key, record.resource_version, record.value.size(),
                  manifest::ToJson(*msg));
}

std::shared_ptr<const ResourceApi::Decoded> ResourceApi::Remember(const KindInfo& kind,
                                                                  const std::string& key,
                                                                  uint64_t resource_version,
                                                                  size_t bytes,
                                                                  nlohmann::json object) {
  // Bounds the cache by the stored bytes it stands for (the JSON is a few
  // times larger): enough for every pod of a busy local runtime.
  constexpr size_t kMaxCacheBytes = 32 << 20;
  auto decoded = std::make_shared<Decoded>();
  decoded->object = std::move(object);
  const nlohmann::json* labels = nullptr;
  if (auto m = decoded->object.find("metadata"); m != decoded->object.end() && m->is_object()) {
    if (auto l = m->find("labels"); l != m->end() && l->is_object()) labels = &*l;
  }
  if (labels != nullptr) {
    for (const auto& [k, v] : labels->items()) {
      if (v.is_string()) decoded->labels.emplace(k, v.get<std::string>());
    }
  }
  const std::string cache_key = absl::StrCat(kind.plural, "\n", key);
  absl::MutexLock lock(&cache_mu_);
  CacheEntry& entry = cache_[cache_key];
  // An older version never replaces a newer one (a slow watcher decoding an
  // old event after the writer remembered the new version).
  if (entry.decoded != nullptr && entry.resource_version > resource_version) return decoded;
  cache_bytes_ += bytes;
  cache_bytes_ -= entry.bytes;
  entry = CacheEntry{.resource_version = resource_version, .bytes = bytes, .decoded = decoded};
  if (cache_bytes_ > kMaxCacheBytes) {
    cache_.clear();
    cache_bytes_ = 0;
  }
  return decoded;
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ResourceApi::Parse(
    const KindInfo& kind, std::string_view json) {
  if (json.size() > kMaxObjectBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "object is ", json.size(), " bytes, more than the limit of ", kMaxObjectBytes));
  }
  absl::StatusOr<nlohmann::json> parsed = manifest::ParseJsonText(json);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("object: ", parsed.status().message()));
  }
  return ParseDoc(kind, *std::move(parsed));
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ResourceApi::ParseDoc(
    const KindInfo& kind, nlohmann::json doc) {
  if (!doc.is_object()) return absl::InvalidArgumentError("object must be a JSON object");
  if (auto it = doc.find("kind"); it != doc.end()) {
    if (!it->is_string() || it->get<std::string>() != kind.kind) {
      return absl::InvalidArgumentError(
          absl::StrCat("kind: expected ", kind.kind, ", got ", Shown(*it)));
    }
  } else {
    doc["kind"] = kind.kind;
  }
  if (auto it = doc.find("apiVersion"); it != doc.end()) {
    if (!it->is_string() || it->get<std::string>() != kind.api_version) {
      return absl::InvalidArgumentError(
          absl::StrCat("apiVersion: expected ", kind.api_version, ", got ", Shown(*it)));
    }
  } else {
    doc["apiVersion"] = kind.api_version;
  }
  auto msg = kind.NewMessage();
  absl::Status decoded = manifest::FromJson(doc, msg.get());
  if (!decoded.ok() && at_rest_.contains(kind.plural)) return WithoutValue(decoded);
  RETURN_IF_ERROR(decoded);
  return msg;
}

namespace {

// Copies the message field `name` (spec, status) from `from` to `to`.
void CopyField(const google::protobuf::Message& from, google::protobuf::Message& to,
               const char* name) {
  const google::protobuf::FieldDescriptor* f = to.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) return;
  if (from.GetReflection()->HasField(from, f)) {
    to.GetReflection()->MutableMessage(&to, f)->CopyFrom(from.GetReflection()->GetMessage(from, f));
  } else {
    to.GetReflection()->ClearField(&to, f);
  }
}

// Whether `now` equals `old` except for status (and the server-set uid,
// creationTimestamp and generation, which the caller may leave out).
bool OnlyStatusDiffers(const google::protobuf::Message& old, const google::protobuf::Message& now) {
  google::protobuf::util::MessageDifferencer diff;
  if (const auto* f = now.GetDescriptor()->FindFieldByName("status")) diff.IgnoreField(f);
  const google::protobuf::Descriptor* meta = common::v1::ObjectMeta::descriptor();
  for (const char* name : {"uid", "creation_timestamp", "generation", "resource_version"}) {
    if (const auto* f = meta->FindFieldByName(name)) diff.IgnoreField(f);
  }
  return diff.Compare(old, now);
}

bool HasField(const google::protobuf::Message& m, const char* name) {
  const google::protobuf::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  return f != nullptr && f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE &&
         m.GetReflection()->HasField(m, f);
}

std::string FieldBytes(const google::protobuf::Message& m, const char* name) {
  const google::protobuf::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
    return "";
  }
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  // Deterministic, so that equal specs (maps included) compare equal.
  coded.SetSerializationDeterministic(true);
  m.GetReflection()->GetMessage(m, f).SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

}  // namespace

absl::StatusOr<std::optional<uint64_t>> ResourceApi::PrepareWrite(const KindInfo& kind,
                                                                  google::protobuf::Message& object,
                                                                  bool upsert, bool must_exist,
                                                                  uint64_t given_rv,
                                                                  const std::string& key) {
  common::v1::ObjectMeta* meta = MutableMeta(object);
  // Creation-time fields survive replacement, as with kubectl apply.
  absl::StatusOr<store::Record> existing = store_->Get(kind.plural, key);
  if (existing.ok()) {
    if (!upsert && !must_exist) {
      return absl::AlreadyExistsError(
          absl::StrCat(kind.kind, " \"", meta->name(), "\" already exists"));
    }
    ASSIGN_OR_RETURN(auto old, Decode(kind, *existing));
    // Validation looks at spec and metadata, which a write of the status
    // alone keeps as stored (and validated): a controller's status update of
    // a large workflow is not re-validated every time.
    MutableMeta(*old)->clear_resource_version();
    if (validator_ && !OnlyStatusDiffers(*old, object)) {
      RETURN_IF_ERROR(validator_(kind, object));
    }
    meta->set_uid(Meta(*old).uid());
    meta->set_creation_timestamp(Meta(*old).creation_timestamp());
    if (upsert && !must_exist && !kind.status_subresource && !HasField(object, "status")) {
      // kubectl apply patches what the manifest says: a manifest without a
      // status (a CronWorkflow re-applied) keeps what the controller wrote.
      CopyField(*old, object, "status");
    }
    if (kind.status_subresource) {
      CopyField(*old, object, "status");
      const int64_t generation = std::max<int64_t>(Meta(*old).generation(), 1);
      meta->set_generation(FieldBytes(*old, "spec") == FieldBytes(object, "spec") ? generation
                                                                                  : generation + 1);
    }
    return given_rv != 0 ? given_rv : existing->resource_version;
  }
  if (absl::IsNotFound(existing.status())) {
    if (must_exist) {
      return absl::NotFoundError(absl::StrCat(kind.kind, " \"", meta->name(), "\" not found"));
    }
    if (validator_) RETURN_IF_ERROR(validator_(kind, object));
    if (given_rv != 0 && !upsert) {
      return absl::InvalidArgumentError(
          "metadata.resourceVersion: must not be set on objects to be created");
    }
    meta->set_uid(NewUid());
    meta->set_creation_timestamp(FormatTimestamp(absl::Now()));
    if (kind.status_subresource) meta->set_generation(1);
    return store::kMustNotExist;
  }
  return existing.status();
}

absl::StatusOr<nlohmann::json> ResourceApi::Write(const KindInfo& kind,
                                                  google::protobuf::Message& object, bool upsert,
                                                  bool must_exist, bool status_write) {
  common::v1::ObjectMeta* meta = MutableMeta(object);
  if (kind.namespaced) {
    if (meta->namespace_().empty()) meta->set_namespace_("default");
    RETURN_IF_ERROR(ValidateName(meta->namespace_(), "metadata.namespace"));
  } else {
    meta->clear_namespace_();
  }
  if (meta->name().empty() && !meta->generate_name().empty() && !must_exist) {
    // As Kubernetes: the prefix is cut to 58 so the name, with its 5 random characters, still
    // fits a label value (Argo labels pods with their workflow's name).
    meta->set_name(absl::StrCat(meta->generate_name().substr(0, 58), RandomSuffix(5)));
  }
  RETURN_IF_ERROR(ValidateName(meta->name(), "metadata.name"));

  ASSIGN_OR_RETURN(uint64_t given_rv, ParseVersion(meta->resource_version()));
  meta->clear_resource_version();
  const std::string key = ObjectKey(meta->namespace_(), meta->name());

  std::optional<uint64_t> expected;
  if (status_write) {
    // The stored object with a new status, read at the version it names
    // (WriteStatusOf): nothing to read or decode again.
    if (given_rv == 0) return absl::InternalError("status write without a resource version");
    expected = given_rv;
  } else {
    ASSIGN_OR_RETURN(expected, PrepareWrite(kind, object, upsert, must_exist, given_rv, key));
  }

  std::string bytes;
  RETURN_IF_ERROR(Serialize(kind, object, &bytes));
  if (bytes.size() > kMaxObjectBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "object is ", bytes.size(), " bytes stored, more than the limit of ", kMaxObjectBytes));
  }
  // The JSON is made before the write: watchers wake as soon as it lands and
  // find it remembered instead of decoding the record again.
  nlohmann::json written = manifest::ToJson(object);
  absl::StatusOr<uint64_t> rv = store_->Put(kind.plural, key, bytes, expected);
  if (absl::IsAborted(rv.status())) {
    return absl::AbortedError(absl::StrCat(
        "Operation cannot be fulfilled on ", kind.plural, " \"", meta->name(),
        "\": the object has been modified; please apply your changes to the latest version"));
  }
  if (absl::IsAlreadyExists(rv.status())) {
    return absl::AlreadyExistsError(
        absl::StrCat(kind.kind, " \"", meta->name(), "\" already exists"));
  }
  if (absl::IsNotFound(rv.status())) {
    return absl::NotFoundError(absl::StrCat(kind.kind, " \"", meta->name(), "\" not found"));
  }
  if (!rv.ok()) return rv.status();
  written["metadata"]["resourceVersion"] = absl::StrCat(*rv);
  Remember(kind, key, *rv, bytes.size(), written);
  return written;
}

namespace {

std::string Text(const absl::StatusOr<nlohmann::json>& object) {
  return manifest::ToJsonText(*object, /*pretty=*/false);
}

}  // namespace

absl::StatusOr<nlohmann::json> ResourceApi::CreateParsed(const KindInfo& kind,
                                                         const google::protobuf::Message& object,
                                                         bool upsert) {
  // A generated name can collide; Kubernetes retries with a new suffix too.
  const bool generated = Meta(object).name().empty();
  for (int attempt = 0;; ++attempt) {
    auto copy = std::unique_ptr<google::protobuf::Message>(object.New());
    copy->CopyFrom(object);
    absl::StatusOr<nlohmann::json> out = Write(kind, *copy, upsert, /*must_exist=*/false);
    if (generated && absl::IsAlreadyExists(out.status()) && attempt < 5) continue;
    return out;
  }
}

absl::StatusOr<nlohmann::json> ResourceApi::CreateObject(std::string_view kind_name,
                                                         nlohmann::json object, bool upsert) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  ASSIGN_OR_RETURN(auto msg, ParseDoc(*kind, std::move(object)));
  return CreateParsed(*kind, *msg, upsert);
}

absl::StatusOr<std::string> ResourceApi::Create(std::string_view kind_name, std::string_view json,
                                                bool upsert) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  ASSIGN_OR_RETURN(auto msg, Parse(*kind, json));
  absl::StatusOr<nlohmann::json> out = CreateParsed(*kind, *msg, upsert);
  if (!out.ok()) return out.status();
  return Text(out);
}

absl::StatusOr<nlohmann::json> ResourceApi::Replace(const KindInfo& kind,
                                                    const google::protobuf::Message& object) {
  // Without a resourceVersion from the caller the write is "last writer
  // wins": another write landing between our read and ours only means the
  // creation-time fields (and a status subresource) are read again.
  const bool unconditional = Meta(object).resource_version().empty();
  for (int attempt = 0;; ++attempt) {
    auto copy = std::unique_ptr<google::protobuf::Message>(object.New());
    copy->CopyFrom(object);
    absl::StatusOr<nlohmann::json> out = Write(kind, *copy, /*upsert=*/true, /*must_exist=*/true);
    if (unconditional && absl::IsAborted(out.status()) && attempt < kUnconditionalRetries) continue;
    if (out.ok() && kind.service != "cluster") RETURN_IF_ERROR(DeleteIfFinalized(kind, *out));
    return out;
  }
}

// As Kubernetes: an object marked for deletion goes once the update that
// removes its last finalizer is stored, whoever removed it.
absl::Status ResourceApi::DeleteIfFinalized(const KindInfo& kind, const nlohmann::json& written) {
  const nlohmann::json& meta = written.value("metadata", nlohmann::json::object());
  if (!meta.is_object() || meta.value("deletionTimestamp", "").empty()) return absl::OkStatus();
  auto f = meta.find("finalizers");
  if (f != meta.end() && f->is_array() && !f->empty()) return absl::OkStatus();
  absl::Status s = Delete(kind.kind, meta.value("namespace", ""), meta.value("name", ""),
                          meta.value("resourceVersion", ""));
  // Gone already, or changed since (a finalizer added back): not ours to delete.
  if (absl::IsNotFound(s) || absl::IsAborted(s)) return absl::OkStatus();
  return s;
}

absl::StatusOr<nlohmann::json> ResourceApi::UpdateObject(std::string_view kind_name,
                                                         nlohmann::json object) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  ASSIGN_OR_RETURN(auto msg, ParseDoc(*kind, std::move(object)));
  return Replace(*kind, *msg);
}

absl::StatusOr<std::string> ResourceApi::Update(std::string_view kind_name, std::string_view json) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  ASSIGN_OR_RETURN(auto msg, Parse(*kind, json));
  absl::StatusOr<nlohmann::json> out = Replace(*kind, *msg);
  if (!out.ok()) return out.status();
  return Text(out);
}

absl::StatusOr<nlohmann::json> ResourceApi::UpdateStatusObject(std::string_view kind_name,
                                                               nlohmann::json object) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  ASSIGN_OR_RETURN(auto msg, ParseDoc(*kind, std::move(object)));
  return WriteStatusOf(*kind, *msg);
}

absl::StatusOr<std::string> ResourceApi::UpdateStatus(std::string_view kind_name,
                                                      std::string_view json) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  ASSIGN_OR_RETURN(auto msg, Parse(*kind, json));
  absl::StatusOr<nlohmann::json> out = WriteStatusOf(*kind, *msg);
  if (!out.ok()) return out.status();
  return Text(out);
}

absl::StatusOr<nlohmann::json> ResourceApi::WriteStatusOf(const KindInfo& kind,
                                                          const google::protobuf::Message& object) {
  if (!kind.status_subresource) {
    return absl::InvalidArgumentError(absl::StrCat(kind.kind, " has no status subresource"));
  }
  const common::v1::ObjectMeta& meta = Meta(object);
  const std::string ns =
      kind.namespaced ? (meta.namespace_().empty() ? "default" : meta.namespace_()) : "";
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<store::Record> rec = store_->Get(kind.plural, ObjectKey(ns, meta.name()));
    if (absl::IsNotFound(rec.status())) {
      return absl::NotFoundError(absl::StrCat(kind.plural, " \"", meta.name(), "\" not found"));
    }
    if (!rec.ok()) return rec.status();
    ASSIGN_OR_RETURN(auto stored, Decode(kind, *rec));
    CopyField(object, *stored, "status");
    // The caller's version (if any) is the precondition; else last writer
    // wins, and a spec write landing meanwhile only means reading it again.
    MutableMeta(*stored)->set_resource_version(meta.resource_version().empty()
                                                   ? absl::StrCat(rec->resource_version)
                                                   : meta.resource_version());
    absl::StatusOr<nlohmann::json> out =
        Write(kind, *stored, /*upsert=*/true, /*must_exist=*/true, /*status_write=*/true);
    if (meta.resource_version().empty() && absl::IsAborted(out.status()) &&
        attempt < kUnconditionalRetries) {
      continue;
    }
    return out;
  }
}

absl::StatusOr<nlohmann::json> ResourceApi::GetObject(std::string_view kind_name,
                                                      std::string_view ns, std::string_view name) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  const std::string key = ObjectKey(kind->namespaced ? (ns.empty() ? "default" : ns) : "", name);
  absl::StatusOr<store::Record> rec = store_->Get(kind->plural, key);
  if (absl::IsNotFound(rec.status())) {
    return absl::NotFoundError(absl::StrCat(kind->plural, " \"", AbslView(name), "\" not found"));
  }
  if (!rec.ok()) return rec.status();
  ASSIGN_OR_RETURN(std::shared_ptr<const Decoded> decoded, DecodeJson(*kind, *rec));
  return decoded->object;
}

absl::StatusOr<std::string> ResourceApi::Get(std::string_view kind_name, std::string_view ns,
                                             std::string_view name) {
  ASSIGN_OR_RETURN(nlohmann::json object, GetObject(kind_name, ns, name));
  return manifest::ToJsonText(object, /*pretty=*/false);
}

absl::StatusOr<std::pair<std::vector<std::string>, uint64_t>> ResourceApi::List(
    std::string_view kind_name, std::string_view ns, std::string_view label_selector) {
  const uint64_t version = store_->CurrentVersion();
  ASSIGN_OR_RETURN(std::vector<nlohmann::json> objects, ListObjects(kind_name, ns, label_selector));
  std::vector<std::string> items;
  items.reserve(objects.size());
  for (const nlohmann::json& o : objects) {
    items.push_back(manifest::ToJsonText(o, /*pretty=*/false));
  }
  return std::make_pair(std::move(items), version);
}

absl::StatusOr<std::vector<nlohmann::json>> ResourceApi::ListObjects(
    std::string_view kind_name, std::string_view ns, std::string_view label_selector) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  ASSIGN_OR_RETURN(LabelSelector selector, LabelSelector::Parse(AbslView(label_selector)));
  ASSIGN_OR_RETURN(std::vector<store::Record> records,
                   store_->List(kind->plural, NamespacePrefix(*kind, ns)));
  std::vector<nlohmann::json> items;
  for (const store::Record& r : records) {
    ASSIGN_OR_RETURN(std::shared_ptr<const Decoded> decoded, DecodeJson(*kind, r));
    if (!selector.Matches(decoded->labels)) continue;
    items.push_back(decoded->object);
  }
  return items;
}

absl::Status ResourceApi::Delete(std::string_view kind_name, std::string_view ns,
                                 std::string_view name, std::string_view resource_version) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  ASSIGN_OR_RETURN(uint64_t rv, ParseVersion(resource_version));
  // Kubernetes' finalizers for the Argo kinds: an object that names any is only marked
  // (metadata.deletionTimestamp); its controller removes them and then deletes it. The
  // cluster's own kinds keep the runtime's deletion.
  for (int tries = 0; kind->service != "cluster" && tries < 5; ++tries) {
    absl::StatusOr<nlohmann::json> current = GetObject(kind_name, ns, name);
    if (!current.ok()) break;
    nlohmann::json& meta = (*current)["metadata"];
    if (!meta.contains("finalizers") || !meta["finalizers"].is_array() ||
        meta["finalizers"].empty()) {
      break;
    }
    if (rv != 0 && meta.value("resourceVersion", "") != std::to_string(rv)) {
      return absl::AbortedError(
          absl::StrCat(kind->plural, " \"", AbslView(name), "\": resourceVersion mismatch"));
    }
    if (meta.value("deletionTimestamp", "") != "") return absl::OkStatus();
    meta["deletionTimestamp"] = FormatTimestamp(absl::Now());
    absl::StatusOr<nlohmann::json> marked = UpdateObject(kind_name, *std::move(current));
    if (!absl::IsAborted(marked.status()) || tries == 4) return marked.status();
  }
  const std::string key = ObjectKey(kind->namespaced ? (ns.empty() ? "default" : ns) : "", name);
  absl::StatusOr<uint64_t> out =
      store_->Delete(kind->plural, key, rv == 0 ? std::nullopt : std::optional<uint64_t>(rv));
  if (absl::IsNotFound(out.status())) {
    return absl::NotFoundError(absl::StrCat(kind->plural, " \"", AbslView(name), "\" not found"));
  }
  return out.status();
}

absl::StatusOr<std::unique_ptr<ObjectWatcher>> ResourceApi::Watch(
    std::string_view kind_name, std::string_view ns, std::string_view label_selector,
    std::string_view resource_version) {
  ASSIGN_OR_RETURN(const KindInfo* kind, Resolve(kind_name));
  ASSIGN_OR_RETURN(LabelSelector selector, LabelSelector::Parse(AbslView(label_selector)));
  ASSIGN_OR_RETURN(uint64_t from, ParseVersion(resource_version));
  std::vector<WatchEventOut> initial;
  std::map<std::string, uint64_t> listed;
  if (from == 0) {
    // Kubernetes semantics: a watch without a version starts with the
    // current state as synthetic ADDED events, then follows changes after it.
    from = store_->CurrentVersion();
    ASSIGN_OR_RETURN(std::vector<store::Record> records,
                     store_->List(kind->plural, NamespacePrefix(*kind, ns)));
    for (const store::Record& r : records) {
      listed[r.key] = r.resource_version;
      ASSIGN_OR_RETURN(auto msg, Decode(*kind, r));
      if (!selector.Matches(Meta(*msg).labels())) continue;
      initial.push_back({"ADDED", manifest::ToJson(*msg), r.resource_version, r.key});
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<store::Watcher> watcher,
                   store_->Watch(kind->plural, NamespacePrefix(*kind, ns), from));
  return std::unique_ptr<ObjectWatcher>(new StoreObjectWatcher(
      this, kind, std::move(selector), std::move(watcher), std::move(initial), std::move(listed)));
}

}  // namespace argonaut::resource
