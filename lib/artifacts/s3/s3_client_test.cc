// S3Client against a real s3rver, the AWS SDK (interop), a loopback server
// that checks every SigV4 signature with botocore, and a misbehaving server
// (retries, resumed downloads, hostile answers).
#include "lib/artifacts/s3/s3_client.h"

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/artifacts/s3/s3_test_util.h"
#include "lib/artifacts/testing_files.h"
#include "lib/base/status_matchers.h"

namespace argonaut::artifacts::s3 {
namespace {

using ::argonaut::artifacts::testing::Slurp;
using ::argonaut::artifacts::testing::Spit;

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace ::argonaut::artifacts::s3::testing;

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen() & 0xFF);
  return s;
}

// ---- a real s3rver ----

class S3rverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status s = server_.Start();
    if (absl::IsFailedPrecondition(s)) GTEST_SKIP() << "SKIPPED: " << s.message();
    ASSERT_OK(s);
    client_ = Client();
    ASSERT_OK(client_->CreateBucket());
  }

  std::unique_ptr<S3Client> Client(uint64_t part_size = 5 << 20) {
    S3Config c;
    c.endpoint = server_.endpoint;
    c.bucket = "argonaut-test";
    c.insecure = true;
    c.access_key = kS3rverKey;
    c.secret_key = kS3rverKey;
    c.part_size = part_size;
    c.multipart_threshold = part_size;
    c.on_attempt = [this](std::string_view op, long status) {
      ops_.push_back(absl::StrCat(std::string(op), " ", status));
    };
    auto client = S3Client::Create(c);
    EXPECT_OK(client);
    return client.ok() ? std::move(*client) : nullptr;
  }

  S3rver server_;
  std::unique_ptr<S3Client> client_;
  std::vector<std::string> ops_;
};

