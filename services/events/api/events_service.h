// The events service's gRPC API: EventSourceService and SensorService (Argo
// Server's eventsource and sensor services: create, get, list, update,
// delete, watch over the events store, and the controllers' log lines as
// Argo's LogEntry streams) and EventService (the recent events of a source
// on its bus, replaying one of them to one sensor, sending an event as if a
// source had produced it).
//
//   EventsServer ev(&bundle.api(), {...});
//   EventsApi api(&bundle.api(), &ev);
//   server.AddService(api.event_sources());  // + sensors(), events()
//   RETURN_IF_ERROR(ev.Start());
#pragma once

#include <memory>
#include <string>

#include "argonaut/events/v1/events_service.grpc.pb.h"
#include "lib/resource/resource_api.h"
#include "services/events/events_server.h"

namespace argonaut::events::api {

// ListEvents answers this many events when the request sets no limit.
inline constexpr int kRecentEventsDefault = 20;

class EventSourceGrpcService;
class SensorGrpcService;
class EventGrpcService;

// The three services over one store and one EventsServer. `server` may be
// started after the API is registered (its controllers are looked up per
// call; until then logs, send and replay answer UNAVAILABLE). Both must
// outlive the API.
class EventsApi {
 public:
  EventsApi(resource::ResourceApi* store, EventsServer* server);
  ~EventsApi();

  grpc::Service* event_sources();
  grpc::Service* sensors();
  grpc::Service* events();

 private:
  std::unique_ptr<EventSourceGrpcService> sources_;
  std::unique_ptr<SensorGrpcService> sensors_;
  std::unique_ptr<EventGrpcService> events_;
};

}  // namespace argonaut::events::api
