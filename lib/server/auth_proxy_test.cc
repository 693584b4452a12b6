// The authorizing proxy, end to end: real servers on loopback, a real token
// store in a temporary directory, the built-in policy plus a readonly user.
#include "lib/server/auth_proxy.h"

#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "argonaut/api/v1/resource.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "gtest/gtest.h"
#include "lib/auth/authorizer.h"
#include "lib/auth/caller_token.h"
#include "lib/auth/policy.h"
#include "lib/auth/tls.h"
#include "lib/auth/token_store.h"
#include "lib/base/status_matchers.h"
#include "lib/controller/clock.h"
#include "lib/resource/service_bundle.h"
#include "lib/server/server.h"

// Assigns the value of a StatusOr, or fails the test.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(ARGONAUT_PROXY_TEST_CONCAT(statusor_, __LINE__), lhs, expr)
#define ARGONAUT_PROXY_TEST_CONCAT_INNER(a, b) a##b
#define ARGONAUT_PROXY_TEST_CONCAT(a, b) ARGONAUT_PROXY_TEST_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  ASSERT_OK(statusor.status());                        \
  lhs = *std::move(statusor)

namespace argonaut::server {
namespace {

using api::v1::CreateRequest;
using api::v1::GetRequest;
using api::v1::Object;
using api::v1::ResourceService;
using api::v1::WatchEvent;
using api::v1::WatchRequest;

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "/auth_proxy_XXXXXX";
  char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

std::string Metadata(const grpc::ServerContextBase* ctx, std::string_view key) {
  std::string all;
  for (const auto& [k, v] : ctx->client_metadata()) {
    if (std::string_view(k.data(), k.size()) == key) {
      if (!all.empty()) all += ",";
      all.append(v.data(), v.size());
    }
  }
  return all;
}

// The backend. Behaviour is chosen by the request's name.
class TestResourceService final : public ResourceService::Service {
 public:
  grpc::Status Get(grpc::ServerContext* ctx, const GetRequest* req, Object* resp) override {
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      account_ = Metadata(ctx, kAccountMetadataKey);
      authorization_ = Metadata(ctx, "authorization");
      custom_ = Metadata(ctx, "x-custom");
      deadline_ = absl::FromChrono(ctx->deadline());
    }
    ctx->AddInitialMetadata("x-initial", "i");
    ctx->AddTrailingMetadata("x-trailing", "t");
    if (req->name() == "big") {
      resp->set_json(std::string(16 << 20, 'b'));
    } else if (req->name() == "slow") {
      WaitForCancel(ctx);
      return grpc::Status(grpc::StatusCode::ABORTED, "cancelled");
    } else if (req->name() == "gate") {
      // Answers only once `gate_target_` calls are inside at the same time.
      absl::MutexLock lock(&mu_);
      ++in_gate_;
      max_in_gate_ = std::max(max_in_gate_, in_gate_);
      mu_.AwaitWithTimeout(
          absl::Condition(
              +[](TestResourceService* s) { return s->max_in_gate_ >= s->gate_target_; }, this),
          absl::Seconds(20));
      --in_gate_;
    }
    if (resp->json().empty()) resp->set_json(absl::StrCat("{\"name\":\"", req->name(), "\"}"));
    return grpc::Status::OK;
  }

  grpc::Status Create(grpc::ServerContext* ctx, const CreateRequest* req, Object* resp) override {
    resp->set_json(absl::StrCat(req->json().size()));
    return grpc::Status::OK;
  }

  // label_selector "N": N events, then ABORTED with trailing metadata.
  // label_selector "hold": one event, then waits for cancellation.
  grpc::Status Watch(grpc::ServerContext* ctx, const WatchRequest* req,
                     grpc::ServerWriter<WatchEvent>* writer) override {
    if (req->label_selector() == "hold") {
      WatchEvent ev;
      ev.set_type("ADDED");
      writer->Write(ev);
      WaitForCancel(ctx);
      return grpc::Status::CANCELLED;
    }
    const int n = std::stoi(req->label_selector());
    for (int i = 0; i < n; ++i) {
      WatchEvent ev;
      ev.set_type("ADDED");
      ev.set_resource_version(absl::StrCat(i));
      if (!writer->Write(ev)) return grpc::Status::CANCELLED;
    }
    ctx->AddTrailingMetadata("x-events", absl::StrCat(n));
    return grpc::Status(grpc::StatusCode::ABORTED, "stream over");
  }