TEST_F(S3rverTest, PutGetHeadDeleteRoundTrip) {
  const std::string path = server_.dir->path() + "/in.bin";
  const std::string data = RandomBytes(3 << 20, 1);
  Spit(path, data);
  ASSERT_OK(client_->PutFile("dir/in put+odd key~!.bin", path));
  auto head = client_->Head("dir/in put+odd key~!.bin");
  ASSERT_OK(head);
  EXPECT_EQ(head->size, data.size());
  EXPECT_FALSE(head->etag.empty());
  ASSERT_OK(client_->GetToFile("dir/in put+odd key~!.bin", server_.dir->path() + "/out.bin"));
  EXPECT_TRUE(Slurp(server_.dir->path() + "/out.bin") == data);
  // Streaming: the sink sees the bytes in chunks, in order.
  std::string streamed;
  int chunks = 0;
  ASSERT_OK(client_->Get("dir/in put+odd key~!.bin", [&](std::string_view c) {
    streamed.append(c);
    ++chunks;
    return absl::OkStatus();
  }));
  EXPECT_TRUE(streamed == data);
  EXPECT_GT(chunks, 1);
  // A sink's error stops the transfer and is what the caller gets.
  EXPECT_THAT(client_->Get("dir/in put+odd key~!.bin",
                           [](std::string_view) { return absl::CancelledError("enough"); }),
              StatusIs(absl::StatusCode::kCancelled, "enough"));
  ASSERT_OK(client_->Delete("dir/in put+odd key~!.bin"));
  EXPECT_THAT(client_->Head("dir/in put+odd key~!.bin"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      client_->Get("dir/in put+odd key~!.bin", [](std::string_view) { return absl::OkStatus(); }),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("argonaut-test/dir/in put")));
  // Deleting what is gone is fine.
  EXPECT_OK(client_->Delete("dir/in put+odd key~!.bin"));
  // A missing object leaves no empty file behind.
  EXPECT_THAT(client_->GetToFile("nope", server_.dir->path() + "/nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("NoSuchKey")));
  EXPECT_NE(access((server_.dir->path() + "/nope").c_str(), F_OK), 0);
}

TEST_F(S3rverTest, EmptyObject) {
  const std::string path = server_.dir->path() + "/empty";
  Spit(path, "");
  ASSERT_OK(client_->PutFile("empty", path));
  ASSERT_OK(client_->GetToFile("empty", server_.dir->path() + "/empty.out"));
  EXPECT_EQ(Slurp(server_.dir->path() + "/empty.out"), "");
}

TEST_F(S3rverTest, MultipartUploadPastTheThreshold) {
  const std::string path = server_.dir->path() + "/big.bin";
  const std::string data = RandomBytes((12 << 20) + 12345, 2);
  Spit(path, data);
  ops_.clear();
  ASSERT_OK(client_->PutFile("big.bin", path));
  auto head = client_->Head("big.bin");
  ASSERT_OK(head);
  EXPECT_EQ(head->size, data.size());
  EXPECT_THAT(ops_, ::testing::ElementsAre("CreateMultipartUpload 200", "UploadPart 1 200",
                                           "UploadPart 2 200", "UploadPart 3 200",
                                           "CompleteMultipartUpload 200", "HeadObject 200"));
  ASSERT_OK(client_->GetToFile("big.bin", server_.dir->path() + "/big.out"));
  EXPECT_TRUE(Slurp(server_.dir->path() + "/big.out") == data);
  // Below the threshold: one PUT (a plain MD5 ETag).
  ops_.clear();
  Spit(path, data.substr(0, 1 << 20));
  ASSERT_OK(client_->PutFile("small.bin", path));
  EXPECT_THAT(ops_, ::testing::ElementsAre("PutObject 200"));
}

TEST_F(S3rverTest, ListFollowsContinuationTokens) {
  for (const char* k : {"p/a", "p/b/c", "p/b/d", "p/e f", "p/g", "q/h", "pz"})
    ASSERT_OK(client_->PutString(k, k));
  auto all = client_->List("p/", 2);
  ASSERT_OK(all);
  std::vector<std::string> keys;
  for (const ObjectInfo& o : *all) keys.push_back(o.key);
  EXPECT_THAT(keys, ::testing::ElementsAre("p/a", "p/b/c", "p/b/d", "p/e f", "p/g"));
  EXPECT_EQ((*all)[0].size, 3u);
  auto none = client_->List("zzz/");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto everything = client_->List("");
  ASSERT_OK(everything);
  EXPECT_EQ(everything->size(), 7u);
}

TEST_F(S3rverTest, BucketsAndBadCredentials) {
  EXPECT_EQ(client_->BucketExists().value_or(false), true);
  S3Config c = client_->config();
  c.bucket = "other-bucket";
  auto other = S3Client::Create(c);
  ASSERT_OK(other);
  EXPECT_EQ((*other)->BucketExists().value_or(true), false);
  ASSERT_OK((*other)->CreateBucket());
  EXPECT_EQ((*other)->BucketExists().value_or(false), true);

  // s3rver checks the access key id (not the SigV4 signature: SigV4.EverySignatureMatchesBotocore
  // does that).
  c.bucket = "argonaut-test";
  c.access_key = "NOT-A-KEY";
  c.secret_key = "not-the-secret-XYZ";
  auto wrong = S3Client::Create(c);
  ASSERT_OK(wrong);
  absl::Status s = (*wrong)->PutString("k", "v");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("InvalidAccessKeyId")));
  EXPECT_THAT(s.message(), HasSubstr("argonaut-test/k"));
  EXPECT_THAT(s.message(), HasSubstr("403"));
  EXPECT_THAT(s.message(), Not(HasSubstr("not-the-secret-XYZ")));
}

