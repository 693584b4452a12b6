#!/usr/bin/env python3
"""Workflow conformance runner: submits Argo Workflows' examples to a running
`argonaut up` and compares each final state with tests/workflow_conformance_expected.tsv.

The expected file's header documents the columns and the check language. This
script only talks to the server through the `argonaut` CLI (ARGONAUT_SERVER must
point at it), so it exercises the same path a user does.

Usage:
  workflow_conformance.py --argonaut BIN --corpus DIR --expected TSV
                          [--jobs 8] [--only REGEX] [--report FILE]
                          [--pod-host IP | --up-log FILE] [--work DIR]
Remote artifact locations (git, http, s3) are served by local servers bound to
--pod-host (or the pod gateway named in --up-log, else 127.0.0.1) and the
examples are rewritten to point at them when submitted (tests/conformance_artifacts.py).
Exit status: 0 when every row holds (skips aside), 1 when any differs; each
differing example is named with what its row expected and what it got.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import os
import re
import subprocess
import sys
import threading
import time

import yaml

import conformance_artifacts

TERMINAL = ("Succeeded", "Failed", "Error")
DEFAULT_TIMEOUT = 120.0
POLL_SECONDS = 0.5
# Templates that other examples reference; applied first, never counted.
PREREQUISITES = ["examples/dag-inline-workflowtemplate.yaml",
                 # The parameters of the *-from-configmap examples (Argo's e2e setup has it).
                 "examples/configmaps/simple-parameters-configmap.yaml"]
CRON_LABEL = "workflows.argoproj.io/cron-workflow"
WF_LABEL = "workflows.argoproj.io/workflow"

_print_lock = threading.Lock()


def say(line):
    with _print_lock:
        print(line, flush=True)


class Cli:
    def __init__(self, binary):
        self.binary = binary

    def run(self, args, timeout=30):
        """Runs argonaut; returns (rc, stdout, stderr). Never raises."""
        try:
            p = subprocess.run([self.binary] + args, capture_output=True, text=True,
                               timeout=timeout, errors="replace")
            return p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            return 124, "", "argonaut %s: timed out after %ss" % (" ".join(args), timeout)

    def get_json(self, args):
        rc, out, err = self.run(args + ["-o", "json"])
        if rc != 0:
            return None, err.strip() or out.strip()
        try:
            return json.loads(out), ""
        except ValueError as e:
            return None, "bad JSON from argonaut %s: %s" % (" ".join(args), e)


PHASES = TERMINAL + ("Created", "Suspended", "skip")
# Checks that only steer the run: a row made of these alone checks nothing but the phase.
STEERING = ("timeout", "ns", "resume")
CONTENT = ("log", "output", "artifact", "result", "node", "some", "absent", "count", "global",
           "message", "cron", "object", "deleted")
NO_TEST = "workflows.argoproj.io/no-test"


class Row:
    def __init__(self, path, expected, checks, reason, line, upstream=""):
        self.path = path
        self.expected = expected
        self.checks = [c.strip() for c in checks.split(" ; ") if c.strip()]
        self.reason = reason
        self.line = line
        self.upstream = upstream
        # all:/any: rows: the phase follows from the pods that ran (random by design).
        self.derive, self.derive_globs = "", []
        m = re.match(r"^(all|any):(.+)$", expected)
        if m:
            self.derive, self.derive_globs = m.group(1), m.group(2).split(",")
        elif expected not in PHASES:
            raise ValueError("expected %r: want one of %s, or all:GLOBS / any:GLOBS" %
                             (expected, ", ".join(PHASES)))
        self.timeout = DEFAULT_TIMEOUT
        self.resume = False
        self.namespace = ""
        rest = []
        for c in self.checks:
            if c.startswith("timeout:"):
                self.timeout = float(c[len("timeout:"):])
            elif c.startswith("ns:"):
                self.namespace = c[len("ns:"):]
            elif c == "resume":
                self.resume = True
            else:
                if c.partition(":")[0] not in CONTENT:
                    raise ValueError("unknown check %r" % c)
                rest.append(c)
        self.checks = rest
        if expected == "skip":
            if not reason.strip():
                raise ValueError("a skip needs a reason")
        elif not self.checks:
            raise ValueError("no check besides the phase (every row must check outputs, logs, "
                             "nodes or objects)")
        if self.derive and not reason.strip():
            raise ValueError("an %s: row needs a reason (why the phase is random)" % self.derive)
        if expected == "Created" and any(not c.startswith("object:") for c in self.checks):
            raise ValueError("Created rows take object:KIND/NAME checks only")

    def derived_phase(self, nodes):
        """The phase an all:/any: row expects from this run's Pod nodes, and why."""
        pods = [n for n in nodes if n.get("type") == "Pod"]
        if self.derive == "all":
            matched = [n for n in pods
                       if any(fnmatch.fnmatchcase(n.get("displayName", ""), g)
                              for g in self.derive_globs)]
            bad = ["%s=%s" % (n.get("displayName"), n.get("phase")) for n in matched
                   if n.get("phase") != "Succeeded"]
            if not matched:
                return "Failed", "no Pod node matches %s" % ",".join(self.derive_globs)
            if bad:
                return "Failed", "not every pod succeeded: " + ", ".join(bad[:3])
            return "Succeeded", "all %d pods succeeded" % len(matched)
        lost = [g for g in self.derive_globs
                if not any(fnmatch.fnmatchcase(n.get("displayName", ""), g) and
                           n.get("phase") == "Succeeded" for n in pods)]
        if lost:
            return "Failed", "no successful pod for " + ", ".join(lost)
        return "Succeeded", "a successful pod for each of " + ",".join(self.derive_globs)


