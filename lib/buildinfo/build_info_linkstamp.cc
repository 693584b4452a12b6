// A cc_library linkstamp: Bazel compiles this file again at each link of a binary, with its
// build-info header (BUILD_SCM_REVISION, BUILD_SCM_STATUS, BUILD_TIMESTAMP from
// scripts/workspace_status.sh) when the build stamps (--stamp in .bazelrc), and with redacted
// values otherwise (tests).
namespace argonaut::buildinfo::internal {

#ifdef BUILD_SCM_REVISION
extern const char kScmRevision[] = BUILD_SCM_REVISION;
#else
extern const char kScmRevision[] = "";
#endif
#ifdef BUILD_SCM_STATUS
extern const char kScmStatus[] = BUILD_SCM_STATUS;
#else
extern const char kScmStatus[] = "";
#endif
#ifdef BUILD_TIMESTAMP
extern const long long kTimestamp = BUILD_TIMESTAMP;
#else
extern const long long kTimestamp = 0;
#endif

}  // namespace argonaut::buildinfo::internal
