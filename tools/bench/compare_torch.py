"""Penumbra vs PyTorch on the CPU, interleaved: for each round and workload, the project's
program (build/bench_vs_torch) and the PyTorch script (torch_workloads.py) run one after
the other in fresh processes (the order alternates between rounds), each timing its
repetitions after a warm-up. Reported per row: the median over rounds of each round's
median, the ratio project / PyTorch, the peak memory above each runtime's own start-up
level, and the spread (max - min) / median of the per-round medians. With --busy N, N
competing busy processes (pure spinning loops) run during the measurements, for the
shared-machine slowdown; --slowdown measures each workload idle and busy in the same
round and prints both slowdowns.

    python3 tools/bench/compare_torch.py --python .venv-golden/bin/python [--rounds 3] [--reps 3]
        [--workloads a,b,...] [--threads 2] [--busy N | --slowdown] [--markdown]
Use tools/bench/compare_torch.sh, which installs PyTorch and builds the program first.
"""
import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["unet_small", "conv_l0", "conv_small", "pix2pix_small", "spade_small", "wgan_small"]
PAPER = ["unet_paper", "unet_paper_cl", "conv_levels", "conv_l0_cl", "bn_pool", "pix2pix_256", "spade_256"]


def run(cmd):
    """Runs one workload process; returns ({row: median ms}, peak MiB)."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows, peak = {}, float("nan")
    for line in out.splitlines():
        if not line.startswith("BENCH "):
            continue
        kv = dict(tok.split("=", 1) for tok in line.split()[1:])
        if "peak_mb" in kv:
            peak = float(kv["peak_mb"])
        else:
            rows[kv["row"]] = statistics.median(float(t) for t in kv["ms"].split(","))
    return rows, peak


class Busy:
    """N spinning processes for the duration of a with-block (0: none)."""

    def __init__(self, n):
        self.n, self.procs = n, []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.n)]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def commands(args, workload):
    ours = [str(args.build / "bench_vs_torch"), "--workload", workload, "--reps", str(args.reps)]
    torch = [args.python, str(ROOT / "tools/bench/torch_workloads.py"), "--workload", workload, "--reps",
             str(args.reps), "--threads", str(args.threads)]
    return ours, torch


def measure(args, busy):
    """{(side, row): [per-round medians]}, {side: {row: peak}} over args.rounds rounds."""
    times, peaks = {}, {"ours": {}, "torch": {}}
    with Busy(busy):
        for r in range(args.rounds):
            for w in args.workloads:
                ours, torch = commands(args, w)
                order = [("ours", ours), ("torch", torch)]
                for side, cmd in order if r % 2 == 0 else order[::-1]:
                    rows, peak = run(cmd)
                    for name, ms in rows.items():
                        times.setdefault((side, name), []).append(ms)
                        peaks[side][name] = max(peaks[side].get(name, 0.0), peak)
                print(f"round {r + 1}/{args.rounds}: {w} done", file=sys.stderr, flush=True)
    return times, peaks


def spread(v):
    m = statistics.median(v)
    return (max(v) - min(v)) / m if m > 0 and len(v) > 1 else 0.0


def table(times, peaks, markdown):
    names = list(dict.fromkeys(n for side, n in times if side == "ours"))
    head = ["row", "project ms", "PyTorch ms", "ratio", "project MiB", "PyTorch MiB", "spread project", "spread PyTorch"]
    lines = [head]
    for n in names:
        o, t = times[("ours", n)], times.get(("torch", n))
        if not t:
            continue
        mo, mt = statistics.median(o), statistics.median(t)
        lines.append([n, f"{mo:.1f}", f"{mt:.1f}", f"{mo / mt:.2f}", f"{peaks['ours'][n]:.0f}",
                      f"{peaks['torch'][n]:.0f}", f"{100 * spread(o):.0f}%", f"{100 * spread(t):.0f}%"])
    if markdown:
        out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
        return "\n".join(out)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
                     for line in lines)


def slowdown(args):
    idle, _ = measure(args, 0)
    busy, _ = measure(args, 1)
    print("row  project idle ms  busy ms  slowdown  |  PyTorch idle ms  busy ms  slowdown")
    for side, n in idle:
        if side != "ours" or ("torch", n) not in idle:
            continue
        oi, ob = statistics.median(idle[("ours", n)]), statistics.median(busy[("ours", n)])
        ti, tb = statistics.median(idle[("torch", n)]), statistics.median(busy[("torch", n)])
        print(f"{n}  {oi:.1f}  {ob:.1f}  {ob / oi:.2f}x  |  {ti:.1f}  {tb:.1f}  {tb / ti:.2f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", required=True, help="the python of the PyTorch venv")
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="PyTorch threads (ours: run.threads / OMP default)")
    ap.add_argument("--workloads", default="small", help="'small', 'paper', 'all' or a comma-separated list")
    ap.add_argument("--busy", type=int, default=0)
    ap.add_argument("--slowdown", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    args.workloads = {"small": SMALL, "paper": PAPER, "all": SMALL + PAPER}.get(args.workloads,
                                                                               args.workloads.split(","))
    if args.slowdown:
        slowdown(args)
        return
    times, peaks = measure(args, args.busy)
    print(table(times, peaks, args.markdown))


if __name__ == "__main__":
    main()
