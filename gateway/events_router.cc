#include "gateway/events_router.h"

#include "gateway/stream_forward.h"

namespace argonaut::gateway {

#define ARGONAUT_FORWARD(Router, Method, Req, Resp)                                \
  grpc::Status Router::Method(grpc::ServerContext* ctx, const events_v1::Req* req, \
                              events_v1::Resp* resp) {                             \
    return ForwardUnary(ctx, stub_.get(), &Stub::Method, req, resp);               \
  }
#define ARGONAUT_FORWARD_STREAM(Router, Method, Req, Msg)                          \
  grpc::Status Router::Method(grpc::ServerContext* ctx, const events_v1::Req* req, \
                              grpc::ServerWriter<events_v1::Msg>* w) {             \
    return ForwardStream(ctx, stub_.get(), &Stub::Method, *req, w);                \
  }

ARGONAUT_FORWARD(EventSourceRouter, CreateEventSource, CreateEventsObjectRequest, EventsObjectReply)
ARGONAUT_FORWARD(EventSourceRouter, GetEventSource, EventsObjectNameRequest, EventsObjectReply)
ARGONAUT_FORWARD(EventSourceRouter, ListEventSources, ListEventsObjectsRequest,
                 ListEventsObjectsReply)
ARGONAUT_FORWARD(EventSourceRouter, UpdateEventSource, UpdateEventsObjectRequest, EventsObjectReply)
ARGONAUT_FORWARD(EventSourceRouter, DeleteEventSource, EventsObjectNameRequest,
                 DeleteEventsObjectReply)
ARGONAUT_FORWARD_STREAM(EventSourceRouter, WatchEventSources, ListEventsObjectsRequest,
                        EventsObjectWatchEvent)
ARGONAUT_FORWARD_STREAM(EventSourceRouter, EventSourcesLogs, EventSourcesLogsRequest,
                        EventSourceLogEntry)

ARGONAUT_FORWARD(SensorRouter, CreateSensor, CreateEventsObjectRequest, EventsObjectReply)
ARGONAUT_FORWARD(SensorRouter, GetSensor, EventsObjectNameRequest, EventsObjectReply)
ARGONAUT_FORWARD(SensorRouter, ListSensors, ListEventsObjectsRequest, ListEventsObjectsReply)
ARGONAUT_FORWARD(SensorRouter, UpdateSensor, UpdateEventsObjectRequest, EventsObjectReply)
ARGONAUT_FORWARD(SensorRouter, DeleteSensor, EventsObjectNameRequest, DeleteEventsObjectReply)
ARGONAUT_FORWARD_STREAM(SensorRouter, WatchSensors, ListEventsObjectsRequest,
                        EventsObjectWatchEvent)
ARGONAUT_FORWARD_STREAM(SensorRouter, SensorsLogs, SensorsLogsRequest, SensorLogEntry)

ARGONAUT_FORWARD(EventRouter, ListEvents, ListEventsRequest, ListEventsReply)
ARGONAUT_FORWARD(EventRouter, ReplayEvent, ReplayEventRequest, ReplayEventReply)
ARGONAUT_FORWARD(EventRouter, SendEvent, SendEventRequest, SendEventReply)

#undef ARGONAUT_FORWARD
#undef ARGONAUT_FORWARD_STREAM

}  // namespace argonaut::gateway
