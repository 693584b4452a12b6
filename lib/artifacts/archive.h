// Argo's artifact archive formats on libarchive: an output is stored as a tar.gz (the default,
// `archive: {tar: {compressionLevel: N}}`), a zip (`archive: {zip: {}}`) or as itself
// (`archive: {none: {}}`); an input that is a tar, tar.gz or zip is unpacked where the step
// wants it. Everything streams (never a whole archive in memory) and extraction never writes
// outside its target: names with ".." or a leading "/" are refused, every write resolves below
// the target with OpenBeneath (beneath.h) so a symlink stored earlier in the archive is never
// written through, hard links are refused, and the bytes and entries one archive may unpack
// to are capped.
//
//   ASSIGN_OR_RETURN(ArchiveStrategy how, ParseArchiveStrategy(artifact));
//   RETURN_IF_ERROR(Pack("/tmp/out", fd, how));
//   RETURN_IF_ERROR(Unpack(stored_fd, "/tmp/in", /*sub_path=*/"", {}));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/artifacts/beneath.h"
#include "nlohmann/json.hpp"

namespace argonaut::artifacts {

// Bytes one artifact may unpack to (the sum of its files' sizes).
inline constexpr uint64_t kMaxExtractBytes = uint64_t{4} << 30;

enum class ArchiveFormat { kTarGz, kZip, kNone };

struct ArchiveStrategy {
  ArchiveFormat format = ArchiveFormat::kTarGz;
  int compression_level = -1;  // gzip level 0..9; -1 = the library's default
};

// The strategy of an artifact (its `archive` field; absent = tar.gz). InvalidArgument names
// the field.
absl::StatusOr<ArchiveStrategy> ParseArchiveStrategy(const nlohmann::json& artifact);

// The key suffix Argo uses: ".tgz", ".zip", or "" for none.
std::string_view ArchiveSuffix(ArchiveFormat format);

// Writes `src` (a file, a directory, or a symlink, never followed) to `out_fd` as an archive
// whose single top-level entry is src's base name. Symlinks are stored as links; sockets,
// fifos and devices are left out; so is a directory matching `skip`. kNone is InvalidArgument.
absl::Status Pack(const std::string& src, int out_fd, const ArchiveStrategy& how,
                  const SkipDir& skip = {});

// What a stored object looks like, from its first bytes.
enum class StoredFormat { kGzip, kTar, kZip, kOther };
StoredFormat SniffFormat(int fd);  // reads with pread from offset 0

struct UnpackLimits {
  uint64_t max_bytes = kMaxExtractBytes;
  size_t max_entries = kMaxEntries;
};

// Unpacks the tar, tar.gz or zip read from `in_fd` (from its current offset) to `target`,
// which must not exist (its parent must). Argo's rule: an archive whose single top-level entry
// is a file or directory yields that entry at `target`; one with several top-level entries
// yields a directory holding them. `sub_path` (clean, relative, "" for all) then selects a
// part of that result. ResourceExhausted, before the offending bytes are written, when the
// entries or their sizes pass `limits`; InvalidArgument for hostile names and links. On error
// nothing is left at `target`.
absl::Status Unpack(int in_fd, const std::string& target, const std::string& sub_path,
                    const UnpackLimits& limits = {});

}  // namespace argonaut::artifacts