TEST_F(S3rverTest, InteropWithTheAwsSdk) {
  // Argonaut writes, the SDK reads.
  const std::string data = RandomBytes((6 << 20) + 7, 3);
  const std::string in = server_.dir->path() + "/argonaut.bin";
  Spit(in, data);
  ASSERT_OK(client_->PutFile("interop/from-argonaut.bin", in));  // multipart (5 MiB parts)
  const std::string sdk_out = server_.dir->path() + "/sdk-read.bin";
  ASSERT_OK(RunSdk({"http://" + server_.endpoint, "argonaut-test", "get",
                    "interop/from-argonaut.bin", sdk_out}));
  EXPECT_TRUE(Slurp(sdk_out) == data);
  // The SDK writes, Argonaut reads.
  const std::string sdk_in = server_.dir->path() + "/sdk.bin";
  const std::string other = RandomBytes(200000, 4);
  Spit(sdk_in, other);
  ASSERT_OK(RunSdk(
      {"http://" + server_.endpoint, "argonaut-test", "put", "interop/from sdk.bin", sdk_in}));
  const std::string out = server_.dir->path() + "/argonaut-read.bin";
  ASSERT_OK(client_->GetToFile("interop/from sdk.bin", out));
  EXPECT_TRUE(Slurp(out) == other);
}