  void WaitForCancel(grpc::ServerContext* ctx) {
    const absl::Time limit = absl::Now() + absl::Seconds(20);
    while (!ctx->IsCancelled() && absl::Now() < limit) absl::SleepFor(absl::Milliseconds(5));
    if (ctx->IsCancelled()) cancelled_.Notify();
  }

  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::string account_ ABSL_GUARDED_BY(mu_);
  std::string authorization_ ABSL_GUARDED_BY(mu_);
  std::string custom_ ABSL_GUARDED_BY(mu_);
  absl::Time deadline_ ABSL_GUARDED_BY(mu_);
  int in_gate_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_gate_ ABSL_GUARDED_BY(mu_) = 0;
  int gate_target_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Notification cancelled_;
};

class AuthProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ASSERT_OK_AND_ASSIGN(tokens_, auth::TokenStore::Open(dir_ + "/auth/tokens.json"));
    const absl::Time now = absl::Now();
    ASSERT_OK_AND_ASSIGN(admin_token_, tokens_->CreateToken("admin", absl::ZeroDuration(), now));
    ASSERT_OK_AND_ASSIGN(reader_token_, tokens_->CreateToken("alice", absl::ZeroDuration(), now));
    ASSERT_OK_AND_ASSIGN(auth::Policy policy, auth::Policy::Parse("g, alice, role:readonly\n"));
    authorizer_ = std::make_unique<auth::Authorizer>(tokens_.get(), std::move(policy),
                                                     controller::RealClock::Get(), nullptr);
    StartServer({});
  }

  void StartServer(TlsOptions tls) {
    server_ = std::make_unique<Server>(ServerOptions{.name = "proxied",
                                                     .http_port = -1,
                                                     .authorizer = authorizer_.get(),
                                                     .tls = std::move(tls)});
    server_->AddService(&backend_);
    ASSERT_OK(server_->Start());
    ASSERT_GT(server_->BoundGrpcPort(), 0);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    channel_ = grpc::CreateCustomChannel(Address(), grpc::InsecureChannelCredentials(), args);
    stub_ = ResourceService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(2));
  }

  std::string Address() const { return absl::StrCat("127.0.0.1:", server_->BoundGrpcPort()); }

  static void WithToken(grpc::ClientContext* ctx, const std::string& token) {
    ctx->AddMetadata("authorization", "Bearer " + token);
  }

  grpc::Status GetObject(const std::string& token, const std::string& name, Object* out) {
    grpc::ClientContext ctx;
    if (!token.empty()) WithToken(&ctx, token);
    GetRequest req;
    req.set_kind("Workflow");
    req.set_namespace_("default");
    req.set_name(name);
    return stub_->Get(&ctx, req, out);
  }

  std::string dir_;
  std::unique_ptr<auth::TokenStore> tokens_;
  std::string admin_token_;
  std::string reader_token_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  TestResourceService backend_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ResourceService::Stub> stub_;
};

TEST_F(AuthProxyTest, UnaryCallIsRelayedWithAccountAndMetadata) {
  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  ctx.AddMetadata("x-custom", "c");
  ctx.AddMetadata(kAccountMetadataKey, "forged");  // dropped by the proxy
  GetRequest req;
  req.set_kind("Workflow");
  req.set_namespace_("default");
  req.set_name("hello");
  Object obj;
  grpc::Status status = stub_->Get(&ctx, req, &obj);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(obj.json(), "{\"name\":\"hello\"}");
  const auto& initial = ctx.GetServerInitialMetadata();
  ASSERT_EQ(initial.count("x-initial"), 1u);
  EXPECT_EQ(initial.find("x-initial")->second, "i");
  const auto& trailing = ctx.GetServerTrailingMetadata();
  ASSERT_EQ(trailing.count("x-trailing"), 1u);
  EXPECT_EQ(trailing.find("x-trailing")->second, "t");
  absl::MutexLock lock(&backend_.mu_);
  EXPECT_EQ(backend_.account_, "admin");
  EXPECT_EQ(backend_.authorization_, "Bearer " + admin_token_);
  EXPECT_EQ(backend_.custom_, "c");
}

TEST_F(AuthProxyTest, MissingOrBadTokenIsUnauthenticated) {
  Object obj;
  grpc::Status status = GetObject("", "hello", &obj);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();

  const std::string forged = admin_token_.substr(0, admin_token_.size() - 4) + "AAAA";
  status = GetObject(forged, "hello", &obj);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message().find(forged), std::string::npos);
  EXPECT_EQ(status.error_message().find("AAAA"), std::string::npos);

  status = GetObject("garbage", "hello", &obj);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  absl::MutexLock lock(&backend_.mu_);
  EXPECT_EQ(backend_.calls_, 0);
}

