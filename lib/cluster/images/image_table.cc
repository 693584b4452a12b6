#include "lib/cluster/images/image_table.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "lib/base/status_macros.h"
#include "lib/base/strings.h"
#include "yaml-cpp/yaml.h"

namespace argonaut::cluster {

// Generated from default_images.yaml by the :default_images_cc genrule.
extern const char kDefaultImagesYaml[];

namespace {

constexpr std::string_view kBuiltinPrefix = "builtin:";

bool IsRefChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '/' || c == ':' || c == '@';
}

std::string StripDockerHub(std::string repo) {
  for (std::string_view prefix :
       {"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"}) {
    if (absl::StartsWith(repo, AbslView(prefix))) return repo.substr(prefix.size());
  }
  return repo;
}

// `*` matches any run of characters (including `/`), `?` one character.
// Greedy with one backtrack point, so O(pattern * text) even for hostile
// patterns such as `*a*a*a*...b`.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Quoted for messages, with control characters escaped and long text cut.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < 200; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += absl::StrCat("\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 200) out += "...";
  return out + "\"";
}

// --- table file parsing ---------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  absl::Status Error(const YAML::Node& node, std::string_view field, std::string_view msg) const {
    int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ":", line, ": ", AbslView(field), ": ", AbslView(msg)));
  }

  absl::StatusOr<std::string> Scalar(const YAML::Node& node, std::string_view field) const {
    if (!node.IsScalar()) return Error(node, field, "must be a string");
    return node.Scalar();
  }

  absl::StatusOr<std::vector<std::string>> Words(const YAML::Node& node,
                                                 std::string_view field) const {
    std::vector<std::string> out;
    if (node.IsScalar()) {
      out.push_back(node.Scalar());
    } else if (node.IsSequence()) {
      if (node.size() > kMaxArgvWords) {
        return Error(node, field, absl::StrCat("more than ", kMaxArgvWords, " words"));
      }
      for (size_t i = 0; i < node.size(); ++i) {
        std::string name = absl::StrCat(AbslView(field), "[", i, "]");
        ASSIGN_OR_RETURN(std::string word, Scalar(node[i], name));
        out.push_back(std::move(word));
      }
    } else {
      return Error(node, field, "must be a string or a list of strings");
    }
    if (!out.empty() && out[0].empty()) return Error(node, field, "first word is empty");
    if (!out.empty() && absl::StartsWith(out[0], AbslView(kBuiltinPrefix)) &&
        out[0].size() == kBuiltinPrefix.size()) {
      return Error(node, field, "builtin: needs a program name");
    }
    return out;
  }

  absl::StatusOr<std::vector<ImageTable::Rewrite>> Commands(const YAML::Node& node,
                                                            std::string_view field) const {
    if (!node.IsMap()) return Error(node, field, "must be a map from command to replacement");
    if (node.size() > kMaxImageTableEntries) {
      return Error(node, field, absl::StrCat("more than ", kMaxImageTableEntries, " rewrites"));
    }
    std::vector<ImageTable::Rewrite> out;
    for (const auto& kv : node) {
      ASSIGN_OR_RETURN(std::string from, Scalar(kv.first, absl::StrCat(AbslView(field), " key")));
      if (from.empty()) return Error(kv.first, field, "empty command name");
      std::string name = absl::StrCat(AbslView(field), ".", from);
      ASSIGN_OR_RETURN(std::vector<std::string> to, Words(kv.second, name));
      if (to.empty()) return Error(kv.second, name, "empty replacement");
      out.push_back({std::move(from), std::move(to)});
    }
    return out;
  }

  absl::StatusOr<ImageTable::Entry> ParseEntry(const YAML::Node& node, size_t index) const {
    std::string where = absl::StrCat("images[", index, "]");
    if (!node.IsMap()) return Error(node, where, "must be a map with an `image` key");
    ImageTable::Entry entry;
    entry.line = node.Mark().line + 1;
    bool has_image = false;
    for (const auto& kv : node) {
      ASSIGN_OR_RETURN(std::string key, Scalar(kv.first, absl::StrCat(where, " key")));
      std::string field = absl::StrCat(where, ".", key);
      if (key == "image") {
        ASSIGN_OR_RETURN(std::string pattern, Scalar(kv.second, field));
        RETURN_IF_ERROR(SetPattern(kv.second, field, pattern, entry));
        has_image = true;
      } else if (key == "entrypoint") {
        ASSIGN_OR_RETURN(entry.entrypoint, Words(kv.second, field));
      } else if (key == "cmd") {
        ASSIGN_OR_RETURN(entry.cmd, Words(kv.second, field));
      } else if (key == "commands") {
        ASSIGN_OR_RETURN(entry.commands, Commands(kv.second, field));
      } else if (key == "busybox") {
        ASSIGN_OR_RETURN(std::string v, Scalar(kv.second, field));
        if (v != "true" && v != "false") return Error(kv.second, field, "must be true or false");
        entry.busybox = v == "true";
      } else if (key == "requires") {
        ASSIGN_OR_RETURN(entry.requires_files, Words(kv.second, field));
        for (const std::string& f : entry.requires_files) {
          if (f.empty() || f[0] != '/') return Error(kv.second, field, "paths must be absolute");
        }
      } else if (key == "note") {
        ASSIGN_OR_RETURN(entry.note, Scalar(kv.second, field));
      } else {
        return Error(kv.first, field,
                     "unknown field (expected image, entrypoint, cmd, commands, busybox, "
                     "requires, note)");
      }
    }
    if (!has_image) return Error(node, where, "missing `image`");
    return entry;
  }

  absl::Status SetPattern(const YAML::Node& node, const std::string& field,
                          const std::string& pattern, ImageTable::Entry& entry) const {
    if (pattern.empty() || pattern.size() > kMaxImageRefLength) {
      return Error(node, field, "image pattern must be 1 to 1024 characters");
    }
    if (pattern.find_first_of("*?") != std::string::npos) {
      for (char c : pattern) {
        if (!IsRefChar(c) && c != '*' && c != '?') {
          return Error(node, field, absl::StrCat("bad character in pattern ", Quote(pattern)));
        }
      }
      entry.kind = ImageTable::Entry::Kind::kGlob;
      entry.pattern = StripDockerHub(pattern);
      return absl::OkStatus();
    }
    absl::StatusOr<ImageRef> ref = ParseImageRef(pattern);
    if (!ref.ok()) return Error(node, field, std::string(ref.status().message()));
    // The pattern's own text says whether a tag was given (ParseImageRef
    // defaults it to latest).
    size_t slash = pattern.rfind('/');
    size_t colon = pattern.rfind(':');
    bool has_tag = colon != std::string::npos && (slash == std::string::npos || colon > slash);
    if (has_tag || !ref->digest.empty()) {
      entry.kind = ImageTable::Entry::Kind::kExact;
      entry.pattern = ref->Canonical();
    } else {
      entry.kind = ImageTable::Entry::Kind::kAnyTag;
      entry.pattern = ref->repo;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<ImageTable::Table> Parse(std::string_view text) const {
    if (text.size() > kMaxImageTableBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_, ": larger than ", kMaxImageTableBytes, " bytes"));
    }
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(source_, ": ", e.what()));
    }
    ImageTable::Table table;
    table.source = source_;
    if (root.IsNull()) return table;  // an empty file adds nothing
    try {
      if (!root.IsMap()) return Error(root, "(top level)", "must be a map");
      for (const auto& kv : root) {
        ASSIGN_OR_RETURN(std::string key, Scalar(kv.first, "top-level key"));
        if (key == "path") {
          ASSIGN_OR_RETURN(table.path, Scalar(kv.second, "path"));
          if (table.path.empty()) return Error(kv.second, "path", "must not be empty");
        } else if (key == "commands") {
          ASSIGN_OR_RETURN(table.commands, Commands(kv.second, "commands"));
        } else if (key == "images") {
          if (!kv.second.IsSequence()) return Error(kv.second, "images", "must be a list");
          if (kv.second.size() > kMaxImageTableEntries) {
            return Error(kv.second, "images",
                         absl::StrCat("more than ", kMaxImageTableEntries, " entries"));
          }
          for (size_t i = 0; i < kv.second.size(); ++i) {
            ASSIGN_OR_RETURN(ImageTable::Entry entry, ParseEntry(kv.second[i], i));
            table.entries.push_back(std::move(entry));
          }
        } else {
          return Error(kv.first, key, "unknown top-level field (expected path, commands, images)");
        }
      }
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(source_, ":", e.mark.line + 1, ": ", e.msg));
    }
    return table;
  }

 private:
  std::string source_;
};

