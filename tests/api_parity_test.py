#!/usr/bin/env python3
"""Walks Argo Server's OpenAPI document against a running `argonaut up`.

For every GET path that does not stream, the path is called with real objects
filled in (created first through the same REST API) and:
  - the route exists (a 404 from the router itself, "no API ...", or a body
    that is not a grpc-gateway error, counts as not served);
  - a 200 body validates against the definition the document names (types,
    required fields, enums, unknown keys where the definition lists its
    properties, additionalProperties maps);
  - a call for a missing object answers a grpc-gateway error body
    ({code, message, details}) that validates against grpc.gateway.runtime.Error.
The bodies of the writes used to create the objects are validated too.

Paths owned by work that has not landed (OWNED_ELSEWHERE) are reported, not
failed, while their route is missing; once served they are checked like the
rest. Prints one line per check and a summary with the counts; exits 1 when any
served path fails.

Usage: api_parity_test.py --swagger FILE --base http://127.0.0.1:PORT
       [--token TOKEN] [--argonaut CLI] [--namespace NS]
       api_parity_test.py --selftest
"""

import argparse
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

REF = "#/definitions/"
# Path prefixes whose routes belong to work that has not landed: reported, not
# failed, while missing. Every path of the document is served today.
OWNED_ELSEWHERE = ()
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class Validator:
    """The subset of Swagger 2.0 schemas the Argo document uses."""

    def __init__(self, doc):
        self.defs = doc.get("definitions", {})

    def check(self, value, schema, path="$", extras=None):
        """Problems (a list); keys the definition does not list go to `extras`."""
        problems = []
        self._extras = extras if extras is not None else []
        self._walk(value, schema, path, problems, 0)
        return problems

    def check_def(self, value, name, extras=None):
        return self.check(value, {"$ref": REF + name}, extras=extras)

    def _walk(self, v, schema, path, problems, depth):
        if depth > 80 or not isinstance(schema, dict):
            return
        if "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith(REF):
                problems.append(f"{path}: unsupported $ref {ref}")
                return
            name = ref[len(REF):]
            # Kubernetes types whose JSON form differs from the protobuf the
            # document was generated from.
            if name == "io.k8s.apimachinery.pkg.apis.meta.v1.Time":
                if not (isinstance(v, str) and RFC3339.match(v)):
                    problems.append(f"{path}: expected an RFC 3339 time, got {json.dumps(v)}")
                return
            if name == "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":
                if not (isinstance(v, str) and RFC3339.match(v)):
                    problems.append(f"{path}: expected an RFC 3339 time, got {json.dumps(v)}")
                return
            if name == "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
                if not (isinstance(v, str) or _is_int(v)):
                    problems.append(f"{path}: expected an integer or a string")
                return
            if name == "io.k8s.apimachinery.pkg.api.resource.Quantity":
                if not (isinstance(v, str) or _is_number(v)):
                    problems.append(f"{path}: expected a quantity")
                return
            if name in ("google.protobuf.Any", "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"):
                return
            if name not in self.defs:
                problems.append(f"{path}: unknown definition {name}")
                return
            self._walk(v, self.defs[name], path, problems, depth + 1)
            return
        if v is None:
            return  # grpc-gateway omits or nulls an absent value
        typ = schema.get("type", "")
        fmt = schema.get("format", "")
        if "enum" in schema and v not in schema["enum"]:
            problems.append(f"{path}: {json.dumps(v)} not one of {schema['enum']}")
        if typ == "string":
            if fmt in ("int64", "uint64"):
                if not (_is_int(v) or (isinstance(v, str) and re.fullmatch(r"-?\d+", v))):
                    problems.append(f"{path}: expected an {fmt}, got {json.dumps(v)}")
            elif fmt == "byte":
                if not isinstance(v, str):
                    problems.append(f"{path}: expected base64 bytes, got {type(v).__name__}")
            elif fmt == "date-time":
                if not (isinstance(v, str) and RFC3339.match(v)):
                    problems.append(f"{path}: expected an RFC 3339 time, got {json.dumps(v)}")
            elif not isinstance(v, str):
                problems.append(f"{path}: expected a string, got {_kind(v)} {json.dumps(v)}")
            return
        if typ == "integer":
            # grpc-gateway writes 64-bit integers as decimal strings.
            if not (_is_int(v) or (isinstance(v, str) and re.fullmatch(r"-?\d+", v))):
                problems.append(f"{path}: expected an integer, got {json.dumps(v)}")
            return
        if typ == "number":
            if not _is_number(v):
                problems.append(f"{path}: expected a number, got {_kind(v)}")
            return
        if typ == "boolean":
            if not isinstance(v, bool):
                problems.append(f"{path}: expected a boolean, got {_kind(v)}")
            return
        if typ == "array":
            if not isinstance(v, list):
                problems.append(f"{path}: expected an array, got {_kind(v)}")
                return
            items = schema.get("items", {})
            for i, item in enumerate(v):
                self._walk(item, items, f"{path}[{i}]", problems, depth + 1)
            return
        if typ == "object" or "properties" in schema or "allOf" in schema:
            if not isinstance(v, dict):
                problems.append(f"{path}: expected an object, got {_kind(v)}")
                return
            props = dict(schema.get("properties", {}))
            required = list(schema.get("required", []))
            for part in schema.get("allOf", []):
                resolved = part
                if part.get("$ref", "").startswith(REF):
                    resolved = self.defs.get(part["$ref"][len(REF):], {})
                props.update(resolved.get("properties", {}))
                required += resolved.get("required", [])
            for req in required:
                if req not in v:
                    problems.append(f"{path}: missing required {req}")
            extra = schema.get("additionalProperties")
            for key, sub in v.items():
                p = f"{path}.{key}"
                if key in props:
                    self._walk(sub, props[key], p, problems, depth + 1)
                elif isinstance(extra, dict):
                    self._walk(sub, extra, p, problems, depth + 1)
                elif extra is False:
                    problems.append(f"{p}: not allowed (additionalProperties: false)")
                elif props:
                    # Open in Swagger terms (Argo's clients ignore unknown
                    # keys), and the document describes the argo-events
                    # types in their protobuf form (webhookContext, status
                    # nested) where the JSON is inline: noted, not failed.
                    self._extras.append(p)