TEST(S3rverTls, TrustsOnlyTheGivenCa) {
  if (NodeBinary().empty()) GTEST_SKIP() << "SKIPPED: node is not installed";
  auto tls = TempDir::Create();
  ASSERT_OK(tls);
  const std::string dir = (*tls)->path();
  auto made = RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                          "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "2",
                          "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                         "");
  ASSERT_OK(made);
  ASSERT_EQ(made->exit_code, 0) << made->output;
  S3rver server;
  ASSERT_OK(server.Start({"--key", dir + "/key.pem", "--cert", dir + "/cert.pem"}));
  S3Config c;
  c.endpoint = server.endpoint;
  c.bucket = "tls-bucket";
  c.access_key = c.secret_key = kS3rverKey;
  c.sleep = [](absl::Duration) {};
  int attempts = 0;
  c.on_attempt = [&](std::string_view, long) { ++attempts; };
  auto untrusted = S3Client::Create(c);
  ASSERT_OK(untrusted);
  EXPECT_THAT((*untrusted)->CreateBucket(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(attempts, 1);  // a certificate problem is not retried
  c.ca_pem = Slurp(dir + "/cert.pem");
  auto trusted = S3Client::Create(c);
  ASSERT_OK(trusted);
  ASSERT_OK((*trusted)->CreateBucket());
  ASSERT_OK((*trusted)->PutString("k", "over tls"));
  std::string got;
  ASSERT_OK((*trusted)->Get("k", [&](std::string_view chunk) {
    got.append(chunk);
    return absl::OkStatus();
  }));
  EXPECT_EQ(got, "over tls");
}

// ---- SigV4 checked by botocore ----

TEST(SigV4, EverySignatureMatchesBotocore) {
  auto dir = TempDir::Create();
  ASSERT_OK(dir);
  auto port = PickUnusedLoopbackPort();
  ASSERT_OK(port);
  const std::string record = (*dir)->path() + "/requests.jsonl";
  auto server =
      StartServer({"/usr/bin/python3", "lib/artifacts/s3/testdata/sigv4_server.py",
                   std::to_string(*port), record, "AKIDEXAMPLE", "s3cr3t/KEY+x=", "eu-west-3"},
                  *port, (*dir)->path() + "/server.log");
  ASSERT_OK(server) << "is python3-botocore installed?";
  S3Config c;
  c.endpoint = absl::StrCat("127.0.0.1:", *port);
  c.bucket = "sig-bucket";
  c.region = "eu-west-3";
  c.insecure = true;
  c.access_key = "AKIDEXAMPLE";
  c.secret_key = "s3cr3t/KEY+x=";
  c.session_token = "token/with+odd=chars";
  c.part_size = 64 << 10;
  c.multipart_threshold = 64 << 10;
  c.max_attempts = 1;
  auto client = S3Client::Create(c);
  ASSERT_OK(client);
  S3Client& s3 = **client;
  const std::string file = (*dir)->path() + "/f";
  const std::string data = RandomBytes(150 << 10, 5);
  Spit(file, data);
  ASSERT_OK(s3.PutString("a b/c+d~e%f", "hello"));
  ASSERT_OK(s3.PutFile("multi/part file", file));  // 3 parts + create + complete
  std::string got;
  ASSERT_OK(s3.Get("multi/part file", [&](std::string_view c) {
    got.append(c);
    return absl::OkStatus();
  }));
  EXPECT_TRUE(got == data);
  ASSERT_OK(s3.Head("a b/c+d~e%f"));
  auto listed = s3.List("a b/c+", 7);
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "a b/c+d~e%f");
  ASSERT_OK(s3.Delete("a b/c+d~e%f"));
  ASSERT_OK(s3.CreateBucket());
  std::vector<std::string> lines = absl::StrSplit(Slurp(record), '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 11u) << Slurp(record);
  for (const std::string& l : lines) EXPECT_THAT(l, HasSubstr("x-amz-security-token")) << l;
  EXPECT_THAT(Slurp(record), HasSubstr("UNSIGNED-PAYLOAD"));

  // The same requests with another secret are refused: the server checks.
  c.secret_key = "wrong";
  auto bad = S3Client::Create(c);
  ASSERT_OK(bad);
  EXPECT_THAT((*bad)->PutString("k", "v"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("signature mismatch")));
}

// ---- a misbehaving server ----

struct FakeS3 {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ChildProcess> process;
  std::string record;
  std::vector<absl::Duration> waits;
  std::unique_ptr<S3Client> client;

  void Start(const std::string& mode, int max_attempts = 5) {
    auto d = TempDir::Create();
    ASSERT_OK(d);
    dir = std::move(*d);
    auto port = PickUnusedLoopbackPort();
    ASSERT_OK(port);
    record = dir->path() + "/requests.log";
    auto p = StartServer({"/usr/bin/python3", "lib/artifacts/s3/testdata/fake_s3.py",
                          std::to_string(*port), mode, record},
                         *port, dir->path() + "/server.log");
    ASSERT_OK(p);
    process = std::move(*p);
    S3Config c;
    c.endpoint = absl::StrCat("127.0.0.1:", *port);
    c.bucket = "b";
    c.insecure = true;
    c.max_attempts = max_attempts;
    c.sleep = [this](absl::Duration d) { waits.push_back(d); };
    auto cl = S3Client::Create(c);
    ASSERT_OK(cl);
    client = std::move(*cl);
  }
  int Requests() {
    std::vector<std::string> lines = absl::StrSplit(Slurp(record), '\n', absl::SkipEmpty());
    return static_cast<int>(lines.size());
  }
};

TEST(Retries, ServerErrorsAndSlowDownAreRetriedWithBackoff) {
  FakeS3 f;
  ASSERT_NO_FATAL_FAILURE(f.Start("flaky"));
  const std::string file = f.dir->path() + "/f";
  Spit(file, "payload bytes");
  ASSERT_OK(f.client->PutFile("k", file));
  EXPECT_EQ(f.Requests(), 3);  // 500, 503 SlowDown, 200
  ASSERT_EQ(f.waits.size(), 2u);
  EXPECT_EQ(f.waits[0], absl::Milliseconds(200));
  EXPECT_EQ(f.waits[1], absl::Milliseconds(400));
  std::string got;
  ASSERT_OK(f.client->Get("k", [&](std::string_view c) {
    got.append(c);
    return absl::OkStatus();
  }));
  EXPECT_EQ(got, "payload bytes");  // the failed answers' bodies never reach the sink
}

TEST(Retries, SlowDownForeverEndsWithAClearError) {
  FakeS3 f;
  ASSERT_NO_FATAL_FAILURE(f.Start("forever", 4));
  absl::Status s = f.client->PutString("some/key", "x");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable,
                          HasSubstr("s3 PutObject b/some/key at 127.0.0.1:")));
  EXPECT_THAT(s.message(), HasSubstr("HTTP 503 SlowDown: Please reduce your request rate."));
  EXPECT_THAT(s.message(), HasSubstr("gave up after 4 attempts"));
  EXPECT_EQ(f.Requests(), 4);
  EXPECT_EQ(f.waits.size(), 3u);
}

