"""The PyTorch half of the CPU comparison (tools/bench/compare_torch.py): the workloads of
bench/training/bench_vs_torch.cpp, built from the PyTorch definitions of our networks in
tools/golden/make_fixtures.py, in float32 on the CPU, with the thread count given. Prints
the same lines as the C++ program:
    BENCH row=<name> ms=<t1>,<t2>,...   (each repetition after one warm-up)
    BENCH peak_mb=<MiB>                  (peak resident memory above the level after import)

    python torch_workloads.py --workload NAME [--reps N] [--threads T]
"""
import argparse
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import make_fixtures as gold  # noqa: E402  (the networks; importing it builds nothing)

REPS = 3


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def row(name, fn):
    fn()
    ms = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    print(f"BENCH row={name} ms=" + ",".join(f"{t:.3f}" for t in ms), flush=True)


def unet_step(prefix, depth, base, shape, fmt=torch.contiguous_format):
    m = gold.UNet(3, 1, 2, base, depth).float().train().to(memory_format=fmt)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    x = torch.randn(*shape).to(memory_format=fmt)
    target = torch.zeros(shape[0], 2, *shape[2:])
    fwd, rest = [], []
    for r in range(REPS + 1):
        t0 = time.perf_counter()
        loss = gold.soft_dice_loss(F.softmax(m(x), 1), target, 1)
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        opt.step()
        t2 = time.perf_counter()
        if r:
            fwd.append((t1 - t0) * 1e3)
            rest.append((t2 - t1) * 1e3)
    for name, v in (("step", [a + b for a, b in zip(fwd, rest)]), ("forward", fwd), ("backward_adam", rest)):
        print(f"BENCH row={prefix}_{name} ms=" + ",".join(f"{t:.3f}" for t in v), flush=True)


def conv_fwd_bwd(name, c, d, h, w, fmt=torch.contiguous_format):
    x = torch.randn(1, c, d, h, w).to(memory_format=fmt).requires_grad_()
    wt = (torch.randn(c, c, 3, 3, 3) * 0.05).to(memory_format=fmt).requires_grad_()
    gy = torch.randn(1, c, d, h, w).to(memory_format=fmt)

    def step():
        x.grad = wt.grad = None
        (F.conv3d(x, wt, None, 1, 1) * gy).sum().backward()
    row(name, step)


def conv_levels():
    filters, c_in, d, h, w = [32, 64, 128, 256, 512], 1, 32, 128, 128
    for lv, f in enumerate(filters):
        for k in range(2):
            ci = f if k else c_in
            x = torch.full((1, ci, d, h, w), 0.5)
            wt = torch.full((f, ci, 3, 3, 3), 0.01)
            gy = torch.full((1, f, d, h, w), 0.25)
            name = f"l{lv}.{k + 1}_{ci}to{f}"
            row(name + "_fwd", lambda: F.conv3d(x, wt, None, 1, 1))
            bwd = torch.ops.aten.convolution_backward
            if ci > 1:
                row(name + "_bwd_input", lambda: bwd(gy, x, wt, None, [1] * 3, [1] * 3, [1] * 3, False, [0] * 3, 1,
                                                     [True, False, False]))
            row(name + "_bwd_weight", lambda: bwd(gy, x, wt, None, [1] * 3, [1] * 3, [1] * 3, False, [0] * 3, 1,
                                                  [False, True, False]))
        c_in, d, h, w = f, d // 2, h // 2, w // 2


def bn_pool():
    x = torch.randn(1, 32, 32, 128, 128, requires_grad=True)
    gy = torch.randn(1, 32, 32, 128, 128)
    gamma, beta = torch.ones(32, requires_grad=True), torch.zeros(32, requires_grad=True)
    rm, rv = torch.zeros(32), torch.ones(32)

    def bn():
        x.grad = gamma.grad = beta.grad = None
        (F.batch_norm(x, rm, rv, gamma, beta, True, 0.1, 1e-5) * gy).sum().backward()
    row("batch_norm_fwd_bwd", bn)
    gp = torch.randn(1, 32, 16, 64, 64)

    def pool():
        x.grad = None
        (F.max_pool3d(x, 2, 2) * gp).sum().backward()
    row("max_pool_fwd_bwd", pool)


def gan_adam(m):
    return torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999))


