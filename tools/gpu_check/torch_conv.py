"""PyTorch side of `gpu_check conv` (tools/gpu_check.sh): for every line of ours, the same
convolution (same inputs from the shared hash, same geometry: 3x3x3, padding 1, no bias)
through torch.nn.functional.conv3d and its autograd's convolution_backward (one direction
at a time), in the line's mode (its tf32 field): float32 with TF32 off or on, or the inputs
cast to bfloat16 / float16 (bf16, fp16; round to nearest even, as ours) and convolved in that
dtype: median time with CUDA events after a warm-up, TFLOP/s, whether two runs gave bitwise
the same output; then ours, PyTorch's and their difference against a float64 reference
computed by PyTorch on the same inputs (for the 16-bit modes: the 16-bit values).

usage: torch_conv.py --ours conv_ours.txt --dir DIR [--device cuda|cpu] [--reps N]
Prints one 'GPU_CHECK kind=torch_conv ...' line per line of ours.
"""
import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F

from torch_common import bitwise_equal, emit, hash_uniform, median_ms, parse_lines, pick_device, rel_error, set_tf32

ONES, ZEROS = [1, 1, 1], [0, 0, 0]
HALF = {"bf16": torch.bfloat16, "fp16": torch.float16}  # the 16-bit modes


def direction_fn(direction, x, w, dy):
    if direction == "fwd":
        return lambda: F.conv3d(x, w, None, 1, 1)
    mask = [True, False, False] if direction == "bwd_data" else [False, True, False]
    slot = 0 if direction == "bwd_data" else 1
    return lambda: torch.ops.aten.convolution_backward(dy, x, w, None, ONES, ONES, ONES, False, ZEROS, 1, mask)[slot]


def run_case(lines, args, device):
    """All lines of one case (one geometry): its inputs once, its float64 references once."""
    first = lines[0]
    n, cin, cout = int(first["N"]), int(first["Cin"]), int(first["Cout"])
    d, h, w_ = int(first["D"]), int(first["H"]), int(first["W"])
    seed = int(first["seed"])
    x = hash_uniform(seed + 1, n * cin * d * h * w_, device).reshape(n, cin, d, h, w_)
    w = hash_uniform(seed + 2, cout * cin * 27, device).reshape(cout, cin, 3, 3, 3)
    dy = hash_uniform(seed + 3, n * cout * d * h * w_, device).reshape(n, cout, d, h, w_)
    flop = 2.0 * n * cout * cin * 27 * d * h * w_
    refs = {}
    for line in lines:
        direction, mode = line["dir"], line["tf32"]
        dtype = HALF.get(mode)
        xs, ws, dys = (x, w, dy) if dtype is None else (x.to(dtype), w.to(dtype), dy.to(dtype))
        key = (direction, mode if dtype is not None else "float32")
        if key not in refs:
            set_tf32(False)
            with torch.no_grad():
                refs[key] = direction_fn(direction, xs.double(), ws.double(), dys.double())()
        set_tf32(mode == "on")
        fn = direction_fn(direction, xs, ws, dys)
        with torch.no_grad():
            out = fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            ms = median_ms(fn, device, args.reps)
            again = fn()
        ours = torch.from_numpy(np.fromfile(os.path.join(args.dir, line["file"]), dtype=np.float32))
        ours = ours.to(device).reshape(out.shape)
        ref = refs[key]
        emit("torch_conv", case=line["case"], dir=direction, tf32=mode, ms=ms, tflops=flop / (ms * 1e-3) / 1e12,
             deterministic=bitwise_equal(out, again), err_ours=rel_error(ours, ref), err_torch=rel_error(out, ref),
             diff_ours_torch=rel_error(ours, out), nan_ours=int(torch.isnan(ours).sum().item()))
        del out, again, ours
    set_tf32(False)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ours", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    device = pick_device(args.device)
    torch.backends.cudnn.benchmark = False  # heuristics, as our wrapper
    torch.backends.cudnn.deterministic = False
    emit("torch_env", torch=torch.__version__, cuda=torch.version.cuda or "none",
         cudnn=torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else "none",
         device=torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu")
    lines = parse_lines(args.ours, "conv")
    if not lines:
        raise SystemExit(f"torch_conv: no conv lines in {args.ours}")
    cases = {}
    for line in lines:
        cases.setdefault(line["case"], []).append(line)
    for case_lines in cases.values():
        run_case(case_lines, args, device)
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