TEST(Retries, ConnectionRefusedIsRetriedThenReported) {
  auto port = PickUnusedLoopbackPort();
  ASSERT_OK(port);
  S3Config c;
  c.endpoint = absl::StrCat("127.0.0.1:", *port);
  c.bucket = "b";
  c.insecure = true;
  c.max_attempts = 3;
  int waits = 0;
  c.sleep = [&](absl::Duration) { ++waits; };
  auto client = S3Client::Create(c);
  ASSERT_OK(client);
  EXPECT_THAT((*client)->PutString("k", "v"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("gave up after 3 attempts")));
  EXPECT_EQ(waits, 2);
}

TEST(Retries, ACutDownloadResumesWithRange) {
  FakeS3 f;
  ASSERT_NO_FATAL_FAILURE(f.Start("cut"));
  const std::string data = RandomBytes(300000, 6);
  ASSERT_OK(f.client->PutString("obj", data));
  std::string got;
  ASSERT_OK(f.client->Get("obj", [&](std::string_view c) {
    got.append(c);
    return absl::OkStatus();
  }));
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  EXPECT_THAT(Slurp(f.record), HasSubstr("GET /b/obj bytes=150000-"));
}

TEST(Hostile, MalformedAnswersAreErrorsNotCrashes) {
  FakeS3 f;
  ASSERT_NO_FATAL_FAILURE(f.Start("hostile", 1));
  for (const char* prefix : {"deep", "unterminated", "entity", "loop", "binary", "notlist",
                             "badsize", "badentity", "huge", "other"}) {
    auto r = f.client->List(prefix);
    EXPECT_FALSE(r.ok()) << prefix;
    EXPECT_THAT(r.status().message(), HasSubstr("ListObjectsV2 b")) << prefix;
  }
  EXPECT_THAT(f.client->Head("k"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(f.client->Get("k", [](std::string_view) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not S3's XML")));
}

TEST(Config, BadFieldsAreNamed) {
  S3Config c;
  c.bucket = "b";
  c.endpoint = "http://127.0.0.1:9000";
  EXPECT_THAT(S3Client::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("s3.endpoint")));
  c.endpoint = "host/path";
  EXPECT_THAT(S3Client::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("s3.endpoint")));
  c.endpoint = "127.0.0.1:9000";
  c.bucket = "";
  EXPECT_THAT(S3Client::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("s3.bucket")));
  c.bucket = "b/../x";
  EXPECT_THAT(S3Client::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("s3.bucket")));
  c.bucket = "b";
  c.region = "eu west";
  EXPECT_THAT(S3Client::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("s3.region")));
  c.region = "";
  auto ok = S3Client::Create(c);
  ASSERT_OK(ok);
  EXPECT_EQ((*ok)->config().region, "us-east-1");
  EXPECT_EQ((*ok)->ObjectUrl("a b/c"), "https://127.0.0.1:9000/b/a%20b/c");
  c.path_style = false;
  c.endpoint = "";
  c.region = "eu-west-1";
  auto aws = S3Client::Create(c);
  ASSERT_OK(aws);
  EXPECT_EQ((*aws)->ObjectUrl("k"), "https://b.s3.eu-west-1.amazonaws.com/k");
  EXPECT_THAT((*aws)->PutString("", "x"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(UriEncode, AsSigV4Wants) {
  EXPECT_EQ(UriEncode("aZ09-_.~ /+=%é", true), "aZ09-_.~%20/%2B%3D%25%C3%A9");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
}

TEST(Backoff, DoublesAndCaps) {
  S3Config c;
  c.initial_backoff = absl::Milliseconds(100);
  c.max_backoff = absl::Milliseconds(500);
  EXPECT_EQ(BackoffDelay(c, 1), absl::Milliseconds(100));
  EXPECT_EQ(BackoffDelay(c, 2), absl::Milliseconds(200));
  EXPECT_EQ(BackoffDelay(c, 3), absl::Milliseconds(400));
  EXPECT_EQ(BackoffDelay(c, 4), absl::Milliseconds(500));
  EXPECT_EQ(BackoffDelay(c, 60), absl::Milliseconds(500));
}

}  // namespace
}  // namespace argonaut::artifacts::s3
