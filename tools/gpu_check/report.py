"""The Markdown report of tools/gpu_check.sh, and its verdict (the exit status).

Reads the work folder the script filled: steps.tsv (one row per step: name, status,
seconds, limit, log), results.txt (every 'GPU_CHECK ...' line of ours and of PyTorch),
env.txt and libs.txt (environment), notes.txt, ctest_gpu.xml (CTest's JUnit output) and
the step logs. Needs no PyTorch. Exit 0 when every check passed, 1 otherwise.

Pass criteria (the thresholds below):
- every step ran to completion (exit 0 within its time limit);
- every gpu-labelled CTest suite passed: a skip (no device) or a missing suite fails,
  except in a dry run, where skips for want of a device are expected;
- compute-sanitizer memcheck and racecheck found no error (where installed);
- the four big-array checks (fill, three sums) matched their exact values;
- every convolution of ours is within CONV_TOL of PyTorch's float64 reference (no NaN),
  and PyTorch compared every one, in each mode it ran: float32 with TF32 off / on, bf16 and
  fp16 storage (the reference then from the same 16-bit inputs); timings and algorithm
  choices are reported, not judged;
- every network's first iteration: losses within LOSS_TOL of PyTorch's, every
  parameter gradient within GRAD_TOL;
- the same iteration in bf16 and fp16 mixed precision against PyTorch autocast: losses
  within MIXED_LOSS_TOL, each model's gradients (as one vector) within MIXED_GRAD_L2_TOL.

usage: report.py --work DIR --out REPORT.md --mode real|dry-run --size NAME --budget S
"""
import argparse
import collections
import datetime
import os
import xml.etree.ElementTree as ET

# max |ours - ref| / max |ref|. TF32 keeps 10 mantissa bits; a 16-bit output is one rounding
# away from the fp32-accumulated value: half an ulp, 2^-9 (bf16) / 2^-12 (fp16) of the largest
# element, with room for fp32 summation; measured on the emulator at tiny sizes: bf16 at most
# 3.5e-3, fp16 4.7e-4, the same as PyTorch's own on the CPU.
CONV_TOL = {"off": 1e-4, "on": 1e-2, "bf16": 1.5e-2, "fp16": 2e-3}
CONV_MODES = ("off", "on", "bf16", "fp16")
LOSS_TOL = 1e-3
GRAD_TOL = 1e-2
# Mixed precision against PyTorch autocast: both sides round to 16 bits, each in its own places
# (ours casts conv results back to fp32, PyTorch keeps 16-bit activations). Measured in a dry
# run (emulator against PyTorch on the CPU, tiny sizes): losses within 2.3e-3 (bf16) and
# 6.1e-5 (fp16), gradients' relative L2 within 0.066 and 0.0017; the gradient bounds are those
# of our own bf16 / fp16 step against fp32 (tests/nn test_mixed_precision).
MIXED_PRECISIONS = ("bf16", "fp16")
MIXED_LOSS_TOL = {"bf16": 1e-2, "fp16": 1e-3}
MIXED_GRAD_L2_TOL = {"bf16": 0.2, "fp16": 0.08}
NETS = ["unet", "pix2pix", "spade", "wgan"]
# In float32 also the channels-last U-Net (segment.memory_format = "channels_last"): its time next
# to unet's decides whether "auto" should pick channels-last on GPUs too, as it does on the CPU.
FP32_ONLY_NETS = ["unet_cl"]


def nets_for(precision):
    return NETS + FP32_ONLY_NETS if precision == "fp32" else NETS
BIGSUM_CHECKS = ["fill", "sum_all", "sum_rows", "sum_cols"]
MIB = 1024.0 * 1024.0


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def load_steps(work):
    steps = collections.OrderedDict()
    for row in read(os.path.join(work, "steps.tsv")).splitlines():
        name, status, secs, limit, log = (row.split("\t") + [""] * 5)[:5]
        steps[name] = {"status": status, "secs": float(secs or 0), "limit": limit, "log": log}
    return steps


