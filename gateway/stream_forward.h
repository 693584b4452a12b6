// Relays gRPC calls (unary and server-streaming) from the gateway to the service that owns them.
#pragma once

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace argonaut::gateway {

// The client context of a call relayed to the service that owns it: the
// caller's deadline and cancellation, and the caller's own `authorization`,
// so that the service authorizes the caller, not the gateway.
inline std::unique_ptr<grpc::ClientContext> ForwardingContext(const grpc::ServerContext& ctx) {
  std::unique_ptr<grpc::ClientContext> client = grpc::ClientContext::FromServerContext(ctx);
  const auto& md = ctx.client_metadata();
  if (auto it = md.find("authorization"); it != md.end()) {
    client->AddMetadata("authorization", std::string(it->second.data(), it->second.size()));
  }
  return client;
}

// Forwards one unary call on `stub`, with the caller's deadline, cancellation and token.
template <typename Stub, typename Req, typename Resp>
grpc::Status ForwardUnary(grpc::ServerContext* ctx, Stub* stub,
                          grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                          const Req* req, Resp* resp) {
  std::unique_ptr<grpc::ClientContext> client = ForwardingContext(*ctx);
  return (stub->*method)(client.get(), *req, resp);
}

// Opens `open` on `stub` with a client context derived from `ctx` (so the upstream call inherits
// the caller's deadline, cancellation and token) and copies every message to `writer`. When our
// caller goes away (a write fails) the upstream stream is cancelled, so the service stops
// producing; a stream that ended by cancellation is not an error for the caller, who asked for it.
template <typename Stub, typename Reader, typename Req, typename Msg>
grpc::Status ForwardStream(grpc::ServerContext* ctx, Stub* stub,
                           std::unique_ptr<Reader> (Stub::*open)(grpc::ClientContext*, const Req&),
                           const Req& req, grpc::ServerWriter<Msg>* writer) {
  std::unique_ptr<grpc::ClientContext> client = ForwardingContext(*ctx);
  std::unique_ptr<Reader> reader = (stub->*open)(client.get(), req);
  Msg msg;
  while (reader->Read(&msg)) {
    if (!writer->Write(msg)) {
      client->TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (ctx->IsCancelled() || s.error_code() == grpc::StatusCode::CANCELLED) {
    return grpc::Status::OK;
  }
  return s;
}

}  // namespace argonaut::gateway
