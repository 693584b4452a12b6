// Relays one server-streaming gRPC call from the gateway to the service that owns it.
#pragma once

#include <memory>

#include "grpcpp/grpcpp.h"

namespace argonaut::gateway {

// Opens `open` on `stub` with a client context derived from `ctx` (so the upstream call inherits
// the caller's deadline and cancellation) and copies every message to `writer`. When our caller
// goes away (a write fails) the upstream stream is cancelled, so the service stops producing; a
// stream that ended by cancellation is not an error for the caller, who asked for it.
template <typename Stub, typename Reader, typename Req, typename Msg>
grpc::Status ForwardStream(grpc::ServerContext* ctx, Stub* stub,
                           std::unique_ptr<Reader> (Stub::*open)(grpc::ClientContext*, const Req&),
                           const Req& req, grpc::ServerWriter<Msg>* writer) {
  std::unique_ptr<grpc::ClientContext> client = grpc::ClientContext::FromServerContext(*ctx);
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
