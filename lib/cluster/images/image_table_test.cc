#include "lib/cluster/images/image_table.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"

namespace argonaut::cluster {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Argv = std::vector<std::string>;

// Without busybox, so that these tests see the table's own rules (busybox_test
// covers busybox-based images with the host's busybox).
ImageTableOptions TestOptions() {
  ImageTableOptions o;
  o.builtin_binary = "/opt/builtin_images";
  o.builtin_prefix = {};
  o.busybox_binary = "/nonexistent/busybox";
  return o;
}

ImageTable Default() {
  absl::StatusOr<ImageTable> t = ImageTable::Load("", TestOptions());
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

std::string TempFile(const std::string& name, const std::string& contents) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  std::ofstream(path) << contents;
  return path;
}

TEST(ParseImageRefTest, Normalises) {
  auto ref = ParseImageRef("docker.io/library/python:3.8");
  ASSERT_OK(ref);
  EXPECT_EQ(ref->repo, "python");
  EXPECT_EQ(ref->tag, "3.8");
  EXPECT_EQ(ParseImageRef("docker.io/docker/whalesay")->Canonical(), "docker/whalesay:latest");
  EXPECT_EQ(ParseImageRef("busybox")->Canonical(), "busybox:latest");
  EXPECT_EQ(ParseImageRef("localhost:5000/team/app")->Canonical(),
            "localhost:5000/team/app:latest");
  EXPECT_EQ(ParseImageRef("localhost:5000/app:v2")->tag, "v2");
  auto digest = ParseImageRef("alpine@sha256:abc");
  ASSERT_OK(digest);
  EXPECT_EQ(digest->tag, "");
  EXPECT_EQ(digest->digest, "sha256:abc");
}

TEST(ParseImageRefTest, RejectsMalformed) {
  EXPECT_THAT(ParseImageRef(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ParseImageRef("{{inputs.parameters.image}}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("position 0")));
  EXPECT_THAT(ParseImageRef("busy box"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("position 4")));
  EXPECT_THAT(ParseImageRef("python:"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseImageRef("/python"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseImageRef(std::string(5000, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer")));
}

TEST(ImageTableTest, CommandReplacesEntrypointAndArgsFollow) {
  ImageTable t = Default();
  EXPECT_THAT(*t.Resolve("alpine:3.23", {"sh", "-c"}, {"echo hi"}),
              ElementsAre("sh", "-c", "echo hi"));
  // docker/whalesay's cmd is cowsay; the example gives the command itself.
  EXPECT_THAT(*t.Resolve("docker/whalesay", {"cowsay"}, {"hello world"}),
              ElementsAre("/usr/games/cowsay", "hello world"));
}

TEST(ImageTableTest, ImageCmdAndArgsWithoutEntrypoint) {
  ImageTable t = Default();
  EXPECT_THAT(*t.Resolve("busybox", {}, {}), ElementsAre("sh"));
  // Without an entrypoint, args replace the image's cmd (Docker semantics).
  EXPECT_THAT(*t.Resolve("busybox", {}, {"echo", "hi"}), ElementsAre("echo", "hi"));
  EXPECT_THAT(*t.Resolve("docker/whalesay:latest", {}, {}), ElementsAre("/usr/games/cowsay"));
  EXPECT_THAT(*t.Resolve("python:alpine3.6", {}, {}), ElementsAre("python3"));
}

TEST(ImageTableTest, EntrypointTakesArgs) {
  ImageTable t = Default();
  EXPECT_THAT(*t.Resolve("argoproj/argosay:v2", {}, {"echo", "hi"}),
              ElementsAre("/opt/builtin_images", "argosay", "echo", "hi"));
  EXPECT_THAT(*t.Resolve("argoproj/argosay:v2", {}, {}),
              ElementsAre("/opt/builtin_images", "argosay"));
  EXPECT_THAT(*t.Resolve("jocatalin/kubernetes-bootcamp:v2", {}, {}),
              ElementsAre("/opt/builtin_images", "kubernetes-bootcamp", "2"));
  EXPECT_THAT(*t.Resolve("alpine/git:v2.26.2", {}, {}), ElementsAre("git", "--help"));
  EXPECT_THAT(*t.Resolve("alpine/git:v2.26.2", {}, {"status"}), ElementsAre("git", "status"));
}

TEST(ImageTableTest, CommandRewrites) {
  ImageTable t = Default();
  EXPECT_THAT(*t.Resolve("python:3.8", {"python"}, {"-c", "print(1)"}),
              ElementsAre("python3", "-c", "print(1)"));
  EXPECT_THAT(*t.Resolve("python:alpine3.23", {"python"}, {}), ElementsAre("python3"));
  EXPECT_THAT(*t.Resolve("busybox", {"busybox", "sleep", "1"}, {}),
              ElementsAre("/usr/bin/busybox", "sleep", "1"));
  EXPECT_THAT(*t.Resolve("busybox:1.36", {"nc", "-l"}, {}),
              ElementsAre("/usr/bin/busybox", "nc", "-l"));
  EXPECT_THAT(*t.Resolve("argoproj/argosay:v2", {"/argosay"}, {"echo", "x"}),
              ElementsAre("/opt/builtin_images", "argosay", "echo", "x"));
  // Only argv[0] is rewritten.
  EXPECT_THAT(*t.Resolve("alpine", {"sh", "-c"}, {"python"}), ElementsAre("sh", "-c", "python"));
}

TEST(ImageTableTest, RolloutsDemoGetsItsTag) {
  ImageTable t = Default();
  EXPECT_THAT(*t.Resolve("argoproj/rollouts-demo:blue", {}, {}),
              ElementsAre("/opt/builtin_images", "rollouts-demo", "blue"));
  EXPECT_THAT(
      *t.Resolve("docker.io/argoproj/rollouts-demo:bad-red", {}, {"--listen-addr=:9000"}),
      ElementsAre("/opt/builtin_images", "rollouts-demo", "bad-red", "--listen-addr=:9000"));
  EXPECT_THAT(*t.Resolve("argoproj/rollouts-demo", {}, {}),
              ElementsAre("/opt/builtin_images", "rollouts-demo", "latest"));
}

TEST(ImageTableTest, NginxRunsDebiansNginxOrSaysWhyNot) {
  ImageTable t = Default();
  const bool installed = access("/usr/sbin/nginx", X_OK) == 0;
  for (const char* image : {"nginx", "nginx:1.25", "nginx:1.19-alpine"}) {
    auto argv = t.Resolve(image, {}, {});
    if (installed) {
      EXPECT_THAT(*argv, ElementsAre("/opt/builtin_images", "nginx", "nginx", "-g", "daemon off;"))
          << image;
    } else {
      EXPECT_THAT(argv,
                  StatusIs(absl::StatusCode::kFailedPrecondition,
                           HasSubstr("ImageNotRunnableLocally: image \"" + std::string(image) +
                                     "\" runs /usr/sbin/nginx here, which is not installed "
                                     "(Debian package nginx)")))
          << image;
    }
  }
  // A command of the container's own needs no nginx.
  EXPECT_THAT(*t.Resolve("nginx:1.25", {"sh", "-c", "true"}, {}), ElementsAre("sh", "-c", "true"));
  if (installed) {
    EXPECT_THAT(*t.Resolve("nginx:1.25", {"nginx", "-T"}, {}),
                ElementsAre("/opt/builtin_images", "nginx", "-T"));
  }
}

TEST(ImageTableTest, RequiresNamesTheMissingFileAndEntry) {
  auto t = ImageTable::LoadFromString(R"(
images:
  - image: team/tool
    entrypoint: [/opt/tool/run]
    requires: [/nonexistent/tool/run]
    note: install the team's tool package
    commands:
      tool: /opt/tool/run
)",
                                      "req.yaml", TestOptions());
  ASSERT_OK(t);
  EXPECT_THAT(t->Resolve("team/tool:1", {}, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("ImageNotRunnableLocally: image \"team/tool:1\" runs "
                                 "/nonexistent/tool/run here, which is not installed (install the "
                                 "team's tool package); see user req.yaml:3")));
  EXPECT_THAT(t->Resolve("team/tool:1", {"tool"}, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(*t->Resolve("team/tool:1", {"echo"}, {}), ElementsAre("echo"));
  EXPECT_THAT(ImageTable::LoadFromString("images:\n  - image: x\n    requires: [rel/path]\n",
                                         "r.yaml", TestOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("r.yaml:3: images[0].requires: paths must be absolute")));
  EXPECT_THAT(ImageTable::LoadFromString("images:\n  - image: x\n    busybox: yes please\n",
                                         "b.yaml", TestOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("b.yaml:3: images[0].busybox: must be true or false")));
}

TEST(ImageTableTest, CurlEntrypointScript) {
  ImageTable t = Default();
  auto argv = t.Resolve("curlimages/curl:latest", {}, {"-s", "http://x"});
  ASSERT_OK(argv);
  ASSERT_EQ(argv->size(), 6u);
  EXPECT_EQ((*argv)[0], "sh");
  EXPECT_EQ((*argv)[3], "curl-entrypoint");
  EXPECT_EQ((*argv)[4], "-s");
}

TEST(ImageTableTest, UnknownImageWithCommandRunsCommand) {
  ImageTable t = Default();
  EXPECT_THAT(*t.Resolve("golang:1.18", {"sh", "-c"}, {"true"}), ElementsAre("sh", "-c", "true"));
}

TEST(ImageTableTest, UnknownImageWithoutCommandIsNotRunnable) {
  ImageTable t = Default();
  auto r = t.Resolve("foo/bar:1", {}, {"x"});
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition,
                          HasSubstr("ImageNotRunnableLocally: image \"foo/bar:1\" is not in the "
                                    "image table (built-in lib/cluster/images/default_images.yaml) "
                                    "and the container gives no command")));
  EXPECT_THAT(t.Resolve("golang:1.18", {}, {}), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                         HasSubstr("ImageNotRunnableLocally")));
}

TEST(ImageTableTest, UserFileOverridesAndExtends) {
  std::string file = TempFile("user_images.yaml", R"(
path: /custom/bin:/usr/bin:/bin
commands:
  python: /opt/py/bin/python
images:
  - image: docker.io/library/busybox:1.36
    cmd: [/custom/busybox-sh]
  - image: foo/bar
    entrypoint: [/opt/foo, --serve]
  - image: "team/*:v1"
    cmd: [team-tool]
  - image: "python:3.8"
    note: without cmd the image needs a command
)");
  auto t = ImageTable::Load(file, TestOptions());
  ASSERT_OK(t);
  EXPECT_EQ(t->default_path(), "/custom/bin:/usr/bin:/bin");
  EXPECT_THAT(*t->Resolve("busybox:1.36", {}, {}), ElementsAre("/custom/busybox-sh"));
  EXPECT_THAT(*t->Resolve("busybox:1.35", {}, {}), ElementsAre("sh"));  // built-in still applies
  EXPECT_THAT(*t->Resolve("foo/bar:7", {}, {"a"}), ElementsAre("/opt/foo", "--serve", "a"));
  EXPECT_THAT(*t->Resolve("team/x:v1", {}, {}), ElementsAre("team-tool"));
  EXPECT_THAT(t->Resolve("team/x:v2", {}, {}), StatusIs(absl::StatusCode::kFailedPrecondition));
  // The user's top-level rewrite wins over the built-in one.
  EXPECT_THAT(*t->Resolve("python:3.9", {"python"}, {}), ElementsAre("/opt/py/bin/python"));
  EXPECT_THAT(t->Resolve("python:3.8", {}, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has no entrypoint or cmd in the image table (built-in "
                                 "lib/cluster/images/default_images.yaml, user " +
                                 file + ")")));
  EXPECT_THAT(t->Resolve("nope:1", {}, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("user " + file)));
}

TEST(ImageTableTest, DefaultPathIncludesGames) {
  EXPECT_THAT(Default().default_path(), HasSubstr("/usr/games"));
}

TEST(ImageTableTest, DefaultBuiltinBinaryIsSelf) {
  auto t = ImageTable::Load("");
  ASSERT_OK(t);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(n, 0);
  EXPECT_THAT(*t->Resolve("argoproj/argosay:v2", {}, {}),
              ElementsAre(std::string(self, static_cast<size_t>(n)), "__image", "argosay"));
}

TEST(ImageTableTest, MissingUserFile) {
  EXPECT_THAT(ImageTable::Load("/nonexistent/images.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/images.yaml")));
}

struct BadTable {
  const char* yaml;
  const char* expect;
};

TEST(ImageTableTest, HostileTablesNameLineAndField) {
  const BadTable cases[] = {
      {"images: [\n  {image: busybox, entrypoint: {a: b}}]", "t.yaml:2: images[0].entrypoint"},
      {"images:\n  - cmd: [sh]\n", "t.yaml:2: images[0]: missing `image`"},
      {"images:\n  - image: busybox\n    entrypiont: [sh]\n",
       "t.yaml:3: images[0].entrypiont: "
       "unknown field"},
      {"images:\n  - image: 'bad image'\n", "t.yaml:2: images[0].image"},
      {"images:\n  - image: busybox\n    cmd: ['']\n", "t.yaml:3: images[0].cmd: first word"},
      {"images:\n  - image: x\n    commands: [a]\n", "images[0].commands: must be a map"},
      {"images: {a: b}\n", "t.yaml:1: images: must be a list"},
      {"imagez: []\n", "t.yaml:1: imagez: unknown top-level field"},
      {"- a\n- b\n", "(top level): must be a map"},
      {"images: [\n", "t.yaml:"},
      {"path: [a]\n", "path: must be a string"},
      {"images:\n  - image: x\n    entrypoint: ['builtin:']\n", "builtin: needs a program name"},
  };
  for (const BadTable& c : cases) {
    EXPECT_THAT(ImageTable::LoadFromString(c.yaml, "t.yaml", TestOptions()),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.expect)))
        << c.yaml;
  }
}

TEST(ImageTableTest, HostileSizesAreBounded) {
  // Deep nesting: yaml-cpp's depth guard turns it into a parse error.
  std::string deep = "images: " + std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT(ImageTable::LoadFromString(deep, "deep.yaml", TestOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("deep.yaml")));
  std::string big(kMaxImageTableBytes + 1, '#');
  EXPECT_THAT(ImageTable::LoadFromString(big, "big.yaml", TestOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger than")));
  // Aliases cannot multiply an entry list past the bounds.
  std::string words = "images:\n  - image: a\n    cmd: &w [";
  for (int i = 0; i < 300; ++i) words += "x,";
  words += "x]\n";
  EXPECT_THAT(ImageTable::LoadFromString(words, "w.yaml", TestOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than 256 words")));
}

TEST(ImageTableTest, GlobsMatchInLinearTime) {
  std::string pattern;
  for (int i = 0; i < 200; ++i) pattern += "*a";
  pattern += "b";
  auto t = ImageTable::LoadFromString(
      "images:\n  - image: '" + pattern + "'\n    cmd: [x]\n  - image: 'q?/*:v?'\n    cmd: [y]\n",
      "glob.yaml", TestOptions());
  ASSERT_OK(t);
  absl::Time start = absl::Now();
  EXPECT_THAT(t->Resolve(std::string(1000, 'a'), {}, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_THAT(*t->Resolve("q1/team/app:v3", {}, {}), ElementsAre("y"));
  EXPECT_THAT(t->Resolve("q12/app:v3", {}, {}), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ImageTableTest, EmptyUserFileAddsNothing) {
  auto t = ImageTable::LoadFromString("", "empty.yaml", TestOptions());
  ASSERT_OK(t);
  EXPECT_THAT(*t->Resolve("busybox", {}, {}), ElementsAre("sh"));
}

// The shipped YAML is what the library compiled in.
TEST(ImageTableTest, ShippedFileParses) {
  std::ifstream in("lib/cluster/images/default_images.yaml");
  ASSERT_TRUE(in.good());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto table = ParseImageTable(text, "shipped");
  ASSERT_OK(table);
  EXPECT_GE(table->entries.size(), 15u);
}

}  // namespace
}  // namespace argonaut::cluster
