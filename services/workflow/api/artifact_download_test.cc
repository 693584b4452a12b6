#include "services/workflow/api/artifact_download.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/resource/kinds.h"
#include "lib/resource/resource_api.h"
#include "lib/server/server.h"
#include "lib/store/in_memory_store.h"
#include "services/workflow/api/workflow_service.h"

namespace argonaut::workflow::api {
namespace {

using ::argonaut::testing::StatusIs;
using ::nlohmann::json;

// Reads `local` artifacts from a folder, as the platform's local repository stores them: the
// object's bytes as they are on disk.
ArtifactStreamer FolderStreamer(const std::string& root) {
  return [root](const json& artifact, const std::string&,
                const std::function<absl::Status(std::string_view)>& sink) -> absl::Status {
    if (!artifact.contains("local")) return absl::UnimplementedError("only local here");
    std::ifstream in(root + "/" + artifact["local"]["key"].get<std::string>(), std::ios::binary);
    if (!in) return absl::NotFoundError("no such object");
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      if (absl::Status s = sink(std::string_view(buf, in.gcount())); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
}

class ArtifactDownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::string(std::getenv("TEST_TMPDIR")) + "/repo";
    std::filesystem::create_directories(root_ + "/w/w-gen-1");
    big_.assign(3 * (1 << 20) + 17, 'x');
    for (size_t i = 0; i < big_.size(); i += 4096) big_[i] = static_cast<char>('a' + i % 26);
    std::ofstream(root_ + "/w/w-gen-1/out.tgz", std::ios::binary) << big_;
    std::ofstream(root_ + "/w/w-gen-1/empty.txt", std::ios::binary);

    auto kinds = resource::KindsOfService("workflow");
    store_ = *store::InMemoryStore::Create({.kinds = resource::ResourceApi::ColumnFamilies(kinds)});
    api_ = std::make_unique<resource::ResourceApi>(store_.get(), kinds);
    json wf = json::parse(R"({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
      "metadata": {"name": "w", "namespace": "default"},
      "spec": {"entrypoint": "gen", "templates": [{"name": "gen", "container": {"image": "a"}}]},
      "status": {"phase": "Succeeded", "nodes": {"w-1": {"id": "w-1", "name": "w.gen",
        "type": "Pod", "phase": "Succeeded",
        "inputs": {"artifacts": [{"name": "in", "local": {"key": "w/w-gen-1/empty.txt"}}]},
        "outputs": {"artifacts": [
          {"name": "out", "path": "/tmp/out", "local": {"key": "w/w-gen-1/out.tgz"}},
          {"name": "empty", "path": "/tmp/e", "local": {"key": "w/w-gen-1/empty.txt"}},
          {"name": "gone", "path": "/tmp/g", "deleted": true, "local": {"key": "w/x.tgz"}},
          {"name": "missing", "path": "/tmp/m", "local": {"key": "w/none.tgz"}}]}}}}})");
    absl::StatusOr<json> created = api_->CreateObject("Workflow", wf, false);
    ASSERT_OK(created.status());
    uid_ = (*created)["metadata"]["uid"].get<std::string>();
    service_ = std::make_unique<WorkflowGrpcService>(api_.get(), nullptr);
    service_->set_artifact_streamer(FolderStreamer(root_));
    server_ = std::make_unique<server::Server>(
        server::ServerOptions{.name = "art-test", .grpc_port = -1, .http_port = -1});
    server_->AddService(service_.get());
    ASSERT_OK(server_->Start());
    stub_ = v1::WorkflowService::NewStub(server_->InProcessChannel());
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  struct Got {
    grpc::Status status;
    std::vector<v1::ArtifactChunk> chunks;
    std::string data;
  };
  Got Fetch(const v1::GetArtifactRequest& req) {
    Got got;
    grpc::ClientContext ctx;
    auto reader = stub_->GetArtifact(&ctx, req);
    v1::ArtifactChunk c;
    while (reader->Read(&c)) {
      got.data += c.data();
      got.chunks.push_back(c);
    }
    got.status = reader->Finish();
    return got;
  }
  static v1::GetArtifactRequest Req(const std::string& name, const std::string& node,
                                    const std::string& artifact) {
    v1::GetArtifactRequest r;
    r.set_namespace_("default");
    r.set_name(name);
    r.set_node_id(node);
    r.set_artifact_name(artifact);
    return r;
  }

  std::string root_, big_, uid_;
  std::unique_ptr<store::InMemoryStore> store_;
  std::unique_ptr<resource::ResourceApi> api_;
  std::unique_ptr<WorkflowGrpcService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<v1::WorkflowService::Stub> stub_;
};

TEST_F(ArtifactDownloadTest, StreamsTheObjectInBoundedChunksWithItsName) {
  Got got = Fetch(Req("w", "w-1", "out"));
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.data, big_);
  ASSERT_GE(got.chunks.size(), 4u);
  for (const auto& c : got.chunks) EXPECT_LE(c.data().size(), 1u << 20);
  EXPECT_EQ(got.chunks[0].file_name(), "out.tgz");
  EXPECT_EQ(got.chunks[0].content_type(), "application/gzip");
  EXPECT_EQ(got.chunks[1].file_name(), "");
}

TEST_F(ArtifactDownloadTest, ByUidByNodeNameInputsAndEmptyObjects) {
  v1::GetArtifactRequest r = Req("", "w.gen", "out");
  r.clear_namespace_();
  r.set_uid(uid_);
  Got got = Fetch(r);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.data.size(), big_.size());