def load_results(work):
    out = []
    for line in read(os.path.join(work, "results.txt")).splitlines():
        if line.startswith("GPU_CHECK "):
            out.append(dict(tok.split("=", 1) for tok in line.split()[1:]))
    return out


def load_junit(path):
    """[(test, status, seconds, message)] from CTest's JUnit file; None when absent."""
    if not os.path.exists(path):
        return None
    tests = []
    for case in ET.parse(path).getroot().iter("testcase"):
        status = case.get("status") or "run"
        msg = ""
        for tag in ("failure", "skipped", "error"):
            el = case.find(tag)
            if el is not None:
                status = {"failure": "failed", "error": "failed"}.get(tag, "skipped")
                msg = (el.get("message") or el.text or "").strip().splitlines()[0:1]
                msg = msg[0] if msg else ""
        tests.append((case.get("name"), "passed" if status == "run" else status, float(case.get("time") or 0), msg))
    return tests


def num(d, key, default=float("nan")):
    try:
        return float(d.get(key, default))
    except (TypeError, ValueError):
        return default


def fmt(v, spec=".3g"):
    return "—" if v != v else format(v, spec)  # NaN -> dash


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


class Verdict:
    def __init__(self):
        self.failures = []

    def fail(self, section, why):
        self.failures.append(f"{section}: {why}")


def steps_section(steps, v):
    rows = []
    for name, s in steps.items():
        rows.append([name, s["status"], f"{s['secs']:.1f}", s["limit"]])
        if s["status"] in ("failed", "timeout", "not-run"):
            v.fail("steps", f"{name} {s['status']} (log: {s['log']})")
    return "## Steps\n\n" + table(["step", "status", "seconds", "limit (s)"], rows)


def env_section(work):
    env, libs = read(os.path.join(work, "env.txt")).rstrip(), read(os.path.join(work, "libs.txt")).rstrip()
    return ("## 1. Environment\n\n```text\n" + (env or "(not recorded)") + "\n```\n\n"
            "Shared libraries the binaries resolve (ldd):\n\n```text\n" + (libs or "(not recorded)") + "\n```")


def tests_section(work, steps, v, dry):
    out = ["## 2. Build and GPU tests"]
    junit = load_junit(os.path.join(work, "ctest_gpu.xml"))
    if junit is None:
        out.append("\nNo CTest results (the ctest step did not run or wrote nothing).")
        if "ctest" in steps or not dry:
            v.fail("tests", "no CTest results")
    elif not junit:
        out.append("\nCTest found no gpu-labelled test (not a CUDA build?).")
        if not dry:
            v.fail("tests", "no gpu-labelled tests in this build")
    else:
        rows = []
        for name, status, secs, msg in junit:
            rows.append([name, status, f"{secs:.1f}", msg.replace("|", "/")[:100]])
            if status == "skipped" and dry:
                continue
            if status != "passed":
                v.fail("tests", f"{name} {status}" + (" (a skip counts as a failure on a GPU)" if status == "skipped" else ""))
        out.append("\n" + table(["test", "result", "seconds", "message"], rows))
        if dry:
            out.append("\nDry run: gpu suites skip for want of a device; on a GPU a skip is a failure.")
    for tool in ("memcheck", "racecheck"):
        s = steps.get(tool)
        log = read(os.path.join(work, "logs", f"{tool}.log"))
        summary = [ln.strip("= ").strip() for ln in log.splitlines() if "ERROR SUMMARY" in ln or "RACECHECK SUMMARY" in ln]
        if s is None:
            out.append(f"\ncompute-sanitizer {tool}: not run.")
        elif s["status"] == "skipped":
            out.append(f"\ncompute-sanitizer {tool}: not available ({log.strip().splitlines()[-1] if log.strip() else 'not installed'}).")
        else:
            out.append(f"\ncompute-sanitizer {tool} on test_gpu_kernels (our kernels; cuBLAS/cuDNN cases excluded): "
                       f"{s['status']}, {'; '.join(summary) or 'no summary line'} ({s['secs']:.0f} s).")
    return "\n".join(out)


