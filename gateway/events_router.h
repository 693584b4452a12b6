// Forwards the events service's own API (EventSourceService, SensorService, EventService) from
// the gateway's gRPC server to the events service's channel; streams (watches, logs) are relayed
// and cancelled like RolloutRouter's.
//
//   EventsRouter events(channels.at("events"));
//   events.AddTo(server);
#pragma once

#include <memory>

#include "argonaut/events/v1/events_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace argonaut::gateway {

namespace events_v1 = ::argonaut::events::v1;

class EventSourceRouter final : public events_v1::EventSourceService::Service {
 public:
  explicit EventSourceRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(events_v1::EventSourceService::NewStub(std::move(channel))) {}
  using Stub = events_v1::EventSourceService::Stub;

  grpc::Status CreateEventSource(grpc::ServerContext* ctx,
                                 const events_v1::CreateEventsObjectRequest* req,
                                 events_v1::EventsObjectReply* reply) override;
  grpc::Status GetEventSource(grpc::ServerContext* ctx,
                              const events_v1::EventsObjectNameRequest* req,
                              events_v1::EventsObjectReply* reply) override;
  grpc::Status ListEventSources(grpc::ServerContext* ctx,
                                const events_v1::ListEventsObjectsRequest* req,
                                events_v1::ListEventsObjectsReply* reply) override;
  grpc::Status UpdateEventSource(grpc::ServerContext* ctx,
                                 const events_v1::UpdateEventsObjectRequest* req,
                                 events_v1::EventsObjectReply* reply) override;
  grpc::Status DeleteEventSource(grpc::ServerContext* ctx,
                                 const events_v1::EventsObjectNameRequest* req,
                                 events_v1::DeleteEventsObjectReply* reply) override;
  grpc::Status WatchEventSources(grpc::ServerContext* ctx,
                                 const events_v1::ListEventsObjectsRequest* req,
                                 grpc::ServerWriter<events_v1::EventsObjectWatchEvent>* w) override;
  grpc::Status EventSourcesLogs(grpc::ServerContext* ctx,
                                const events_v1::EventSourcesLogsRequest* req,
                                grpc::ServerWriter<events_v1::EventSourceLogEntry>* w) override;

 private:
  std::unique_ptr<Stub> stub_;
};

class SensorRouter final : public events_v1::SensorService::Service {
 public:
  explicit SensorRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(events_v1::SensorService::NewStub(std::move(channel))) {}
  using Stub = events_v1::SensorService::Stub;

  grpc::Status CreateSensor(grpc::ServerContext* ctx,
                            const events_v1::CreateEventsObjectRequest* req,
                            events_v1::EventsObjectReply* reply) override;
  grpc::Status GetSensor(grpc::ServerContext* ctx, const events_v1::EventsObjectNameRequest* req,
                         events_v1::EventsObjectReply* reply) override;
  grpc::Status ListSensors(grpc::ServerContext* ctx, const events_v1::ListEventsObjectsRequest* req,
                           events_v1::ListEventsObjectsReply* reply) override;
  grpc::Status UpdateSensor(grpc::ServerContext* ctx,
                            const events_v1::UpdateEventsObjectRequest* req,
                            events_v1::EventsObjectReply* reply) override;
  grpc::Status DeleteSensor(grpc::ServerContext* ctx, const events_v1::EventsObjectNameRequest* req,
                            events_v1::DeleteEventsObjectReply* reply) override;
  grpc::Status WatchSensors(grpc::ServerContext* ctx,
                            const events_v1::ListEventsObjectsRequest* req,
                            grpc::ServerWriter<events_v1::EventsObjectWatchEvent>* w) override;
  grpc::Status SensorsLogs(grpc::ServerContext* ctx, const events_v1::SensorsLogsRequest* req,
                           grpc::ServerWriter<events_v1::SensorLogEntry>* w) override;

 private:
  std::unique_ptr<Stub> stub_;
};

class EventRouter final : public events_v1::EventService::Service {
 public:
  explicit EventRouter(std::shared_ptr<grpc::Channel> channel)
      : stub_(events_v1::EventService::NewStub(std::move(channel))) {}
  using Stub = events_v1::EventService::Stub;

  grpc::Status ListEvents(grpc::ServerContext* ctx, const events_v1::ListEventsRequest* req,
                          events_v1::ListEventsReply* reply) override;
  grpc::Status ReplayEvent(grpc::ServerContext* ctx, const events_v1::ReplayEventRequest* req,
                           events_v1::ReplayEventReply* reply) override;
  grpc::Status SendEvent(grpc::ServerContext* ctx, const events_v1::SendEventRequest* req,
                         events_v1::SendEventReply* reply) override;

 private:
  std::unique_ptr<Stub> stub_;
};

// The three routers over one channel.
class EventsRouter {
 public:
  explicit EventsRouter(const std::shared_ptr<grpc::Channel>& channel)
      : sources_(channel), sensors_(channel), events_(channel) {}

  // Registers the three services on `server` (a server::Server or grpc::ServerBuilder: anything
  // with AddService(grpc::Service*)).
  template <typename Server>
  void AddTo(Server& server) {
    server.AddService(&sources_);
    server.AddService(&sensors_);
    server.AddService(&events_);
  }

 private:
  EventSourceRouter sources_;
  SensorRouter sensors_;
  EventRouter events_;
};

}  // namespace argonaut::gateway
