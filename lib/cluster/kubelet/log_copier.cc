#include "lib/cluster/kubelet/log_copier.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "lib/cluster/sandbox/netlink.h"

namespace argonaut::cluster::kubelet {
namespace {

using sandbox::ErrnoStatus;

// Per read or splice call, and per turn of one stream (level-triggered epoll
// comes back to it), so that one flooding container cannot starve the others.
constexpr size_t kChunk = 1 << 20;
constexpr size_t kReadChunk = 64 << 10;
constexpr int kRoundsPerTurn = 16;
constexpr int kPipeBytes = 1 << 20;

bool WriteAt(int fd, const std::string& text, int64_t offset) {
  return pwrite(fd, text.data(), text.size(), offset) == static_cast<ssize_t>(text.size());
}

}  // namespace

LogStream::~LogStream() {
  CloseWriteEnd();
  absl::MutexLock lock(&mu_);
  if (read_fd_ >= 0) close(read_fd_);
  if (file_fd_ >= 0) close(file_fd_);
}

void LogStream::CloseWriteEnd() {
  if (write_fd_ >= 0) close(write_fd_);
  write_fd_ = -1;
}

absl::StatusOr<std::unique_ptr<LogCopier>> LogCopier::Start(int64_t max_bytes,
                                                            int64_t max_line_bytes) {
  if (max_bytes <= 0) return absl::InvalidArgumentError("max_log_bytes: must be positive");
  if (max_line_bytes <= 0) return absl::InvalidArgumentError("max_line_bytes: must be positive");
  auto c = std::unique_ptr<LogCopier>(new LogCopier(max_bytes, max_line_bytes));
  c->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (c->epoll_fd_ < 0) return ErrnoStatus(errno, "epoll_create1");
  c->stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (c->stop_fd_ < 0) return ErrnoStatus(errno, "eventfd");
  c->null_fd_ = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (c->null_fd_ < 0) return ErrnoStatus(errno, "open /dev/null");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = c->stop_fd_;
  if (epoll_ctl(c->epoll_fd_, EPOLL_CTL_ADD, c->stop_fd_, &ev) != 0) {
    return ErrnoStatus(errno, "epoll_ctl");
  }
  try {
    c->thread_ = std::thread([p = c.get()] { p->Loop(); });
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(absl::StrCat("log copier thread: ", e.what()));
  }
  return c;
}

LogCopier::~LogCopier() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }
  std::map<int, std::shared_ptr<LogStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    streams.swap(streams_);
  }
  for (auto& [fd, s] : streams) {
    absl::MutexLock lock(&s->mu_);
    (void)Copy(*s);
  }
  streams.clear();  // the streams close their descriptors when the last owner lets go
  for (int fd : {epoll_fd_, stop_fd_, null_fd_}) {
    if (fd >= 0) close(fd);
  }
}

absl::StatusOr<std::shared_ptr<LogStream>> LogCopier::Open(const std::string& path) {
  // Not O_APPEND: splice() refuses files opened for appending; the copier
  // keeps the offset itself.
  const int file = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (file < 0) return ErrnoStatus(errno, absl::StrCat("open log ", path));
  struct stat st;
  int64_t size = fstat(file, &st) == 0 ? st.st_size : 0;
  if (size >= max_bytes_) {
    const std::string note =
        absl::StrCat("argonaut: ", size,
                     " bytes of earlier output dropped: the log reached its cap "
                     "of ",
                     max_bytes_, " bytes\n");
    if (ftruncate(file, 0) == 0 && WriteAt(file, note, 0)) {
      size = static_cast<int64_t>(note.size());
    }
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    const int err = errno;
    close(file);
    return ErrnoStatus(err, "log pipe");
  }
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  // Room for bursts before a writer waits on the copier (best effort: the
  // default 64 KiB works too).
  (void)fcntl(p[0], F_SETPIPE_SZ, kPipeBytes);
  auto s = std::make_shared<LogStream>();
  s->path_ = path;
  s->write_fd_ = p[1];
  {
    absl::MutexLock lock(&s->mu_);
    s->read_fd_ = p[0];
    s->file_fd_ = file;
    s->size_ = size;
  }
  absl::MutexLock lock(&mu_);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = p[0];
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, p[0], &ev) != 0) {
    return ErrnoStatus(errno, "epoll_ctl log pipe");  // s closes its descriptors
  }
  streams_[p[0]] = s;
  return s;
}