TEST_F(AuthProxyTest, ReadonlyTokenReadsButCannotCreate) {
  Object obj;
  grpc::Status status = GetObject(reader_token_, "hello", &obj);
  EXPECT_TRUE(status.ok()) << status.error_message();
  {
    absl::MutexLock lock(&backend_.mu_);
    EXPECT_EQ(backend_.account_, "alice");
  }

  grpc::ClientContext ctx;
  WithToken(&ctx, reader_token_);
  CreateRequest create;
  create.set_kind("Workflow");
  create.set_json(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow",)"
                  R"("metadata":{"name":"hello","namespace":"default"}})");
  status = stub_->Create(&ctx, create, &obj);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("alice"), std::string::npos) << status.error_message();
  EXPECT_NE(status.error_message().find("create"), std::string::npos) << status.error_message();
  EXPECT_NE(status.error_message().find("workflows"), std::string::npos) << status.error_message();
  EXPECT_NE(status.error_message().find("default/hello"), std::string::npos)
      << status.error_message();

  grpc::ClientContext admin_ctx;
  WithToken(&admin_ctx, admin_token_);
  status = stub_->Create(&admin_ctx, create, &obj);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(obj.json(), absl::StrCat(create.json().size()));
}

TEST_F(AuthProxyTest, ServerStreamRelaysEveryMessageAndTheStatus) {
  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  WatchRequest req;
  req.set_kind("Workflow");
  req.set_namespace_("default");
  req.set_label_selector("500");
  auto reader = stub_->Watch(&ctx, req);
  WatchEvent ev;
  int n = 0;
  while (reader->Read(&ev)) {
    EXPECT_EQ(ev.resource_version(), absl::StrCat(n));
    ++n;
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(n, 500);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(status.error_message(), "stream over");
  const auto& trailing = ctx.GetServerTrailingMetadata();
  ASSERT_EQ(trailing.count("x-events"), 1u);
  EXPECT_EQ(trailing.find("x-events")->second, "500");
}

TEST_F(AuthProxyTest, ReadonlyWatchesAcrossNamespaces) {
  grpc::ClientContext ctx;
  WithToken(&ctx, reader_token_);
  WatchRequest req;
  req.set_kind("Workflow");  // no namespace: the object is "*/*"
  req.set_label_selector("3");
  auto reader = stub_->Watch(&ctx, req);
  WatchEvent ev;
  int n = 0;
  while (reader->Read(&ev)) ++n;
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED) << status.error_message();
  EXPECT_EQ(n, 3);
}

