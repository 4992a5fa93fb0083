#!/usr/bin/env python3
"""Checks that every #include in the library follows the layer order of the architecture.

Each layer may include itself and the layers listed for it, nothing else (in particular
nothing above it). The order, bottom to top (../shared/DESIGN.md, README "Layout"):

  kernels/math                   per-element math, written once for both backends
  kernels/cpu, kernels/cuda      the two backends' kernels (neither sees the other)
  kernels/cuda/workbench         versions of the CUDA kernels checked against the CPU's
  autograd                       tensors, the tape, the backends
  nn, data                       layers and optimisers; NIfTI, layouts, the phantom
  models                         the networks
  experiments/config -> run -> metrics -> report -> train -> cli     the `penumbra` program
  bench                          benchmark programs (anything below experiments/cli)

Usage: tools/check_layers.py [repo root]. Prints each offending include as
`file:line: <layer> must not include <header> (<its layer>)` and exits 1 if any.
"""
import os
import re
import sys

KERNELS = {"kernels", "kernels/math"}
BELOW_AUTOGRAD = KERNELS | {"kernels/cpu", "kernels/cuda"}
EXPERIMENTS = ["experiments/config", "experiments/run", "experiments/metrics", "experiments/report",
               "experiments/train", "experiments/cli"]
WORKBENCH = "kernels/cuda/workbench"  # above both backends: its checks compare them
BELOW_EXPERIMENTS = BELOW_AUTOGRAD | {WORKBENCH, "autograd", "nn", "data", "models"}

ALLOWED = {
    "kernels": {"kernels/math"},
    "kernels/math": {"kernels"},
    "kernels/cpu": KERNELS,
    "kernels/cuda": KERNELS,
    WORKBENCH: BELOW_AUTOGRAD,
    "autograd": BELOW_AUTOGRAD,
    "nn": BELOW_AUTOGRAD | {"autograd"},
    "data": BELOW_AUTOGRAD | {"autograd"},
    "models": BELOW_AUTOGRAD | {"autograd", "nn", "data"},
}
for rank, name in enumerate(EXPERIMENTS):
    ALLOWED[name] = BELOW_EXPERIMENTS | set(EXPERIMENTS[:rank])
ALLOWED["bench"] = BELOW_EXPERIMENTS | set(EXPERIMENTS[:-1])

SOURCE_SUFFIXES = (".h", ".cpp", ".cu", ".cuh", ".in")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    """The layer a repo-relative path belongs to, or None outside the library."""
    parts = path.split("/")
    if parts[:3] == ["kernels", "cuda", "workbench"] and len(parts) > 3:
        return WORKBENCH
    if parts[0] == "kernels" and len(parts) > 2 and parts[1] in ("math", "cpu", "cuda"):
        return "kernels/" + parts[1]
    if parts[0] == "experiments":
        return "experiments/" + parts[1] if len(parts) > 2 else "experiments"
    return parts[0] if parts[0] in ALLOWED or parts[0] in ("kernels",) else None


def violations(root):
    for top in ("kernels", "autograd", "nn", "data", "models", "experiments", "bench"):
        for folder, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.relpath(os.path.join(folder, name), root)
                own = layer_of(path)
                with open(os.path.join(root, path), errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        match = INCLUDE.match(line)
                        if not match:
                            continue
                        target = layer_of(match.group(1))
                        if target is None or target == own:
                            continue
                        if own not in ALLOWED or target not in ALLOWED[own]:
                            yield f"{path}:{number}: {own} must not include {match.group(1)} ({target})"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    found = list(violations(root))
    for v in found:
        print(v)
    if found:
        print(f"check_layers: {len(found)} include(s) break the layer order; move the code down a "
              "layer or the dependency up (see the table at the top of tools/check_layers.py)")
        return 1
    print("check_layers: every include follows the layer order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