def bigsum_section(results, v):
    lines = {r["check"]: r for r in results if r.get("kind") == "bigsum"}
    rows = []
    for check in BIGSUM_CHECKS:
        r = lines.get(check)
        if r is None:
            v.fail("big arrays", f"{check} has no result")
            rows.append([check] + ["—"] * 8)
            continue
        if r.get("ok") != "1":
            v.fail("big arrays", f"{check}: {r['wrong']} wrong of {r['outputs']} (first at {r['first_bad']}: "
                                 f"expected {r['expected']}, got {r['got']})")
        rows.append([check, r["n"], r["outputs"], r["wrong"], r["expected"], r["got"], fmt(num(r, "ms"), ".3g"),
                     fmt(num(r, "gbps"), ".3g"), "yes" if r.get("ok") == "1" else "**NO**"])
    n = lines.get("fill", {}).get("n", "?")
    return (f"## 3. Past 2^31 elements (float32, n = {n})\n\nThe array is filled with 1 and its last 7 elements "
            "with 256 (a second fill at an offset past 2^31), every element read back; then summed whole, over "
            "the columns and over the rows of an [n/c, c] view, each against its exact value.\n\n" +
            table(["check", "elements", "outputs", "wrong", "expected", "got", "ms", "GB/s", "exact"], rows))


def mode_label(mode):
    return f"TF32 {mode}" if mode in ("off", "on") else mode


def conv_section(results, v):
    ours = [r for r in results if r.get("kind") == "conv"]
    theirs = {(r["case"], r["dir"], r["tf32"]): r for r in results if r.get("kind") == "torch_conv"}
    out = ["## 4. The U-Net's convolutions against PyTorch",
           "\nEvery distinct 3x3x3 convolution (padding 1) of the segmentation U-Net through our cuDNN wrappers and "
           "through PyTorch (conv3d and convolution_backward), same inputs. Errors: max |x - ref| / max |ref| "
           "against PyTorch's float64 result; det = a later run gave bitwise the same output. Median of the "
           "repetitions, CUDA events."]
    if not ours:
        v.fail("convolutions", "no results of ours")
        return "\n".join(out + ["\nNo results."])
    totals = collections.defaultdict(lambda: [0.0, 0.0])
    for mode in CONV_MODES:
        rows = []
        for r in (r for r in ours if r["tf32"] == mode):
            t = theirs.get((r["case"], r["dir"], mode), {})
            key = (mode, r["dir"])
            totals[key][0] += num(r, "ms")
            totals[key][1] += num(t, "ms", 0.0)
            err = num(t, "err_ours")
            if not t:
                v.fail("convolutions", f"case {r['case']} {r['dir']} {mode_label(mode)}: no PyTorch comparison")
            elif not (err <= CONV_TOL[mode]) or num(t, "nan_ours", 0) > 0:
                v.fail("convolutions", f"case {r['case']} ({r['layers']}) {r['dir']} {mode_label(mode)}: error {err:.3g} "
                                       f"> {CONV_TOL[mode]:g} (PyTorch's own: {num(t, 'err_torch'):.3g})")
            shape = f"{r['N']}x{r['Cin']}→{r['Cout']} {r['D']}x{r['H']}x{r['W']}"
            rows.append([r["case"], r["layers"].replace(",", ", "), shape, r["dir"], fmt(num(r, "ms"), ".3f"),
                         fmt(num(r, "tflops"), ".3g"), r["algo"], fmt(num(r, "workspace") / MIB, ".3g"),
                         "yes" if r["deterministic"] == "1" else "no", fmt(num(t, "ms"), ".3f"),
                         fmt(num(t, "tflops"), ".3g"), "yes" if t.get("deterministic") == "1" else ("no" if t else "—"),
                         fmt(err, ".2e"), fmt(num(t, "err_torch"), ".2e"), fmt(num(t, "diff_ours_torch"), ".2e")])
        if rows:
            out.append(f"\n### {mode_label(mode) if mode in ('off', 'on') else mode + ' storage, fp32 accumulation'}\n")
            out.append(table(["#", "layers", "N x Cin→Cout, D x H x W", "direction", "ours ms", "TFLOP/s", "algorithm",
                              "workspace MiB", "det", "PyTorch ms", "TFLOP/s", "det", "err ours", "err PyTorch",
                              "ours vs PyTorch"], rows))
    rows = [[mode_label(m), d, fmt(a, ".2f"), fmt(b, ".2f"), fmt(a / b if b else float("nan"), ".2f")]
            for (m, d), (a, b) in totals.items()]
    out.append("\nTotals over the distinct shapes (each once):\n\n" +
               table(["math", "direction", "ours ms", "PyTorch ms", "ours / PyTorch"], rows))
    return "\n".join(out)