def _is_int(v):
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v == int(v))


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _kind(v):
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            int: "integer", float: "number"}.get(type(v), type(v).__name__)


class Api:
    def __init__(self, base, token):
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        if data is not None or method in ("POST", "PUT"):
            req.add_header("Content-Type", "application/json")
            if data is None:
                req.data = b"{}"
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")


def parse(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def error_body_problems(validator, status, text):
    body = parse(text)
    if not isinstance(body, dict):
        return [f"HTTP {status}: the error body is not JSON: {text[:120]!r}"]
    problems = validator.check_def(body, "grpc.gateway.runtime.Error")
    for key in ("code", "message", "details"):
        if key not in body:
            problems.append(f"HTTP {status}: error body without {key}: {text[:160]}")
    if "details" in body and not isinstance(body["details"], list):
        problems.append("error body: details is not a list")
    return problems


def route_missing(status, text):
    if status not in (404, 405, 501):
        return False
    body = parse(text)
    if not isinstance(body, dict) or "code" not in body:
        return True
    msg = str(body.get("message", ""))
    return status != 404 or msg.startswith("no API") or msg.startswith("events service")


def owned_elsewhere(path):
    return any(path.startswith(p) for p in OWNED_ELSEWHERE)


WF_NAME = "parity-wf"


def fixtures(ns):
    """The objects the walk needs, in Argo's shapes (numbers where Argo
    writers often put them, to see them answered as strings)."""
    template = {
        "name": "main",
        "inputs": {"parameters": [{"name": "n", "value": 3}]},
        "outputs": {"parameters": [
            {"name": "out", "valueFrom": {"path": "/tmp/out"}, "globalName": "g"}],
            "artifacts": [{"name": "out-art", "path": "/tmp/out"}]},
        "container": {"image": "busybox", "command": ["sh", "-c"],
                      "args": ["echo 42 > /tmp/out"]},
    }
    wf_spec = {"entrypoint": "main", "arguments": {"parameters": [{"name": "n", "value": 7}]},
               "templates": [template]}
    return {
        "workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                     "metadata": {"name": WF_NAME, "namespace": ns,
                                  "labels": {"parity": "yes"}},
                     "spec": wf_spec},
        "workflowtemplate": {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
                             "metadata": {"name": "parity-wft", "namespace": ns},
                             "spec": wf_spec},
        "clusterworkflowtemplate": {"apiVersion": "argoproj.io/v1alpha1",
                                    "kind": "ClusterWorkflowTemplate",
                                    "metadata": {"name": "parity-cwft"}, "spec": wf_spec},
        # The singular v3 `schedule`, which v4 answers as `schedules`.
        "cronworkflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow",
                         "metadata": {"name": "parity-cron", "namespace": ns},
                         "spec": {"schedule": "0 0 1 1 *", "suspend": True,
                                  "workflowSpec": wf_spec}},
        "eventsource": {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource",
                        "metadata": {"name": "parity-es", "namespace": ns},
                        "spec": {"webhook": {"example": {"port": "12000",
                                                         "endpoint": "/example",
                                                         "method": "POST"}}}},
        "sensor": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor",
                   "metadata": {"name": "parity-sensor", "namespace": ns},
                   "spec": {"dependencies": [{"name": "d", "eventSourceName": "parity-es",
                                              "eventName": "example"}],
                            "triggers": [{"template": {"name": "log", "log": {}}}]}},
    }


