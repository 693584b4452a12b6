// Argo's `steps:` is a list of lists; ParallelSteps carries the inline_list
// option so the codec reads and writes it as a bare list.
#include "argonaut/workflow/v1/workflow.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/base/status_matchers.h"
#include "lib/manifest/codec.h"
#include "lib/manifest/yaml.h"

namespace argonaut::manifest {
namespace {

using ::argonaut::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kSteps[] = R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: steps-}
spec:
  entrypoint: hello-hello-hello
  templates:
  - name: hello-hello-hello
    steps:
    - - name: hello1
        template: whalesay
    - - name: hello2a
        template: whalesay
      - name: hello2b
        template: whalesay
    - []
)";

TEST(InlineListTest, StepsListOfListsDecodesAndRoundTrips) {
  auto docs = ParseDocuments(kSteps);
  ASSERT_OK(docs);
  workflow::v1::Workflow wf;
  ASSERT_OK(FromJson((*docs)[0], &wf));
  const auto& steps = wf.spec().templates(0).steps();
  ASSERT_EQ(steps.size(), 3);
  EXPECT_EQ(steps[0].steps_size(), 1);
  EXPECT_EQ(steps[1].steps(1).name(), "hello2b");
  EXPECT_EQ(steps[2].steps_size(), 0);
  EXPECT_EQ(ToJson(wf), (*docs)[0]);
}

TEST(InlineListTest, ObjectWhereAListIsExpectedIsAnError) {
  auto docs = ParseDocuments(R"(
spec:
  templates:
  - name: a
    steps:
    - name: not-a-group
)");
  ASSERT_OK(docs);
  workflow::v1::Workflow wf;
  EXPECT_THAT(FromJson((*docs)[0], &wf),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.templates[0].steps[0]: expected array")));
}

TEST(InlineListTest, ErrorPathsInsideAGroup) {
  auto docs = ParseDocuments(R"(
spec:
  templates:
  - name: a
    steps:
    - - name: ok
    - - name: x
        tempalte: b
)");
  ASSERT_OK(docs);
  workflow::v1::Workflow wf;
  EXPECT_THAT(FromJson((*docs)[0], &wf),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("spec.templates[0].steps[1][0].tempalte: unknown field")));
}

}  // namespace
}  // namespace argonaut::manifest