# max |ours - cuDNN| / max |cuDNN|: float32 sums in other orders; bf16 outputs rounded to 8 bits
# on each side (half an ulp is 2^-9 of the value) may round apart.
IGEMM_TOL = {"float32": 1e-3, "bfloat16": 1e-2}


def igemm_section(results, v):
    rows = []
    for r in (r for r in results if r.get("kind") == "igemm"):
        diff, dtype = num(r, "diff"), r.get("dtype", "float32")
        tol = IGEMM_TOL.get(dtype, 0.0)
        label = f"case {r['case']} ({r['layers']}) {r['dir']} {dtype}"
        if not (diff <= tol):
            v.fail("implicit GEMM", f"{label}: max |ours - cuDNN| / max |cuDNN| = {diff:.3g} > {tol:g}")
        if r.get("deterministic") != "1":
            v.fail("implicit GEMM", f"{label}: two runs of ours differ (its sums have a fixed order)")
        shape = f"{r['N']}x{r['Cin']}→{r['Cout']} {r['D']}x{r['H']}x{r['W']}"
        rows.append([r["case"], r["layers"].replace(",", ", "), shape, r["dir"], dtype, fmt(num(r, "cudnn_ms"), ".3f"),
                     fmt(num(r, "cudnn_tflops"), ".3g"), fmt(num(r, "ours_ms"), ".3f"),
                     fmt(num(r, "ours_tflops"), ".3g"), fmt(num(r, "cudnn_over_ours"), ".2f"), fmt(diff, ".2e"),
                     "yes" if r.get("deterministic") == "1" else "no"])
    out = ["## 4b. Our implicit-GEMM convolution against cuDNN (run.conv)",
           "\nThe U-Net's first- and second-level convolutions through the production entry points with "
           "run.conv = \"cudnn\" (TF32 off) and \"implicit_gemm\" (kernels/cuda/conv_igemm.h: float32 on CUDA "
           "cores, bfloat16 on tensor cores): median times (CUDA events), cuDNN's time over ours (below 1: ours is "
           "slower), max |ours - cuDNN| / max |cuDNN| (tolerance float32 1e-3, bfloat16 1e-2), and whether ours "
           "gave the same bits twice."]
    if not rows:
        v.fail("implicit GEMM", "no results of ours")
        return "\n".join(out + ["\nNo results."])
    out.append("\n" + table(["#", "layers", "N x Cin→Cout, D x H x W", "direction", "dtype", "cuDNN ms", "TFLOP/s", "ours ms",
                             "TFLOP/s", "cuDNN / ours", "difference", "det"], rows))
    return "\n".join(out)


def steps_of(results, kind, precision):
    return {r["net"]: r for r in results if r.get("kind") == kind and r.get("precision", "fp32") == precision}


def step_pairs(results, precision, v, section, label):
    """(net, ours, PyTorch's, losses, worst loss difference) for each network with a result;
    a missing side fails `section` ("<net><label>: no result of ours")."""
    ours, theirs = steps_of(results, "steps", precision), steps_of(results, "torch_steps", precision)
    for net in nets_for(precision):
        o, t = ours.get(net), theirs.get(net)
        if o is None or t is None:
            v.fail(section, f"{net}{label}: {'no result of ours' if o is None else 'no PyTorch comparison'}")
            if o is None and t is None:
                continue
        o, t = o or {}, t or {}
        losses = sorted({k[5:-4] for k in t if k.startswith("loss_") and k.endswith("_rel")})
        yield net, o, t, losses, max((num(t, f"loss_{n}_rel") for n in losses), default=float("nan"))


