"""Golden fixtures from PyTorch, an implementation independent of Penumbra.

Builds the study's five networks (reduced sizes, same architecture, parameter names equal
to Penumbra's named_parameters()) and each layer type, and writes safetensors fixtures to
tests/golden/fixtures/: weights (float32 values), inputs, outputs, the gradients of a
scalar loss sum(output * r) with respect to inputs and every parameter, and one full
optimisation step of each training setup. Computation runs in float64 on the float32
weights and inputs, so the fixtures are exact references for Penumbra's float32 run.

Run through tools/golden/make_fixtures.sh (it installs PyTorch into a virtual env).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "fixtures")
torch.manual_seed(1234)
DT = torch.float64


# ---- layers mirroring nn/ ---------------------------------------------------------------
def same_pad(x, k, s):
    """Keras "same": out = ceil(in / s), total pad max((out - 1) s + k - in, 0), extra after."""
    pads = []
    for n in reversed(x.shape[2:]):
        out = (n + s - 1) // s
        total = max((out - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def conv_fn(dims):
    return F.conv2d if dims == 2 else F.conv3d


class Conv(nn.Module):
    def __init__(self, dims, cin, cout, k, stride=1, padding=0, bias=True, same=False):
        super().__init__()
        self.dims, self.k, self.stride, self.padding, self.same = dims, k, stride, padding, same
        self.weight = nn.Parameter(torch.randn(cout, cin, *([k] * dims)) * (2.0 / (cin * k**dims)) ** 0.5)
        self.bias = nn.Parameter(torch.randn(cout) * 0.1) if bias else None

    def forward(self, x):
        if self.same:
            return conv_fn(self.dims)(same_pad(x, self.k, self.stride), self.weight, self.bias, self.stride, 0)
        return conv_fn(self.dims)(x, self.weight, self.bias, self.stride, self.padding)


class ConvT(nn.Module):
    def __init__(self, dims, cin, cout, k, stride):
        super().__init__()
        self.dims, self.stride = dims, stride
        self.weight = nn.Parameter(torch.randn(cin, cout, *([k] * dims)) * (2.0 / (cout * k**dims)) ** 0.5)

    def forward(self, x):
        f = F.conv_transpose2d if self.dims == 2 else F.conv_transpose3d
        return f(x, self.weight, None, self.stride)


class BatchNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(1 + 0.1 * torch.randn(c))
        self.bias = nn.Parameter(0.1 * torch.randn(c))
        self.register_buffer("running_mean", 0.1 * torch.randn(c))
        self.register_buffer("running_var", 1 + 0.1 * torch.rand(c))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training, 0.1, 1e-5)


class InstanceNorm(nn.Module):
    def forward(self, x):
        return F.instance_norm(x, eps=1e-5)


class Act(nn.Module):
    def __init__(self, kind, slope=0.0):
        super().__init__()
        self.kind, self.slope = kind, slope

    def forward(self, x):
        return {"relu": F.relu, "tanh": torch.tanh, "lrelu": lambda v: F.leaky_relu(v, self.slope)}[self.kind](x)


class Up(nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=2, mode="nearest")


class Linear(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) * (2.0 / cin) ** 0.5)
        self.bias = nn.Parameter(torch.randn(cout) * 0.1)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


def seq(*layers):
    return nn.Sequential(*layers)


# ---- the five networks (models/) --------------------------------------------------------
class UNet(nn.Module):
    def __init__(self, dims, cin, classes, base, depth):
        super().__init__()
        self.depth = depth

        def double(a, b):
            return seq(Conv(dims, a, b, 3, 1, 1, False), BatchNorm(b), Act("relu"), Conv(dims, b, b, 3, 1, 1, False),
                       BatchNorm(b), Act("relu"))

        filters, c = [], cin
        for l in range(depth):
            f = base << l
            filters.append(f)
            setattr(self, f"down{l}", double(c, f))
            c = f
        self.bottleneck = double(c, 2 * c)
        c *= 2
        for l in reversed(range(depth)):
            setattr(self, f"up{l}", seq(ConvT(dims, c, filters[l], 2, 2), BatchNorm(filters[l]), Act("relu")))
            setattr(self, f"upconv{l}", double(2 * filters[l], filters[l]))
            c = filters[l]
        self.head = Conv(dims, c, classes, 1)
        self.pool = (F.max_pool2d if dims == 2 else F.max_pool3d)

    def forward(self, x):
        skips, h = [], x
        for l in range(self.depth):
            h = getattr(self, f"down{l}")(h)
            skips.append(h)
            h = self.pool(h, 2, 2)
        h = self.bottleneck(h)
        for l in reversed(range(self.depth)):
            h = getattr(self, f"up{l}")(h)
            h = getattr(self, f"upconv{l}")(torch.cat([skips[l], h], 1))
        return self.head(h)


class Pix2Pix(nn.Module):
    def __init__(self, dims, labels, out, base, depth, slope=0.02):
        super().__init__()
        self.depth, filters, c = depth, [], labels
        for l in range(depth):
            f = min(base << l, 8 * base)
            filters.append(f)
            layers = [Conv(dims, c, f, 4, 2, bias=l == 0, same=True)] + ([InstanceNorm()] if l > 0 else []) + \
                [Act("lrelu", slope)]
            setattr(self, f"down{l}", seq(*layers))
            c = f
        for l in reversed(range(depth - 1)):
            setattr(self, f"up{l}", seq(Up(), Conv(dims, c, filters[l], 4, 1, bias=False, same=True), InstanceNorm(),
                                        Act("lrelu", slope)))
            c = 2 * filters[l]
        self.out = seq(Up(), Conv(dims, c, out, 4, 1, same=True), Act("tanh"))

    def forward(self, x):
        skips, h = [], x
        for l in range(self.depth):
            h = getattr(self, f"down{l}")(h)
            skips.append(h)
        for l in reversed(range(self.depth - 1)):
            h = torch.cat([getattr(self, f"up{l}")(h), skips[l]], 1)
        return self.out(h)


class PatchGan(nn.Module):
    def __init__(self, dims, image_c, label_c, filters, slope=0.2):
        super().__init__()
        c, n = image_c + label_c, len(filters)
        self.n = n
        for l in range(n + 1):
            last = l == n
            f = 1 if last else filters[l]
            norm = not last and l > 0
            layers = [Conv(dims, c, f, 4, 2 if l + 1 < n else 1, 1, bias=not norm)]
            if norm:
                layers.append(InstanceNorm())
            if not last:
                layers.append(Act("lrelu", slope))
            self.add_module(str(l), seq(*layers))
            c = f

    def forward(self, image, labels):
        h = torch.cat([image, labels], 1)
        for l in range(self.n + 1):
            h = getattr(self, str(l))(h)
        return h


class SpadeNorm(nn.Module):
    def __init__(self, dims, c, label_c, hidden):
        super().__init__()
        self.dims = dims
        self.shared = Conv(dims, label_c, hidden, 3, 1, 1)
        self.gamma = Conv(dims, hidden, c, 3, 1, 1)
        self.beta = Conv(dims, hidden, c, 3, 1, 1)

    def forward(self, x, labels):
        f = labels.shape[2] // x.shape[2]
        m = labels if f == 1 else (F.max_pool2d if self.dims == 2 else F.max_pool3d)(labels, f, f)
        h = F.relu(self.shared(m))
        return F.instance_norm(x, eps=1e-5) * (1 + self.gamma(h)) + self.beta(h)


class SpadeBlock(nn.Module):
    def __init__(self, dims, cin, cout, label_c, hidden):
        super().__init__()
        mid = min(cin, cout)
        self.norm0 = SpadeNorm(dims, cin, label_c, hidden)
        self.conv0 = Conv(dims, cin, mid, 3, 1, 1, bias=False)
        self.norm1 = SpadeNorm(dims, mid, label_c, hidden)
        self.conv1 = Conv(dims, mid, cout, 3, 1, 1)
        self.learned = cin != cout
        if self.learned:
            self.norm_s = SpadeNorm(dims, cin, label_c, hidden)
            self.conv_s = Conv(dims, cin, cout, 1, 1, 0, bias=False)

    def forward(self, x, labels):
        s = self.conv_s(self.norm_s(x, labels)) if self.learned else x
        h = self.conv0(F.leaky_relu(self.norm0(x, labels), 0.2))
        h = self.conv1(F.leaky_relu(self.norm1(h, labels), 0.2))
        return s + h


class Spade(nn.Module):
    def __init__(self, dims, out_size, z_dim, label_c, filters, hidden):
        super().__init__()
        self.start = [s >> len(filters) for s in out_size]
        self.filters = filters
        vol = 1
        for s in self.start:
            vol *= s
        self.fc = Linear(z_dim, filters[0] * vol)
        c = filters[0]
        for i, f in enumerate(filters):
            setattr(self, f"block{i}", SpadeBlock(dims, c, f, label_c, hidden))
            c = f
        self.out = Conv(dims, c, 1, 7, 1, 3)

    def forward(self, z, labels):
        h = self.fc(z).reshape(z.shape[0], self.filters[0], *self.start)
        for i in range(len(self.filters)):
            h = F.interpolate(getattr(self, f"block{i}")(h, labels), scale_factor=2, mode="nearest")
        return torch.tanh(self.out(F.leaky_relu(h, 0.2)))


def center_crop(x, size):
    sl = [slice(None), slice(None)]
    for n, s in zip(x.shape[2:], size):
        a = (n - s) // 2
        sl.append(slice(a, a + s))
    return x[tuple(sl)]


class LesionGen(nn.Module):
    def __init__(self, z_dim, start, filters, mask):
        super().__init__()
        self.start, self.filters, self.mask = start, filters, mask
        self.fc = Linear(z_dim, filters[0] * start[0] * start[1] * start[2])
        c = filters[0]
        for i, f in enumerate(filters):
            setattr(self, f"block{i}", seq(Conv(3, c, f, 3, 1, 1, False), InstanceNorm(), Up(), Act("lrelu", 0.02)))
            c = f
        self.out = Conv(3, c, 1, 7, 1, 3)

    def forward(self, z):
        h = self.fc(z).reshape(z.shape[0], self.filters[0], *self.start)
        for i in range(len(self.filters)):
            h = getattr(self, f"block{i}")(h)
        return center_crop(torch.tanh(self.out(h)), self.mask)


class LesionCritic(nn.Module):
    def __init__(self, mask, filters, dense):
        super().__init__()
        self.n, c, size = len(filters), 1, list(mask)
        for i, f in enumerate(filters):
            setattr(self, f"block{i}", seq(Conv(3, c, f, 5, 2, same=True), Act("lrelu", 0.02)))
            c = f
            size = [(s + 1) // 2 for s in size]
        self.dense = Linear(c * size[0] * size[1] * size[2], dense)
        self.score = Linear(dense, 1)

    def forward(self, x):
        h = x
        for i in range(self.n):
            h = getattr(self, f"block{i}")(h)
        return self.score(F.leaky_relu(self.dense(h.flatten(1)), 0.02))


# ---- fixture writers --------------------------------------------------------------------
def f32(t):
    """Rounds to float32 values, kept in float64 for the reference computation."""
    return t.detach().to(torch.float32).to(DT)


def round_model(m):
    with torch.no_grad():
        for t in list(m.parameters()) + list(m.buffers()):
            t.copy_(f32(t))
    return m.to(DT)


def state(m, prefix="w."):
    out = {prefix + k: v.detach().clone() for k, v in m.named_parameters()}
    out.update({prefix + k: v.detach().clone() for k, v in m.named_buffers()})
    return out


def forward_fixture(name, m, inputs, train):
    """Weights, inputs, output, and d(sum(out * r))/d(inputs, params) in train or eval mode."""
    m.train(train)
    weights = state(m)  # before the pass: batch norm updates its running statistics in training
    ins = [f32(x).requires_grad_() for x in inputs]
    out = m(*ins)
    r = f32(torch.randn_like(out))
    grads = torch.autograd.grad((out * r).sum(), ins + list(m.parameters()))
    t = dict(weights)
    for i, x in enumerate(ins):
        t[f"in{i}"] = x.detach()
        t[f"grad.in{i}"] = grads[i]
    t["out"] = out.detach()
    t["r"] = r
    for (k, _), g in zip(m.named_parameters(), grads[len(ins):]):
        t["grad." + k] = g
    for k, v in m.named_buffers():  # running statistics after the pass
        t["after." + k] = v.detach().clone()
    save(name + ("_train" if train else "_eval"), t, mode="train" if train else "eval")


def save(name, tensors, **meta):
    # One metadata key: safetensors writes a dict's keys in no fixed order, and a second key
    # would make regenerated files differ byte-wise from the committed ones.
    path = os.path.join(OUT, name + ".safetensors")
    info = ", ".join(f"{k}={v}" for k, v in sorted(meta.items()))
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata={"info": info})
    print(f"{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")


def adam(params, lr, betas=(0.9, 0.999)):
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=1e-8)


def one_hot(labels, classes):
    return F.one_hot(labels, classes).movedim(-1, 1).to(DT)


def soft_dice_loss(probs, target, cls, eps=1e-5):
    p, t = probs[:, cls], target[:, cls]
    dims = list(range(1, p.dim()))
    dice = (2 * (p * t).sum(dims) + eps) / (p.sum(dims) + t.sum(dims) + eps)
    return 1 - dice.mean()


def unet_step():
    m = round_model(UNet(3, 1, 2, 4, 2))
    x = f32(torch.randn(2, 1, 8, 8, 8))
    target = one_hot((torch.rand(2, 8, 8, 8) > 0.7).long(), 2)
    t = dict(state(m, "before."))
    opt = adam(m.parameters(), 1e-3)
    m.train()
    for _ in range(2):
        opt.zero_grad()
        soft_dice_loss(F.softmax(m(x), 1), target, 1).backward()
        opt.step()
    t.update(state(m, "after."))
    t.update({"x": x, "target": target})
    save("unet_adam_step", t, lr=1e-3, steps=2)


def pix2pix_step():
    g = round_model(Pix2Pix(2, 5, 1, 4, 3))
    d = round_model(PatchGan(2, 1, 5, [4, 8, 8]))
    labels = one_hot(torch.randint(0, 5, (1, 16, 16)), 5)
    real = f32(torch.tanh(torch.randn(1, 1, 16, 16)))
    t = dict(state(g, "before.g."))
    t.update(state(d, "before.d."))
    og, od = adam(g.parameters(), 2e-4, (0.5, 0.999)), adam(d.parameters(), 2e-4, (0.5, 0.999))
    lam = 10.0
    # Discriminator: real pairs -> 1, generated pairs -> 0 (least squares).
    od.zero_grad()
    fake = g(labels).detach()
    pr, pf = d(real, labels), d(fake, labels)
    loss_d = 0.5 * (F.mse_loss(pr, torch.ones_like(pr)) + F.mse_loss(pf, torch.zeros_like(pf)))
    loss_d.backward()
    od.step()
    # Generator: fool the updated discriminator, plus lambda * L1 to the real image.
    og.zero_grad()
    fake = g(labels)
    pf = d(fake, labels)
    loss_g = F.mse_loss(pf, torch.ones_like(pf)) + lam * F.l1_loss(fake, real)
    loss_g.backward()
    og.step()
    t.update(state(g, "after.g."))
    t.update(state(d, "after.d."))
    t.update({"labels": labels, "real": real, "loss_d": loss_d.detach().reshape(1), "loss_g": loss_g.detach().reshape(1)})
    save("pix2pix_lsgan_step", t, lam=lam)


def wgan_step():
    cfg = dict(z_dim=8, start=[1, 2, 2], filters=[6, 4], mask=[4, 8, 8])
    g = round_model(LesionGen(cfg["z_dim"], cfg["start"], cfg["filters"], cfg["mask"]))
    c = round_model(LesionCritic(cfg["mask"], [4, 6, 8], 16))
    z = f32(torch.randn(2, 8))
    real = f32(torch.sign(torch.randn(2, 1, 4, 8, 8)))
    eps = f32(torch.rand(2))
    t = dict(state(g, "before.g."))
    t.update(state(c, "before.c."))
    og, oc = adam(g.parameters(), 2e-4, (0.5, 0.999)), adam(c.parameters(), 2e-4, (0.5, 0.999))
    oc.zero_grad()
    fake = g(z).detach()
    xhat = (eps.view(-1, 1, 1, 1, 1) * real + (1 - eps.view(-1, 1, 1, 1, 1)) * fake).requires_grad_()
    gr = torch.autograd.grad(c(xhat).sum(), xhat, create_graph=True)[0]
    gp = ((gr.flatten(1).pow(2).sum(1) + 1e-12).sqrt() - 1).pow(2).mean()
    loss_c = c(fake).mean() - c(real).mean() + 10 * gp
    loss_c.backward()
    oc.step()
    og.zero_grad()
    loss_g = -c(g(z)).mean()
    loss_g.backward()
    og.step()
    t.update(state(g, "after.g."))
    t.update(state(c, "after.c."))
    t.update({"z": z, "real": real, "eps": eps, "loss_c": loss_c.detach().reshape(1), "loss_g": loss_g.detach().reshape(1)})
    save("wgan_gp_step", t, gp_weight=10)


class Wrap(nn.Module):
    """A layer under the name "layer", so its parameters are "layer.weight", ..."""
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, *x):
        return self.layer(*x)


class MaxPool(nn.Module):
    def forward(self, x):
        return (F.max_pool2d if x.dim() == 4 else F.max_pool3d)(x, 2, 2)


def layer_fixtures():
    """Each layer type alone, forward and gradients, on odd sizes."""
    r = torch.randn
    cases = [
        ("layer_conv2d", Conv(2, 3, 4, 3, 1, 1), [r(2, 3, 7, 6)], True),
        ("layer_conv3d_s2", Conv(3, 2, 3, 3, 2, 1), [r(1, 2, 7, 6, 5)], True),
        ("layer_conv2d_same_k4", Conv(2, 2, 3, 4, 1, bias=False, same=True), [r(2, 2, 6, 7)], True),
        ("layer_conv3d_same_k5_s2", Conv(3, 1, 2, 5, 2, same=True), [r(1, 1, 6, 7, 8)], True),
        ("layer_convT2d_k2", ConvT(2, 3, 2, 2, 2), [r(2, 3, 4, 5)], True),
        ("layer_convT3d_k2", ConvT(3, 2, 3, 2, 2), [r(1, 2, 3, 4, 3)], True),
        ("layer_linear", Linear(7, 5), [r(3, 7)], True),
        ("layer_batchnorm", BatchNorm(3), [r(4, 3, 5, 6)], True),
        ("layer_batchnorm", BatchNorm(3), [r(4, 3, 5, 6)], False),
        ("layer_instancenorm", InstanceNorm(), [r(2, 3, 5, 6, 4)], True),
        ("layer_spadenorm", SpadeNorm(2, 3, 4, 5), [r(2, 3, 4, 6), F.one_hot(torch.randint(0, 4, (2, 8, 12)), 4).movedim(-1, 1).float()], True),
        ("layer_leakyrelu", Act("lrelu", 0.02), [r(3, 4, 5)], True),
        ("layer_relu", Act("relu"), [r(3, 4, 5)], True),
        ("layer_tanh", Act("tanh"), [r(3, 4, 5)], True),
        ("layer_maxpool3d", MaxPool(), [r(2, 2, 4, 6, 8)], True),
        ("layer_upsample2d", Up(), [r(2, 3, 3, 5)], True),
    ]
    for name, layer, inputs, train in cases:
        forward_fixture(name, round_model(Wrap(layer)), inputs, train)


def main():
    os.makedirs(OUT, exist_ok=True)
    layer_fixtures()
    # Models: forward and gradients.
    for train in (True, False):
        forward_fixture("unet3d", round_model(UNet(3, 1, 2, 4, 2)), [torch.randn(2, 1, 8, 8, 12)], train)
        forward_fixture("unet2d", round_model(UNet(2, 2, 3, 4, 2)), [torch.randn(2, 2, 12, 8)], train)
    forward_fixture("pix2pix2d", round_model(Pix2Pix(2, 5, 1, 4, 3)), [one_hot(torch.randint(0, 5, (2, 16, 16)), 5)], True)
    forward_fixture("pix2pix3d", round_model(Pix2Pix(3, 4, 1, 4, 2)), [one_hot(torch.randint(0, 4, (1, 8, 8, 12)), 4)], True)
    forward_fixture("patchgan2d", round_model(PatchGan(2, 1, 5, [4, 8, 8])),
                    [torch.randn(2, 1, 16, 16), one_hot(torch.randint(0, 5, (2, 16, 16)), 5)], True)
    forward_fixture("patchgan3d", round_model(PatchGan(3, 1, 3, [4, 6, 6])),
                    [torch.randn(1, 1, 16, 16, 16), one_hot(torch.randint(0, 3, (1, 16, 16, 16)), 3)], True)
    forward_fixture("spade2d", round_model(Spade(2, [16, 16], 8, 5, [8, 6, 4], 6)),
                    [torch.randn(2, 8), one_hot(torch.randint(0, 5, (2, 16, 16)), 5)], True)
    forward_fixture("lesion_gen", round_model(LesionGen(8, [1, 2, 2], [6, 4], [4, 6, 8])), [torch.randn(2, 8)], True)
    forward_fixture("lesion_critic", round_model(LesionCritic([4, 6, 8], [4, 6, 8], 16)),
                    [torch.randn(2, 1, 4, 6, 8)], True)
    # Training steps.
    unet_step()
    pix2pix_step()
    wgan_step()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"fixtures: {total} bytes in total")
    if total > 5 * 1024 * 1024:
        sys.exit("fixtures exceed 5 MB")


if __name__ == "__main__":
    main()