absl::StatusOr<std::string> ReadBounded(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    int err = errno;
    return absl::NotFoundError(
        absl::StrCat("image table ", file, ": cannot open: ", std::strerror(err)));
  }
  std::string out;
  char buf[16384];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > kMaxImageTableBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("image table ", file, ": larger than ", kMaxImageTableBytes, " bytes"));
    }
  }
  if (in.bad()) return absl::InternalError(absl::StrCat("image table ", file, ": read error"));
  return out;
}

// An entry's words with `{tag}` standing for the image's tag (built-in images
// that serve several tags, e.g. argoproj/rollouts-demo:<color>).
std::vector<std::string> WithTag(const std::vector<std::string>& words, const std::string& tag) {
  std::vector<std::string> out;
  out.reserve(words.size());
  for (const std::string& w : words) out.push_back(absl::StrReplaceAll(w, {{"{tag}", tag}}));
  return out;
}

const std::vector<std::string>* FindRewrite(const std::vector<ImageTable::Rewrite>& rewrites,
                                            const std::string& word) {
  for (const auto& r : rewrites) {
    if (r.from == word) return &r.to;
  }
  return nullptr;
}

}  // namespace

std::string ImageRef::Canonical() const {
  std::string out = repo;
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

absl::StatusOr<ImageRef> ParseImageRef(std::string_view image) {
  if (image.empty()) return absl::InvalidArgumentError("image: empty image reference");
  if (image.size() > kMaxImageRefLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("image: reference longer than ", kMaxImageRefLength, " characters"));
  }
  for (size_t i = 0; i < image.size(); ++i) {
    if (!IsRefChar(image[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("image ", Quote(image), ": invalid character at position ", i));
    }
  }
  ImageRef ref;
  std::string_view name = image;
  size_t at = image.find('@');
  if (at != std::string_view::npos) {
    ref.digest = std::string(image.substr(at + 1));
    name = image.substr(0, at);
    if (ref.digest.empty() || ref.digest.find_first_of("@/") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("image ", Quote(image), ": malformed digest"));
    }
  }
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(name.substr(colon + 1));
    name = name.substr(0, colon);
    if (ref.tag.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("image ", Quote(image), ": empty tag"));
    }
  } else if (ref.digest.empty()) {
    ref.tag = "latest";
  }
  if (name.empty() || name.front() == '/' || name.back() == '/' ||
      name.find("//") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("image ", Quote(image), ": malformed repository name"));
  }
  ref.repo = StripDockerHub(std::string(name));
  return ref;
}

