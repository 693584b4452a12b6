#include "lib/auth/channel.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "lib/auth/tls.h"
#include "lib/base/status_matchers.h"

namespace argonaut::auth {
namespace {

using ::argonaut::testing::IsOk;
using ::argonaut::testing::StatusIs;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;
using ::testing::Not;

std::string NewDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/chanXXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Records the authorization header of each call.
class RecordingHealth final : public Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* ctx, const HealthCheckRequest*,
                     HealthCheckResponse* resp) override {
    std::string seen = "<none>";
    auto range = ctx->client_metadata().equal_range("authorization");
    int n = 0;
    for (auto it = range.first; it != range.second; ++it, ++n) {
      seen = std::string(it->second.data(), it->second.size());
    }
    absl::MutexLock lock(&mu_);
    last_ = n > 1 ? "<several>" : seen;
    resp->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
  std::string last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }

 private:
  absl::Mutex mu_;
  std::string last_;
};

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = EnsureSelfSignedCert(NewDir(), {});
    ASSERT_THAT(pair.status(), IsOk());
    ca_file_ = pair->first;
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({Slurp(pair->second), Slurp(pair->first)});
    tls_ = Start(grpc::SslServerCredentials(ssl));
    plain_ = Start(grpc::InsecureServerCredentials());
  }
  void TearDown() override {
    for (auto& s : servers_) s->Shutdown();
  }

  std::string Start(std::shared_ptr<grpc::ServerCredentials> creds) {
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", std::move(creds), &port);
    builder.RegisterService(&service_);
    servers_.push_back(builder.BuildAndStart());
    return "127.0.0.1:" + std::to_string(port);
  }

  // The status of one health check over `options` (address filled in).
  grpc::Status Call(ClientChannelOptions options, const std::string& address) {
    options.address = address;
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeClientChannel(options);
    if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
    auto stub = Health::NewStub(*channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckRequest req;
    HealthCheckResponse resp;
    return stub->Check(&ctx, req, &resp);
  }

  RecordingHealth service_;
  std::vector<std::unique_ptr<grpc::Server>> servers_;
  std::string ca_file_, tls_, plain_;
};

using Tls = ClientChannelOptions::Tls;

TEST_F(ChannelTest, VerifiesTheServerWithTheCaFile) {
  EXPECT_TRUE(Call({.tls = Tls::kVerify, .ca_file = ca_file_}, tls_).ok());
  // By name too: the certificate names localhost.
  EXPECT_TRUE(
      Call({.tls = Tls::kVerify, .ca_file = ca_file_}, "localhost:" + tls_.substr(10)).ok());
}

TEST_F(ChannelTest, RefusesTheServerWithoutTheCa) {
  // The system roots do not know a self-signed certificate.
  grpc::Status s = Call({.tls = Tls::kVerify}, tls_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // Nor does another self-signed certificate.
  auto other = EnsureSelfSignedCert(NewDir(), {});
  ASSERT_THAT(other.status(), IsOk());
  s = Call({.tls = Tls::kVerify, .ca_file = other->first}, tls_);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(ChannelTest, SkipVerifyAcceptsAnyCertificate) {
  EXPECT_TRUE(Call({.tls = Tls::kSkipVerify}, tls_).ok());
}

TEST_F(ChannelTest, PlaintextAndTlsDoNotMix) {
  EXPECT_TRUE(Call({}, plain_).ok());
  EXPECT_FALSE(Call({}, tls_).ok());
  EXPECT_FALSE(Call({.tls = Tls::kSkipVerify}, plain_).ok());
}

TEST_F(ChannelTest, SendsTheTokenOverTlsAndPlaintext) {
  ASSERT_TRUE(
      Call({.token = "argn_abc_secret", .tls = Tls::kVerify, .ca_file = ca_file_}, tls_).ok());
  EXPECT_EQ(service_.last(), "Bearer argn_abc_secret");
  ASSERT_TRUE(Call({.token = "argn_def_secret"}, plain_).ok());
  EXPECT_EQ(service_.last(), "Bearer argn_def_secret");
  ASSERT_TRUE(Call({}, plain_).ok());
  EXPECT_EQ(service_.last(), "<none>");
}

TEST_F(ChannelTest, KeepsAnAuthorizationTheCallAlreadyHas) {
  auto channel = MakeClientChannel({.address = plain_, .token = "service-token"});
  ASSERT_THAT(channel.status(), IsOk());
  auto stub = Health::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer caller-token");
  HealthCheckResponse resp;
  ASSERT_TRUE(stub->Check(&ctx, HealthCheckRequest(), &resp).ok());
  EXPECT_EQ(service_.last(), "Bearer caller-token");
}

TEST_F(ChannelTest, ServiceChannelUsesTheServiceIdentity) {
  {
    auto stub = Health::NewStub(ServiceChannel(plain_));
    grpc::ClientContext ctx;
    HealthCheckResponse resp;
    ASSERT_TRUE(stub->Check(&ctx, HealthCheckRequest(), &resp).ok());
    EXPECT_EQ(service_.last(), "<none>");
  }
  ASSERT_THAT(SetServiceIdentity({.token = "svc", .tls = Tls::kVerify, .ca_file = ca_file_}),
              IsOk());
  auto stub = Health::NewStub(ServiceChannel(tls_));
  grpc::ClientContext ctx;
  HealthCheckResponse resp;
  grpc::Status s = stub->Check(&ctx, HealthCheckRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(service_.last(), "Bearer svc");
  // A bad identity changes nothing.
  EXPECT_THAT(SetServiceIdentity({.tls = Tls::kVerify, .ca_file = "/nonexistent/ca.crt"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/ca.crt")));
  ASSERT_THAT(SetServiceIdentity({}), IsOk());
}

TEST(MakeClientChannelTest, RejectsBadOptions) {
  EXPECT_THAT(MakeClientChannel({.address = "127.0.0.1:1", .token = "two words"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("two words"))));
  EXPECT_THAT(MakeClientChannel({.address = ""}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string bad = NewDir() + "/ca.pem";
  std::ofstream(bad) << "secret junk";
  EXPECT_THAT(
      MakeClientChannel(
          {.address = "127.0.0.1:1", .tls = ClientChannelOptions::Tls::kVerify, .ca_file = bad})
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("secret junk"))));
}

TEST(ReadTokenFileTest, TrimsAndNamesTheFile) {
  const std::string dir = NewDir();
  std::ofstream(dir + "/t") << "  argn_x_y\n";
  EXPECT_EQ(*ReadTokenFile(dir + "/t"), "argn_x_y");
  std::ofstream(dir + "/empty") << "\n";
  EXPECT_THAT(ReadTokenFile(dir + "/empty").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(dir + "/empty")));
  EXPECT_THAT(ReadTokenFile(dir + "/missing").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir + "/missing")));
}

}  // namespace
}  // namespace argonaut::auth
