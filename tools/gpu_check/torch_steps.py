"""PyTorch side of `gpu_check steps` (tools/gpu_check.sh): the same training iteration as
ours (bench/gpu_check/gpu_check_nets.h), built from the PyTorch definitions of
our networks in tools/golden/make_fixtures.py, from our initial weights, buffers and inputs
(<net>_init.safetensors). Compares the first iteration with ours (<net>_step.safetensors):
every loss (relative, with a floor of 1e-3 times the iteration's largest loss), each model's
gradients as one vector (relative L2), every parameter gradient (max |ours - torch| / max |torch| per tensor, with the golden tests'
floor of 1e-3 times the largest gradient of that model), and a
discriminator's weights after its Adam step (in units of lr: a near-zero gradient whose
sign differs moves a weight by about 2 lr). Our post-step discriminator weights are then
loaded, so that the generator step is compared from identical weights. Then times --reps
iterations (median after a warm-up) and reads the peak of PyTorch's caching allocator.

--precision bf16|fp16 runs the iteration as PyTorch users train in mixed precision: forward
passes and losses inside torch.autocast(dtype), fp16 backward passes through one
torch.amp.GradScaler per optimiser (its defaults but an initial scale of 2^10, GRAD_SCALE, as
ours: at 2^16 a tiny network's first fp16 gradients overflow and both sides skip the step),
gradients recorded after unscale_; ours (gpu_check steps --precision) follows autograd/autocast.h.

usage: torch_steps.py --dir DIR --net unet|unet_cl|pix2pix|spade|wgan [--device cuda|cpu] [--reps N]
                      [--precision fp32|bf16|fp16]
"""
import contextlib
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors import safe_open

from torch_common import emit, median_ms, milliseconds, pick_device, rel_error, set_tf32

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import make_fixtures as mf  # noqa: E402  (the PyTorch definitions of our five networks)

GRAD_SCALE = 1024.0  # fp16's initial loss scale, ours: NetCheck::kGradScale (gpu_check_nets.h)


def load(path):
    with safe_open(path, "pt") as f:
        return json.loads(f.metadata()["config"]), {k: f.get_tensor(k) for k in f.keys()}


def require(cond, what):
    if not cond:
        raise SystemExit(f"torch_steps: {what} (tools/golden/make_fixtures.py fixes it; change both or neither)")


def load_module(m, tensors, prefix):
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    m.load_state_dict(state, strict=True)  # every name must correspond one to one


# ---- GAN losses, as ours (gpu_check_nets.cpp, losses) --------------------------------------
def lsgan_d(pr, pf):
    return 0.5 * (F.mse_loss(pr, torch.ones_like(pr)) + F.mse_loss(pf, torch.zeros_like(pf)))


def lsgan_g(pf):
    return F.mse_loss(pf, torch.ones_like(pf))


def wgan_gp_critic(c, real, fake, eps, gp_weight):
    xhat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
    gr = torch.autograd.grad(c(xhat).sum(), xhat, create_graph=True)[0]
    gp = ((gr.pow(2).sum(dim=(1, 2, 3, 4)) + 1e-12).sqrt() - 1).pow(2).mean()
    w = c(real).mean() - c(fake).mean()
    return gp * gp_weight - w, w, gp


class Record:
    def __init__(self):
        self.losses, self.grads, self.after = {}, {}, {}

    def add_grads(self, prefix, m):
        for k, p in m.named_parameters():
            self.grads[prefix + k] = p.grad.detach().clone()