absl::StatusOr<ImageTable::Table> ParseImageTable(std::string_view yaml,
                                                  const std::string& source_name) {
  return Parser(source_name).Parse(yaml);
}

absl::StatusOr<ImageTable> ImageTable::Load(const std::string& user_file,
                                            const ImageTableOptions& options) {
  std::vector<Table> tables;
  if (!user_file.empty()) {
    ASSIGN_OR_RETURN(std::string text, ReadBounded(user_file));
    ASSIGN_OR_RETURN(Table user, ParseImageTable(text, absl::StrCat("user ", user_file)));
    tables.push_back(std::move(user));
  }
  return Build(std::move(tables), options);
}

absl::StatusOr<ImageTable> ImageTable::LoadFromString(std::string_view user_yaml,
                                                      const std::string& source_name,
                                                      const ImageTableOptions& options) {
  std::vector<Table> tables;
  ASSIGN_OR_RETURN(Table user, ParseImageTable(user_yaml, absl::StrCat("user ", source_name)));
  tables.push_back(std::move(user));
  return Build(std::move(tables), options);
}

absl::StatusOr<ImageTable> ImageTable::Build(std::vector<Table> tables,
                                             const ImageTableOptions& options) {
  absl::StatusOr<Table> builtin =
      ParseImageTable(kDefaultImagesYaml, absl::StrCat("built-in ", kDefaultImagesFile));
  // The built-in table is compiled in; failing to parse it is a build defect.
  if (!builtin.ok()) return absl::InternalError(builtin.status().message());
  tables.push_back(*std::move(builtin));

  ImageTable out;
  out.tables_ = std::move(tables);
  for (const Table& t : out.tables_) {
    if (!t.path.empty()) {
      out.path_ = t.path;
      break;
    }
  }
  out.builtin_binary_ = options.builtin_binary;
  out.builtin_prefix_ = options.builtin_prefix;
  out.builtin_programs_ = options.builtin_programs;
  if (out.builtin_binary_.empty()) {
    // Resolved now: a sandboxed child may see a different /proc.
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) {
      return absl::InternalError(
          absl::StrCat("image table: cannot resolve /proc/self/exe: ", std::strerror(errno)));
    }
    out.builtin_binary_.assign(buf, static_cast<size_t>(n));
  }
  bool wants_busybox = false;
  for (const Table& t : out.tables_) {
    for (const Entry& e : t.entries) wants_busybox = wants_busybox || e.busybox;
  }
  if (wants_busybox) out.busybox_ = LoadBusybox(options.busybox_binary, options.busybox_applet_dir);
  return out;
}

