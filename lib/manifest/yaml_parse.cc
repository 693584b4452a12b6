// ParseDocuments: yaml-cpp's event parser feeding a builder of nlohmann::json trees.
//
// The event API (rather than YAML::Load) is used because it lets the builder enforce the depth
// and size limits while yaml-cpp is still parsing: YAML::Load would first build a node graph in
// which aliases are shared, and expanding that graph is exactly where "billion laughs" documents
// explode. Building ourselves also gives core-schema typing and `<<` merge keys, which yaml-cpp
// leaves to the caller.

#include <algorithm>
#include <cstdint>
#include <istream>
#include <new>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "lib/manifest/scalar.h"
#include "lib/manifest/yaml.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/anchor.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/exceptions.h"
#include "yaml-cpp/mark.h"
#include "yaml-cpp/parser.h"

namespace argonaut::manifest {
namespace {

using nlohmann::json;

// Reads the caller's buffer in place; std::istringstream would copy up to 64 MiB first.
class ViewStreamBuf : public std::streambuf {
 public:
  explicit ViewStreamBuf(std::string_view text) {
    // The get area is never written through; streambuf just has no const interface.
    char* begin = const_cast<char*>(text.data());
    setg(begin, begin, begin + text.size());
  }
};

// Thrown by the builder to abandon the parse from inside a yaml-cpp callback. It is not a
// std::exception so that nothing between the callback and ParseDocuments can mistake it for one.
struct BuildError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void Fail(const YAML::Mark& mark, std::string message) {
  throw BuildError{mark, std::move(message)};
}

// Keeps error messages one line long even for megabyte-sized keys.
std::string Quote(absl::string_view s) {
  constexpr size_t kMax = 60;
  if (s.size() <= kMax) return absl::StrCat("\"", s, "\"");
  return absl::StrCat("\"", s.substr(0, kMax), "...\"");
}

constexpr absl::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

// Applies the scalar's tag: "?" is a plain scalar, "!" a quoted or block one; explicit core tags
// (`!!str 3`, `!!float 1`) override plain typing. Other tags (`!Ref`, `!!binary`) keep the text
// as a string, which is how they reach a JSON-only consumer anyway.
json TypeScalar(const YAML::Mark& mark, const std::string& tag, const std::string& value) {
  if (tag == "?") return internal::ResolvePlainScalar(value);
  absl::string_view core = tag;
  if (!absl::ConsumePrefix(&core, kCoreTagPrefix) || core == "str") return value;
  if (core != "int" && core != "float" && core != "bool" && core != "null") return value;
  json typed = internal::ResolvePlainScalar(value);
  if (core == "int" && typed.is_number_integer()) return typed;
  if (core == "float" && typed.is_number()) return typed.get<double>();
  if (core == "bool" && typed.is_boolean()) return typed;
  if (core == "null" && typed.is_null()) return typed;
  Fail(mark, absl::StrCat("cannot read ", Quote(value), " as !!", core));
}

class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(std::vector<json>* docs) : docs_(docs) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 loops forever on some stray tokens (a top-level ","), emitting one empty
    // document after another at the same position. Real documents always start further on.
    if (mark.pos <= last_document_pos_) {
      Fail(mark, "unexpected character; the parser cannot continue past it");
    }
    last_document_pos_ = mark.pos;
    stack_.clear();
    anchors_.clear();
    root_ = nullptr;
  }