TEST_F(AuthProxyTest, CallerCancellationReachesTheHandler) {
  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  WatchRequest req;
  req.set_kind("Workflow");
  req.set_namespace_("default");
  req.set_label_selector("hold");
  auto reader = stub_->Watch(&ctx, req);
  WatchEvent ev;
  ASSERT_TRUE(reader->Read(&ev)) << reader->Finish().error_message();
  ctx.TryCancel();
  EXPECT_TRUE(backend_.cancelled_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(AuthProxyTest, CallerCancellationReachesAUnaryHandler) {
  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  GetRequest req;
  req.set_kind("Workflow");
  req.set_namespace_("default");
  req.set_name("slow");
  Object obj;
  grpc::Status status;
  std::thread call([&] { status = stub_->Get(&ctx, req, &obj); });
  // Cancel once the handler is running.
  for (int i = 0; i < 2000; ++i) {
    {
      absl::MutexLock lock(&backend_.mu_);
      if (backend_.calls_ > 0) break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  ctx.TryCancel();
  call.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(backend_.cancelled_.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(AuthProxyTest, DeadlineIsPropagated) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  {
    grpc::ClientContext ctx;
    WithToken(&ctx, admin_token_);
    ctx.set_deadline(absl::ToChronoTime(deadline));
    GetRequest req;
    req.set_kind("Workflow");
    req.set_name("hello");
    Object obj;
    ASSERT_TRUE(stub_->Get(&ctx, req, &obj).ok());
    absl::MutexLock lock(&backend_.mu_);
    EXPECT_LT(absl::AbsDuration(backend_.deadline_ - deadline), absl::Seconds(2));
  }
  // A deadline that expires while the handler runs cancels the handler.
  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  GetRequest req;
  req.set_kind("Workflow");
  req.set_name("slow");
  Object obj;
  EXPECT_EQ(stub_->Get(&ctx, req, &obj).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(backend_.cancelled_.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(AuthProxyTest, LargeMessagesPassBothWays) {
  Object obj;
  grpc::Status status = GetObject(admin_token_, "big", &obj);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(obj.json().size(), size_t{16} << 20);

  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  CreateRequest create;
  create.set_kind("ConfigMap");
  std::string json = R"({"kind":"ConfigMap","metadata":{"name":"big","namespace":"default"},)"
                     R"("data":{"x":")";
  json += std::string((16 << 20) - 1024 - json.size(), 'x');
  json += "\"}}";
  create.set_json(json);
  status = stub_->Create(&ctx, create, &obj);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(obj.json(), absl::StrCat(json.size()));
}

TEST_F(AuthProxyTest, HundredConcurrentCallsFromEightThreads) {
  constexpr int kCalls = 100;
  {
    absl::MutexLock lock(&backend_.mu_);
    backend_.gate_target_ = kCalls;
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const int mine = kCalls / 8 + (t < kCalls % 8 ? 1 : 0);
      std::vector<std::thread> calls;  // each call blocks until all are in
      for (int i = 0; i < mine; ++i) {
        calls.emplace_back([&, i] {
          Object obj;
          grpc::Status status = GetObject(i % 2 ? admin_token_ : reader_token_, "gate", &obj);
          if (status.ok() && obj.json() == "{\"name\":\"gate\"}") ++ok;
        });
      }
      for (auto& c : calls) c.join();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kCalls);
  absl::MutexLock lock(&backend_.mu_);
  EXPECT_EQ(backend_.max_in_gate_, kCalls);
}

TEST_F(AuthProxyTest, HealthAnswersWithoutToken) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status status = health->Check(&ctx, req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

// Reflection is a bidi stream: it exercises the generic relay in both
// directions, and must stay public. It lists the internal server's services.
TEST_F(AuthProxyTest, ReflectionIsPublicAndListsTheRealServices) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  const auto* req_desc =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest");
  const auto* resp_desc =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse");
  ASSERT_NE(req_desc, nullptr);
  ASSERT_NE(resp_desc, nullptr);
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<google::protobuf::Message> request(factory.GetPrototype(req_desc)->New());
  request->GetReflection()->SetString(request.get(), req_desc->FindFieldByName("list_services"),
                                      "*");
  grpc::Slice bytes(request->SerializeAsString());
  grpc::ByteBuffer out(&bytes, 1);

  grpc::GenericStub generic(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  auto call = generic.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto step = [&](void* tag) {
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(got, tag);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(reinterpret_cast<void*>(1)));
  // Several requests on one stream, each answered before the next is sent.
  grpc::ByteBuffer in;
  for (int i = 0; i < 3; ++i) {
    call->Write(out, reinterpret_cast<void*>(2));
    ASSERT_TRUE(step(reinterpret_cast<void*>(2)));
    call->Read(&in, reinterpret_cast<void*>(4));
    ASSERT_TRUE(step(reinterpret_cast<void*>(4)));
    std::unique_ptr<google::protobuf::Message> response(factory.GetPrototype(resp_desc)->New());
    grpc::ProtoBufferReader reader(&in);
    ASSERT_TRUE(response->ParseFromZeroCopyStream(&reader));
    EXPECT_NE(response->DebugString().find("argonaut.api.v1.ResourceService"), std::string::npos)
        << response->DebugString();
  }
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(reinterpret_cast<void*>(3)));
  call->Read(&in, reinterpret_cast<void*>(5));
  EXPECT_FALSE(step(reinterpret_cast<void*>(5)));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(6));
  ASSERT_TRUE(step(reinterpret_cast<void*>(6)));
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

TEST_F(AuthProxyTest, UnknownMethodIsUnimplemented) {
  grpc::GenericStub generic(channel_);
  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  grpc::Slice empty("");
  grpc::ByteBuffer req(&empty, 1), resp;
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(&ctx, "/argonaut.nothing.v1.Nope/Call", grpc::StubOptions(), &req, &resp,
                    [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
}

TEST_F(AuthProxyTest, AuthenticatedInProcessChannelCarriesTheScopedToken) {
  auto stub = ResourceService::NewStub(server_->AuthenticatedInProcessChannel());
  GetRequest req;
  req.set_kind("Workflow");
  req.set_namespace_("default");
  req.set_name("hello");
  Object obj;
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(stub->Get(&ctx, req, &obj).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    auth::ScopedCallerToken scope("Bearer " + reader_token_);
    {
      auth::ScopedCallerToken inner("Bearer " + admin_token_);
      grpc::ClientContext ctx;
      ASSERT_TRUE(stub->Get(&ctx, req, &obj).ok());
      absl::MutexLock lock(&backend_.mu_);
      EXPECT_EQ(backend_.account_, "admin");
    }
    grpc::ClientContext ctx;
    grpc::Status status = stub->Get(&ctx, req, &obj);
    ASSERT_TRUE(status.ok()) << status.error_message();
    absl::MutexLock lock(&backend_.mu_);
    EXPECT_EQ(backend_.account_, "alice");
  }
  EXPECT_FALSE(auth::CurrentCallerToken().has_value());
  // The trusted channel skips the proxy.
  grpc::ClientContext ctx;
  auto trusted = ResourceService::NewStub(server_->InProcessChannel());
  ASSERT_TRUE(trusted->Get(&ctx, req, &obj).ok());
  absl::MutexLock lock(&backend_.mu_);
  EXPECT_EQ(backend_.account_, "");
}

TEST_F(AuthProxyTest, ShutdownWithAnOpenStreamEndsIt) {
  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  WatchRequest req;
  req.set_kind("Workflow");
  req.set_namespace_("default");
  req.set_label_selector("hold");
  auto reader = stub_->Watch(&ctx, req);
  WatchEvent ev;
  ASSERT_TRUE(reader->Read(&ev)) << reader->Finish().error_message();
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Milliseconds(300));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_FALSE(reader->Read(&ev));
  EXPECT_FALSE(reader->Finish().ok());
  EXPECT_TRUE(backend_.cancelled_.HasBeenNotified());
  server_.reset();
}

TEST_F(AuthProxyTest, TlsListener) {
  server_->Shutdown(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(auto pair, auth::EnsureSelfSignedCert(dir_ + "/tls", {}));
  StartServer({.cert_file = pair.first, .key_file = pair.second});
  std::ifstream in(pair.first);
  std::string ca((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca;
  auto stub = ResourceService::NewStub(grpc::CreateChannel(
      absl::StrCat("localhost:", server_->BoundGrpcPort()), grpc::SslCredentials(ssl)));
  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  GetRequest req;
  req.set_kind("Workflow");
  req.set_name("hello");
  Object obj;
  grpc::Status status = stub->Get(&ctx, req, &obj);
  EXPECT_TRUE(status.ok()) << status.error_message();
  // Plaintext against the TLS port fails.
  Object plain;
  EXPECT_FALSE(GetObject(admin_token_, "hello", &plain).ok());
}

TEST(AuthProxyTlsOptionsTest, HalfConfiguredTlsIsAClearError) {
  Server server({.name = "tls", .http_port = -1, .tls = {.cert_file = "/nonexistent.crt"}});
  EXPECT_THAT(server.Start(), ::argonaut::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

// A real ResourceService (store-backed) behind the proxy.
TEST(AuthProxyBundleTest, RealResourceServiceBehindTheProxy) {
  const std::string dir = MakeTempDir();
  ASSERT_OK_AND_ASSIGN(auto tokens, auth::TokenStore::Open(dir + "/tokens.json"));
  ASSERT_OK_AND_ASSIGN(std::string admin,
                       tokens->CreateToken("admin", absl::ZeroDuration(), absl::Now()));
  ASSERT_OK_AND_ASSIGN(std::string alice,
                       tokens->CreateToken("alice", absl::ZeroDuration(), absl::Now()));
  ASSERT_OK_AND_ASSIGN(auth::Policy policy, auth::Policy::Parse("g, alice, role:readonly\n"));
  auth::Authorizer authorizer(tokens.get(), std::move(policy), controller::RealClock::Get(),
                              nullptr);
  ASSERT_OK_AND_ASSIGN(auto bundle,
                       resource::ServiceBundle::Open("workflow", dir + "/data", nullptr));
  Server server({.name = "workflow", .http_port = -1, .authorizer = &authorizer});
  server.AddService(&bundle->grpc_service());
  ASSERT_OK(server.Start());
  auto stub = ResourceService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server.BoundGrpcPort()), grpc::InsecureChannelCredentials()));
  CreateRequest create;
  create.set_kind("Workflow");
  create.set_json(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow",)"
                  R"("metadata":{"name":"hello","namespace":"default"},"spec":{}})");
  Object obj;
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + alice);
    EXPECT_EQ(stub->Create(&ctx, create, &obj).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + admin);
    grpc::Status status = stub->Create(&ctx, create, &obj);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + alice);
  GetRequest get;
  get.set_kind("Workflow");
  get.set_namespace_("default");
  get.set_name("hello");
  grpc::Status status = stub->Get(&ctx, get, &obj);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(obj.json().find("\"hello\""), std::string::npos);
  server.Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace argonaut::server