def upstream_label(path):
    """The example's no-test label ("-" when it has none, "?" when unreadable)."""
    try:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
    except (OSError, yaml.YAMLError):
        return "?"
    if not docs:
        return "?"
    labels = (docs[0].get("metadata") or {}).get("labels") or {}
    return str(labels.get(NO_TEST) or "-")


def label_problems(row, label):
    """Where the row and upstream's label disagree without a written reason."""
    if row.upstream and label != "?" and row.upstream != label:
        return ["upstream column says %r, the file's label is %r" % (row.upstream, label)]
    if row.reason.strip():
        return []
    if label == "-" and row.expected not in ("Succeeded", "Created"):
        return ["upstream runs this example expecting Succeeded; the row expects %s without "
                "a reason" % row.expected]
    if label == "expected-failure" and row.expected == "Succeeded":
        return ["upstream labels it expected-failure; the row expects Succeeded without a "
                "reason"]
    return []


def load_expected(path):
    """Rows of the expected file; a malformed row stops the run (it could not fail)."""
    rows, seen, errors = [], set(), []
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#") or line.startswith("path\t"):
                continue
            cols = line.split("\t")
            if len(cols) < 2:
                errors.append("%s:%d: want at least path and expected" % (path, n))
                continue
            cols += [""] * (5 - len(cols))
            if cols[0] in seen:
                errors.append("%s:%d: %s has a row already" % (path, n, cols[0]))
                continue
            seen.add(cols[0])
            try:
                rows.append(Row(cols[0], cols[1], cols[2], cols[3], n, cols[4].strip()))
            except ValueError as e:
                errors.append("%s:%d: %s: %s" % (path, n, cols[0], e))
    if errors:
        raise SystemExit("\n".join(errors))
    return rows