bool LogCopier::Copy(LogStream& s) {
  if (s.read_fd_ < 0) return true;
  for (int round = 0; round < kRoundsPerTurn; ++round) {
    ssize_t n;
    if (!s.capped_) {
      // Read through a buffer (not splice) to see the newlines: a line past
      // max_line_bytes_ gets one inserted.
      const size_t room = static_cast<size_t>(std::max<int64_t>(0, max_bytes_ - s.size_));
      char buf[kReadChunk];
      n = read(s.read_fd_, buf, std::min(room, sizeof(buf)));
      if (n > 0) {
        std::string out;
        out.reserve(static_cast<size_t>(n) + static_cast<size_t>(n / max_line_bytes_) + 1);
        for (std::string_view in(buf, static_cast<size_t>(n)); !in.empty();) {
          // A line may hold max_line_bytes_ bytes and then its '\n'.
          const size_t fits = static_cast<size_t>(max_line_bytes_ - s.line_);
          const size_t nl = in.substr(0, fits + 1).find('\n');
          if (nl != std::string_view::npos) {
            out.append(in.substr(0, nl + 1));
            in.remove_prefix(nl + 1);
            s.line_ = 0;
          } else if (in.size() <= fits) {
            out.append(in);
            s.line_ += static_cast<int64_t>(in.size());
            in = {};
          } else {
            out.append(in.substr(0, fits));
            in.remove_prefix(fits);
            out.push_back('\n');
            s.line_ = 0;
          }
        }
        if (!WriteAt(s.file_fd_, out, s.size_)) return true;  // the log file failed: stop
        s.size_ += static_cast<int64_t>(out.size());
        if (s.size_ >= max_bytes_) {
          s.capped_ = true;
          const std::string note = absl::StrCat(
              "\nargonaut: the log reached its cap of ", max_bytes_,
              " bytes; further output is dropped (LocalClusterOptions.max_log_bytes)\n");
          (void)WriteAt(s.file_fd_, note, s.size_);
        }
        continue;
      }
    } else {
      n = splice(s.read_fd_, nullptr, null_fd_, nullptr, kChunk, SPLICE_F_NONBLOCK);
      if (n < 0 && errno == EINVAL) {
        char buf[16384];
        n = read(s.read_fd_, buf, sizeof(buf));
      }
      if (n > 0) continue;
    }
    if (n == 0) return true;  // every writer is gone
    if (errno == EINTR) continue;
    return errno != EAGAIN;  // other errors end the stream
  }
  return false;
}

void LogCopier::Drain(LogStream& stream) {
  absl::MutexLock lock(&stream.mu_);
  // Bounded: what the pipe holds now, at most its capacity many times over.
  for (int i = 0; i < 4 && stream.read_fd_ >= 0; ++i) {
    if (Copy(stream)) break;
  }
}

void LogCopier::Close(const std::shared_ptr<LogStream>& stream) {
  if (stream == nullptr) return;
  stream->CloseWriteEnd();
  Drain(*stream);
  Forget(stream);
}

void LogCopier::Forget(const std::shared_ptr<LogStream>& stream) {
  absl::MutexLock lock(&mu_);
  absl::MutexLock slock(&stream->mu_);
  // Under mu_, so a new stream cannot get this descriptor number before
  // the entry is gone.
  const int fd = stream->read_fd_;
  if (fd < 0) return;
  auto it = streams_.find(fd);
  if (it != streams_.end() && it->second == stream) {
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    streams_.erase(it);
  }
  close(stream->read_fd_);
  stream->read_fd_ = -1;
  close(stream->file_fd_);
  stream->file_fd_ = -1;
}

void LogCopier::Loop() {
  epoll_event events[64];
  for (;;) {
    const int n = epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_fd_) return;
      std::shared_ptr<LogStream> s;
      {
        absl::MutexLock lock(&mu_);
        auto it = streams_.find(fd);
        if (it != streams_.end()) s = it->second;
      }
      if (s == nullptr) continue;
      bool eof;
      {
        absl::MutexLock lock(&s->mu_);
        eof = Copy(*s);
      }
      // Writers gone: stop following (the stream's owner may still Drain
      // or Close it, which then finds nothing to do).
      if (eof) Forget(s);
    }
  }
}

}  // namespace argonaut::cluster::kubelet
