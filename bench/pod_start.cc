// Pod start throughput: start and reap N pods that run `true`, in four modes
// (the isolated ones also with a user namespace per pod, as the kubelet runs them),
// and compare each to a bare fork+exec+wait of /bin/true (the physical limit).
//
//   bazel run //bench:pod_start -- [count] [threads]     (root for modes a, b)
//
// Each pod is the full lifecycle a kubelet drives: Sandbox::Create (with a
// per-pod directory), Spawn, Wait, Destroy. With threads > 1, pods start
// concurrently from that many threads, as a kubelet's pod workers would.
// Each pod mode also prints the mean time per pod of its three steps:
// create (Sandbox::Create), run (Spawn + Wait) and destroy.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/cluster/sandbox/network.h"
#include "lib/cluster/sandbox/sandbox.h"

namespace sb = argonaut::cluster::sandbox;

namespace {

// Time spent in each step of a pod's lifecycle, summed over all pods.
struct Phases {
  std::atomic<int64_t> create_ns{0}, run_ns{0}, destroy_ns{0};
};

struct Result {
  std::string name;
  int pods = 0;
  double seconds = 0;
  double create_ms = 0, run_ms = 0, destroy_ms = 0;  // mean per pod
  std::string error;
  double rate() const { return seconds > 0 ? pods / seconds : 0; }
};

absl::Status OnePod(const std::string& dir, int i, bool isolate, sb::PodNetwork* net,
                    std::optional<uint32_t> userns, Phases* phases) {
  absl::Time t0 = absl::Now();
  auto lap = [&t0](std::atomic<int64_t>& into) {
    const absl::Time now = absl::Now();
    into += absl::ToInt64Nanoseconds(now - t0);
    t0 = now;
  };
  absl::StatusOr<std::unique_ptr<sb::Sandbox>> pod =
      sb::Sandbox::Create({.pod_name = absl::StrCat("bench-", i),
                           .isolate = isolate,
                           .network = net,
                           .pod_dir = absl::StrCat(dir, "/pod-", i),
                           .user_namespace_base = userns});
  if (!pod.ok()) return pod.status();
  if ((*pod)->user_namespace_base() != userns) {
    return absl::InternalError("the pod fell back to the host's user namespace");
  }
  lap(phases->create_ns);
  absl::StatusOr<std::unique_ptr<sb::Process>> p = (*pod)->Spawn({.argv = {"true"}});
  if (!p.ok()) return p.status();
  absl::StatusOr<sb::ExitStatus> st = (*p)->Wait(absl::Seconds(30));
  if (!st.ok()) return st.status();
  if (!st->success()) return absl::InternalError("true failed: " + st->ToString());
  lap(phases->run_ns);
  absl::Status destroyed = (*pod)->Destroy(absl::ZeroDuration());
  lap(phases->destroy_ns);
  return destroyed;
}

Result RunPods(const std::string& name, const std::string& dir, int count, int threads,
               bool isolate, sb::PodNetwork* net, std::optional<uint32_t> userns = std::nullopt) {
  Result r{name};
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::string first_error;
  std::atomic<bool> failed{false};
  Phases phases;
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < count && !failed; i = next++) {
        absl::Status s = OnePod(dir, i, isolate, net, userns, &phases);
        if (!s.ok()) {
          if (!failed.exchange(true)) first_error = s.ToString();
          return;
        }
        ++done;
      }
    });
  }
  for (auto& w : workers) w.join();
  r.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  r.pods = done;
  r.error = first_error;
  if (r.pods > 0) {
    r.create_ms = phases.create_ns / 1e6 / r.pods;
    r.run_ms = phases.run_ns / 1e6 / r.pods;
    r.destroy_ms = phases.destroy_ns / 1e6 / r.pods;
  }
  return r;
}