def kinds_in(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [d.get("kind", "") for d in yaml.safe_load_all(f) if isinstance(d, dict)]
    except (OSError, yaml.YAMLError) as e:
        return ["<unreadable: %s>" % e]


def applied_names(out):
    """`kind.group/name created` lines of `argonaut apply` -> [(kind.group, name)]."""
    names = []
    for line in out.splitlines():
        m = re.match(r"^(\S+)/(\S+) (created|configured)$", line.strip())
        if m:
            names.append((m.group(1), m.group(2)))
    return names


class Result:
    def __init__(self, row):
        self.row = row
        self.expected = row.expected
        self.passed = False
        self.skipped = False
        self.phase = ""
        self.workflow = ""
        self.seconds = 0.0
        self.problems = []

    def line(self):
        tag = "SKIP" if self.skipped else ("PASS" if self.passed else "FAIL")
        head = "%s %s" % (tag, self.row.path)
        if self.skipped:
            return "%s: %s" % (head, self.row.reason)
        detail = "expected %s, got %s, %.1fs" % (self.expected, self.phase or "-", self.seconds)
        if self.workflow:
            detail = "%s %s" % (self.workflow, detail)
        if self.passed:
            return "%s (%s)" % (head, detail)
        return "%s (%s): %s" % (head, detail, "; ".join(self.problems))


def first_difference(want, got, where):
    """Path of the first place where `got` lacks or changes what `want` holds ("" when it
    holds everything; extra defaults in `got` are fine). Numbers compare by value, and a
    string and a number with the same text are equal (an IntOrString field)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return where
        for k, v in want.items():
            d = first_difference(v, got.get(k), "%s.%s" % (where, k))
            if d:
                return d
        return ""
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return where
        for i, (w, g) in enumerate(zip(want, got)):
            d = first_difference(w, g, "%s[%d]" % (where, i))
            if d:
                return d
        return ""
    if want == got or (want is not None and got is not None and str(want) == str(got)):
        return ""
    return where


def ns_args(row):
    return ["-n", row.namespace] if row.namespace else []


def node_matches(node, glob, wf_name):
    if glob == "@root":
        return node.get("id") == wf_name or node.get("name") == wf_name
    return fnmatch.fnmatchcase(node.get("displayName", ""), glob)


class Runner:
    def __init__(self, cli, corpus, servers=None, work=""):
        self.cli = cli
        self.corpus = corpus
        self.servers = servers
        self.work = work
        self._seq = 0
        self._seq_lock = threading.Lock()

    def prepare(self, path):
        """The file to submit for `path`: a rewritten copy when it names remote artifact
        locations that the local servers stand in for, else `path` itself."""
        if self.servers is None:
            return path
        try:
            with open(path, encoding="utf-8") as f:
                docs = list(yaml.safe_load_all(f))
        except (OSError, yaml.YAMLError):
            return path
        if not self.servers.rewrite(docs):
            return path
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        out = os.path.join(self.work, "submitted", "%03d-%s" % (seq, os.path.basename(path)))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            yaml.safe_dump_all(docs, f, sort_keys=False)
        return out

    # ---- checks -------------------------------------------------------------

    def pod_names(self, wf):
        """node id -> pod name, from the pods labelled with this workflow."""
        name = wf["metadata"]["name"]
        lst, _ = self.cli.get_json(["get", "pods", "-l", "%s=%s" % (WF_LABEL, name), "-n",
                                    wf["metadata"].get("namespace", "default")])
        ids = {}
        for pod in (lst or {}).get("items", []):
            meta = pod.get("metadata", {})
            nid = meta.get("annotations", {}).get("workflows.argoproj.io/node-id")
            if nid:
                ids[nid] = meta.get("name", "")
        return ids

    def node_log(self, wf, node, pods, cache):
        nid = node.get("id", "")
        if nid in cache:
            return cache[nid]
        pod = pods.get(nid)
        if not pod:
            cache[nid] = None
            return None
        rc, out, _ = self.cli.run(["logs", "pod/" + pod, "-n",
                                   wf["metadata"].get("namespace", "default")])
        cache[nid] = out if rc == 0 else None
        return cache[nid]

    @staticmethod
    def substitute(check, nodes, wf_name):
        """Expands ${result:GLOB} and ${output:GLOB/P} from the run's own nodes; returns
        (check, problem)."""
        def one(m):
            kind, ref = m.group(1), m.group(2)
            glob, param = (ref.rpartition("/")[0], ref.rpartition("/")[2]) if kind == "output" \
                else (ref, "")
            for n in nodes:
                if not node_matches(n, glob, wf_name):
                    continue
                outs = n.get("outputs") or {}
                if kind == "result" and outs.get("result") is not None:
                    return str(outs["result"])
                for p in outs.get("parameters", []) or []:
                    if kind == "output" and p.get("name") == param:
                        return str(p.get("value", ""))
            raise LookupError("%s: no value for ${%s:%s}" % (check, kind, ref))

        try:
            return re.sub(r"\$\{(result|output):([^}]+)\}", one, check), ""
        except LookupError as e:
            return check, str(e)

    def run_checks(self, row, wf, cron=None):
        problems = []
        name = wf["metadata"]["name"]
        nodes = list((wf.get("status") or {}).get("nodes", {}).values())
        pods = None
        logs = {}
        for check in row.checks:
            check, problem = self.substitute(check, nodes, name)
            if problem:
                problems.append(problem)
                continue
            kind, _, arg = check.partition(":")
            if kind in ("log", "result", "node", "some", "count"):
                glob, _, want = arg.partition("=")
                matched = [n for n in nodes if node_matches(n, glob, name)]
                if kind == "count":
                    if len(matched) != int(want):
                        problems.append("%s: %d nodes" % (check, len(matched)))
                    continue
                if not matched:
                    problems.append("%s: no node %r" % (check, glob))
                    continue
                if kind == "node":
                    bad = ["%s=%s" % (n.get("displayName"), n.get("phase")) for n in matched
                           if n.get("phase") != want]
                    if bad:
                        problems.append("%s: %s" % (check, ", ".join(bad[:3])))
                elif kind == "some":
                    if not any(n.get("phase") == want for n in matched):
                        problems.append("%s: %s" % (check, ", ".join(
                            "%s=%s" % (n.get("displayName"), n.get("phase")) for n in matched[:3])))
                elif kind == "result":
                    got = [str((n.get("outputs") or {}).get("result", "")) for n in matched]
                    if not any(fnmatch.fnmatchcase(g, want) for g in got):
                        problems.append("%s: results %s" % (check, json.dumps(got[:3])))
                else:
                    if pods is None:
                        pods = self.pod_names(wf)
                    found = [self.node_log(wf, n, pods, logs) for n in matched
                             if n.get("type") in ("Pod", None)]
                    texts = [t for t in found if t is not None]
                    if not texts:
                        problems.append("%s: no log for %d matching node(s)" % (check,
                                                                                  len(matched)))
                    elif not any(want in t for t in texts):
                        problems.append("%s: log was %r" % (check, texts[0][-160:]))
            elif kind == "output":
                target, _, want = arg.partition("=")
                glob, _, param = target.rpartition("/")
                matched = [n for n in nodes if node_matches(n, glob, name)]
                vals = []
                for n in matched:
                    for p in (n.get("outputs") or {}).get("parameters", []) or []:
                        if p.get("name") == param:
                            vals.append(str(p.get("value", "")))
                if not any(fnmatch.fnmatchcase(v, want) for v in vals):
                    problems.append("%s: values %s over %d node(s)" % (check, json.dumps(vals[:3]),
                                                                      len(matched)))
            elif kind == "artifact":
                glob, _, art = arg.rpartition("/")
                matched = [n for n in nodes if node_matches(n, glob, name)]
                arts = [a.get("name") for n in matched
                        for a in (n.get("outputs") or {}).get("artifacts", []) or []]
                if art not in arts:
                    problems.append("%s: artifacts %s over %d node(s)" % (check, arts[:5],
                                                                         len(matched)))
            elif kind == "cron":
                status = (cron or {}).get("status") or {}
                if cron is None:
                    problems.append("%s: not a CronWorkflow run" % check)
                elif not status.get(arg):
                    problems.append("%s: status has %s" % (check, sorted(status)))
            elif kind == "deleted":
                if not re.fullmatch(r"\d+(\.\d+)?", arg):
                    problems.append("%s: want deleted:SECONDS" % check)
                # Checked by run_one against the live store once the workflow has ended.
            elif kind == "absent":
                matched = [n.get("displayName") for n in nodes if node_matches(n, arg, name)]
                if matched:
                    problems.append("%s: present %s" % (check, matched[:3]))
            elif kind == "global":
                param, _, want = arg.partition("=")
                params = ((wf.get("status") or {}).get("outputs") or {}).get("parameters", [])
                vals = [str(p.get("value", "")) for p in params or [] if p.get("name") == param]
                if want not in vals:
                    problems.append("%s: got %s" % (check, vals))
            elif kind == "message":
                msg = (wf.get("status") or {}).get("message", "")
                if arg not in msg:
                    problems.append("%s: message %r" % (check, msg))
            else:
                problems.append("unknown check %r" % check)
        return problems

    # ---- one example --------------------------------------------------------

    def apply(self, path, namespace=""):
        rc, out, err = self.cli.run(["apply", "-f", path] + (["-n", namespace] if namespace else []))
        names = applied_names(out)
        if rc != 0 or not names:
            return None, (err.strip() or out.strip() or "apply rc=%d" % rc).splitlines()[0][:300]
        return names, ""

    def run_template_file(self, res, row, path):
        """Applies a template file; each object: check must be created and read back with
        the file's spec (so a template stored wrongly fails here, not in every user)."""
        submitted = self.prepare(path)
        names, err = self.apply(submitted)
        if names is None:
            res.problems.append("apply: " + err)
            return
        try:
            with open(submitted, encoding="utf-8") as f:
                docs = {((d.get("kind") or "").lower(), (d.get("metadata") or {}).get("name")): d
                        for d in yaml.safe_load_all(f) if isinstance(d, dict)}
        except (OSError, yaml.YAMLError) as e:
            res.problems.append("reading %s: %s" % (submitted, e))
            return
        applied = {(k.split(".")[0].lower(), n) for k, n in names}
        for check in row.checks:
            kind, _, name = check[len("object:"):].partition("/")
            kind = kind.lower()
            if (kind, name) not in applied:
                res.problems.append("%s: not created (apply said %s)" % (
                    check, ", ".join("%s/%s" % a for a in sorted(applied))))
                continue
            got, gerr = self.cli.get_json(["get", kind, name])
            if got is None:
                res.problems.append("%s: get: %s" % (check, gerr))
                continue
            want = json.loads(json.dumps((docs.get((kind, name)) or {}).get("spec")))
            diff = first_difference(want, got.get("spec"), "spec")
            if diff:
                res.problems.append("%s: read back differs at %s" % (check, diff))
        res.phase = "Created"
        res.workflow = "%d object(s)" % len(names)
        res.passed = not res.problems

    def wait_deleted(self, row, name, wf, seconds):
        """The workflow must be gone (ttlStrategy) within `seconds` of its finishedAt, as far
        as the runner's polling can tell."""
        stop = time.monotonic() + seconds + 5
        while time.monotonic() < stop:
            _, err = self.cli.get_json(["get", "wf", name] + ns_args(row))
            if "not found" in err:
                return []
            time.sleep(POLL_SECONDS)
        return ["deleted:%g: %s still there (finishedAt %s)" % (
            seconds, name, (wf.get("status") or {}).get("finishedAt", "-"))]

    def maybe_resume(self, wf, resumed, row):
        spec_templates = {t.get("name"): t for t in (wf.get("spec") or {}).get("templates", [])}
        for node in (wf.get("status") or {}).get("nodes", {}).values():
            if node.get("type") != "Suspend" or node.get("phase") != "Running":
                continue
            tmpl = spec_templates.get(node.get("templateName"), {})
            # A suspend with a duration resumes itself; resuming it early would hide a bug.
            if (tmpl.get("suspend") or {}).get("duration"):
                continue
            if node.get("id") in resumed:
                continue
            resumed.add(node.get("id"))
            rc, _, err = self.cli.run(["resume", wf["metadata"]["name"]] + ns_args(row))
            if rc != 0:
                return "resume: " + err.strip()[:200]
        return ""

    def follow(self, res, name, deadline, row):
        """Polls workflow NAME until it ends (or parks, for Suspended); returns its JSON."""
        wf, last_err, resumed = None, "", set()
        while time.monotonic() < deadline:
            got, err = self.cli.get_json(["get", "wf", name] + ns_args(row))
            if got is None:
                last_err = err
                if wf is not None and "not found" in err:
                    res.problems.append("workflow vanished while %s" %
                                        ((wf.get("status") or {}).get("phase") or "Pending"))
                    return wf
            else:
                wf = got
                phase = (wf.get("status") or {}).get("phase", "")
                if phase in TERMINAL:
                    return wf
                if row.expected == "Suspended" and phase == "Running" and not self.run_checks(
                        row, wf):
                    return wf
                if row.resume and phase == "Running":
                    e = self.maybe_resume(wf, resumed, row)
                    if e:
                        res.problems.append(e)
                        return wf
            time.sleep(POLL_SECONDS)
        res.problems.append("timed out after %.0fs%s" % (row.timeout, (
            " (%s)" % last_err) if wf is None and last_err else ""))
        return wf

    def run_cron(self, res, row, cron_name, deadline):
        """Waits for the first Workflow the CronWorkflow schedules; returns its name."""
        while time.monotonic() < deadline:
            lst, _ = self.cli.get_json(["get", "wf", "-l", "%s=%s" % (CRON_LABEL, cron_name)] +
                                       ns_args(row))
            items = (lst or {}).get("items", [])
            if items:
                return items[0]["metadata"]["name"]
            time.sleep(1.0)
        res.problems.append("no Workflow scheduled within %.0fs" % row.timeout)
        return ""

    def run_one(self, row):
        res = Result(row)
        start = time.monotonic()
        path = os.path.join(self.corpus, row.path)
        try:
            if row.expected == "skip":
                res.skipped = True
                return res
            if row.expected == "Created":
                self.run_template_file(res, row, path)
                return res
            kinds = kinds_in(path)
            deadline = start + row.timeout
            names, err = self.apply(self.prepare(path), row.namespace)
            if names is None:
                res.problems.append("apply: " + err)
                return res
            kind, name = names[0]
            cron = ""
            if kinds and kinds[0] == "CronWorkflow":
                cron = name
                name = self.run_cron(res, row, cron, deadline)
                if not name:
                    return res
            res.workflow = name
            wf = self.follow(res, name, deadline, row)
            cron_obj = None
            if cron:
                cron_obj, _ = self.cli.get_json(["get", "cwf", cron] + ns_args(row))
                self.cli.run(["delete", "cwf", cron] + ns_args(row))
            if wf is None:
                return res
            res.phase = (wf.get("status") or {}).get("phase", "") or "Pending"
            if res.problems:
                self.cli.run(["delete", "wf", name] + ns_args(row))
                return res
            want, why = row.expected, ""
            if row.derive:
                want, why = row.derived_phase(
                    list((wf.get("status") or {}).get("nodes", {}).values()))
                res.expected = want
            if row.expected == "Suspended":
                if res.phase != "Running":
                    res.problems.append("expected to park suspended, got %s" % res.phase)
            elif res.phase != want:
                msg = (wf.get("status") or {}).get("message", "")
                res.problems.append("expected %s%s, got %s%s" % (
                    want, (" (%s)" % why) if why else "", res.phase, (": " + msg) if msg else ""))
                # The root's message names a child id; the failing leaf says why.
                leaves = ["%s: %s" % (n.get("displayName"), n.get("message", "")[:160])
                          for n in (wf.get("status") or {}).get("nodes", {}).values()
                          if n.get("phase") in ("Failed", "Error") and not n.get("children")]
                if leaves:
                    res.problems.append("failed node " + " | ".join(leaves[:2]))
            res.problems += self.run_checks(row, wf, cron_obj if cron else None)
            for check in row.checks:
                if check.startswith("deleted:") and not res.problems:
                    res.problems += self.wait_deleted(row, name, wf, float(check[len("deleted:"):]))
            if row.expected == "Suspended":
                self.cli.run(["delete", "wf", name] + ns_args(row))
            res.passed = not res.problems
            return res
        except Exception as e:  # one broken example must not stop the run
            res.problems.append("runner error: %r" % e)
            return res
        finally:
            res.seconds = time.monotonic() - start


class _FakeLogs(Runner):
    """Runner whose pod logs come from a dict: lets --selftest exercise the checks offline."""

    def __init__(self, logs):
        super().__init__(None, "")
        self.logs = logs

    def pod_names(self, wf):
        return {nid: nid for nid in self.logs}

    def node_log(self, wf, node, pods, cache):
        return self.logs.get(node.get("id"))


def selftest():
    """The check language against a hand-written status: every check must pass or fail as
    stated, so a broken checker cannot turn misses into passes."""
    wf = {"metadata": {"name": "w"}, "status": {
        "phase": "Failed", "message": "child 'w-2' failed",
        "outputs": {"parameters": [{"name": "g", "value": "hello world"}]},
        "nodes": {
            "w": {"id": "w", "name": "w", "displayName": "w", "type": "Steps",
                  "phase": "Failed"},
            "w-1": {"id": "w-1", "name": "w[0].a(0:x)", "displayName": "a(0:x)", "type": "Pod",
                    "phase": "Succeeded", "outputs": {
                        "result": "heads", "parameters": [{"name": "p", "value": "3"}]}},
            "w-2": {"id": "w-2", "name": "w[0].a(1:y)", "displayName": "a(1:y)", "type": "Pod",
                    "phase": "Failed"},
            "w-3": {"id": "w-3", "name": "w[1].b", "displayName": "b", "type": "Skipped",
                    "phase": "Skipped"}}}}
    r = _FakeLogs({"w-1": "x says hi\n", "w-2": "boom\n"})
    cases = [("log:a(0:*=says hi", True), ("log:a(*=boom", True), ("log:a(0:*=boom", False),
             ("log:b=anything", False), ("log:zz=x", False),
             ("node:a(1:*=Failed", True), ("node:a(*=Failed", False), ("node:b=Skipped", True),
             ("absent:c", True), ("absent:b", False), ("count:a(*=2", True), ("count:a(*=3", False),
             ("result:a(0:x)=[ht][ea][ai][dl]s", True), ("result:a(0:x)=tails", False),
             ("output:a(0:*/p=3", True), ("output:a(0:*/p=4", False), ("output:a(*/q=*", False),
             ("global:g=hello world", True), ("global:g=hello", False),
             ("message:failed", True), ("message:succeeded", False)]
    wf["status"]["nodes"]["w-1"]["outputs"]["artifacts"] = [{"name": "art"}]
    cases += [("some:a(*=Failed", True), ("some:a(*=Error", False),
              ("artifact:a(0:*/art", True), ("artifact:a(*/other", False),
              ("node:a(0:${result:a(0:*}=Succeeded", False),
              ("result:a(0:x)=${result:a(0:*}", True), ("output:a(0:*/p=${output:a(0:*/p}", True),
              ("log:a(0:*=${output:a(0:*/p}", False), ("log:a(0:*=${result:b}", False),
              ("log:a(0:*=${result:zz}", False), ("cron:lastScheduledTime", False),
              ("deleted:5", True), ("deleted:soon", False)]
    bad = []
    for check, want in cases:
        row = Row("selftest", "Failed", check, "", 0)
        got = not r.run_checks(row, wf)
        if got != want:
            bad.append("%s: passed=%s, want %s" % (check, got, want))
    n = len(cases)
    cron = {"status": {"lastScheduledTime": "2026-12-07T00:00:00Z"}}
    for check, c, want in [("cron:lastScheduledTime", cron, True),
                           ("cron:active", cron, False)]:
        n += 1
        got = not r.run_checks(Row("selftest", "Failed", check, "", 0), wf, c)
        if got != want:
            bad.append("%s with a cron: passed=%s, want %s" % (check, got, want))
    nodes = list(wf["status"]["nodes"].values())
    for expected, want in [("all:a(*", "Failed"), ("all:a(0*", "Succeeded"), ("all:zz", "Failed"),
                           ("any:a(*", "Succeeded"), ("any:a(1*", "Failed"),
                           ("any:a(0*,a(1*", "Failed"), ("all:*", "Failed")]:
        n += 1
        got, _ = Row("selftest", expected, "count:a(*=2", "random", 0).derived_phase(nodes)
        if got != want:
            bad.append("derived %s: %s, want %s" % (expected, got, want))
    # Rows that could not fail, or say nothing, are refused when the table is read.
    for expected, checks, reason in [("Succeeded", "", ""), ("Succeeded", "timeout:30 ; ns:x", ""),
                                     ("Succeeded|Failed", "log:a=b", "random"),
                                     ("Succeeded", "bogus:x", ""), ("all:a", "log:a=b", ""),
                                     ("skip", "", ""), ("Created", "log:a=b", ""),
                                     ("Sucseeded", "log:a=b", "")]:
        n += 1
        try:
            Row("selftest", expected, checks, reason, 0)
            bad.append("row %r %r %r accepted" % (expected, checks, reason))
        except ValueError:
            pass
    for upstream, label, expected, reason, want in [
            ("", "-", "Failed", "", False), ("", "-", "Failed", "why", True),
            ("", "-", "Succeeded", "", True), ("", "expected-failure", "Succeeded", "", False),
            ("", "expected-failure", "Failed", "", True), ("", "flaky", "Failed", "", True),
            ("flaky", "-", "Succeeded", "why", False), ("-", "-", "Succeeded", "", True)]:
        n += 1
        row = Row("selftest", expected, "log:a=b", reason, 0, upstream)
        if (not label_problems(row, label)) != want:
            bad.append("label %r/%r for %s %r: holds=%s" % (upstream, label, expected, reason,
                                                           not want))
    for want_doc, got_doc, same in [({"a": [1, {"b": "2"}]}, {"a": [1, {"b": 2, "c": 3}]}, True),
                                    ({"a": [1]}, {"a": [1, 2]}, False), ({"a": 1}, {}, False),
                                    ({"a": {"b": "x"}}, {"a": {"b": "y"}}, False)]:
        n += 1
        if (first_difference(want_doc, got_doc, "spec") == "") != same:
            bad.append("first_difference(%s, %s)" % (want_doc, got_doc))
    for b in bad:
        print("selftest FAIL " + b)
    print("selftest: %d/%d checks behave" % (n - len(bad), n))
    return 1 if bad else 0


def main():
    if sys.argv[1:] == ["--selftest"]:
        return selftest()
    ap = argparse.ArgumentParser()
    ap.add_argument("--argonaut", required=True)
    ap.add_argument("--corpus", required=True, help="the argo-workflows corpus directory")
    ap.add_argument("--expected", required=True)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--only", default="", help="regex over paths: run only those")
    ap.add_argument("--report", default="", help="write a JSON report here")
    ap.add_argument("--timeout-cap", type=float, default=0, help="cap every budget (seconds)")
    ap.add_argument("--pod-host", default="",
                    help="address pods reach the host at, for the artifact servers")
    ap.add_argument("--up-log", default="", help="argonaut up's log: its pod gateway address")
    ap.add_argument("--work", default="", help="scratch directory (artifact servers' files)")
    args = ap.parse_args()

    rows = load_expected(args.expected)
    if args.only:
        rows = [r for r in rows if re.search(args.only, r.path)]
    if args.timeout_cap > 0:
        for r in rows:
            r.timeout = min(r.timeout, args.timeout_cap)
    cli = Cli(args.argonaut)
    work = args.work or os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"),
                                     "conformance-%d" % os.getpid())
    host = args.pod_host or pod_gateway(args.up_log) or "127.0.0.1"
    servers = conformance_artifacts.ArtifactServers(host, os.path.join(work, "servers"))
    try:
        servers.start()
    except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
        say("note: artifact servers not started (%r): remote locations stay as written" % e)
        servers.stop()
        servers = None
    try:
        return run(args, cli, Runner(cli, args.corpus, servers, work), rows)
    finally:
        if servers is not None:
            servers.stop()