class Walk:
    def __init__(self, doc, api, ns):
        self.doc = doc
        self.v = Validator(doc)
        self.api = api
        self.ns = ns
        self.failures = []
        self.pending = []
        self.lines = []
        self.values = {"namespace": ns, "name": WF_NAME}
        self.served = self.validated = self.total = self.extra_keys = 0

    def log(self, line):
        self.lines.append(line)
        print(line, flush=True)

    def note(self, extras):
        if not extras:
            return ""
        self.extra_keys += len(extras)
        shown = ", ".join(extras[:4]) + (" ..." if len(extras) > 4 else "")
        return f" (keys not in the definition: {shown})"

    def fail(self, what, problems):
        self.failures.append((what, problems))
        self.log(f"FAIL {what}")
        for p in problems[:25]:
            self.log(f"     {p}")
        if len(problems) > 25:
            self.log(f"     ... and {len(problems) - 25} more")

    def write(self, method, path, body, definition):
        status, text = self.api.call(method, path, body)
        what = f"{method} {path}"
        if status != 200:
            self.fail(what, [f"HTTP {status}: {text[:300]}"])
            return None
        obj = parse(text)
        extras = []
        problems = self.v.check_def(obj, definition, extras)
        if problems:
            self.fail(f"{what} (body)", problems)
        else:
            self.log(f"ok   {what}{self.note(extras)}")
        return obj

    def setup(self):
        ns, f = self.ns, fixtures(self.ns)
        w = "io.argoproj.workflow.v1alpha1."
        self.write("POST", f"/api/v1/workflow-templates/{ns}", {"template": f["workflowtemplate"]},
                   w + "WorkflowTemplate")
        self.write("POST", "/api/v1/cluster-workflow-templates",
                   {"template": f["clusterworkflowtemplate"]}, w + "ClusterWorkflowTemplate")
        self.write("POST", f"/api/v1/cron-workflows/{ns}", {"cronWorkflow": f["cronworkflow"]},
                   w + "CronWorkflow")
        self.write("PUT", f"/api/v1/cron-workflows/{ns}/parity-cron/suspend", {}, w + "CronWorkflow")
        wf = self.write("POST", f"/api/v1/workflows/{ns}", {"workflow": f["workflow"]},
                        w + "Workflow")
        self.write("POST", f"/api/v1/workflows/{ns}/lint", {"workflow": f["workflow"]},
                   w + "Workflow")
        es = "github.com.argoproj.argo_events.pkg.apis.events.v1alpha1."
        self.write("POST", f"/api/v1/event-sources/{ns}", {"eventSource": f["eventsource"]},
                   es + "EventSource")
        self.write("POST", f"/api/v1/sensors/{ns}", {"sensor": f["sensor"]}, es + "Sensor")
        self.write("POST", f"/api/v1/sync/{ns}",
                   {"cmName": "parity-sync", "key": "parity-key", "limit": 2,
                    "type": "CONFIGMAP"}, "sync.SyncLimitResponse")
        self.values["key"] = "parity-key"
        if isinstance(wf, dict):
            self.values["uid"] = wf.get("metadata", {}).get("uid", "none")
        # Wait for the workflow to finish, so node outputs exist.
        deadline = time.time() + 120
        final = None
        while time.time() < deadline:
            status, text = self.api.call("GET", f"/api/v1/workflows/{ns}/{WF_NAME}")
            obj = parse(text) if status == 200 else None
            phase = (obj or {}).get("status", {}).get("phase", "")
            if phase in ("Succeeded", "Failed", "Error"):
                final = obj
                break
            time.sleep(0.5)
        if final is None:
            self.fail("workflow parity-wf finished", ["did not finish within 120 s"])
            return
        if final["status"]["phase"] != "Succeeded":
            self.fail("workflow parity-wf Succeeded",
                      [f"phase {final['status']['phase']}: {final['status'].get('message')}"])
        nodes = final.get("status", {}).get("nodes", {})
        pod_nodes = [n for n in nodes.values() if n.get("type") == "Pod"]
        if pod_nodes:
            self.values["nodeId"] = pod_nodes[0]["id"]
            self.values["podName"] = pod_nodes[0]["id"]
        self.values["id"] = WF_NAME
        self.values["idDiscriminator"] = "workflow"
        self.values["artifactDiscriminator"] = "outputs"
        self.values["artifactName"] = "out-art"
        # Parameter values are strings wherever they appear (Argo's schema).
        bad = []
        outs = final.get("status", {}).get("outputs", {}).get("parameters", [])
        if not any(isinstance(p.get("value"), str) and p["value"].strip() == "42"
                   for p in outs):
            bad.append(f"status.outputs.parameters: expected g=\"42\", got {json.dumps(outs)}")
        args = final.get("spec", {}).get("arguments", {}).get("parameters", [])
        if not any(p.get("value") == "7" for p in args):
            bad.append(f"spec.arguments.parameters: expected n=\"7\", got {json.dumps(args)}")
        for n in pod_nodes:
            for p in n.get("inputs", {}).get("parameters", []):
                if not isinstance(p.get("value"), str):
                    bad.append(f"node {n['id']} input {p.get('name')}: {json.dumps(p)}")
            for p in n.get("outputs", {}).get("parameters", []):
                if not isinstance(p.get("value"), str):
                    bad.append(f"node {n['id']} output {p.get('name')}: {json.dumps(p)}")
        if bad:
            self.fail("parameter values as strings", bad)
        else:
            self.log("ok   parameter values are strings (arguments, node inputs/outputs, status)")

    def fill(self, path, names):
        out = path
        for key in re.findall(r"{([^}]+)}", path):
            val = names.get(key, self.values.get(key))
            if val is None:
                return None
            out = out.replace("{" + key + "}", urllib.parse.quote(str(val), safe=""))
        return out

    def names_for(self, path):
        """The object name a path's {name} means."""
        kinds = {"/api/v1/workflow-templates/": "parity-wft",
                 "/api/v1/cluster-workflow-templates/": "parity-cwft",
                 "/api/v1/cron-workflows/": "parity-cron",
                 "/api/v1/event-sources/": "parity-es",
                 "/api/v1/sensors/": "parity-sensor"}
        for prefix, name in kinds.items():
            if path.startswith(prefix):
                return {"name": name}
        return {}

    def query_for(self, path):
        """Query parameters a path needs (Argo's sync limits name their ConfigMap)."""
        if path.startswith("/api/v1/sync/"):
            return "?cmName=parity-sync&type=CONFIGMAP"
        if path == "/api/v1/archived-workflows-label-values":
            # Argo wants the one label key whose values are listed here.
            return "?listOptions.labelSelector=parity"
        return ""

    def get_paths(self):
        for path, item in sorted(self.doc.get("paths", {}).items()):
            op = item.get("get")
            if op is None:
                continue
            ok = op.get("responses", {}).get("200", {})
            schema = ok.get("schema", {})
            streaming = schema.get("title", "").startswith("Stream result") or (
                "result" in schema.get("properties", {}) and schema.get("type") == "object")
            yield path, op, schema, streaming

    def walk(self):
        for path, op, schema, streaming in self.get_paths():
            if streaming:
                self.log(f"skip GET {path} (streaming)")
                continue
            self.total += 1
            names = self.names_for(path)
            url = self.fill(path, names)
            query = self.query_for(path)
            if url is not None:
                url += query
            if url is None:
                self.fail(f"GET {path}", ["no value for a path parameter"])
                continue
            status, text = self.api.call("GET", url)
            elsewhere = owned_elsewhere(path)
            binary = schema.get("type") == "string" and schema.get("format") == "binary"
            # Argo's artifact server answers errors as plain text (http.Error); an
            # unrouted path gets the HTTP server's empty 404.
            missing = (status == 404 and not text) if binary else route_missing(status, text)
            if missing:
                msg = f"GET {url}: HTTP {status} {text[:160]!r}"
                if elsewhere:
                    self.pending.append(path)
                    self.log(f"pend GET {path} (owned elsewhere, not served yet): {msg}")
                else:
                    self.fail(f"GET {path}", [f"route not served: {msg}"])
                continue
            self.served += 1
            if binary:
                # A file download: a 200 with the bytes, or a 4xx with the reason as
                # text. Input artifacts: the step has none, so 404 is the answer.
                want = 404 if path.startswith("/input-artifacts") else 200
                if status != want:
                    self.fail(f"GET {path}", [f"GET {url}: HTTP {status} (want {want}): "
                                              f"{text[:200]}"])
                    continue
                self.validated += 1
                self.log(f"ok   GET {path} (HTTP {status}, {len(text)} bytes)")
                continue
            if status != 200:
                problems = [f"GET {url}: HTTP {status}: {text[:300]}"]
                problems += error_body_problems(self.v, status, text)
                self.fail(f"GET {path}", problems)
                continue
            body = parse(text)
            extras = []
            problems = (["body is not JSON"] if body is None else
                        self.v.check(body, schema, extras=extras))
            if problems:
                self.fail(f"GET {path} (body)", problems)
                continue
            self.validated += 1
            self.log(f"ok   GET {path}{self.note(extras)}")
            # The same route for a missing object: a grpc-gateway error.
            if "{name}" in path or "{key}" in path or "{uid}" in path:
                missing = {k: "parity-missing" for k in ("name", "key", "uid")}
                murl = self.fill(path, missing) + query
                ms, mt = self.api.call("GET", murl)
                if ms == 200:
                    self.fail(f"GET {path} (missing object)", [f"HTTP 200 for {murl}"])
                    continue
                problems = error_body_problems(self.v, ms, mt)
                if problems:
                    self.fail(f"GET {path} (missing object error body)", problems)
                else:
                    self.log(f"ok   GET {path} missing -> HTTP {ms} error body")

    def writes(self):
        """The document's write paths this work serves, with their bodies checked."""
        ns, w = self.ns, "io.argoproj.workflow.v1alpha1."
        self.write("PUT", f"/api/v1/sync/{ns}/parity-key",
                   {"cmName": "parity-sync", "limit": 5}, "sync.SyncLimitResponse")
        status, text = self.api.call("GET", f"/api/v1/sync/{ns}/parity-key?cmName=parity-sync")
        if status != 200 or (parse(text) or {}).get("limit") not in (5, "5"):
            self.fail("sync limit updated", [f"HTTP {status}: {text[:200]}"])
        status, text = self.api.call("POST", f"/api/v1/sync/{ns}",
                                     {"cmName": "parity-sync", "key": "parity-key", "limit": 1})
        problems = error_body_problems(self.v, status, text)
        if status != 409 or problems:
            self.fail("POST sync limit twice -> 409", [f"HTTP {status}: {text[:200]}"] + problems)
        self.write("DELETE", f"/api/v1/sync/{ns}/parity-key?cmName=parity-sync", None,
                   "sync.DeleteSyncLimitResponse")
        status, text = self.api.call("GET", f"/api/v1/sync/{ns}/parity-key?cmName=parity-sync")
        if status != 404 or error_body_problems(self.v, status, text):
            self.fail("sync limit deleted -> 404", [f"HTTP {status}: {text[:200]}"])
        cron = self.write("PUT", f"/api/v1/cron-workflows/{ns}/parity-cron/resume", {},
                          w + "CronWorkflow")
        if isinstance(cron, dict) and cron.get("spec", {}).get("suspend"):
            self.fail("cron resume", ["spec.suspend still true"])
        self.write("PUT", f"/api/v1/cron-workflows/{ns}/parity-cron/suspend", {},
                   w + "CronWorkflow")
        self.write("POST", "/api/v1/tracking/event", {"name": "parity"},
                   w + "CollectEventResponse")
        f = fixtures(ns)
        self.write("POST", f"/api/v1/workflow-templates/{ns}/lint",
                   {"template": f["workflowtemplate"]}, w + "WorkflowTemplate")
        self.write("POST", "/api/v1/cluster-workflow-templates/lint",
                   {"template": f["clusterworkflowtemplate"]}, w + "ClusterWorkflowTemplate")
        cron = self.write("POST", f"/api/v1/cron-workflows/{ns}/lint",
                          {"cronWorkflow": f["cronworkflow"]}, w + "CronWorkflow")
        if isinstance(cron, dict) and cron.get("spec", {}).get("schedules") != ["0 0 1 1 *"]:
            self.fail("cron lint answers v4 schedules", [json.dumps(cron.get("spec"))[:200]])

    def summary(self):
        print(f"api parity: GET paths without streaming: {self.total}; served: {self.served}; "
              f"bodies valid: {self.validated}; owned elsewhere, pending: {len(self.pending)}; "
              f"failures: {len(self.failures)}; keys not in a definition (noted): "
              f"{self.extra_keys}", flush=True)
        return 0 if not self.failures else 1