  void OnDocumentEnd() override {
    // A document that is empty, a comment or plain `null` carries no object: kubectl skips it.
    if (!root_.is_null()) docs_->push_back(std::move(root_));
    root_ = nullptr;
    anchors_.clear();
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    CountNodes(mark, 1);
    if (anchor != YAML::NullAnchor) anchors_[anchor] = Anchored{nullptr, 1, 0, ""};
    if (ExpectingKey()) {
      SetKey(mark, "", /*is_merge=*/false);
      return;
    }
    AddValue(nullptr, 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    CountNodes(mark, 1);
    // JSON, protobuf strings and every other YAML reader require UTF-8; yaml-cpp passes stray
    // bytes through.
    if (!internal::IsValidUtf8(value)) Fail(mark, "invalid UTF-8");
    json typed = TypeScalar(mark, tag, value);
    if (anchor != YAML::NullAnchor) anchors_[anchor] = Anchored{typed, 1, 0, value};
    if (ExpectingKey()) {
      // Keys keep their source text: JSON keys are strings, and `1:` should stay "1", not "1.0".
      SetKey(mark, value, /*is_merge=*/tag == "?" && value == "<<");
      return;
    }
    AddValue(std::move(typed), 0);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      // yaml-cpp has already checked that the anchor exists, so it is still open: `&a [*a]`.
      Fail(mark, "alias refers to a node that contains it");
    }
    const Anchored& target = it->second;
    if (ExpectingKey()) {
      if (target.value.is_structured()) Fail(mark, "mapping keys must be scalars");
      CountNodes(mark, 1);
      SetKey(mark, target.text, /*is_merge=*/false);
      return;
    }
    if (static_cast<int>(stack_.size()) + target.height > kMaxDepth) FailTooDeep(mark);
    // Count before copying so that an expansion bomb is refused before it allocates anything.
    alias_nodes_ += target.nodes;
    CountNodes(mark, target.nodes);
    CheckAliasRatio(mark);
    AddValue(json(target.value), target.height);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    StartCollection(mark, anchor, json::array());
  }
  void OnSequenceEnd() override { EndCollection(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    StartCollection(mark, anchor, json::object());
  }
  void OnMapEnd() override { EndCollection(); }

 private:
  struct Anchored {
    json value;
    uint64_t nodes;    // size after expansion, charged again at every alias
    int height;        // collection levels inside, for the depth limit at alias sites
    std::string text;  // source text of a scalar, used when an alias is a mapping key
  };

  struct Frame {
    json value;  // array or object under construction
    YAML::Mark mark;
    YAML::anchor_t anchor = YAML::NullAnchor;
    uint64_t nodes_at_start = 0;
    int child_height = 0;
    // Mapping state: the key waiting for its value.
    bool has_key = false;
    bool key_is_merge = false;
    std::string key;
    YAML::Mark key_mark;
    std::vector<std::pair<json, YAML::Mark>> merges;
  };

  bool ExpectingKey() const {
    return !stack_.empty() && stack_.back().value.is_object() && !stack_.back().has_key;
  }

  void SetKey(const YAML::Mark& mark, std::string key, bool is_merge) {
    Frame& top = stack_.back();
    top.has_key = true;
    top.key = std::move(key);
    top.key_is_merge = is_merge;
    top.key_mark = mark;
  }

  void StartCollection(const YAML::Mark& mark, YAML::anchor_t anchor, json empty) {
    if (ExpectingKey()) Fail(mark, "mapping keys must be scalars");
    if (static_cast<int>(stack_.size()) >= kMaxDepth) FailTooDeep(mark);
    CountNodes(mark, 1);
    Frame frame;
    frame.value = std::move(empty);
    frame.mark = mark;
    frame.anchor = anchor;
    frame.nodes_at_start = nodes_ - 1;
    stack_.push_back(std::move(frame));
  }

  void EndCollection() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    if (frame.value.is_object()) ApplyMerges(frame);
    const int height = frame.child_height + 1;
    if (frame.anchor != YAML::NullAnchor) {
      anchors_[frame.anchor] = Anchored{frame.value, nodes_ - frame.nodes_at_start, height, ""};
    }
    AddValue(std::move(frame.value), height);
  }