def pod_gateway(up_log):
    """The pod bridge's gateway address from argonaut up's log ("" when pods share the
    host network or the log does not say)."""
    if not up_log:
        return ""
    try:
        with open(up_log, encoding="utf-8", errors="replace") as f:
            m = re.search(r'gateway["=: ]+"?(\d+\.\d+\.\d+\.\d+)', f.read())
    except OSError:
        return ""
    return m.group(1) if m else ""


def run(args, cli, runner, rows):
    started = time.monotonic()
    # Upstream's labels first: a row that disagrees with them silently is a miss before
    # anything runs.
    label_misses = {}
    for row in rows:
        label = upstream_label(os.path.join(args.corpus, row.path))
        got = label_problems(row, label)
        if got:
            label_misses[row.path] = got
    servers = runner.servers
    if servers is not None:
        for n in servers.notes:
            say("note: " + n)
        say("artifact servers on %s: git %d, http %d, s3 %s" % (
            servers.host, servers.git_port, servers.http_port, servers.s3_port or "-"))
        extra = servers.setup_manifests()
        if extra:
            p = os.path.join(runner.work, "artifact-setup.yaml")
            with open(p, "w", encoding="utf-8") as f:
                yaml.safe_dump_all(extra, f, sort_keys=False)
            names, err = runner.apply(p)
            if names is None:
                say("note: artifact setup not applied: %s" % err)

    # The environment Argo's e2e tests provide (semaphore ConfigMap), then
    # corpus files other examples reference.
    setup = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conformance_setup.yaml")
    names, err = runner.apply(setup)
    if names is None:
        say("note: setup %s not applied: %s" % (setup, err))
    for p in PREREQUISITES:
        names, err = runner.apply(os.path.join(args.corpus, p))
        if names is None:
            say("note: prerequisite %s not applied: %s" % (p, err))
    results = {}
    # Templates first: later examples reference them.
    for row in rows:
        if row.expected == "Created":
            results[row.path] = runner.run_one(row)
            say(results[row.path].line())
    rest = [r for r in rows if r.expected != "Created"]
    # Longest budgets first so the slow examples overlap with everything else.
    rest.sort(key=lambda r: -r.timeout)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(runner.run_one, r): r for r in rest}
        for fut in concurrent.futures.as_completed(futures):
            res = fut.result()
            results[res.row.path] = res
            say(res.line())

    ordered = [results[r.path] for r in rows]
    for r in ordered:
        if r.row.path in label_misses:
            r.passed = False
            r.problems += label_misses[r.row.path]
    passed = sum(1 for r in ordered if r.passed)
    skipped = sum(1 for r in ordered if r.skipped)
    misses = [r for r in ordered if not r.passed and not r.skipped]
    say("")
    say("examples that differ from their row (%d):" % len(misses))
    for r in misses:
        say("  %s: expected %s, got %s" % (r.row.path, r.expected, r.phase or "-"))
        for p in r.problems:
            say("      " + p)
    say("skipped (%d):" % skipped)
    for r in ordered:
        if r.skipped:
            say("  %s: %s" % (r.row.path, r.row.reason))
    say("conformance: %d/%d rows hold (%d skipped, %d differ, %.0fs)" %
        (passed, len(ordered), skipped, len(misses), time.monotonic() - started))
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump([{"path": r.row.path, "expected": r.expected, "phase": r.phase,
                        "workflow": r.workflow, "passed": r.passed, "skipped": r.skipped,
                        "seconds": round(r.seconds, 1), "problems": r.problems}
                       for r in ordered], f, indent=1)
    return 0 if not misses else 1


if __name__ == "__main__":
    sys.exit(main())