std::string ImageTable::sources() const {
  std::vector<std::string> names;
  // Reported in reading order: built-in first, then the user file that overrides it.
  for (auto it = tables_.rbegin(); it != tables_.rend(); ++it) names.push_back(it->source);
  return absl::StrJoin(names, ", ");
}

const ImageTable::Entry* ImageTable::Find(const ImageRef& ref) const {
  std::string canonical = ref.Canonical();
  for (const Table& t : tables_) {
    for (const Entry& e : t.entries) {
      if (e.kind == Entry::Kind::kExact && e.pattern == canonical) return &e;
    }
    for (const Entry& e : t.entries) {
      if (e.kind == Entry::Kind::kAnyTag && e.pattern == ref.repo) return &e;
    }
    for (const Entry& e : t.entries) {
      if (e.kind == Entry::Kind::kGlob && GlobMatch(e.pattern, canonical)) {
        return &e;
      }
    }
  }
  return nullptr;
}

std::vector<std::string> ImageTable::RewriteCommand(const Entry* entry,
                                                    const std::vector<std::string>& argv,
                                                    bool* entry_rewrite) const {
  *entry_rewrite = false;
  if (argv.empty()) return argv;
  const std::vector<std::string>* to = nullptr;
  if (entry != nullptr) to = FindRewrite(entry->commands, argv[0]);
  *entry_rewrite = to != nullptr;
  for (size_t i = 0; to == nullptr && i < tables_.size(); ++i) {
    to = FindRewrite(tables_[i].commands, argv[0]);
  }
  if (to == nullptr && entry != nullptr && entry->busybox && busybox_.has_value()) {
    // An applet by name, or at the path the image keeps it (/bin/sh ...).
    std::string_view name = argv[0];
    for (std::string_view dir : {"/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"}) {
      if (absl::StartsWith(AbslView(name), AbslView(dir))) {
        name.remove_prefix(dir.size());
        break;
      }
    }
    if (name.find('/') == std::string_view::npos &&
        busybox_->applets.count(std::string(name)) > 0) {
      std::vector<std::string> out = {busybox_->binary, std::string(name)};
      out.insert(out.end(), argv.begin() + 1, argv.end());
      return out;
    }
  }
  if (to == nullptr) return argv;
  std::vector<std::string> out = *to;
  out.insert(out.end(), argv.begin() + 1, argv.end());
  return out;
}

