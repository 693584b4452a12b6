#include "lib/auth/channel.h"

#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/support/client_interceptor.h"
#include "lib/base/files.h"

namespace argonaut::auth {
namespace {

// Everything of ClientChannelOptions but the address, checked.
struct Identity {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string token;
};

class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      std::multimap<std::string, std::string>* md = methods->GetSendInitialMetadata();
      // A forwarded caller's token is the one the server must judge.
      if (md->find("authorization") == md->end()) md->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class BearerFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerFactory(const std::string& token) : header_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(&header_);
  }

 private:
  const std::string header_;
};

absl::StatusOr<Identity> Prepare(const ClientChannelOptions& options) {
  Identity id;
  for (char c : options.token) {
    // Header values are visible ASCII; anything else would be refused by
    // gRPC at the first call, far from the cause.
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError("token: contains characters a header cannot carry");
    }
  }
  id.token = options.token;
  switch (options.tls) {
    case ClientChannelOptions::Tls::kNone:
      id.credentials = grpc::InsecureChannelCredentials();
      break;
    case ClientChannelOptions::Tls::kVerify: {
      grpc::SslCredentialsOptions ssl;
      if (!options.ca_file.empty()) {
        absl::StatusOr<std::string> pem = base::ReadFileToString(options.ca_file, "tls ca");
        if (!pem.ok()) return pem.status();
        if (!absl::StrContains(*pem, "-----BEGIN CERTIFICATE-----")) {
          return absl::InvalidArgumentError(
              absl::StrCat("tls ca: ", options.ca_file, " holds no PEM certificate"));
        }
        ssl.pem_root_certs = *std::move(pem);
      }
      id.credentials = grpc::SslCredentials(ssl);
      break;
    }
    case ClientChannelOptions::Tls::kSkipVerify: {
      // Encrypted, but any certificate is accepted: the explicit choice of
      // --insecure-skip-tls-verify.
      grpc::experimental::TlsChannelCredentialsOptions tls;
      tls.set_verify_server_certs(false);
      tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
      tls.set_check_call_host(false);
      id.credentials = grpc::experimental::TlsCredentials(tls);
      break;
    }
  }
  if (id.credentials == nullptr) return absl::InternalError("gRPC refused the TLS options");
  return id;
}

std::shared_ptr<grpc::Channel> Create(const std::string& address, const Identity& id,
                                      grpc::ChannelArguments args, int max_receive) {
  args.SetMaxReceiveMessageSize(max_receive);
  if (id.token.empty()) return grpc::CreateCustomChannel(address, id.credentials, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<BearerFactory>(id.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, id.credentials, args,
                                                                 std::move(factories));
}

absl::Mutex service_mu(absl::kConstInit);
Identity* service_identity ABSL_GUARDED_BY(service_mu) = nullptr;

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeClientChannel(
    const ClientChannelOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("address: empty");
  absl::StatusOr<Identity> id = Prepare(options);
  if (!id.ok()) return id.status();
  return Create(options.address, *id, options.args, options.max_receive_message_size);
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> text = base::ReadFileToString(path, "token file");
  if (!text.ok()) return text.status();
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty())
    return absl::InvalidArgumentError(absl::StrCat("token file: ", path, " is empty"));
  return token;
}

absl::Status SetServiceIdentity(const ClientChannelOptions& options) {
  absl::StatusOr<Identity> id = Prepare(options);
  if (!id.ok()) return id.status();
  absl::MutexLock lock(&service_mu);
  delete service_identity;
  service_identity = new Identity(*std::move(id));
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address,
                                              grpc::ChannelArguments args) {
  Identity id;
  {
    absl::MutexLock lock(&service_mu);
    if (service_identity != nullptr) id = *service_identity;
  }
  if (id.credentials == nullptr) id.credentials = grpc::InsecureChannelCredentials();
  return Create(address, id, std::move(args), ClientChannelOptions{}.max_receive_message_size);
}

}  // namespace argonaut::auth
