// Push webhooks from GitHub, GitLab and Bitbucket, reduced to what Argo CD's webhook handler
// keeps (util/webhook/webhook.go): the repository's URLs, the pushed branch or tag, the files the
// pushed commits touched.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"
#include "lib/manifest/json_text.h"
#include "services/cd/repo/repo.h"

namespace argonaut::cd::repo {
namespace {

using nlohmann::json;

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Header(const std::map<std::string, std::string>& headers, const std::string& key) {
  auto it = headers.find(key);
  return it == headers.end() ? "" : it->second;
}

// obj[key], or null when obj is not an object or lacks it (json::value() would throw).
const json& At(const json& obj, const char* key) {
  static const json* kNull = new json();
  if (!obj.is_object()) return *kNull;
  auto it = obj.find(key);
  return it == obj.end() ? *kNull : *it;
}

std::string Str(const json& obj, const std::vector<std::string>& path) {
  const json* cur = &obj;
  for (const std::string& key : path) {
    if (!cur->is_object() || !cur->contains(key)) return "";
    cur = &(*cur)[key];
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

// "refs/heads/main" -> "main", "refs/tags/v1" -> "v1".
std::string ShortRevision(std::string ref) {
  for (const char* prefix : {"refs/heads/", "refs/tags/"}) {
    if (absl::StartsWith(ref, prefix)) return ref.substr(std::string(prefix).size());
  }
  return ref;
}

void AddUrl(PushEvent& event, const std::string& url) {
  if (url.empty()) return;
  for (const std::string& u : event.repo_urls) {
    if (u == url) return;
  }
  event.repo_urls.push_back(url);
}

// added + modified + removed of every commit, each file once, in payload order.
void AddChangedFiles(PushEvent& event, const json& commits) {
  if (!commits.is_array()) return;
  std::set<std::string> seen;
  for (const json& c : commits) {
    if (!c.is_object()) continue;
    for (const char* key : {"added", "modified", "removed"}) {
      if (!c.contains(key) || !c[key].is_array()) continue;
      for (const json& f : c[key]) {
        if (f.is_string() && seen.insert(f.get<std::string>()).second) {
          event.changed_files.push_back(f.get<std::string>());
        }
      }
    }
  }
}

absl::StatusOr<json> ParseBody(std::string_view body, const char* provider) {
  absl::StatusOr<json> payload = manifest::ParseJsonText(body);
  if (!payload.ok() || !payload->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(provider, " webhook: the body is not a JSON object"));
  }
  return payload;
}

absl::StatusOr<PushEvent> GitHub(const std::map<std::string, std::string>& headers,
                                 std::string_view body, const std::string& secret) {
  if (!secret.empty()) {
    const std::string given = Header(headers, "x-hub-signature-256");
    if (given.empty()) {
      return absl::UnauthenticatedError("github webhook: missing X-Hub-Signature-256 header");
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
    const std::string expected = absl::StrCat(
        "sha256=", absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), len)));
    if (!ConstantTimeEquals(given, expected)) {
      return absl::UnauthenticatedError("github webhook: HMAC verification failed");
    }
  }
  const std::string event = Header(headers, "x-github-event");
  if (event != "push") return PushEvent{};  // ping and other events: nothing to refresh
  absl::StatusOr<json> payload = ParseBody(body, "github");
  if (!payload.ok()) return payload.status();
  PushEvent out;
  for (const char* key : {"html_url", "clone_url", "ssh_url", "git_url", "url"}) {
    AddUrl(out, Str(*payload, {"repository", key}));
  }
  out.revision = ShortRevision(Str(*payload, {"ref"}));
  AddChangedFiles(out, At(*payload, "commits"));
  if (out.repo_urls.empty()) {
    return absl::InvalidArgumentError("github webhook: repository.html_url: required");
  }
  return out;
}

absl::StatusOr<PushEvent> GitLab(const std::map<std::string, std::string>& headers,
                                 std::string_view body, const std::string& secret) {
  if (!secret.empty() && !ConstantTimeEquals(Header(headers, "x-gitlab-token"), secret)) {
    return absl::UnauthenticatedError("gitlab webhook: X-Gitlab-Token does not match");
  }
  const std::string event = Header(headers, "x-gitlab-event");
  if (event != "Push Hook" && event != "Tag Push Hook") return PushEvent{};
  absl::StatusOr<json> payload = ParseBody(body, "gitlab");
  if (!payload.ok()) return payload.status();
  PushEvent out;
  for (const char* key : {"web_url", "git_http_url", "git_ssh_url", "http_url", "ssh_url"}) {
    AddUrl(out, Str(*payload, {"project", key}));
  }
  for (const char* key : {"homepage", "git_http_url", "git_ssh_url", "url"}) {
    AddUrl(out, Str(*payload, {"repository", key}));
  }
  out.revision = ShortRevision(Str(*payload, {"ref"}));
  AddChangedFiles(out, At(*payload, "commits"));
  if (out.repo_urls.empty()) {
    return absl::InvalidArgumentError("gitlab webhook: project.web_url: required");
  }
  return out;
}

absl::StatusOr<PushEvent> Bitbucket(const std::map<std::string, std::string>& headers,
                                    std::string_view body, const std::string& uuid) {
  if (!uuid.empty() && !ConstantTimeEquals(Header(headers, "x-hook-uuid"), uuid)) {
    return absl::UnauthenticatedError("bitbucket webhook: X-Hook-UUID does not match");
  }
  const std::string event = Header(headers, "x-event-key");
  if (event != "repo:push" && event != "repo:refs_changed") return PushEvent{};
  absl::StatusOr<json> payload = ParseBody(body, "bitbucket");
  if (!payload.ok()) return payload.status();
  PushEvent out;
  const json& repo = At(*payload, "repository");
  if (event == "repo:push") {
    // Bitbucket Cloud names only the web page; its clone URLs follow from it.
    const std::string html = Str(repo, {"links", "html", "href"});
    AddUrl(out, html);
    const std::string full_name = Str(repo, {"full_name"});
    if (absl::StartsWith(html, "https://") && !full_name.empty()) {
      std::string host = html.substr(8, html.find('/', 8) - 8);
      AddUrl(out, absl::StrCat("https://", host, "/", full_name, ".git"));
      AddUrl(out, absl::StrCat("git@", host, ":", full_name, ".git"));
    }
    const json& changes = At(At(*payload, "push"), "changes");
    if (changes.is_array() && !changes.empty() && changes[0].is_object()) {
      out.revision = Str(changes[0], {"new", "name"});
      if (out.revision.empty()) out.revision = Str(changes[0], {"old", "name"});
    }
  } else {
    // Bitbucket Server / Data Center.
    const json& clone = At(At(repo, "links"), "clone");
    if (clone.is_array()) {
      for (const json& link : clone) AddUrl(out, Str(link, {"href"}));
    }
    const json& changes = At(*payload, "changes");
    if (changes.is_array() && !changes.empty() && changes[0].is_object()) {
      std::string ref = Str(changes[0], {"ref", "id"});
      if (ref.empty()) ref = Str(changes[0], {"refId"});
      out.revision = ShortRevision(ref);
    }
  }
  if (out.repo_urls.empty()) {
    return absl::InvalidArgumentError("bitbucket webhook: repository links: required");
  }
  return out;
}

}  // namespace

absl::StatusOr<PushEvent> ParseWebhook(const std::map<std::string, std::string>& headers,
                                       std::string_view body, const WebhookSecrets& secrets) {
  if (headers.count("x-github-event") != 0) return GitHub(headers, body, secrets.github);
  if (headers.count("x-gitlab-event") != 0) return GitLab(headers, body, secrets.gitlab);
  if (headers.count("x-event-key") != 0 || headers.count("x-hook-uuid") != 0) {
    return Bitbucket(headers, body, secrets.bitbucket_uuid);
  }
  return absl::InvalidArgumentError(
      "unknown webhook: expected an X-GitHub-Event, X-Gitlab-Event or X-Event-Key header");
}

}  // namespace argonaut::cd::repo
