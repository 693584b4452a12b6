"""The flood itself (see flood_test.sh): sockets, timings and the RSS of `argonaut up`."""
import gzip
import json
import socket
import subprocess
import sys
import time
import urllib.request

ARGONAUT, PORT, UP_PID, TOKEN, WORK = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                      sys.argv[4], sys.argv[5])
BASE = f"http://127.0.0.1:{PORT}"
# Measured on the 2-core CI machine at 135 MiB peak (fastbuild) through the flood; the
# bound is twice that, so a per-connection or per-body leak (100 MiB bodies) shows.
RSS_BOUND_MIB = 256
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"

failures = []
peak_rss = 0


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)


def rss_mib():
    global peak_rss
    with open(f"/proc/{UP_PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                mib = int(line.split()[1]) / 1024
                peak_rss = max(peak_rss, mib)
                return mib
    return 0


def connect(source="127.0.0.1"):
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", PORT))
    return s


def request_head(method, path, extra=""):
    auth = f"Authorization: Bearer {TOKEN}\r\n" if TOKEN else ""
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n{auth}{extra}\r\n").encode()


def timed_version():
    start = time.monotonic()
    with urllib.request.urlopen(BASE + "/api/v1/version", timeout=10) as r:
        body = json.load(r)
    return time.monotonic() - start, body


def timed_list():
    start = time.monotonic()
    p = subprocess.run([ARGONAUT, "list"], capture_output=True, text=True, timeout=30)
    return time.monotonic() - start, p


def read_response(s, timeout=15):
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + content_length(data):
            got = s.recv(65536)
            if not got:
                break
            data += got
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def content_length(data):
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin1").lower()
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


def wait_phase(name, want, seconds):
    deadline = time.monotonic() + seconds
    wf = {}
    while time.monotonic() < deadline:
        req = urllib.request.Request(f"{BASE}/api/v1/workflows/default/{name}",
                                     headers={"Authorization": f"Bearer {TOKEN}"} if TOKEN else {})
        with urllib.request.urlopen(req, timeout=10) as r:
            wf = json.load(r)
        if wf.get("status", {}).get("phase") == want:
            return wf
        time.sleep(0.5)
    return wf


print(f"RSS at start: {rss_mib():.0f} MiB", flush=True)
wf = wait_phase("ticker", "Running", 60)
check(wf.get("status", {}).get("phase") == "Running", "the ticker workflow runs")

# 16 REST watches, each reading its first bytes (the 200 and the first events).
watches = []
for _ in range(16):
    s = connect()
    s.sendall(request_head("GET", "/api/v1/workflows/default?listOptions.watch=true"))
    watches.append(s)
for s in watches:
    s.settimeout(10)
    check(s.recv(4096).startswith(b"HTTP/1.1 200"), "a REST watch streams") if s is watches[0] else s.recv(4096)

# 16 `argonaut logs -f` (gRPC through the same port).
logs = [subprocess.Popen([ARGONAUT, "logs", "ticker", "-f"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL) for _ in range(16)]
for p in logs:
    line = p.stdout.readline()
    if p is logs[0]:
        check(b"tick" in line, f"logs -f streams ({line!r})")

# 500 idle connections from ten loopback addresses: half silent, half HTTP/2 with nothing asked.
idle = []
for i in range(500):
    s = connect(f"127.0.0.{2 + i % 10}")
    if i % 2:
        s.sendall(HTTP2_PREFACE)
    idle.append(s)
time.sleep(1)
print(f"RSS with the flood open: {rss_mib():.0f} MiB", flush=True)

for attempt in range(3):
    rss_mib()
    took, body = timed_version()
    check(took < 1.0 and "version" in body, f"GET /api/v1/version under the flood: {took:.3f} s")
    took, p = timed_list()
    check(took < 1.0 and p.returncode == 0 and "ticker" in p.stdout,
          f"argonaut list under the flood: {took:.3f} s (rc {p.returncode})")
alive = sum(1 for p in logs if p.poll() is None)
check(alive == 16, f"all 16 logs -f still streaming ({alive})")

# The per-client cap: 64 connections from one address stay open, the 65th is closed at once.
capped = [connect("127.0.0.99") for _ in range(64)]
time.sleep(0.3)
extra = connect("127.0.0.99")
extra.settimeout(2)
try:
    closed = extra.recv(1) == b""
except (socket.timeout, ConnectionResetError) as e:
    closed = isinstance(e, ConnectionResetError)
check(closed, "the 65th connection from one address is closed")
capped[0].settimeout(0.2)
try:
    still_open = capped[0].recv(1) != b""
except socket.timeout:
    still_open = True
except ConnectionResetError:
    still_open = False
check(still_open, "the 64 before it stay open")
for s in capped + [extra]:
    s.close()

# A 100 MiB chunked POST: refused with 413 while it is being sent.
s = connect()
s.sendall(request_head("POST", "/api/v1/workflows/default",
                       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"))
chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"
sent = 0
s.settimeout(5)
try:
    for _ in range(100):
        s.sendall(chunk)
        sent += 1
except (BrokenPipeError, ConnectionResetError, socket.timeout):
    pass
reply = read_response(s)
s.close()
check(reply.startswith(b"HTTP/1.1 413"), f"100 MiB chunked POST: {reply[:40]!r} after {sent} MiB sent")
body = reply.split(b"\r\n\r\n", 1)[-1]
check(b'"code":8' in body and b"larger than the limit" in body, f"413 body: {body[:120]!r}")
print(f"RSS after the chunked POST: {rss_mib():.0f} MiB", flush=True)

# A gzip body of 100 MiB of zeros (about 100 KiB on the wire).
bomb = gzip.compress(b"\0" * (100 << 20), compresslevel=9)
s = connect()
s.sendall(request_head("POST", "/api/v1/workflows/default",
                       f"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
                       f"Content-Length: {len(bomb)}\r\n") + bomb)
reply = read_response(s)
s.close()
check(reply.startswith(b"HTTP/1.1 413"), f"gzip body inflating to 100 MiB: {reply[:40]!r}")

# Normal work after all this.
took, body = timed_version()
check(took < 1.0, f"GET /api/v1/version after the floods: {took:.3f} s")
for p in logs:
    p.kill()
    p.wait()
for s in watches + idle:
    s.close()

flood_peak = max(peak_rss, rss_mib())
print(f"RSS peak through the flood: {flood_peak:.0f} MiB (bound {RSS_BOUND_MIB} MiB)", flush=True)
check(flood_peak < RSS_BOUND_MIB, f"RSS stayed under {RSS_BOUND_MIB} MiB through the flood")

# A status over the object limit: three suspended steps each hold a 3 MiB input parameter.
big = "x" * (3 << 20)
huge = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
    "metadata": {"name": "huge-status"},
    "spec": {
        "entrypoint": "main",
        "arguments": {"parameters": [{"name": "big", "value": big}]},
        "templates": [
            {"name": "main", "steps": [[
                {"name": f"s{i}", "template": "hold",
                 "arguments": {"parameters": [{"name": "p", "value": "{{workflow.parameters.big}}"}]}}
                for i in range(3)]]},
            {"name": "hold", "inputs": {"parameters": [{"name": "p"}]}, "suspend": {}},
        ],
    },
}
with open(f"{WORK}/huge.json", "w") as f:
    json.dump(huge, f)
p = subprocess.run([ARGONAUT, "submit", f"{WORK}/huge.json"], capture_output=True, text=True)
check(p.returncode == 0, f"submit huge-status: {p.stderr.strip()[:200]}")
wf = wait_phase("huge-status", "Error", 60)
message = wf.get("status", {}).get("message", "")
check(wf.get("status", {}).get("phase") == "Error" and "cannot be stored" in message,
      f"a status over the object limit ends in Error: {message[:160]!r}")
print(f"RSS after the over-limit status: {rss_mib():.0f} MiB (not bounded here)", flush=True)
sys.exit(1 if failures else 0)
