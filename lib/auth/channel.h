// gRPC client channels to Argonaut servers: plaintext or TLS, with a bearer
// token on every call.
//
//   ASSIGN_OR_RETURN(auto channel, auth::MakeClientChannel({.address = "10.0.0.5:2746",
//       .token = token, .tls = auth::ClientChannelOptions::Tls::kVerify, .ca_file = ca}));
//
// The token travels as `authorization: Bearer <token>` metadata added by a
// client interceptor, not as call credentials: gRPC refuses to send call
// credentials over a plaintext channel, and loopback deployments run
// plaintext. A call that already carries `authorization` (the gateway
// forwarding its caller's) keeps it.
//
// A standalone service's own calls to other services (its controllers
// reaching the cluster service, the gateway reaching the services) use the
// process' service identity: SetServiceIdentity once at start, then
// ServiceChannel(address) wherever a channel is made.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace argonaut::auth {

struct ClientChannelOptions {
  std::string address;  // host:port
  std::string token;    // raw token text; empty: no authorization header
  enum class Tls { kNone, kVerify, kSkipVerify } tls = Tls::kNone;
  // kVerify: PEM file of the CA (a self-signed server's own certificate);
  // empty: the system's roots.
  std::string ca_file;
  int max_receive_message_size = 64 << 20;
  // Further channel arguments (reconnect backoff, send size ...).
  grpc::ChannelArguments args;
};

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeClientChannel(
    const ClientChannelOptions& options);

// The token in `path` (surrounding whitespace dropped). Errors name the
// file, never its content.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Sets how this process' own calls to other services authenticate: the
// token and TLS fields of `options` (address is ignored). Fails, changing
// nothing, on an unreadable CA file or a token that cannot be a header.
absl::Status SetServiceIdentity(const ClientChannelOptions& options);
// A channel to `address` with the service identity (plaintext and no token
// until SetServiceIdentity was called). Message size as MakeClientChannel.
std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address,
                                              grpc::ChannelArguments args = {});

}  // namespace argonaut::auth
