"""Local stand-ins for the remote artifact locations Argo's examples name, for
tests/workflow_conformance.py: a `git daemon` serving a fixture repository, a
Python HTTP server with the files the http examples fetch (GET, HEAD, PUT,
DELETE), and npm's s3rver. They bind to an address pods can reach (the pod
bridge's gateway with namespace isolation, 127.0.0.1 with plain processes).

`rewrite(docs)` points an example's remote locations at them at submission
time: the example files are never edited. Everything started here is stopped
by `stop()`.
"""

import base64
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse

import yaml

# What the examples read, recreated: input-artifact-git.yaml checks out tag
# v2.1.1 of argo-workflows and runs `git status && ls && cat VERSION`.
GIT_REPOS = {
    "argo-workflows": {
        "tag": "v2.1.1",
        "files": {"VERSION": "2.1.1\n",
                  "README.md": "Fixture of the argo-workflows repository at v2.1.1\n"},
    },
}
# The http examples download kubectl v1.8.0 and run `kubectl version`: a stand-in
# that prints the client version (there is no Kubernetes API to ask for more).
HTTP_FILES = {
    "kubernetes-release/release/v1.8.0/bin/linux/amd64/kubectl":
        "#!/bin/sh\n"
        "# Stand-in for kubectl v1.8.0 served by the conformance runner.\n"
        "echo 'Client Version: version.Info{Major:\"1\", Minor:\"8\", GitVersion:\"v1.8.0\"}'\n",
}
# What the http template examples (http-hello-world, http-success-condition) call: each host's
# files under /<host>/ on the HTTP server; /httpbin.org/status/N answers status N. A path that
# is not here (http-hello-world's "thisisnotahash") is a 404, as upstream.
HTTP_TEMPLATE_FILES = {
    "raw.githubusercontent.com/argoproj/argo-workflows/4e450e250168e6b4d51a126b784e90b11a0162bc/"
    "pkg/apis/workflow/v1alpha1/generated.swagger.json":
        '{"swagger": "2.0", "info": {"title": "stand-in for Argo\'s generated.swagger.json"}}\n',
    "google.com/index.html": "<html><title>google stand-in</title></html>\n",
}
HTTP_TEMPLATE_HOSTS = ("raw.githubusercontent.com", "httpbin.org", "google.com")
# Remote hosts of the examples -> which local server replaces them.
HTTP_HOSTS = ("storage.googleapis.com",)
GIT_HOSTS = ("github.com",)
S3_ENDPOINTS = ("s3.amazonaws.com",)
# s3rver's fixed credentials, given to the examples through their Secret.
S3_ACCESS_KEY = "S3RVER"
S3_SECRET_KEY = "S3RVER"
S3_REPO_BUCKET = "argonaut-artifacts"
S3_BUCKETS = ("my-bucket", "my-bucket-name", S3_REPO_BUCKET)
# Rows with `ns:` this namespace run where the default artifact repository is s3rver.
REPO_NAMESPACE = "argo-s3-repo"
S3RVER = "/opt/argonaut-npm/node_modules/.bin/s3rver"
# Objects the s3 input examples read: input-artifact-s3.yaml lists /my-artifact.
S3_OBJECTS = {("my-bucket-name", "path/in/bucket"): b"an object the example downloads\n"}

GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
               GIT_AUTHOR_NAME="Argonaut Test", GIT_AUTHOR_EMAIL="test@argonaut.invalid",
               GIT_COMMITTER_NAME="Argonaut Test", GIT_COMMITTER_EMAIL="test@argonaut.invalid",
               GIT_TERMINAL_PROMPT="0")


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host, port, proc=None, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            if proc is not None and proc.poll() is not None:
                return False
            time.sleep(0.1)
    return False


