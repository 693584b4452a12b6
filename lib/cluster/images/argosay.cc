#include "lib/cluster/images/argosay.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/base/strings.h"

namespace argonaut::cluster {
namespace {

constexpr char kUsage[] =
    "usage: argosay [assert_contains file string|cat [file...]|echo [string] [file]|sleep "
    "duration|exit [code]]";

absl::Status InvalidDuration(std::string_view orig) {
  return absl::InvalidArgumentError(
      absl::StrCat("time: invalid duration \"", AbslView(orig), "\""));
}

// Go's io error text: "open /x: no such file or directory".
std::string OsError(std::string_view op, std::string_view path, int err) {
  return absl::StrCat(AbslView(op), " ", AbslView(path), ": ", std::strerror(err));
}

// Go's runtime reports a panicking error this way and exits with code 2.
int Panic(std::string_view msg) {
  std::string out =
      absl::StrCat("panic: ", AbslView(msg), "\n\ngoroutine 1 [running]:\nmain.main()\n");
  fwrite(out.data(), 1, out.size(), stderr);
  fflush(stderr);
  return 2;
}

// Go's builtin println writes to stderr.
void Println(std::string_view s) {
  std::string line = absl::StrCat(AbslView(s), "\n");
  fwrite(line.data(), 1, line.size(), stderr);
  fflush(stderr);
}

bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(OsError("open", path, errno));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return absl::InternalError(OsError("read", path, err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

int Cat(const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Panic(OsError("open", file, errno));
    char buf[65536];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        close(fd);
        return Panic(OsError("read", file, err));
      }
      if (n == 0) break;
      fflush(stdout);
      if (!WriteAll(STDOUT_FILENO, buf, static_cast<size_t>(n))) {
        int err = errno;
        close(fd);
        return Panic(OsError("write", "/dev/stdout", err));
      }
    }
    close(fd);
  }
  return 0;
}

// os.MkdirAll: creates each missing component of `dir`.
absl::Status MkdirAll(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("mkdir ", dir, ": not a directory"));
  }
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    absl::Status parent = MkdirAll(dir.substr(0, slash));
    if (!parent.ok()) return parent;
  }
  if (mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return absl::InternalError(OsError("mkdir", dir, errno));
  }
  return absl::OkStatus();
}

std::string Dir(const std::string& file) {
  size_t slash = file.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return file.substr(0, slash);
}

int Echo(const std::vector<std::string>& args) {
  switch (args.size()) {
    case 0:
      Println("hello argo");
      return 0;
    case 1:
      Println(args[0]);
      return 0;
    case 2: {
      const std::string& file = args[1];
      // Path components are bounded by PATH_MAX, so MkdirAll's recursion is too.
      if (file.size() >= 4096) return Panic(OsError("open", file, ENAMETOOLONG));
      absl::Status made = MkdirAll(Dir(file));
      if (!made.ok()) return Panic(std::string(made.message()));
      int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
      if (fd < 0) return Panic(OsError("open", file, errno));
      bool ok = WriteAll(fd, args[0].data(), args[0].size());
      int err = errno;
      close(fd);
      if (!ok) return Panic(OsError("write", file, err));
      return 0;
    }
    default:
      return Panic("usage: argosay echo [string] [file]");
  }
}

int Exit(const std::vector<std::string>& args) {
  if (args.size() != 1) return 0;
  int code = 0;
  if (!absl::SimpleAtoi(args[0], &code)) {
    return Panic(absl::StrCat("strconv.Atoi: parsing \"", args[0], "\": invalid syntax"));
  }
  // The kernel keeps the low 8 bits of an exit status, as for Go's os.Exit.
  return code & 0xff;
}

int Sleep(const std::vector<std::string>& args) {
  if (args.size() != 1) return Panic("usage: argosay sleep duration");
  absl::StatusOr<absl::Duration> d = ParseGoDuration(args[0]);
  if (!d.ok()) return Panic(std::string(d.status().message()));
  if (*d > absl::ZeroDuration()) absl::SleepFor(*d);
  return 0;
}

int AssertContains(const std::vector<std::string>& args) {
  if (args.size() != 2) return Panic("usage: assert_contains data string");
  absl::StatusOr<std::string> data = ReadWholeFile(args[0]);
  if (!data.ok()) return Panic(std::string(data.status().message()));
  if (!absl::StrContains(*data, args[1])) {
    return Panic(absl::StrCat("expected \"", args[0], "\" to contain \"", args[1], "\", but was \"",
                              *data, "\""));
  }
  return 0;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view orig) {
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return absl::ZeroDuration();
  if (s.empty()) return InvalidDuration(orig);
  // Nanoseconds, as an unsigned value checked against 2^63 like Go.
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return InvalidDuration(orig);
    uint64_t whole = 0;
    size_t i = 0;
    bool pre = false;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (whole > (kLimit - 1) / 10) return InvalidDuration(orig);
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
      if (whole > kLimit) return InvalidDuration(orig);
      pre = true;
    }
    s.remove_prefix(i);
    uint64_t frac = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      i = 0;
      bool overflow = false;
      for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        post = true;
        if (overflow) continue;
        if (frac > (kLimit - 1) / 10) {
          overflow = true;  // further digits cannot change the result
          continue;
        }
        frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
        scale *= 10;
      }
      s.remove_prefix(i);
    }
    if (!pre && !post) return InvalidDuration(orig);
    i = 0;
    while (i < s.size() && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9')) ++i;
    if (i == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("time: missing unit in duration \"", AbslView(orig), "\""));
    }
    std::string_view unit_name = s.substr(0, i);
    s.remove_prefix(i);
    uint64_t unit = 0;
    if (unit_name == "ns") {
      unit = 1;
    } else if (unit_name == "us" || unit_name == "\xc2\xb5s" || unit_name == "\xce\xbcs") {
      unit = 1000;
    } else if (unit_name == "ms") {
      unit = 1000 * 1000;
    } else if (unit_name == "s") {
      unit = 1000 * 1000 * 1000;
    } else if (unit_name == "m") {
      unit = uint64_t{60} * 1000 * 1000 * 1000;
    } else if (unit_name == "h") {
      unit = uint64_t{3600} * 1000 * 1000 * 1000;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("time: unknown unit \"", AbslView(unit_name),
                                                     "\" in duration \"", AbslView(orig), "\""));
    }
    if (whole > kLimit / unit) return InvalidDuration(orig);
    uint64_t v = whole * unit;
    if (frac > 0) {
      v += static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit) / scale));
      if (v > kLimit) return InvalidDuration(orig);
    }
    total += v;
    if (total > kLimit) return InvalidDuration(orig);
  }
  if (!neg && total > kLimit - 1) return InvalidDuration(orig);
  absl::Duration d = absl::Nanoseconds(static_cast<int64_t>(total == kLimit ? kLimit - 1 : total));
  if (total == kLimit) d += absl::Nanoseconds(1);
  return neg ? -d : d;
}

int RunArgosay(const std::vector<std::string>& all) {
  std::vector<std::string> args = all;
  if (args.empty()) args = {"echo"};
  const std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "assert_contains") return AssertContains(rest);
  if (cmd == "cat") return Cat(rest);
  if (cmd == "echo") return Echo(rest);
  if (cmd == "exit") return Exit(rest);
  if (cmd == "sleep") return Sleep(rest);
  return Panic(kUsage);
}

}  // namespace argonaut::cluster
