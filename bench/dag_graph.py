#!/usr/bin/env python3
"""Writes one layered DAG twice: as a Makefile and as an Argo Workflow (bench/dag_vs_make.sh).

  dag_graph.py TASKS WIDTH OUT_DIR   -> OUT_DIR/Makefile, OUT_DIR/workflow.yaml

Layer 0 has WIDTH independent tasks; task j of every later layer depends on
tasks j, j+1 and j+7 (mod width) of the layer before (fan-out and fan-in).
Every task runs `true`.
"""

import os
import sys


def graph(tasks, width):
    nodes = []
    for i in range(tasks):
        layer, j = divmod(i, width)
        deps = []
        if layer > 0:
            # Only the last layer may be partial, so the layer before is full.
            deps = sorted({j, (j + 1) % width, (j + 7) % width})
            deps = ["t%d-%d" % (layer - 1, k) for k in deps]
        nodes.append(("t%d-%d" % (layer, j), deps))
    return nodes


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    tasks, width, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if not 1 <= tasks <= 100000 or not 1 <= width <= tasks:
        sys.exit("want 1 <= WIDTH <= TASKS <= 100000")
    nodes = graph(tasks, width)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "Makefile"), "w") as f:
        names = " ".join(n for n, _ in nodes)
        f.write(".PHONY: all %s\nall: %s\n" % (names, names))
        for name, deps in nodes:
            # No shell metacharacters: make execs `true` directly, as a pod would.
            f.write("%s: %s\n\ttrue\n" % (name, " ".join(deps)))
    with open(os.path.join(out, "workflow.yaml"), "w") as f:
        f.write("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n"
                "  name: dag-vs-make\nspec:\n  entrypoint: main\n  templates:\n"
                "  - name: run-true\n    container:\n      image: alpine\n      command: [\"true\"]\n"
                "  - name: main\n    dag:\n      tasks:\n")
        for name, deps in nodes:
            f.write("      - name: %s\n        template: run-true\n" % name)
            if deps:
                f.write("        dependencies: [%s]\n" % ", ".join(deps))


if __name__ == "__main__":
    main()