  void AddValue(json value, int height) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return;
    }
    Frame& top = stack_.back();
    top.child_height = std::max(top.child_height, height);
    if (top.value.is_array()) {
      top.value.push_back(std::move(value));
      return;
    }
    top.has_key = false;
    if (top.key_is_merge) {
      top.merges.emplace_back(std::move(value), top.key_mark);
      return;
    }
    if (!top.value.emplace(top.key, std::move(value)).second) {
      Fail(top.key_mark, absl::StrCat("duplicate key ", Quote(top.key)));
    }
  }

  // YAML merge keys: keys written in the mapping win over merged ones, and earlier sources in
  // `<<: [*a, *b]` win over later ones.
  static void ApplyMerges(Frame& frame) {
    for (auto& [source, mark] : frame.merges) {
      if (source.is_object()) {
        MergeInto(frame.value, source);
      } else if (source.is_array() && std::all_of(source.begin(), source.end(),
                                                  [](const json& j) { return j.is_object(); })) {
        for (json& item : source) MergeInto(frame.value, item);
      } else {
        Fail(mark, "merge key << needs a mapping or a sequence of mappings");
      }
    }
  }

  static void MergeInto(json& target, json& source) {
    for (auto& [key, value] : source.items()) {
      if (!target.contains(key)) target.emplace(key, std::move(value));
    }
  }

  void CountNodes(const YAML::Mark& mark, uint64_t n) {
    nodes_ += n;
    if (nodes_ > kMaxNodes) {
      Fail(mark, absl::StrCat("input expands to more than ", kMaxNodes,
                              " nodes (alias expansion or input too large)"));
    }
  }

  // go-yaml's rule (and so Kubernetes'): aliases may make up most of a small document, but their
  // share must shrink as the document grows. This stops "billion laughs" within a few thousand
  // nodes, long before kMaxNodes, while leaving ordinary anchor reuse alone.
  void CheckAliasRatio(const YAML::Mark& mark) const {
    if (alias_nodes_ <= 100 || nodes_ <= 1000) return;
    constexpr double kLow = 400'000, kHigh = 4'000'000;
    double allowed = 0.99;
    if (nodes_ >= kHigh) {
      allowed = 0.10;
    } else if (nodes_ > kLow) {
      allowed = 0.99 - 0.89 * ((static_cast<double>(nodes_) - kLow) / (kHigh - kLow));
    }
    if (static_cast<double>(alias_nodes_) > allowed * static_cast<double>(nodes_)) {
      Fail(mark, absl::StrCat("excessive alias expansion: ", alias_nodes_, " of ", nodes_,
                              " nodes come from aliases"));
    }
  }

  [[noreturn]] static void FailTooDeep(const YAML::Mark& mark) {
    Fail(mark, absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
  }

  std::vector<json>* docs_;
  std::vector<Frame> stack_;
  absl::flat_hash_map<YAML::anchor_t, Anchored> anchors_;
  json root_;
  uint64_t nodes_ = 0;
  uint64_t alias_nodes_ = 0;
  int last_document_pos_ = -1;
};

absl::Status DocError(size_t doc, const YAML::Mark& mark, absl::string_view message) {
  if (mark.is_null() || mark.line < 0) {
    return absl::InvalidArgumentError(absl::StrCat("doc ", doc, ": ", message));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("doc ", doc, ": line ", mark.line + 1, ": ", message));
}

}  // namespace

absl::StatusOr<std::vector<json>> ParseDocuments(std::string_view text) {
  if (text.size() > kMaxInputBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input is ", text.size(), " bytes; the limit is ", kMaxInputBytes >> 20, " MiB"));
  }
  std::vector<json> docs;
  ViewStreamBuf buf(text);
  std::istream in(&buf);
  TreeBuilder builder(&docs);
  // yaml-cpp reports errors by throwing; none of it may escape.
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const BuildError& e) {
    return DocError(docs.size() + 1, e.mark, e.message);
  } catch (const YAML::Exception& e) {
    return DocError(docs.size() + 1, e.mark, e.msg);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("doc ", docs.size() + 1, ": out of memory while parsing"));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("doc ", docs.size() + 1, ": ", e.what()));
  }
  return docs;
}

}  // namespace argonaut::manifest