def selftest():
    doc = {"definitions": {
        "A": {"type": "object", "required": ["n"],
              "properties": {"n": {"type": "string"}, "e": {"type": "string", "enum": ["X"]},
                             "m": {"type": "object", "additionalProperties": {"type": "boolean"}},
                             "t": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time"},
                             "i": {"type": "integer"}}}}}
    v = Validator(doc)
    assert v.check_def({"n": "1"}, "A") == []
    assert v.check_def({"n": 1}, "A"), "a number where a string is wanted"
    assert v.check_def({}, "A"), "required"
    assert v.check_def({"n": "1", "e": "Y"}, "A"), "enum"
    assert v.check_def({"n": "1", "m": {"a": 1}}, "A"), "additionalProperties"
    extras = []
    assert v.check_def({"n": "1", "zz": 1}, "A", extras) == [] and extras == ["$.zz"], "noted"
    assert v.check_def({"n": "1", "t": "yesterday"}, "A"), "time"
    assert v.check_def({"n": "1", "t": "2024-01-01T00:00:00Z", "i": "12"}, "A") == []
    assert v.check_def({"n": "1", "i": 1.5}, "A"), "integer"
    assert route_missing(404, '{"code":5,"message":"no API for \\"x\\""}')
    assert not route_missing(404, '{"code":5,"message":"workflow x not found"}')
    assert route_missing(404, "Not Found")
    print("selftest ok")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swagger")
    ap.add_argument("--base")
    ap.add_argument("--token", default="")
    ap.add_argument("--namespace", default="default")
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    if a.selftest:
        return selftest()
    with open(a.swagger) as f:
        doc = json.load(f)
    w = Walk(doc, Api(a.base, a.token), a.namespace)
    w.setup()
    w.walk()
    w.writes()
    return w.summary()


if __name__ == "__main__":
    sys.exit(main())