  got = Fetch(Req("w", "w-1", "empty"));
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  ASSERT_EQ(got.chunks.size(), 1u) << "an empty object still names itself";
  EXPECT_EQ(got.chunks[0].file_name(), "empty.txt");
  EXPECT_EQ(got.chunks[0].content_type(), "text/plain; charset=utf-8");

  r = Req("w", "w-1", "in");
  r.set_input(true);
  got = Fetch(r);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.chunks[0].file_name(), "empty.txt");
}

TEST_F(ArtifactDownloadTest, ErrorsTable) {
  struct Row {
    v1::GetArtifactRequest req;
    grpc::StatusCode code;
    std::string says;
  };
  v1::GetArtifactRequest bad_uid = Req("", "w-1", "out");
  bad_uid.set_uid("no-such-uid");
  v1::GetArtifactRequest out_as_input = Req("w", "w-1", "out");
  out_as_input.set_input(true);
  const std::vector<Row> rows = {
      {Req("nope", "w-1", "out"), grpc::StatusCode::NOT_FOUND, "nope"},
      {bad_uid, grpc::StatusCode::NOT_FOUND, "no-such-uid"},
      {Req("w", "w-9", "out"), grpc::StatusCode::NOT_FOUND, "no node \"w-9\""},
      {Req("w", "w-1", "zzz"), grpc::StatusCode::NOT_FOUND, "output artifact \"zzz\""},
      {out_as_input, grpc::StatusCode::NOT_FOUND, "input artifact \"out\""},
      {Req("w", "w-1", "gone"), grpc::StatusCode::FAILED_PRECONDITION, "artifact GC"},
      {Req("w", "w-1", "missing"), grpc::StatusCode::NOT_FOUND, "no such object"},
      {Req("w", "", "out"), grpc::StatusCode::INVALID_ARGUMENT, "node_id"},
  };
  for (const Row& r : rows) {
    Got got = Fetch(r.req);
    EXPECT_EQ(got.status.error_code(), r.code) << r.says << ": " << got.status.error_message();
    EXPECT_NE(got.status.error_message().find(r.says), std::string::npos)
        << got.status.error_message();
    EXPECT_TRUE(got.chunks.empty()) << r.says;
  }
}

TEST_F(ArtifactDownloadTest, WithoutDriversIsUnimplemented) {
  service_->set_artifact_streamer(nullptr);
  EXPECT_EQ(Fetch(Req("w", "w-1", "out")).status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST(ArtifactFileNameTest, Table) {
  EXPECT_EQ(ArtifactFileName({{"name", "a"}, {"s3", {{"key", "w/p/a.tgz"}}}}), "a.tgz");
  EXPECT_EQ(ArtifactFileName({{"name", "a"}, {"s3", {{"key", "w/p/dir/"}}}}), "dir");
  EXPECT_EQ(ArtifactFileName({{"name", "a"}, {"http", {{"url", "http://h/x/f.zip"}}}}), "f.zip");
  EXPECT_EQ(ArtifactFileName({{"name", "a"}, {"raw", {{"data", "x"}}}}), "a");
  EXPECT_EQ(ContentTypeFor("x.TGZ"), "application/gzip");
  EXPECT_EQ(ContentTypeFor("x"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("x.json"), "application/json");
}

}  // namespace
}  // namespace argonaut::workflow::api
