#include "lib/artifacts/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/artifacts/testing_files.h"
#include "lib/artifacts/testing_tar.h"
#include "lib/base/status_matchers.h"

namespace argonaut::artifacts {
namespace {

namespace fs = std::filesystem;
using ::argonaut::artifacts::testing::Slurp;
using ::argonaut::artifacts::testing::Spit;
using ::argonaut::artifacts::testing::TarMember;
using ::argonaut::artifacts::testing::WriteTarGz;
using ::argonaut::testing::StatusIs;
using nlohmann::json;
using ::testing::HasSubstr;

class ArchiveTest : public ::argonaut::artifacts::testing::TempDirTest {
 protected:
  absl::Status PackTo(const std::string& src, const std::string& dst, ArchiveStrategy how) {
    OwnedFd out(open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    return Pack(src, out.fd, how);
  }
  absl::Status UnpackFrom(const std::string& archive, const std::string& target,
                          const std::string& sub = "", UnpackLimits limits = {}) {
    OwnedFd in(open(archive.c_str(), O_RDONLY));
    return Unpack(in.fd, target, sub, limits);
  }
  // A zip written by libarchive with whatever names the test wants.
  void WriteZip(const std::string& path,
                const std::vector<std::pair<std::string, std::string>>& files) {
    struct archive* a = archive_write_new();
    archive_write_set_format_zip(a);
    archive_write_open_filename(a, path.c_str());
    for (const auto& [name, data] : files) {
      struct archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, name.c_str());
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
      archive_write_header(a, e);
      archive_write_data(a, data.data(), data.size());
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
  }
};

TEST(StrategyTest, ParsesArgosArchiveField) {
  EXPECT_EQ(ParseArchiveStrategy(json{{"name", "a"}})->format, ArchiveFormat::kTarGz);
  EXPECT_EQ(ParseArchiveStrategy(json{{"archive", {{"none", json::object()}}}})->format,
            ArchiveFormat::kNone);
  EXPECT_EQ(ParseArchiveStrategy(json{{"archive", {{"zip", json::object()}}}})->format,
            ArchiveFormat::kZip);
  EXPECT_EQ(ParseArchiveStrategy(json{{"archive", {{"tar", {{"compressionLevel", 0}}}}}})
                ->compression_level,
            0);
  EXPECT_THAT(ParseArchiveStrategy(json{{"archive", {{"tar", {{"compressionLevel", 12}}}}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("compressionLevel")));
  EXPECT_EQ(ArchiveSuffix(ArchiveFormat::kZip), ".zip");
  EXPECT_EQ(ArchiveSuffix(ArchiveFormat::kTarGz), ".tgz");
}

TEST_F(ArchiveTest, PacksAndUnpacksFilesAndTreesInEveryFormat) {
  Spit(dir_ + "/src/file.txt", "hello world\n");
  Spit(dir_ + "/src/tree/a.txt", "A");
  Spit(dir_ + "/src/tree/sub/b.txt", "B");
  ASSERT_EQ(symlink("a.txt", (dir_ + "/src/tree/link").c_str()), 0);
  for (ArchiveStrategy how : {ArchiveStrategy{}, ArchiveStrategy{.compression_level = 0},
                              ArchiveStrategy{.format = ArchiveFormat::kZip}}) {
    const std::string tag = absl::StrCat(static_cast<int>(how.format), how.compression_level);
    SCOPED_TRACE(tag);
    ASSERT_OK(PackTo(dir_ + "/src/file.txt", dir_ + "/f" + tag, how));
    ASSERT_OK(PackTo(dir_ + "/src/tree", dir_ + "/t" + tag, how));
    {
      OwnedFd fd(open((dir_ + "/t" + tag).c_str(), O_RDONLY));
      EXPECT_EQ(SniffFormat(fd.fd),
                how.format == ArchiveFormat::kZip ? StoredFormat::kZip : StoredFormat::kGzip);
    }
    // The single top-level entry lands at the target (Argo's rule).
    ASSERT_OK(UnpackFrom(dir_ + "/f" + tag, dir_ + "/out-f" + tag));
    EXPECT_EQ(Slurp(dir_ + "/out-f" + tag), "hello world\n");
    ASSERT_OK(UnpackFrom(dir_ + "/t" + tag, dir_ + "/out-t" + tag));
    EXPECT_EQ(Slurp(dir_ + "/out-t" + tag + "/sub/b.txt"), "B");
    EXPECT_EQ(fs::read_symlink(dir_ + "/out-t" + tag + "/link").string(), "a.txt");
    ASSERT_OK(UnpackFrom(dir_ + "/t" + tag, dir_ + "/out-s" + tag, "sub/b.txt"));
    EXPECT_EQ(Slurp(dir_ + "/out-s" + tag), "B");
    EXPECT_THAT(UnpackFrom(dir_ + "/t" + tag, dir_ + "/out-x" + tag, "nope"),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("subPath \"nope\"")));
    EXPECT_FALSE(fs::exists(dir_ + "/out-x" + tag));
  }
}

TEST_F(ArchiveTest, SeveralTopLevelEntriesBecomeADirectory) {
  WriteTarGz(dir_ + "/two.tgz",
             {{{.name = "a", .size = 1}, "a"}, {{.name = "b/c", .size = 1}, "c"}});
  ASSERT_OK(UnpackFrom(dir_ + "/two.tgz", dir_ + "/two"));
  EXPECT_EQ(Slurp(dir_ + "/two/a"), "a");
  EXPECT_EQ(Slurp(dir_ + "/two/b/c"), "c");
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/two").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST_F(ArchiveTest, HostileArchivesStayInsideTheTarget) {
  fs::create_directories(dir_ + "/outside");
  WriteTarGz(dir_ + "/dotdot.tgz", {{{.name = "top/../../outside/evil", .size = 4}, "evil"}});
  WriteTarGz(dir_ + "/abs.tgz", {{{.name = dir_ + "/outside/evil", .size = 4}, "evil"}});
  // A link to outside, then a write through it.
  WriteTarGz(dir_ + "/link.tgz", {{{.name = "top/", .type = '5'}, ""},
                                  {{.name = "top/esc", .type = '2', .link = dir_ + "/outside"}, ""},
                                  {{.name = "top/esc/evil", .size = 4}, "evil"}});
  // A relative link climbing out, then a write through it.
  WriteTarGz(dir_ + "/rel.tgz", {{{.name = "top/up", .type = '2', .link = "../../outside"}, ""},
                                 {{.name = "top/up/evil", .size = 4}, "evil"}});
  WriteTarGz(dir_ + "/hard.tgz",
             {{{.name = "top/h", .type = '1', .link = dir_ + "/outside/evil"}, ""}});
  WriteZip(dir_ + "/slip.zip", {{"top/../../outside/evil", "evil"}});
  WriteZip(dir_ + "/abs.zip", {{dir_ + "/outside/evil", "evil"}});
  for (const char* name :
       {"dotdot.tgz", "abs.tgz", "link.tgz", "rel.tgz", "hard.tgz", "slip.zip", "abs.zip"}) {
    const std::string target = dir_ + "/target-" + name;
    EXPECT_THAT(UnpackFrom(dir_ + "/" + name, target),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << name;
    EXPECT_FALSE(fs::exists(target)) << name;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/outside/evil"));
  EXPECT_TRUE(fs::is_empty(dir_ + "/outside"));
}

TEST_F(ArchiveTest, BombsBeyondTheCapAreRefusedBeforeTheyAreWritten) {
  // Announces 5 GiB and holds almost nothing: refused from the header alone.
  WriteTarGz(dir_ + "/bomb.tgz",
             {{{.name = "top/", .type = '5'}, ""},
              {{.name = "top/zeros", .size = uint64_t{5} << 30}, std::string(512, '\0')}});
  EXPECT_THAT(UnpackFrom(dir_ + "/bomb.tgz", dir_ + "/bomb"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("extraction limit")));
  EXPECT_FALSE(fs::exists(dir_ + "/bomb"));

  // Members that each fit but together pass a small cap.
  std::vector<std::pair<TarMember, std::string>> members = {{{.name = "top/", .type = '5'}, ""}};
  for (int i = 0; i < 5; ++i) {
    members.push_back({{.name = absl::StrCat("top/f", i), .size = 1000}, std::string(1000, 'z')});
  }
  WriteTarGz(dir_ + "/many.tgz", members);
  EXPECT_THAT(UnpackFrom(dir_ + "/many.tgz", dir_ + "/many", "", {.max_bytes = 3500}),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("3500 bytes")));
  EXPECT_FALSE(fs::exists(dir_ + "/many"));
  EXPECT_THAT(UnpackFrom(dir_ + "/many.tgz", dir_ + "/many", "", {.max_entries = 3}),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("entries")));
  ASSERT_OK(UnpackFrom(dir_ + "/many.tgz", dir_ + "/many-ok", "", {.max_bytes = 5000}));
  EXPECT_EQ(Slurp(dir_ + "/many-ok/f4"), std::string(1000, 'z'));

  // A zip bomb: 64 MiB of zeros deflate to almost nothing.
  WriteZip(dir_ + "/bomb.zip", {{"top/zeros", std::string(64 << 20, '\0')}});
  EXPECT_LT(fs::file_size(dir_ + "/bomb.zip"), 1u << 20);
  EXPECT_THAT(UnpackFrom(dir_ + "/bomb.zip", dir_ + "/zbomb", "", {.max_bytes = 1 << 20}),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("extraction limit")));
  EXPECT_FALSE(fs::exists(dir_ + "/zbomb"));
}

TEST_F(ArchiveTest, ATargetThatExistsIsNotReplaced) {
  Spit(dir_ + "/src/f", "x");
  ASSERT_OK(PackTo(dir_ + "/src/f", dir_ + "/f.tgz", {}));
  Spit(dir_ + "/there", "keep");
  EXPECT_THAT(UnpackFrom(dir_ + "/f.tgz", dir_ + "/there"),
              StatusIs(absl::StatusCode::kAlreadyExists, ::testing::_));
  EXPECT_EQ(Slurp(dir_ + "/there"), "keep");
}

}  // namespace
}  // namespace argonaut::artifacts
