#include "lib/artifacts/secret_ref.h"

#include "absl/strings/str_cat.h"

namespace argonaut::artifacts {

absl::StatusOr<std::string> ResolveSecretRef(const nlohmann::json& ref, std::string_view field,
                                             const DriverOptions& options) {
  if (!ref.is_object() || !ref.contains("name") || !ref["name"].is_string() ||
      !ref.contains("key") || !ref["key"].is_string() ||
      ref["name"].get_ref<const std::string&>().empty() ||
      ref["key"].get_ref<const std::string&>().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": want a Secret reference {name, key} with both set"));
  }
  if (!options.secrets) {
    return absl::FailedPreconditionError(absl::StrCat(std::string(field),
                                                      ": no Secret resolver to read Secret ",
                                                      ref["name"].get_ref<const std::string&>()));
  }
  return options.secrets(ref["name"].get_ref<const std::string&>(),
                         ref["key"].get_ref<const std::string&>());
}

std::string UrlForMessages(std::string_view url) {
  std::string out(url);
  bool had_query = false;
  if (size_t q = out.find_first_of("?#"); q != std::string::npos) {
    had_query = out[q] == '?';
    out.resize(q);
  }
  if (size_t scheme = out.find("://"); scheme != std::string::npos) {
    size_t host = scheme + 3;
    size_t slash = out.find('/', host);
    size_t at = out.rfind('@', slash == std::string::npos ? out.size() : slash);
    if (at != std::string::npos && at >= host) out.erase(host, at + 1 - host);
  }
  if (had_query) out += "?...";
  return out;
}

}  // namespace argonaut::artifacts
