#include "lib/server/auth_setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "lib/auth/channel.h"
#include "lib/auth/policy.h"
#include "lib/controller/clock.h"

namespace argonaut::server {

absl::StatusOr<std::unique_ptr<AuthSetup>> AuthSetup::Create(const AuthConfig& config,
                                                             metrics::MetricsRegistry* registry) {
  if (config.mode != "client" && config.mode != "server") {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth-mode: \"", config.mode, "\" is neither client nor server"));
  }
  if (!config.tls_ca.empty() && config.insecure_skip_tls_verify) {
    return absl::InvalidArgumentError(
        "--tls-ca and --insecure-skip-tls-verify: choose one of them");
  }
  std::unique_ptr<AuthSetup> setup(new AuthSetup());
  if (config.mode == "client") {
    if (config.auth_file.empty()) return absl::InvalidArgumentError("--auth-file: empty");
    absl::StatusOr<std::unique_ptr<auth::TokenStore>> tokens =
        auth::TokenStore::Open(config.auth_file);
    if (!tokens.ok()) {
      return absl::Status(tokens.status().code(),
                          absl::StrCat("--auth-file: ", tokens.status().message()));
    }
    setup->tokens_ = *std::move(tokens);
    std::string csv;
    if (!config.rbac_policy.empty()) {
      std::ifstream in(config.rbac_policy);
      if (!in) {
        return absl::NotFoundError(absl::StrCat("--rbac-policy: cannot read ", config.rbac_policy));
      }
      std::stringstream ss;
      ss << in.rdbuf();
      csv = ss.str();
    }
    absl::StatusOr<auth::Policy> policy = auth::Policy::Parse(csv, config.rbac_default_role);
    if (!policy.ok()) {
      return absl::Status(policy.status().code(),
                          absl::StrCat("--rbac-policy: ", policy.status().message()));
    }
    setup->authorizer_ = std::make_unique<auth::Authorizer>(
        setup->tokens_.get(), *std::move(policy), controller::RealClock::Get(), registry);
  }

  auth::ClientChannelOptions identity;
  if (config.send_service_token && !config.service_token_file.empty()) {
    absl::StatusOr<std::string> token = auth::ReadTokenFile(config.service_token_file);
    if (!token.ok()) {
      return absl::Status(token.status().code(),
                          absl::StrCat("--service-token-file: ", token.status().message()));
    }
    identity.token = *std::move(token);
  }
  if (config.insecure_skip_tls_verify) {
    identity.tls = auth::ClientChannelOptions::Tls::kSkipVerify;
  } else if (!config.tls_ca.empty()) {
    identity.tls = auth::ClientChannelOptions::Tls::kVerify;
    identity.ca_file = config.tls_ca;
  }
  if (absl::Status s = auth::SetServiceIdentity(identity); !s.ok()) return s;
  return setup;
}

absl::Status CreateTokenFile(const std::string& auth_file, const std::string& account,
                             const std::string& out_file) {
  if (out_file.empty()) return absl::InvalidArgumentError("--create-token-file: empty");
  // Refused before a token is minted: an existing file is someone's token.
  if (::access(out_file.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("--create-token-file: ", out_file, " already exists"));
  }
  absl::StatusOr<std::unique_ptr<auth::TokenStore>> tokens = auth::TokenStore::Open(auth_file);
  if (!tokens.ok()) {
    return absl::Status(tokens.status().code(),
                        absl::StrCat("--auth-file: ", tokens.status().message()));
  }
  std::string id;
  absl::StatusOr<std::string> token = (*tokens)->CreateToken(
      account, absl::ZeroDuration(), controller::RealClock::Get()->Now(), &id);
  if (!token.ok()) {
    return absl::Status(token.status().code(),
                        absl::StrCat("--create-token-account: ", token.status().message()));
  }
  const std::string text = *token + "\n";
  int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  absl::Status status;
  if (fd < 0) {
    status = absl::InternalError(absl::StrCat("create ", out_file, ": ", strerror(errno)));
  } else {
    if (::fchmod(fd, 0600) != 0 ||
        ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(fd) != 0) {
      status = absl::InternalError(absl::StrCat("write ", out_file, ": ", strerror(errno)));
    }
    ::close(fd);
  }
  if (!status.ok()) {
    // A token nobody holds is only a liability.
    (*tokens)->DeleteToken(account, id).IgnoreError();
    if (fd >= 0) ::unlink(out_file.c_str());
  }
  return status;
}

}  // namespace argonaut::server