def steps_nets_section(results, v):
    out = ["## 5. One training iteration of each network against PyTorch",
           "\nSame initial weights, buffers and inputs (exported by ours as safetensors), float32 without TF32 on "
           "both sides. ms: median iteration after a warm-up (CUDA events); first: the first iteration (cuDNN "
           "heuristics, allocator warm-up). Peak: ours = the caching allocator's peak in use (cuDNN workspaces come "
           "from the stream-ordered pool and are not in it), PyTorch = torch.cuda.max_memory_allocated. Gradients: "
           "worst parameter of each model, max |ours - torch| / max |torch| (floor 1e-3 of the model's largest "
           "gradient). Discriminator / critic weights after its Adam step are compared in units of lr, then ours "
           "are loaded into PyTorch before the generator step."]
    rows, detail = [], []
    for net, o, t, losses, worst_loss in step_pairs(results, "fp32", v, "training steps", ""):
        grads = sorted({k[5:-6] for k in t if k.startswith("grad_") and k.endswith("_worst")})
        for n in losses:
            if not num(t, f"loss_{n}_rel") <= LOSS_TOL:
                v.fail("training steps", f"{net}: loss {n} differs by {num(t, f'loss_{n}_rel'):.3g} > {LOSS_TOL:g}")
        for g in grads:
            if not num(t, f"grad_{g}_worst") <= GRAD_TOL:
                v.fail("training steps", f"{net}: gradient of {t.get(f'grad_{g}_worst_name')} differs by "
                                         f"{num(t, f'grad_{g}_worst'):.3g} > {GRAD_TOL:g}")
        grad_txt = "; ".join(f"{g}: {fmt(num(t, f'grad_{g}_worst'), '.2e')} ({t.get(f'grad_{g}_worst_name')})" for g in grads)
        after = [k[6:-7] for k in t if k.startswith("after_") and k.endswith("_max_lr")]
        after_txt = "; ".join(f"{fmt(num(t, f'after_{a}_max_lr'), '.3g')} lr, {t.get(f'after_{a}_over_half_lr')} of "
                              f"{t.get(f'after_{a}_elements')} > lr/2" for a in after) or "—"
        om, tm = num(o, "ms"), num(t, "ms")
        rows.append([net, o.get("scale", "—"), fmt(om, ".1f"), fmt(num(o, "first_ms"), ".0f"), fmt(tm, ".1f"),
                     fmt(num(t, "first_ms"), ".0f"), fmt(om / tm if tm == tm and tm else float("nan"), ".2f"),
                     fmt(num(o, "peak_bytes") / MIB, ".4g"), fmt(num(t, "peak_bytes") / MIB, ".4g"),
                     fmt(worst_loss, ".2e"), grad_txt or "—", after_txt])
        detail += [[net, n, t.get(f"loss_{n}_ours"), t.get(f"loss_{n}_torch"), fmt(num(t, f"loss_{n}_rel"), ".2e")]
                   for n in losses]
    out.append("\n" + table(["network", "size", "ours ms", "first", "PyTorch ms", "first", "ours / PyTorch",
                             "ours peak MiB", "PyTorch peak MiB", "worst loss diff", "worst gradient diff",
                             "D/critic after Adam"], rows))
    if detail:
        out.append("\nLosses of the first iteration:\n\n" + table(["network", "loss", "ours", "PyTorch", "rel. diff"], detail))
    return "\n".join(out)