std::vector<std::string> ImageTable::ExpandBuiltin(std::vector<std::string> argv) const {
  if (argv.empty() || !absl::StartsWith(argv[0], AbslView(kBuiltinPrefix))) return argv;
  const std::string name = argv[0].substr(kBuiltinPrefix.size());
  std::vector<std::string> out;
  if (auto it = builtin_programs_.find(name); it != builtin_programs_.end()) {
    out = {it->second};
  } else {
    out = {builtin_binary_};
    out.insert(out.end(), builtin_prefix_.begin(), builtin_prefix_.end());
    out.push_back(name);
  }
  out.insert(out.end(), std::make_move_iterator(argv.begin() + 1),
             std::make_move_iterator(argv.end()));
  return out;
}

absl::StatusOr<std::vector<std::string>> ImageTable::Resolve(
    std::string_view image, const std::vector<std::string>& command,
    const std::vector<std::string>& args) const {
  ASSIGN_OR_RETURN(ImageRef ref, ParseImageRef(image));
  if (!command.empty() && command[0].empty()) {
    return absl::InvalidArgumentError("container command[0] is empty");
  }
  const Entry* entry = Find(ref);
  std::vector<std::string> argv;
  bool from_entry = false;  // the image's own entrypoint or cmd runs
  if (!command.empty()) {
    argv = command;
    argv.insert(argv.end(), args.begin(), args.end());
  } else if (entry != nullptr && !entry->entrypoint.empty()) {
    argv = WithTag(entry->entrypoint, ref.tag);
    const std::vector<std::string> tail = args.empty() ? WithTag(entry->cmd, ref.tag) : args;
    argv.insert(argv.end(), tail.begin(), tail.end());
    from_entry = true;
  } else if (entry != nullptr && !args.empty()) {
    // Without an entrypoint the container's args replace the image's cmd.
    if (args[0].empty()) return absl::InvalidArgumentError("container args[0] is empty");
    argv = args;
  } else if (entry != nullptr && !entry->cmd.empty()) {
    argv = WithTag(entry->cmd, ref.tag);
    from_entry = true;
  } else if (entry != nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("ImageNotRunnableLocally: image ", Quote(image),
                     " has no entrypoint or cmd in the image table (", sources(),
                     ") and the container gives no command"));
  } else {
    return absl::FailedPreconditionError(absl::StrCat(
        "ImageNotRunnableLocally: image ", Quote(image), " is not in the image table (", sources(),
        ") and the container gives no command"));
  }
  bool entry_rewrite = false;
  argv = RewriteCommand(entry, argv, &entry_rewrite);
  if (entry != nullptr && (from_entry || entry_rewrite)) {
    for (const std::string& file : entry->requires_files) {
      struct stat st;
      if (stat(file.c_str(), &st) == 0) continue;
      std::string source = "the image table";
      for (const Table& t : tables_) {
        for (const Entry& e : t.entries) {
          if (&e == entry) source = t.source;
        }
      }
      return absl::FailedPreconditionError(
          absl::StrCat("ImageNotRunnableLocally: image ", Quote(image), " runs ", file,
                       " here, which is not installed",
                       entry->note.empty() ? "" : absl::StrCat(" (", entry->note, ")"), "; see ",
                       source, ":", entry->line));
    }
  }
  return ExpandBuiltin(std::move(argv));
}

std::string ImageTable::PathFor(std::string_view image) const {
  if (!busybox_.has_value() || busybox_->applet_dir.empty()) return path_;
  absl::StatusOr<ImageRef> ref = ParseImageRef(image);
  if (!ref.ok()) return path_;
  const Entry* entry = Find(*ref);
  if (entry == nullptr || !entry->busybox) return path_;
  return absl::StrCat(busybox_->applet_dir, ":", path_);
}

}  // namespace argonaut::cluster