class _FileHandler(http.server.SimpleHTTPRequestHandler):
    """GET/HEAD from the directory, PUT stores, DELETE removes (Argo's http outputs)."""

    def log_message(self, *args):  # quiet: the runner prints its own lines
        pass

    def _local(self):
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        root = os.path.realpath(self.directory)
        full = os.path.realpath(os.path.join(root, rel))
        return full if full == root or full.startswith(root + os.sep) else None

    def do_PUT(self):
        full = self._local()
        if full is None:
            self.send_error(403)
            return
        os.makedirs(os.path.dirname(full), exist_ok=True)
        left = int(self.headers.get("Content-Length", "0"))
        with open(full, "wb") as f:
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                f.write(chunk)
                left -= len(chunk)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path).path.split("/")
        if len(parts) == 4 and parts[1] == "httpbin.org" and parts[2] == "status" and \
                parts[3].isdigit():
            self.send_response(int(parts[3]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def do_DELETE(self):
        full = self._local()
        if full is None or not os.path.isfile(full):
            self.send_error(404)
            return
        os.unlink(full)
        self.send_response(204)
        self.end_headers()


class ArtifactServers:
    def __init__(self, host, work):
        self.host = host
        self.work = work
        self.git_port = self.http_port = self.s3_port = 0
        self.notes = []
        self._procs = []
        self._http = None

    # ---- lifecycle ----------------------------------------------------------

    def start(self):
        os.makedirs(self.work, exist_ok=True)
        self._start_git()
        self._start_http()
        self._start_s3()

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        for p in self._procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self._procs = []

    def _git(self, cwd, *args):
        subprocess.run(["git", "-c", "init.defaultBranch=master", "-c",
                        "advice.detachedHead=false"] + list(args), cwd=cwd, env=GIT_ENV,
                       check=True, capture_output=True)

    def _start_git(self):
        base = os.path.join(self.work, "git")
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
        for name, spec in GIT_REPOS.items():
            src = os.path.join(self.work, "git-src", name)
            shutil.rmtree(src, ignore_errors=True)
            os.makedirs(src)
            for rel, text in spec["files"].items():
                with open(os.path.join(src, rel), "w", encoding="utf-8") as f:
                    f.write(text)
            self._git(src, "init", "-q")
            self._git(src, "add", "-A")
            self._git(src, "commit", "-q", "-m", "fixture")
            self._git(src, "tag", "-a", spec["tag"], "-m", spec["tag"])
            self._git(base, "clone", "-q", "--bare", src, name + ".git")
        self.git_port = free_port(self.host)
        log = open(os.path.join(self.work, "git-daemon.log"), "w")
        p = subprocess.Popen(["git", "daemon", "--export-all", "--base-path=" + base,
                              "--listen=" + self.host, "--port=%d" % self.git_port,
                              "--reuseaddr", base], stdout=log, stderr=log, env=GIT_ENV)
        self._procs.append(p)
        if not wait_port(self.host, self.git_port, p):
            raise RuntimeError("git daemon did not listen on %s:%d" % (self.host, self.git_port))

    def _start_http(self):
        root = os.path.join(self.work, "http")
        shutil.rmtree(root, ignore_errors=True)
        for rel, text in list(HTTP_FILES.items()) + list(HTTP_TEMPLATE_FILES.items()):
            full = os.path.join(root, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(text)

        def handler(*args, **kwargs):
            return _FileHandler(*args, directory=root, **kwargs)

        self._http = http.server.ThreadingHTTPServer((self.host, 0), handler)
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def _start_s3(self):
        if not os.access(S3RVER, os.X_OK):
            self.notes.append("no s3rver at %s: s3 locations are not rewritten" % S3RVER)
            return
        data = os.path.join(self.work, "s3rver")
        shutil.rmtree(data, ignore_errors=True)
        os.makedirs(data)
        self.s3_port = free_port(self.host)
        args = [S3RVER, "-d", data, "-a", self.host, "-p", str(self.s3_port), "-s",
                "--no-vhost-buckets"]
        for b in S3_BUCKETS:
            args += ["--configure-bucket", b]
        log = open(os.path.join(self.work, "s3rver.log"), "w")
        p = subprocess.Popen(args, stdout=log, stderr=log)
        self._procs.append(p)
        if not wait_port(self.host, self.s3_port, p):
            self.notes.append("s3rver did not listen on %s:%d" % (self.host, self.s3_port))
            self.s3_port = 0
            return
        try:
            self._seed_s3()
        except Exception as e:  # the examples that read them then fail and say why
            self.notes.append("seeding s3rver failed: %r" % e)

    def _seed_s3(self):
        import botocore.config
        import botocore.session
        client = botocore.session.get_session().create_client(
            "s3", endpoint_url="http://%s:%d" % (self.host, self.s3_port),
            aws_access_key_id=S3_ACCESS_KEY, aws_secret_access_key=S3_SECRET_KEY,
            region_name="us-east-1",
            config=botocore.config.Config(s3={"addressing_style": "path"}))
        for (bucket, key), body in S3_OBJECTS.items():
            client.put_object(Bucket=bucket, Key=key, Body=body)

    # ---- objects the examples need -----------------------------------------

    def setup_manifests(self):
        """Objects the runner applies before the examples: the Secret the s3 examples name
        (in `default` and in REPO_NAMESPACE), `artifact-repositories` in `default` with key
        my-key (s3rver) and in REPO_NAMESPACE with s3rver as its default repository, for the
        examples that rely on the default repository being S3 (key-only locations). Returns a
        list of dicts."""
        if not self.s3_port:
            return []
        enc = lambda v: base64.b64encode(v.encode()).decode()
        out = []
        for ns in ("default", REPO_NAMESPACE):
            out.append({"apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": "my-s3-credentials", "namespace": ns},
                        "data": {"accessKey": enc(S3_ACCESS_KEY),
                                 "secretKey": enc(S3_SECRET_KEY)}})
        repo = {"s3": self.s3_location(S3_REPO_BUCKET)}
        # Argo's e2e setup: `my-key` (artifact-repository-ref.yaml names it) in `default`,
        # with no default annotation, so the other examples keep the embedded default.
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "artifact-repositories", "namespace": "default"},
                    "data": {"my-key": yaml.safe_dump(repo, sort_keys=False)}})
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "artifact-repositories", "namespace": REPO_NAMESPACE,
                                 "annotations": {
                                     "workflows.argoproj.io/default-artifact-repository":
                                         "default-v1"}},
                    "data": {"default-v1": yaml.safe_dump(repo, sort_keys=False)}})
        return out

    def s3_location(self, bucket, key=None):
        loc = {"endpoint": "%s:%d" % (self.host, self.s3_port), "bucket": bucket,
               "insecure": True, "region": "us-east-1",
               "accessKeySecret": {"name": "my-s3-credentials", "key": "accessKey"},
               "secretKeySecret": {"name": "my-s3-credentials", "key": "secretKey"}}
        if key is not None:
            loc["key"] = key
        return loc

    # ---- rewriting ----------------------------------------------------------

    def rewrite(self, docs):
        """Points every remote location in `docs` (parsed YAML) at the local servers;
        returns how many locations changed."""
        changed = 0

        def visit(node):
            nonlocal changed
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "git" and isinstance(value, dict) and "repo" in value:
                        changed += self._rewrite_git(value)
                    elif key == "http" and isinstance(value, dict) and "url" in value:
                        changed += self._rewrite_http(value)
                    elif key == "s3" and isinstance(value, dict) and "endpoint" in value:
                        changed += self._rewrite_s3(value)
                    elif key == "value" and isinstance(value, str) and "name" in node:
                        changed += self._rewrite_template_url(node)
                    else:
                        visit(value)
            elif isinstance(node, list):
                for item in node:
                    visit(item)

        for d in docs:
            visit(d)
        return changed

    def _rewrite_git(self, loc):
        u = urllib.parse.urlsplit(str(loc["repo"]))
        if u.hostname not in GIT_HOSTS:
            return 0
        name = os.path.basename(u.path.rstrip("/"))
        name = name[:-4] if name.endswith(".git") else name
        if name not in GIT_REPOS:
            return 0
        loc["repo"] = "git://%s:%d/%s.git" % (self.host, self.git_port, name)
        return 1

    def _rewrite_http(self, loc):
        u = urllib.parse.urlsplit(str(loc["url"]))
        if u.hostname not in HTTP_HOSTS:
            return 0
        loc["url"] = urllib.parse.urlunsplit(("http", "%s:%d" % (self.host, self.http_port),
                                              u.path, u.query, ""))
        return 1

    def _rewrite_template_url(self, param):
        """A parameter whose value is a URL an http template example calls."""
        u = urllib.parse.urlsplit(param["value"])
        if u.scheme not in ("http", "https") or u.hostname not in HTTP_TEMPLATE_HOSTS:
            return 0
        param["value"] = urllib.parse.urlunsplit(
            ("http", "%s:%d" % (self.host, self.http_port), "/" + u.hostname + (u.path or "/"),
             u.query, ""))
        return 1

    def _rewrite_s3(self, loc):
        if not self.s3_port or str(loc.get("endpoint")) not in S3_ENDPOINTS:
            return 0
        loc["endpoint"] = "%s:%d" % (self.host, self.s3_port)
        loc["insecure"] = True
        return 1
