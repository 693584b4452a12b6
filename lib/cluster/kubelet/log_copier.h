// LogCopier: containers write stdout/stderr into a pipe; one thread per
// runtime moves the bytes into each container's log file, up to a cap.
//
// Why a pipe and a copier: with the log file as the container's stdout, the
// only ways to bound it are RLIMIT_FSIZE (SIGXFSZ kills the container, which
// Kubernetes never does) or checking sizes after the fact (a `yes` writes
// gigabytes between two checks). Through a pipe the cap is exact and costs
// nothing in the container. One thread with epoll serves every container
// (not a thread each, which a thousand pods would pay for).
//
// A line longer than max_line_bytes is split there (a '\n' inserted), as the
// kubelet's CRI logger splits lines at 16 KiB: whoever reads the log line by
// line (`argo logs`, the workflow log API) then holds at most that much of an
// unterminated line, however long a container writes without a newline.
//
// At the cap the copier writes one line saying so and discards the rest
// (the container keeps running, unblocked, as under the kubelet's
// rotation; the log keeps its beginning, which is what names the failure).
// A container that starts again with its log already at the cap gets a
// fresh file that says the earlier output was dropped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace argonaut::cluster::kubelet {

class LogStream {
 public:
  ~LogStream();
  // The pipe's write end to give the container (ProcessSpec::output_fd);
  // close it (CloseWriteEnd) once the container started.
  int write_fd() const { return write_fd_; }
  void CloseWriteEnd();

 private:
  friend class LogCopier;
  absl::Mutex mu_;
  int read_fd_ ABSL_GUARDED_BY(mu_) = -1;
  int file_fd_ ABSL_GUARDED_BY(mu_) = -1;
  int write_fd_ = -1;
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  // Bytes written since the last '\n'.
  int64_t line_ ABSL_GUARDED_BY(mu_) = 0;
  bool capped_ ABSL_GUARDED_BY(mu_) = false;
  std::string path_;
};

class LogCopier {
 public:
  // Lines are split at 16 KiB, as the kubelet's.
  static constexpr int64_t kDefaultMaxLineBytes = 16 << 10;

  // Starts the copier thread. ResourceExhausted when no thread can be made.
  static absl::StatusOr<std::unique_ptr<LogCopier>> Start(
      int64_t max_bytes, int64_t max_line_bytes = kDefaultMaxLineBytes);
  ~LogCopier();
  LogCopier(const LogCopier&) = delete;
  LogCopier& operator=(const LogCopier&) = delete;

  // A stream appending to `path` (created 0644 if missing).
  absl::StatusOr<std::shared_ptr<LogStream>> Open(const std::string& path);
  // Copies what the pipe holds now: call when the container exited, before
  // its log is read, so that nothing it wrote is missing.
  void Drain(LogStream& stream);
  // Drains and stops following the stream (its pipe and file are closed;
  // writers left, e.g. a daemonized child, get EPIPE).
  void Close(const std::shared_ptr<LogStream>& stream);

  int64_t max_bytes() const { return max_bytes_; }
  int64_t max_line_bytes() const { return max_line_bytes_; }

 private:
  LogCopier(int64_t max_bytes, int64_t max_line_bytes)
      : max_bytes_(max_bytes), max_line_bytes_(max_line_bytes) {}
  void Loop();
  // Moves available bytes; true when the writers are gone (EOF).
  bool Copy(LogStream& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu_);
  // Stops following: epoll entry, pipe and file closed.
  void Forget(const std::shared_ptr<LogStream>& stream);

  const int64_t max_bytes_;
  const int64_t max_line_bytes_;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  int null_fd_ = -1;
  std::thread thread_;
  absl::Mutex mu_;
  std::map<int, std::shared_ptr<LogStream>> streams_ ABSL_GUARDED_BY(mu_);  // by read fd
};

}  // namespace argonaut::cluster::kubelet
