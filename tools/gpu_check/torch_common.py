"""What the PyTorch halves of tools/gpu_check.sh share: reading gpu_check's result lines,
the seeded input values gpu_check computes (bench/gpu_check/gpu_check_util.h,
hash_uniform: the same integer hash, here in int64 arithmetic whose products stay below
2^63), timing (CUDA events on a GPU, the host clock on the CPU of a dry run), the
norm-relative difference the report uses, and printing result lines.
"""
import statistics
import sys
import time

import torch

MASK32 = 0xFFFFFFFF


def parse_lines(path, kind=None):
    """Every 'GPU_CHECK key=value ...' line of a file as a dict (values as strings)."""
    out = []
    with open(path) as f:
        for line in f:
            if not line.startswith("GPU_CHECK "):
                continue
            d = dict(tok.split("=", 1) for tok in line.split()[1:])
            if kind is None or d.get("kind") == kind:
                out.append(d)
    return out


def emit(kind, **values):
    """Prints one result line in gpu_check's format (no spaces inside values)."""
    parts = [f"kind={kind}"]
    for k, v in values.items():
        if isinstance(v, bool):
            v = int(v)
        elif isinstance(v, float):
            v = f"{v:.9g}"
        v = str(v).replace(" ", "_") or "-"
        parts.append(f"{k}={v}")
    print("GPU_CHECK " + " ".join(parts), flush=True)


def hash_uniform(seed, n, device):
    """Element i of tensor `seed`: uniform in [-1, 1), bit for bit gpu_check's hash_uniform."""
    if n >= 2**32:
        raise ValueError("hash_uniform: n must be below 2^32")
    x = torch.arange(n, dtype=torch.int64, device=device)
    x = (x * 0x5BD1E995 + (seed * 0x1B873593 & MASK32)) & MASK32
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & MASK32
    x ^= x >> 12
    x = (x * 0x297A2D39) & MASK32
    x ^= x >> 15
    return (x >> 8).to(torch.float32) * (2.0 / 16777216.0) - 1.0


def pick_device(name):
    if name == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_check: PyTorch sees no CUDA device (torch.cuda.is_available() is False)")
    return torch.device(name)


def milliseconds(fn, device):
    """Milliseconds of fn's device work: CUDA events around it, or the host clock on a CPU."""
    if device.type == "cuda":
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop)
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def median_ms(fn, device, reps, warmup=1):
    for _ in range(warmup):
        milliseconds(fn, device)
    return statistics.median(milliseconds(fn, device) for _ in range(max(reps, 1)))


def rel_error(a, ref, floor=1e-30):
    """max |a - ref| / max(max |ref|, floor), in float64; inf when a has NaN or Inf where ref has none."""
    a, ref = a.detach().double(), ref.detach().double()
    if a.shape != ref.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(ref.shape)}")
    if not torch.isfinite(a).all() and torch.isfinite(ref).all():
        return float("inf")
    scale = max(ref.abs().max().item() if ref.numel() else 0.0, floor)
    return (a - ref).abs().max().item() / scale if a.numel() else 0.0


def bitwise_equal(a, b):
    bits = {2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
    return (a.shape == b.shape and a.dtype == b.dtype and
            torch.equal(a.contiguous().view(bits), b.contiguous().view(bits)))


def set_tf32(on):
    torch.backends.cudnn.allow_tf32 = on
    torch.backends.cuda.matmul.allow_tf32 = on