Result RunForkExec(int count) {
  Result r{"(d) fork+exec+wait /bin/true"};
  const absl::Time start = absl::Now();
  for (int i = 0; i < count; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/true", "true", nullptr);
      _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) {
      r.error = "fork/exec of /bin/true failed";
      break;
    }
    ++r.pods;
  }
  r.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return r;
}

int VethsLeft(const std::string& prefix) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 1000;
  int threads = 1;
  if (argc > 1 && (!absl::SimpleAtoi(argv[1], &count) || count <= 0 || count > 1000000)) {
    std::fprintf(stderr, "usage: %s [count 1..1000000] [threads 1..64]\n", argv[0]);
    return 2;
  }
  if (argc > 2 && (!absl::SimpleAtoi(argv[2], &threads) || threads <= 0 || threads > 64)) {
    std::fprintf(stderr, "usage: %s [count 1..1000000] [threads 1..64]\n", argv[0]);
    return 2;
  }
  const std::string dir = absl::StrCat("/tmp/argn-pod-start-", getpid());
  std::filesystem::create_directories(dir);
  // Cheapest first, so the kernel's asynchronous namespace teardown of the
  // isolated modes cannot slow the modes measured after them.
  Result base = RunForkExec(count);  // also warms the page cache for true
  std::vector<Result> results;
  results.push_back(RunPods("(c) plain processes", dir, count, threads, false, nullptr));
  if (sb::Sandbox::CanIsolate()) {
    results.push_back(RunPods("(b) isolated, no network", dir, count, threads, true, nullptr));
    const uint32_t userns = sb::UserNamespaceBase(dir);
    results.push_back(
        RunPods("(b+u) (b) + user namespace", dir, count, threads, true, nullptr, userns));
    absl::StatusOr<std::unique_ptr<sb::PodNetwork>> net = sb::PodNetwork::Create({.seed = dir});
    if (!net.ok()) {
      std::fprintf(stderr, "pod network: %s\n", net.status().ToString().c_str());
      return 1;
    }
    for (const bool with_userns : {false, true}) {
      const absl::Time start = absl::Now();
      Result a = RunPods(with_userns ? "(a+u) (a) + user namespace" : "(a) isolated + pod network",
                         dir, count, threads, true, net->get(),
                         with_userns ? std::optional<uint32_t>(userns) : std::nullopt);
      // The kernel deletes each veth with its namespace, asynchronously; count
      // that work too (bounded wait).
      const std::string veth_prefix = (*net)->veth_prefix();
      for (int i = 0; i < 6000 && VethsLeft(veth_prefix) > 0; ++i) {
        absl::SleepFor(absl::Milliseconds(10));
      }
      a.seconds = absl::ToDoubleSeconds(absl::Now() - start);
      results.push_back(a);
    }
    (void)(*net)->Destroy();
  } else {
    std::fprintf(stderr, "not root: skipping isolated modes (a), (a+u), (b) and (b+u)\n");
  }
  results.push_back(base);
  Result again = RunForkExec(count);
  again.name = "(d) again, at the end";
  results.push_back(again);
  std::filesystem::remove_all(dir);

  std::printf("pods=%d threads=%d cpus=%u\n", count, threads, std::thread::hardware_concurrency());
  std::printf("%-32s %8s %10s %10s %8s  %s\n", "mode", "pods", "seconds", "pods/s", "vs (d)",
              "ms per pod: create run destroy");
  int rc = 0;
  for (const Result& r : results) {
    std::printf("%-32s %8d %10.3f %10.1f %8.3f", r.name.c_str(), r.pods, r.seconds, r.rate(),
                base.rate() > 0 ? r.rate() / base.rate() : 0);
    if (r.create_ms > 0) {
      std::printf("  %.3f %.3f %.3f", r.create_ms, r.run_ms, r.destroy_ms);
    }
    std::printf("\n");
    if (!r.error.empty()) {
      std::printf("  error: %s\n", r.error.c_str());
      rc = 1;
    }
  }
  return rc;
}
