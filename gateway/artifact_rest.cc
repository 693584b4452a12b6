#include "gateway/artifact_rest.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/rest.h"
#include "httplib.h"

namespace argonaut::gateway {
namespace {

namespace wf = ::argonaut::workflow::v1;
using Stub = wf::WorkflowService::StubInterface;

// Go's http.StatusText for the codes HttpStatusFor produces.
const char* StatusText(int code) {
  switch (code) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 429:
      return "Too Many Requests";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Internal Server Error";
  }
}

void SendStatus(httplib::Response& res, int http) {
  res.status = http;
  res.set_content(absl::StrCat(StatusText(http), "\n"), "text/plain; charset=utf-8");
}

struct Download {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderInterface<wf::ArtifactChunk>> reader;
  bool finished = false;

  ~Download() {
    if (reader && !finished) {
      ctx.TryCancel();
      wf::ArtifactChunk drain;
      while (reader->Read(&drain)) {
      }
      (void)reader->Finish();
    }
  }
};

void Serve(Stub* stub, const wf::GetArtifactRequest& req, httplib::Response& res) {
  auto call = std::make_shared<Download>();
  call->reader = stub->GetArtifact(&call->ctx, req);
  wf::ArtifactChunk first;
  if (!call->reader->Read(&first)) {
    grpc::Status s = call->reader->Finish();
    call->finished = true;
    SendStatus(res, s.ok() ? 500 : HttpStatusFor(s.error_code()));
    return;
  }
  const std::string type =
      first.content_type().empty() ? "application/octet-stream" : first.content_type();
  res.set_header("Content-Disposition", absl::StrCat("filename=\"", first.file_name(), "\""));
  // Argo Server's defaults: a stored HTML file must not run as this origin's page.
  res.set_header("Content-Security-Policy",
                 "sandbox; base-uri 'none'; default-src 'none'; img-src 'self'; style-src 'self' "
                 "'unsafe-inline'");
  res.set_header("X-Frame-Options", "SAMEORIGIN");
  auto pending = std::make_shared<std::string>(std::move(*first.mutable_data()));
  res.set_chunked_content_provider(
      type,
      [call, pending](size_t, httplib::DataSink& sink) {
        if (!pending->empty()) {
          const bool ok = sink.write(pending->data(), pending->size());
          pending->clear();
          return ok;
        }
        wf::ArtifactChunk c;
        if (call->reader->Read(&c)) {
          return c.data().empty() || sink.write(c.data().data(), c.data().size());
        }
        grpc::Status s = call->reader->Finish();
        call->finished = true;
        // Headers are gone already: a failure midway can only cut the response short.
        if (!s.ok()) return false;
        sink.done();
        return true;
      },
      [call](bool) {
        if (!call->finished) call->ctx.TryCancel();
      });
}

wf::GetArtifactRequest Request(const std::string& ns, const std::string& name,
                               const std::string& uid, const std::string& node,
                               const std::string& artifact, bool input) {
  wf::GetArtifactRequest r;
  r.set_namespace_(ns);
  r.set_name(name);
  r.set_uid(uid);
  r.set_node_id(node);
  r.set_artifact_name(artifact);
  r.set_input(input);
  return r;
}

}  // namespace

void RegisterArtifactRestRoutes(httplib::Server& http, Stub* stub) {
  constexpr char kSeg[] = "([^/]+)";
  http.Get(
      absl::StrCat("/artifact-files/", kSeg, "/", kSeg, "/", kSeg, "/", kSeg, "/", kSeg, "/", kSeg),
      [stub](const httplib::Request& req, httplib::Response& res) {
        const std::string discriminator = req.matches[2];
        const std::string direction = req.matches[5];
        if ((discriminator != "workflow" && discriminator != "archived-workflows") ||
            (direction != "outputs" && direction != "inputs")) {
          return SendStatus(res, 400);
        }
        const bool by_uid = discriminator == "archived-workflows";
        Serve(stub,
              Request(req.matches[1], by_uid ? "" : std::string(req.matches[3]),
                      by_uid ? std::string(req.matches[3]) : "", req.matches[4], req.matches[6],
                      direction == "inputs"),
              res);
      });
  for (const bool input : {false, true}) {
    const std::string prefix = input ? "/input-artifacts" : "/artifacts";
    http.Get(
        absl::StrCat(prefix, "/", kSeg, "/", kSeg, "/", kSeg, "/", kSeg),
        [stub, input](const httplib::Request& req, httplib::Response& res) {
          Serve(stub,
                Request(req.matches[1], req.matches[2], "", req.matches[3], req.matches[4], input),
                res);
        });
    http.Get(absl::StrCat(prefix, "-by-uid/", kSeg, "/", kSeg, "/", kSeg),
             [stub, input](const httplib::Request& req, httplib::Response& res) {
               Serve(stub, Request("", "", req.matches[1], req.matches[2], req.matches[3], input),
                     res);
             });
  }
}

}  // namespace argonaut::gateway
