#include "services/workflow/archive/archive.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/base/status_macros.h"
#include "lib/manifest/json_text.h"
#include "lib/manifest/yaml.h"
#include "lib/resource/label_selector.h"

namespace argonaut::workflow::archive {
namespace {

using nlohmann::json;

constexpr char kWhole[] = "w/";
constexpr char kSummary[] = "i/";

const json& Field(const json& obj, const char* key) {
  static const json* null = new json();
  if (!obj.is_object()) return *null;
  auto it = obj.find(key);
  return it == obj.end() ? *null : *it;
}

std::string Str(const json& obj, const char* key) {
  const json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

std::map<std::string, std::string> Labels(const json& wf) {
  std::map<std::string, std::string> out;
  const json& labels = Field(Field(wf, "metadata"), "labels");
  if (!labels.is_object()) return out;
  for (const auto& [k, v] : labels.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

absl::Time ParseTime(const std::string& text) {
  absl::Time t = absl::InfinitePast();
  std::string err;
  if (text.empty() || !absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return absl::InfinitePast();
  }
  return t;
}

struct FieldFilter {
  std::string name, ns;
  absl::Time started_after = absl::InfinitePast(), started_before = absl::InfiniteFuture();
};

absl::StatusOr<FieldFilter> ParseFieldSelector(std::string_view text) {
  FieldFilter f;
  for (absl::string_view term :
       absl::StrSplit(absl::string_view(text.data(), text.size()), ',', absl::SkipEmpty())) {
    term = absl::StripAsciiWhitespace(term);
    if (absl::ConsumePrefix(&term, "metadata.name=")) {
      f.name = std::string(term);
    } else if (absl::ConsumePrefix(&term, "metadata.namespace=")) {
      f.ns = std::string(term);
    } else if (absl::ConsumePrefix(&term, "spec.startedAt>")) {
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, std::string(term), &f.started_after, &err)) {
        return absl::InvalidArgumentError(
            absl::StrCat("listOptions.fieldSelector: spec.startedAt: bad time \"", term, "\""));
      }
    } else if (absl::ConsumePrefix(&term, "spec.startedAt<")) {
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, std::string(term), &f.started_before, &err)) {
        return absl::InvalidArgumentError(
            absl::StrCat("listOptions.fieldSelector: spec.startedAt: bad time \"", term, "\""));
      }
    } else if (absl::StartsWith(term, "ext.")) {
      // Argo's extensions (ext.showRemainingItemCount): accepted, nothing to do.
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "listOptions.fieldSelector: unsupported term \"", term,
          "\" (want metadata.name=, metadata.namespace=, spec.startedAt> or spec.startedAt<)"));
    }
  }
  return f;
}

bool NameMatches(const std::string& name, const std::string& want, const std::string& filter) {
  if (want.empty()) return true;
  if (filter == "Exact") return name == want;
  if (filter == "Contains") return absl::StrContains(name, want);
  if (filter == "NotEquals") return name != want;
  return absl::StartsWith(name, want);
}

}  // namespace

json Summarize(const json& workflow) {
  const json& meta = Field(workflow, "metadata");
  json m = json::object();
  for (const char* key :
       {"name", "namespace", "uid", "creationTimestamp", "labels", "annotations"}) {
    if (!Field(meta, key).is_null()) m[key] = meta[key];
  }
  const json& status = Field(workflow, "status");
  json s = json::object();
  for (const char* key : {"phase", "startedAt", "finishedAt", "progress", "message",
                          "estimatedDuration", "resourcesDuration"}) {
    if (!Field(status, key).is_null()) s[key] = status[key];
  }
  return {{"metadata", std::move(m)}, {"spec", json::object()}, {"status", std::move(s)}};
}

absl::Status WorkflowArchive::Archive(const json& workflow) {
  const std::string uid = Str(Field(workflow, "metadata"), "uid");
  if (uid.empty()) return absl::InvalidArgumentError("archive: the workflow has no metadata.uid");
  json copy = workflow;
  // A resourceVersion belongs to the live object's store, not to the archive.
  if (copy["metadata"].is_object()) copy["metadata"].erase("resourceVersion");
  json summary = Summarize(copy);
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Load());
  absl::Status written = store_
                             ->Commit({store::Write{.kind = kArchiveFamily,
                                                    .key = absl::StrCat(kWhole, uid),
                                                    .value = manifest::ToJsonText(copy, false)},
                                       store::Write{.kind = kArchiveFamily,
                                                    .key = absl::StrCat(kSummary, uid),
                                                    .value = manifest::ToJsonText(summary, false)}})
                             .status();
  if (written.ok()) summaries_[uid] = std::move(summary);
  return written;
}

absl::StatusOr<json> WorkflowArchive::Get(std::string_view uid) {
  absl::StatusOr<store::Record> r =
      store_->Get(kArchiveFamily, absl::StrCat(kWhole, std::string(uid)));
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(
        absl::StrCat("archived workflow \"", std::string(uid), "\" not found"));
  }
  if (!r.ok()) return r.status();
  return manifest::ParseJsonText(r->value);
}