def translation(name, g, generate, d, labels, real):
    og, od = gan_adam(g), gan_adam(d)

    def step():
        od.zero_grad()
        fake = generate().detach()
        pr, pf = d(real, labels), d(fake, labels)
        (0.5 * (F.mse_loss(pr, torch.ones_like(pr)) + F.mse_loss(pf, torch.zeros_like(pf)))).backward()
        od.step()
        og.zero_grad()
        fake = generate()
        pf = d(fake, labels)
        (F.mse_loss(pf, torch.ones_like(pf)) + 10.0 * F.l1_loss(fake, real)).backward()
        og.step()
    row(name, step)


def with_decoder_dropout(p2p, p=0.3):
    """Our pix2pix drops 30 % in the decoder while training; the golden model has no dropout."""
    for lv in range(p2p.depth - 1):
        getattr(p2p, f"up{lv}").append(nn.Dropout(p))
    return p2p


def pix2pix(size, small):
    labels, real = torch.rand(1, 29, size, size), torch.rand(1, 1, size, size)
    base, depth = (16, 4) if small else (64, 6)
    g = with_decoder_dropout(gold.Pix2Pix(2, 29, 1, base, depth)).float().train()
    d = gold.PatchGan(2, 1, 29, [32, 64, 128, 128]).float().train()
    translation("pix2pix_small" if small else "pix2pix_256", g, lambda: g(labels), d, labels, real)


def spade(size, small):
    labels, real = torch.rand(1, 29, size, size), torch.rand(1, 1, size, size)
    filters, hidden = ([64, 32, 16], 32) if small else ([128, 64, 32, 16, 8], 128)
    g = gold.Spade(2, [size, size], 128, 29, filters, hidden).float().train()
    d = gold.PatchGan(2, 1, 29, [32, 64, 128, 128]).float().train()
    z = torch.randn(1, 128)
    translation("spade_small" if small else "spade_256", g, lambda: g(z, labels), d, labels, real)


def wgan_small():
    g = gold.LesionGen(128, [1, 2, 2], [32, 16, 8, 8], [16, 32, 32]).float().train()
    c = gold.LesionCritic([16, 32, 32], [8, 16, 32, 64, 128], 128).float().train()
    og, oc = gan_adam(g), gan_adam(c)
    real, z = torch.rand(1, 1, 16, 32, 32), torch.randn(1, 128)

    def step():
        oc.zero_grad()
        fake = g(z).detach()
        e = torch.rand(1, 1, 1, 1, 1)
        xhat = (e * real + (1 - e) * fake).detach().requires_grad_()
        gr = torch.autograd.grad(c(xhat).sum(), xhat, create_graph=True)[0]
        gp = ((gr.pow(2).sum([1, 2, 3, 4]) + 1e-12).sqrt() - 1).pow(2).mean()
        (c(fake).mean() - c(real).mean() + 10 * gp).backward()
        oc.step()
        og.zero_grad()
        (-c(g(z)).mean()).backward()
        og.step()
    row("wgan_small", step)


WORKLOADS = {
    "unet_small": lambda: unet_step("unet_small", 2, 8, (4, 1, 16, 32, 32)),
    "unet_small_cl": lambda: unet_step("unet_small_cl", 2, 8, (4, 1, 16, 32, 32), torch.channels_last_3d),
    "unet_paper_cl": lambda: unet_step("unet_paper_cl", 4, 32, (1, 1, 32, 128, 128), torch.channels_last_3d),
    "conv_l0": lambda: conv_fwd_bwd("conv_l0_fwd_bwd", 32, 32, 128, 128),
    "conv_l0_cl": lambda: conv_fwd_bwd("conv_l0_cl_fwd_bwd", 32, 32, 128, 128, torch.channels_last_3d),
    "conv_small": lambda: conv_fwd_bwd("conv_small_fwd_bwd", 8, 16, 32, 32),
    "pix2pix_small": lambda: pix2pix(32, True),
    "spade_small": lambda: spade(32, True),
    "wgan_small": wgan_small,
    "unet_paper": lambda: unet_step("unet_paper", 4, 32, (1, 1, 32, 128, 128)),
    "conv_levels": conv_levels,
    "bn_pool": bn_pool,
    "pix2pix_256": lambda: pix2pix(256, False),
    "spade_256": lambda: spade(256, False),
}


def main():
    global REPS
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    a = ap.parse_args()
    REPS = max(1, a.reps)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    base = rss_mb()
    WORKLOADS[a.workload]()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"BENCH peak_mb={peak - base:.1f}", flush=True)


if __name__ == "__main__":
    main()
