"""Records the order in which objects appear in namespaces, for the CD tests.

Polls the gateway's REST API (jobs, replicasets, services, deployments, pods)
every 0.2 s and appends one JSON line per change to OUT:
  {"sample": N, "t": seconds, "ns": ..., "kind": ..., "name": ..., "uid": ...,
   "event": "created" | "complete" | "failed" | "deleted"}
Samples are numbered, so "a appeared in an earlier sample than b" is a strict
order between what the sync created. Runs until killed.

usage: cd_recorder.py HTTP_PORT OUT NAMESPACE...
"""
import json
import os
import sys
import time
import urllib.request

KINDS = ["Job", "ReplicaSet", "Service", "Deployment"]


def get(port, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    token = os.environ.get("ARGONAUT_TOKEN")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def items_of(body):
    if isinstance(body, list):
        return body
    return body.get("items") or []


def job_state(obj):
    st = obj.get("status") or {}
    for c in st.get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed"):
            return "complete" if c["type"] == "Complete" else "failed"
    if st.get("succeeded"):
        return "complete"
    if st.get("failed"):
        return "failed"
    return None


def main():
    port, out_path, namespaces = sys.argv[1], sys.argv[2], sys.argv[3:]
    paths = {}
    for _ in range(100):
        try:
            for k in get(port, "/api/v1/kinds"):
                if k.get("kind") in KINDS:
                    paths[k["kind"]] = "/api/v1/" + k["plural"]
            break
        except Exception:
            time.sleep(0.2)
    start = time.time()
    seen = {}  # (ns, kind, uid) -> (name, last state)
    sample = 0
    with open(out_path, "a", buffering=1) as out:
        while True:
            sample += 1
            now = {}
            for ns in namespaces:
                for kind, path in paths.items():
                    try:
                        objs = items_of(get(port, f"{path}/{ns}"))
                    except Exception:
                        continue
                    for o in objs:
                        m = o.get("metadata") or {}
                        key = (ns, kind, m.get("uid") or m.get("name"))
                        now[key] = (m.get("name"), job_state(o) if kind == "Job" else None)
            t = round(time.time() - start, 3)

            def emit(key, name, event):
                out.write(json.dumps({"sample": sample, "t": t, "ns": key[0], "kind": key[1],
                                      "name": name, "uid": key[2], "event": event}) + "\n")

            for key, (name, state) in now.items():
                old = seen.get(key)
                if old is None:
                    emit(key, name, "created")
                if state and (old is None or old[1] != state):
                    emit(key, name, state)
            for key, (name, _) in seen.items():
                if key not in now:
                    emit(key, name, "deleted")
            seen = now
            time.sleep(0.2)


if __name__ == "__main__":
    main()
