// The guestbook front ends: the image table's entries, the handler in-process,
// and the :builtin_images binary serving it on loopback.
#include "lib/cluster/images/guestbook_demo.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/cluster/images/image_table.h"

extern char** environ;

namespace argonaut::cluster {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(GuestbookImageTableTest, CorpusImagesResolveToTheBuiltin) {
  ImageTableOptions o;
  o.builtin_binary = "/opt/builtin_images";
  o.builtin_prefix = {};
  o.busybox_binary = "/nonexistent/busybox";
  absl::StatusOr<ImageTable> t = ImageTable::Load("", o);
  ASSERT_OK(t);
  EXPECT_THAT(*t->Resolve("gcr.io/google-samples/gb-frontend:v5", {}, {}),
              ElementsAre("/opt/builtin_images", "guestbook", "gb-frontend", "v5"));
  EXPECT_THAT(*t->Resolve("gcr.io/google-samples/gb-frontend:v4", {}, {}),
              ElementsAre("/opt/builtin_images", "guestbook", "gb-frontend", "v4"));
  EXPECT_THAT(*t->Resolve("gcr.io/heptio-images/ks-guestbook-demo:0.1", {}, {}),
              ElementsAre("/opt/builtin_images", "guestbook", "ks-guestbook-demo", "0.1"));
  EXPECT_THAT(*t->Resolve("gcr.io/heptio-images/ks-guestbook-demo:0.2", {}, {}),
              ElementsAre("/opt/builtin_images", "guestbook", "ks-guestbook-demo", "0.2"));
  // The seed's image, both versions.
  EXPECT_THAT(*t->Resolve("jocatalin/kubernetes-bootcamp:v1", {}, {}),
              ElementsAre("/opt/builtin_images", "kubernetes-bootcamp", "1"));
  EXPECT_THAT(*t->Resolve("jocatalin/kubernetes-bootcamp:v2", {}, {}),
              ElementsAre("/opt/builtin_images", "kubernetes-bootcamp", "2"));
}

TEST(GuestbookDemoConfigTest, RefusesUnknownImageAndUnsafeTag) {
  EXPECT_THAT(GuestbookDemoConfigFor("redis", "v5"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("gb-frontend")));
  EXPECT_THAT(GuestbookDemoConfigFor("gb-frontend", "<script>"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag \"<script>\"")));
  ASSERT_OK(GuestbookDemoConfigFor("ks-guestbook-demo", "0.2"));
}

TEST(GuestbookDemoAppTest, PageNamesVersionAndPod) {
  GuestbookDemoConfig c = *GuestbookDemoConfigFor("ks-guestbook-demo", "0.2");
  c.pod_name = "guestbook-ui-<1>";
  GuestbookDemoApp app(c);
  DemoHttpResponse page = app.Handle({"GET", "/", ""});
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=UTF-8");
  EXPECT_THAT(page.body, HasSubstr("<title>Guestbook</title>"));
  EXPECT_THAT(page.body, HasSubstr("<b id=\"version\">0.2</b>"));
  EXPECT_THAT(page.body, HasSubstr("gcr.io/heptio-images/ks-guestbook-demo"));
  EXPECT_THAT(page.body, HasSubstr("guestbook-ui-&lt;1&gt;"));
  EXPECT_EQ(app.Handle({"GET", "/index.html?x", ""}).status, 200);
  EXPECT_EQ(app.Handle({"POST", "/", ""}).status, 405);
  EXPECT_EQ(app.Handle({"GET", "/nope", ""}).status, 404);
}

TEST(GuestbookDemoAppTest, PhpGetAndSetAsUpstream) {
  GuestbookDemoApp app(*GuestbookDemoConfigFor("gb-frontend", "v5"));
  DemoHttpResponse empty = app.Handle({"GET", "/guestbook.php?cmd=get&key=messages", ""});
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.content_type, "application/json");
  EXPECT_EQ(empty.body, "{\"data\": \"\"}\n");
  DemoHttpResponse set =
      app.Handle({"GET", "/guestbook.php?cmd=set&key=messages&value=hello+world%2C%22hi%22", ""});
  EXPECT_EQ(set.body, "{\"message\": \"Updated\"}\n");
  EXPECT_EQ(app.Handle({"GET", "/guestbook.php?cmd=get&key=messages", ""}).body,
            "{\"data\": \"hello world,\\\"hi\\\"\"}\n");
  // A bad escape stays as sent, as PHP leaves it.
  app.Handle({"GET", "/guestbook.php?cmd=set&key=k&value=%zz%4", ""});
  EXPECT_EQ(app.Handle({"GET", "/guestbook.php?cmd=get&key=k", ""}).body,
            "{\"data\": \"%zz%4\"}\n");
  EXPECT_EQ(app.Handle({"GET", "/guestbook.php?cmd=frob&key=k", ""}).status, 400);
  EXPECT_EQ(app.Handle({"GET", "/guestbook.php?cmd=get", ""}).status, 400);
  std::string big(GuestbookDemoApp::kMaxValueBytes + 1, 'a');
  EXPECT_EQ(app.Handle({"GET", "/guestbook.php?cmd=set&key=k&value=" + big, ""}).status, 413);
  for (size_t i = 0; i < GuestbookDemoApp::kMaxKeys; ++i) {
    app.Handle({"GET", absl::StrCat("/guestbook.php?cmd=set&key=x", i, "&value=1"), ""});
  }
  EXPECT_EQ(app.Handle({"GET", "/guestbook.php?cmd=set&key=one-more&value=1", ""}).status, 507);
  EXPECT_EQ(app.Handle({"GET", "/guestbook.php?cmd=set&key=messages&value=2", ""}).status, 200);
}

// --- the binary on loopback -------------------------------------------------

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) got.append(buf, static_cast<size_t>(n));
  close(fd);
  return got;
}

TEST(GuestbookBinaryTest, ServesOnPortFromEnvironmentAndStopsOnSigterm) {
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::string bin = "lib/cluster/images/builtin_images";
  std::vector<std::string> argv_s = {bin, "guestbook", "gb-frontend", "v4"};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = {"PORT=0", "POD_NAME=frontend-abc"};
  for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  std::string printed;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!absl::StrContains(printed, "\n") && absl::Now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    printed.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  const std::string marker = "Guestbook gb-frontend:v4 listening on port ";
  size_t at = printed.find(marker);
  ASSERT_NE(at, std::string::npos) << printed;
  int port = std::atoi(printed.c_str() + at + marker.size());
  std::string page = HttpGet(port, "/");
  EXPECT_THAT(page, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(page, HasSubstr("<b id=\"version\">v4</b>"));
  EXPECT_THAT(page, HasSubstr("frontend-abc"));
  EXPECT_THAT(HttpGet(port, "/guestbook.php?cmd=set&key=messages&value=hi"),
              HasSubstr("{\"message\": \"Updated\"}"));
  EXPECT_THAT(HttpGet(port, "/guestbook.php?cmd=get&key=messages"),
              HasSubstr("{\"data\": \"hi\"}"));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace argonaut::cluster