class Setup:
    """Models with our initial weights, inputs and optimisers, on the device."""

    def __init__(self, cfg, init, device, precision="fp32"):
        self.cfg, self.net = cfg, cfg["net"]
        self.device, self.precision = device, precision
        a = cfg["adam"]
        self.models = self.build(cfg)
        for prefix, m in self.models.items():
            load_module(m, init, prefix)
            m.to(device).train()
        self.inputs = {k[3:]: v.to(device) for k, v in init.items() if k.startswith("in.")}
        if self.net == "unet_cl":  # ours with channels-last activations: PyTorch's channels_last_3d
            self.models["net."].to(memory_format=torch.channels_last_3d)
            self.inputs["x"] = self.inputs["x"].to(memory_format=torch.channels_last_3d)
        self.opts = {p: torch.optim.Adam(m.parameters(), lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"])
                     for p, m in self.models.items()}
        self.scalers = {p: torch.amp.GradScaler(device.type, init_scale=GRAD_SCALE, enabled=precision == "fp16") for p in self.models}

    def autocast(self):
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def backward_step(self, prefix, loss, rec):
        """Backward (scaled in fp16), the unscaled gradients recorded, then the step."""
        sc, opt = self.scalers[prefix], self.opts[prefix]
        sc.scale(loss).backward()
        sc.unscale_(opt)
        if rec:
            rec.add_grads(prefix, self.models[prefix])
        sc.step(opt)
        sc.update()

    @staticmethod
    def build(cfg):
        net = cfg["net"]
        if net in ("unet", "unet_cl"):
            return {"net.": mf.UNet(3, cfg["in_channels"], cfg["classes"], cfg["base_filters"], cfg["depth"])}
        d = cfg.get("d")
        if net in ("pix2pix", "spade"):
            require(d["kernel"] == 4, "PatchGAN kernel must be 4")
            disc = mf.PatchGan(d["dims"], 1, cfg["label_channels"], d["filters"], d["slope"])
        if net == "pix2pix":
            g = cfg["g"]
            require(g["kernel"] == 4 and g["max_filters"] == 8 * g["base_filters"] and g["dropout"] == 0,
                    "pix2pix: kernel 4, max_filters 8 x base, dropout 0")
            return {"g.": mf.Pix2Pix(g["dims"], cfg["label_channels"], 1, g["base_filters"], g["depth"], g["slope"]),
                    "d.": disc}
        if net == "spade":
            g = cfg["g"]
            require(g["out_kernel"] == 7 and abs(g["slope"] - 0.2) < 1e-12, "SPADE: out kernel 7, slope 0.2")
            return {"g.": mf.Spade(2, cfg["spatial"], g["z_dim"], cfg["label_channels"], g["filters"], g["hidden"]),
                    "d.": disc}
        if net == "wgan":
            require(abs(cfg["slope"] - 0.02) < 1e-12, "lesion WGAN: slope 0.02")
            return {"g.": mf.LesionGen(cfg["z_dim"], cfg["start"], cfg["gen_filters"], cfg["mask_size"]),
                    "c.": mf.LesionCritic(cfg["mask_size"], cfg["critic_filters"], cfg["critic_dense"])}
        raise SystemExit(f"torch_steps: unknown network {net}")

    def iteration(self, rec=None, ours=None):
        if self.net in ("unet", "unet_cl"):
            self.unet(rec)
        elif self.net == "wgan":
            self.wgan(rec, ours)
        else:
            self.translator(rec, ours)

    def unet(self, rec):
        m, opt, i = self.models["net."], self.opts["net."], self.inputs
        opt.zero_grad()
        with self.autocast():
            loss = mf.soft_dice_loss(F.softmax(m(i["x"]), 1).float(), i["target"], self.cfg["dice_class"])
        if rec:
            rec.losses["net"] = loss.detach()
        self.backward_step("net.", loss, rec)

    def after_step(self, prefix, rec, ours):
        """The discriminator's weights after its Adam step: recorded, then replaced by ours."""
        if not rec:
            return
        m = self.models[prefix]
        with torch.no_grad():
            for k, p in m.named_parameters():
                rec.after[prefix + k] = p.detach().clone()
                p.copy_(ours["after." + prefix + k].to(p.device))

    def translator(self, rec, ours):
        g, d, i = self.models["g."], self.models["d."], self.inputs
        og, od = self.opts["g."], self.opts["d."]
        gen = (lambda z: g(i["labels"])) if self.net == "pix2pix" else (lambda z: g(z, i["labels"]))
        od.zero_grad()
        with self.autocast():
            fake = gen(i.get("z_d")).detach()
            loss_d = lsgan_d(d(i["real"], i["labels"]).float(), d(fake, i["labels"]).float())
        if rec:
            rec.losses["d"] = loss_d.detach()
        self.backward_step("d.", loss_d, rec)
        self.after_step("d.", rec, ours)
        og.zero_grad()
        with self.autocast():
            fake = gen(i.get("z_g")).float()
            gan, l1 = lsgan_g(d(fake, i["labels"]).float()), F.l1_loss(fake, i["real"])
            loss_g = gan + l1 * self.cfg["l1_weight"]
        if rec:
            rec.losses.update({"g": loss_g.detach(), "g_gan": gan.detach(), "g_l1": l1.detach()})
        self.backward_step("g.", loss_g, rec)

    def wgan(self, rec, ours):
        g, c, i = self.models["g."], self.models["c."], self.inputs
        og, oc = self.opts["g."], self.opts["c."]
        oc.zero_grad()
        with self.autocast():
            fake = g(i["z_d"]).detach().float()
            loss_c, w, gp = wgan_gp_critic(lambda x: c(x).float(), i["real"], fake, i["eps"], self.cfg["gp_weight"])
        if rec:
            rec.losses.update({"c": loss_c.detach(), "c_wasserstein": w.detach(), "c_gp": gp.detach()})
        self.backward_step("c.", loss_c, rec)
        self.after_step("c.", rec, ours)
        og.zero_grad()
        with self.autocast():
            loss_g = -c(g(i["z_g"]).float()).float().mean()
        if rec:
            rec.losses["g"] = loss_g.detach()
        self.backward_step("g.", loss_g, rec)


def compare(rec, ours, lr):
    """Result fields: losses, worst gradient per model, discriminator weights after Adam."""
    out = {}
    # A loss near zero (a Wasserstein estimate at initialisation) is measured against the
    # scale of the iteration's losses, as gradients against their model's largest.
    floor = 1e-3 * max(abs(t.double().item()) for t in rec.losses.values())
    for name, t in rec.losses.items():
        o, v = ours["loss." + name].double().item(), t.double().item()
        out.update({f"loss_{name}_ours": o, f"loss_{name}_torch": v,
                    f"loss_{name}_rel": abs(o - v) / max(abs(v), floor, 1e-30)})
    for prefix in sorted({k.split(".", 1)[0] + "." for k in rec.grads}):
        grads = {k: v for k, v in rec.grads.items() if k.startswith(prefix)}
        scale = max(v.abs().max().item() for v in grads.values())
        errs = {k: rel_error(ours["grad." + k], v.cpu(), 1e-3 * scale) for k, v in grads.items()}
        worst = max(errs, key=errs.get)
        p = prefix[:-1]
        # The model's gradients as one vector: ||ours - torch|| / ||torch|| (what the mixed-precision
        # rows are judged by: in 16 bits a gradient that is zero by construction rounds to noise
        # far above the worst-tensor floor).
        diff2 = sum(((ours["grad." + k].double() - v.cpu().double()) ** 2).sum().item() for k, v in grads.items())
        norm2 = sum((v.cpu().double() ** 2).sum().item() for v in grads.values())
        out.update({f"grad_{p}_worst": errs[worst], f"grad_{p}_worst_name": worst, f"grad_{p}_tensors": len(errs),
                    f"grad_{p}_mean": sum(errs.values()) / len(errs),
                    f"grad_{p}_l2": (diff2 / norm2) ** 0.5 if norm2 > 0 else float("nan")})
    if rec.after:
        prefix = next(iter(rec.after)).split(".", 1)[0]
        diffs = [(ours["after." + k].double() - v.cpu().double()).abs() for k, v in rec.after.items()]
        out.update({f"after_{prefix}_max_lr": max(d.max().item() for d in diffs) / lr,
                    f"after_{prefix}_over_half_lr": sum(int((d > 0.5 * lr).sum().item()) for d in diffs),
                    f"after_{prefix}_elements": sum(d.numel() for d in diffs)})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--net", required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    args = p.parse_args()
    device = pick_device(args.device)
    set_tf32(False)  # FP32 math like ours
    torch.backends.cudnn.benchmark = False
    name = args.net + ("" if args.precision == "fp32" else "_" + args.precision)
    cfg, init = load(os.path.join(args.dir, f"{name}_init.safetensors"))
    _, ours = load(os.path.join(args.dir, f"{name}_step.safetensors"))
    require(cfg.get("precision", "fp32") == args.precision,
            f"{name}: ours ran in {cfg.get('precision', 'fp32')}, not {args.precision}")
    setup = Setup(cfg, init, device, args.precision)
    del init
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rec = Record()
    first_ms = milliseconds(lambda: setup.iteration(rec, ours), device)
    result = compare(rec, ours, cfg["adam"]["lr"])
    del rec
    ms = median_ms(lambda: setup.iteration(), device, args.reps)
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else 0
    emit("torch_steps", net=args.net, precision=args.precision, first_ms=first_ms, ms=ms, reps=args.reps, peak_bytes=peak, **result)


if __name__ == "__main__":
    main()