absl::Status WorkflowArchive::Delete(std::string_view uid) {
  absl::StatusOr<store::Record> r =
      store_->Get(kArchiveFamily, absl::StrCat(kWhole, std::string(uid)));
  if (absl::IsNotFound(r.status())) {
    return absl::NotFoundError(
        absl::StrCat("archived workflow \"", std::string(uid), "\" not found"));
  }
  if (!r.ok()) return r.status();
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Load());
  absl::Status deleted =
      store_
          ->Commit(
              {store::Write{.kind = kArchiveFamily, .key = absl::StrCat(kWhole, std::string(uid))},
               store::Write{.kind = kArchiveFamily,
                            .key = absl::StrCat(kSummary, std::string(uid))}})
          .status();
  if (deleted.ok()) summaries_.erase(std::string(uid));
  return deleted;
}

absl::Status WorkflowArchive::Load() {
  if (loaded_) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<store::Record> records, store_->List(kArchiveFamily, kSummary));
  for (const store::Record& r : records) {
    absl::StatusOr<json> s = manifest::ParseJsonText(r.value);
    if (!s.ok()) continue;  // a damaged summary hides one entry, not the archive
    summaries_[r.key.substr(std::string_view(kSummary).size())] = *std::move(s);
  }
  loaded_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<json>> WorkflowArchive::Summaries(std::string_view ns) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Load());
  std::vector<json> out;
  for (const auto& [uid, s] : summaries_) {
    if (!ns.empty() && Str(Field(s, "metadata"), "namespace") != ns) continue;
    out.push_back(s);
  }
  return out;
}

absl::StatusOr<ArchiveListResult> WorkflowArchive::List(const ArchiveListOptions& options) {
  ASSIGN_OR_RETURN(resource::LabelSelector selector,
                   resource::LabelSelector::Parse(options.label_selector));
  ASSIGN_OR_RETURN(FieldFilter fields, ParseFieldSelector(options.field_selector));
  if (!options.name_filter.empty() && options.name_filter != "Prefix" &&
      options.name_filter != "Exact" && options.name_filter != "Contains" &&
      options.name_filter != "NotEquals") {
    return absl::InvalidArgumentError(
        absl::StrCat("nameFilter: \"", options.name_filter,
                     "\" is not one of Exact, Prefix, Contains, NotEquals"));
  }
  int64_t offset = 0;
  if (!options.continue_token.empty() &&
      (!absl::SimpleAtoi(options.continue_token, &offset) || offset < 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("listOptions.continue: bad token \"", options.continue_token, "\""));
  }
  if (options.limit < 0) return absl::InvalidArgumentError("listOptions.limit: must be >= 0");
  const std::string ns = !options.ns.empty() ? options.ns : fields.ns;
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Load());
  struct Entry {
    absl::Time started;
    std::string name;
    const json* item;
  };
  std::vector<Entry> kept;
  for (const auto& [uid, s] : summaries_) {
    const json& meta = Field(s, "metadata");
    if (!ns.empty() && Str(meta, "namespace") != ns) continue;
    const std::string name = Str(meta, "name");
    if (!fields.ns.empty() && Str(meta, "namespace") != fields.ns) continue;
    if (!fields.name.empty() && name != fields.name) continue;
    if (!NameMatches(name, options.name_prefix, options.name_filter)) continue;
    if (!selector.Empty() && !selector.Matches(Labels(s))) continue;
    const absl::Time started = ParseTime(Str(Field(s, "status"), "startedAt"));
    if (started <= fields.started_after && fields.started_after != absl::InfinitePast()) continue;
    if (started >= fields.started_before && fields.started_before != absl::InfiniteFuture()) {
      continue;
    }
    kept.push_back({started, name, &s});
  }
  std::sort(kept.begin(), kept.end(), [](const Entry& a, const Entry& b) {
    return a.started != b.started ? a.started > b.started : a.name < b.name;
  });
  ArchiveListResult result;
  const size_t begin = std::min<size_t>(offset, kept.size());
  size_t end = kept.size();
  if (options.limit > 0 && begin + options.limit < end) {
    end = begin + options.limit;
    result.continue_token = absl::StrCat(end);
  }
  for (size_t i = begin; i < end; ++i) result.items.push_back(*kept[i].item);
  return result;
}

absl::StatusOr<std::vector<std::string>> WorkflowArchive::LabelKeys(std::string_view ns) {
  ASSIGN_OR_RETURN(std::vector<json> all, Summaries(ns));
  std::set<std::string> keys;
  for (const json& s : all) {
    for (const auto& [k, v] : Labels(s)) keys.insert(k);
  }
  return std::vector<std::string>(keys.begin(), keys.end());
}

absl::StatusOr<std::vector<std::string>> WorkflowArchive::LabelValues(std::string_view key,
                                                                      std::string_view ns) {
  ASSIGN_OR_RETURN(std::vector<json> all, Summaries(ns));
  std::set<std::string> values;
  for (const json& s : all) {
    const auto labels = Labels(s);
    auto it = labels.find(std::string(key));
    if (it != labels.end()) values.insert(it->second);
  }
  return std::vector<std::string>(values.begin(), values.end());
}

absl::StatusOr<int> WorkflowArchive::DeleteFinishedBefore(absl::Time before) {
  ASSIGN_OR_RETURN(std::vector<json> all, Summaries(""));
  int deleted = 0;
  for (const json& s : all) {
    const absl::Time finished = ParseTime(Str(s["status"], "finishedAt"));
    if (finished == absl::InfinitePast() || finished >= before) continue;
    absl::Status st = Delete(Str(s["metadata"], "uid"));
    if (!st.ok() && !absl::IsNotFound(st)) return st;
    if (st.ok()) ++deleted;
  }
  return deleted;
}

}  // namespace argonaut::workflow::archive
