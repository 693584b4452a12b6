#include "lib/artifacts/s3/s3_xml.h"

#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace argonaut::artifacts::s3 {
namespace {

// Debian's abseil has its own string_view: convert for StrCat.
absl::string_view V(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool IsNameChar(char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' ||
         static_cast<unsigned char>(c) >= 0x80;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view doc) : doc_(doc) {}

  absl::StatusOr<XmlElement> Parse() {
    if (doc_.size() > kMaxXmlBytes) return Error("document too large");
    // Elements are built on an explicit stack; a finished one moves into its
    // parent (or becomes the root).
    std::vector<XmlElement> stack;
    bool have_root = false;
    XmlElement root;
    while (pos_ < doc_.size()) {
      if (doc_[pos_] != '<') {
        const size_t end = doc_.find('<', pos_);
        std::string_view raw = doc_.substr(pos_, end == std::string_view::npos ? end : end - pos_);
        if (stack.empty()) {
          if (!IsBlank(raw)) return Error("text outside the root element");
        } else if (absl::Status s = Decode(raw, &stack.back().text); !s.ok()) {
          return s;
        }
        pos_ = end == std::string_view::npos ? doc_.size() : end;
        continue;
      }
      if (StartsAt("<?")) {
        if (absl::Status s = SkipPast("?>"); !s.ok()) return s;
        continue;
      }
      if (StartsAt("<!--")) {
        if (absl::Status s = SkipPast("-->"); !s.ok()) return s;
        continue;
      }
      if (StartsAt("<![CDATA[")) {
        if (stack.empty()) return Error("CDATA outside the root element");
        const size_t start = pos_ + 9;
        const size_t end = doc_.find("]]>", start);
        if (end == std::string_view::npos) return Error("unterminated CDATA");
        stack.back().text.append(doc_.substr(start, end - start));
        pos_ = end + 3;
        continue;
      }
      if (StartsAt("<!")) return Error("DTDs and declarations are not accepted");
      if (StartsAt("</")) {
        pos_ += 2;
        std::string name = ReadName();
        if (name.empty()) return Error("missing end tag name");
        SkipBlanks();
        if (pos_ >= doc_.size() || doc_[pos_] != '>') return Error("malformed end tag");
        ++pos_;
        if (stack.empty() || stack.back().name != LocalName(name))
          return Error(absl::StrCat("unexpected end tag </", name, ">"));
        XmlElement done = std::move(stack.back());
        stack.pop_back();
        if (stack.empty()) {
          root = std::move(done);
          have_root = true;
        } else {
          stack.back().children.push_back(std::move(done));
        }
        continue;
      }
      // A start tag.
      ++pos_;
      std::string name = ReadName();
      if (name.empty()) return Error("missing element name");
      if (have_root) return Error("more than one root element");
      bool self_closing = false;
      while (true) {
        SkipBlanks();
        if (pos_ >= doc_.size()) return Error("unterminated start tag");
        if (doc_[pos_] == '>') {
          ++pos_;
          break;
        }
        if (doc_[pos_] == '/') {
          if (pos_ + 1 >= doc_.size() || doc_[pos_ + 1] != '>') return Error("malformed '/'");
          pos_ += 2;
          self_closing = true;
          break;
        }
        // An attribute: name="value" (values are not kept; S3 answers put
        // nothing we need in attributes).
        if (ReadName().empty()) return Error("malformed attribute");
        SkipBlanks();
        if (pos_ >= doc_.size() || doc_[pos_] != '=') return Error("attribute without '='");
        ++pos_;
        SkipBlanks();
        if (pos_ >= doc_.size() || (doc_[pos_] != '"' && doc_[pos_] != '\''))
          return Error("unquoted attribute value");
        const size_t end = doc_.find(doc_[pos_], pos_ + 1);
        if (end == std::string_view::npos) return Error("unterminated attribute value");
        pos_ = end + 1;
      }
      if (static_cast<int>(stack.size()) >= kMaxXmlDepth) return Error("nesting too deep");
      XmlElement e;
      e.name = LocalName(name);
      if (self_closing) {
        if (stack.empty()) {
          root = std::move(e);
          have_root = true;
        } else {
          stack.back().children.push_back(std::move(e));
        }
      } else {
        stack.push_back(std::move(e));
      }
    }
    if (!stack.empty()) return Error(absl::StrCat("unclosed element <", stack.back().name, ">"));
    if (!have_root) return Error("no root element");
    return root;
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("malformed XML at byte ", pos_, ": ", V(what)));
  }
  bool StartsAt(std::string_view s) const { return doc_.substr(pos_, s.size()) == s; }
  absl::Status SkipPast(std::string_view end) {
    const size_t at = doc_.find(end, pos_);
    if (at == std::string_view::npos) return Error(absl::StrCat("missing ", V(end)));
    pos_ = at + end.size();
    return absl::OkStatus();
  }
  void SkipBlanks() {
    while (pos_ < doc_.size() && absl::ascii_isspace(static_cast<unsigned char>(doc_[pos_])))
      ++pos_;
  }
  static bool IsBlank(std::string_view s) {
    for (char c : s)
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) return false;
    return true;
  }
  std::string ReadName() {
    const size_t start = pos_;
    while (pos_ < doc_.size() && IsNameChar(doc_[pos_])) ++pos_;
    return std::string(doc_.substr(start, pos_ - start));
  }
  static std::string LocalName(const std::string& name) {
    const size_t colon = name.rfind(':');
    return colon == std::string::npos ? name : name.substr(colon + 1);
  }
  absl::Status Decode(std::string_view raw, std::string* out) const {
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '&') {
        out->push_back(raw[i]);
        continue;
      }
      const size_t semi = raw.find(';', i);
      if (semi == std::string_view::npos || semi - i > 12) return Error("malformed entity");
      std::string_view ent = raw.substr(i + 1, semi - i - 1);
      if (ent == "amp") {
        out->push_back('&');
      } else if (ent == "lt") {
        out->push_back('<');
      } else if (ent == "gt") {
        out->push_back('>');
      } else if (ent == "quot") {
        out->push_back('"');
      } else if (ent == "apos") {
        out->push_back('\'');
      } else if (ent.size() >= 2 && ent[0] == '#') {
        const bool hex = ent[1] == 'x' || ent[1] == 'X';
        std::string_view digits = ent.substr(hex ? 2 : 1);
        if (digits.empty()) return Error("malformed character reference");
        uint32_t cp = 0;
        for (char c : digits) {
          int d;
          if (c >= '0' && c <= '9') {
            d = c - '0';
          } else if (hex && c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
          } else if (hex && c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
          } else {
            return Error("malformed character reference");
          }
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
          if (cp > 0x10FFFF) return Error("character reference out of range");
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return Error("invalid character reference");
        AppendUtf8(cp, out);
      } else {
        return Error("unknown entity");
      }
      i = semi;
    }
    return absl::OkStatus();
  }

  std::string_view doc_;
  size_t pos_ = 0;
};

}  // namespace

const XmlElement* XmlElement::Child(std::string_view n) const {
  for (const XmlElement& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

std::string XmlElement::ChildText(std::string_view n) const {
  const XmlElement* c = Child(n);
  return c == nullptr ? std::string() : c->text;
}

absl::StatusOr<XmlElement> ParseXml(std::string_view doc) { return Parser(doc).Parse(); }

}  // namespace argonaut::artifacts::s3