def mixed_steps_section(results, v):
    out = ["## 6. The same iteration in mixed precision against PyTorch autocast",
           "\nOurs: run.precision's rules (autograd/autocast.h): conv and matmul in 16 bits with fp32 accumulation, "
           "everything else in fp32, fp32 master weights; PyTorch: torch.autocast. fp16 with a loss scaler on each "
           "side (initial scale 2^10), gradients compared after unscaling. Gradients: each model's as one vector, "
           "||ours - torch|| / ||torch||. Tolerances: losses " +
           ", ".join(f"{p} {MIXED_LOSS_TOL[p]:g}" for p in MIXED_PRECISIONS) + "; gradients " +
           ", ".join(f"{p} {MIXED_GRAD_L2_TOL[p]:g}" for p in MIXED_PRECISIONS) + "."]
    rows = []
    fp32 = steps_of(results, "steps", "fp32")
    for p in MIXED_PRECISIONS:
        for net, o, t, losses, worst_loss in step_pairs(results, p, v, "mixed precision", f" {p}"):
            if losses and not worst_loss <= MIXED_LOSS_TOL[p]:
                v.fail("mixed precision", f"{net} {p}: a loss differs by {worst_loss:.3g} > {MIXED_LOSS_TOL[p]:g}")
            models = sorted({k[5:-3] for k in t if k.startswith("grad_") and k.endswith("_l2")})
            for m in models:
                if not num(t, f"grad_{m}_l2") <= MIXED_GRAD_L2_TOL[p]:
                    v.fail("mixed precision", f"{net} {p}: gradients of {m} differ by {num(t, f'grad_{m}_l2'):.3g} "
                                              f"> {MIXED_GRAD_L2_TOL[p]:g}")
            om, tm, f32 = num(o, "ms"), num(t, "ms"), num(fp32.get(net, {}), "ms")
            rows.append([net, p, fmt(om, ".1f"), fmt(tm, ".1f"), fmt(om / tm if tm == tm and tm else float("nan"), ".2f"),
                         fmt(f32 / om if om == om and om else float("nan"), ".2f"),
                         fmt(num(o, "peak_bytes") / MIB, ".4g"), fmt(num(t, "peak_bytes") / MIB, ".4g"),
                         fmt(worst_loss, ".2e"),
                         "; ".join(f"{m}: {fmt(num(t, f'grad_{m}_l2'), '.2e')}" for m in models) or "—"])
    out.append("\n" + table(["network", "precision", "ours ms", "PyTorch ms", "ours / PyTorch", "speed-up over our fp32",
                             "ours peak MiB", "PyTorch peak MiB", "worst loss diff", "gradient diff (L2)"], rows))
    return "\n".join(out)


def failing_logs(work, steps):
    out = []
    for name, s in steps.items():
        if s["status"] in ("failed", "timeout") and s["log"]:
            tail = read(os.path.join(work, s["log"])).rstrip().splitlines()[-25:]
            out.append(f"\n### {name} ({s['status']}): last lines of {s['log']}\n\n```text\n" + "\n".join(tail) + "\n```")
    return "## Logs of failed steps\n" + "".join(out) if out else ""


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--mode", choices=["real", "dry-run"], default="real")
    p.add_argument("--size", default="paper")
    p.add_argument("--budget", type=float, default=600)
    a = p.parse_args()
    dry = a.mode == "dry-run"
    steps, results, v = load_steps(a.work), load_results(a.work), Verdict()
    sections = [steps_section(steps, v), env_section(a.work), tests_section(a.work, steps, v, dry),
                bigsum_section(results, v), conv_section(results, v), igemm_section(results, v),
                steps_nets_section(results, v), mixed_steps_section(results, v),
                failing_logs(a.work, steps)]
    total = sum(s["secs"] for s in steps.values())
    notes = read(os.path.join(a.work, "notes.txt")).strip()
    head = [f"# Penumbra GPU check{' (dry run on the CPU emulator)' if dry else ''}",
            f"\n{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, sizes `{a.size}`, steps took {total:.0f} s "
            f"of a {a.budget:.0f} s budget. Written by tools/gpu_check.sh.",
            f"\n**Result: {'PASS' if not v.failures else 'FAIL'}**" +
            (f" ({len(v.failures)} failure{'s' if len(v.failures) != 1 else ''})" if v.failures else "")]
    if v.failures:
        head.append("\n" + "\n".join(f"- {f}" for f in v.failures))
    if notes:
        head.append("\nNotes:\n\n" + "\n".join(f"- {n}" for n in notes.splitlines()))
    with open(a.out, "w") as f:
        f.write("\n".join(head) + "\n\n" + "\n\n".join(s for s in sections if s) + "\n")
    print(f"report.py: {a.out}: {'PASS' if not v.failures else 'FAIL'} ({len(v.failures)} failures)")
    return 1 if v.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
