// Argo Server's Argo Events paths (argo-workflows.swagger.json, EventSourceService and
// SensorService), served by the gateway over the events service's own API:
//
//   GET    /api/v1/event-sources/{ns}[?listOptions.labelSelector=]   EventSourceList
//   POST   /api/v1/event-sources/{ns}        body: the object or {"eventSource": {...}}
//   GET|PUT|DELETE /api/v1/event-sources/{ns}/{name}   (PUT body: the object or
//                                                       {"eventSource": {...}})
//   GET    /api/v1/stream/event-sources/{ns}[?listOptions.fieldSelector=metadata.name=X]
//          newline-delimited {"result": {"type", "object"}}
//   GET    /api/v1/stream/event-sources/{ns}/logs?name=&eventSourceType=&eventName=&grep=
//          &podLogOptions.follow=&podLogOptions.tailLines=&podLogOptions.sinceSeconds=
//          newline-delimited {"result": eventsource.LogEntry}
//   the same under /api/v1/sensors/{ns} (body {"sensor": {...}}) and
//   /api/v1/stream/sensors/{ns}[/logs?name=&triggerName=&grep=&podLogOptions...]
//   POST   /api/v1/events/{ns}/{discriminator}   Argo Workflows' WorkflowEventBinding
//          endpoint: answered 501 with the reason (no WorkflowEventBinding processing yet);
//          an event for a sensor is sent with EventService.SendEvent (`argonaut events send`).
//
// Register these before RegisterRestRoutes (the generic routes would take the same paths over
// the resource API). Errors are grpc-gateway's {"error", "code", "message"}.
#pragma once

#include "argonaut/events/v1/events_service.grpc.pb.h"

namespace httplib {
class Server;
}

namespace argonaut::gateway {

// The stubs must outlive the server.
void RegisterEventsRestRoutes(httplib::Server& http,
                              events::v1::EventSourceService::StubInterface* sources,
                              events::v1::SensorService::StubInterface* sensors);

}  // namespace argonaut::gateway
