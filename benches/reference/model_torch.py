#!/usr/bin/env python3
"""PyTorch twin of vadscope's hybrid model (src/model/), for speed comparison only.

The same architecture layer by layer (multi-layer MemAE U-Net with three memories,
flow-conditioned CVAE), the same memory read/update rules, losses, loss weights and
AdamW settings as the Rust code, on random inputs of a profile's shapes. Prints the
same summary lines as `vadscope bench model`:

    train: S s/step, R steps/s, F frames/s
    infer: S s/batch, F frames/s

Not part of the crate or CI. Needs torch (CPU build is enough):
    python3 -m venv /work/venv-torch && /work/venv-torch/bin/pip install torch
    /work/venv-torch/bin/python benches/reference/model_torch.py --profile cpu
"""

import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# (size, channels, frames, memae channels, slots, cvae channels, latent, lr, batch)
PROFILES = {
    "demo": (32, 1, 2, (8, 16, 16, 32), (10, 10, 10), (8, 16, 16, 32), 8, 2e-3, 4),
    "cpu": (64, 1, 4, (16, 32, 64, 64), (50, 50, 50), (16, 32, 64, 64), 16, 1e-3, 8),
    "paper": (256, 3, 4, (64, 128, 256, 512), (100, 100, 100), (64, 128, 256, 512), 64, 1e-4, 16),
}
# Whole-frame (inference) size where it differs from the training size: the
# `cpu` profile scores 128x192 frames and trains on 64x64 crops of them.
INFER_SIZE = {"cpu": (128, 192)}
TEMPERATURE, SHRINK, RADIUS, MARGIN = 0.1, 1.0, 1.0, 1.0
W_RECON, W_COMPACT, W_SEPARATE, W_PRED, W_KL, W_GRAD = 1.0, 0.01, 0.01, 1.0, 0.01, 1.0
EPS = 1e-12


def norm_groups(c):
    return next(g for g in (8, 4, 2, 1) if c % g == 0)


class ConvBlock(nn.Module):
    """conv3x3 -> group norm -> ReLU, twice (ops.rs ConvBlock)."""

    def __init__(self, cin, cout):
        super().__init__()
        g = norm_groups(cout)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm1 = nn.GroupNorm(g, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(g, cout, eps=1e-5)

    def forward(self, x):
        x = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(x)))


def up(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


def l2n(x, dim):
    return x / (x.pow(2).sum(dim, keepdim=True) + EPS).sqrt()


class Memory:
    """memory.rs: items are a plain tensor, updated by rule, not by gradient."""

    def __init__(self, slots, dim):
        self.items = l2n(torch.randn(slots, dim), 1)

    def read(self, x, losses=True):
        b, c, h, w = x.shape
        m = self.items
        q = l2n(x.permute(0, 2, 3, 1).reshape(-1, c), 1)
        sim = q @ m.t()
        wts = torch.softmax(sim / TEMPERATURE, dim=1)
        shifted = wts - SHRINK / m.shape[0]
        shrunk = F.relu(shifted) * wts / (shifted.abs() + EPS)
        att = shrunk / (shrunk.sum(1, keepdim=True) + EPS)
        read = att @ m
        idx = sim.detach().topk(2, dim=1).indices
        d1_sq = (q - m[idx[:, 0]]).pow(2).sum(1)
        compact = d1_sq.mean()
        distance = d1_sq.reshape(b, h * w).mean(1)
        separate = None
        if losses:
            d1 = (d1_sq + EPS).sqrt()
            d2 = ((q - m[idx[:, 1]]).pow(2).sum(1) + EPS).sqrt()
            separate = F.relu(d1 - d2 + MARGIN).mean()
        read = read.reshape(b, h, w, c).permute(0, 3, 1, 2)
        att = att.reshape(b, h, w, -1).permute(0, 3, 1, 2)
        return read, att, compact, separate, distance, q.detach()

    @torch.no_grad()
    def update(self, q):
        m = self.items
        s, best = (q @ m.t()).max(1)
        ok = (2 - 2 * s).clamp(min=0).sqrt() < RADIUS
        s, best, q = s[ok], best[ok], q[ok]
        smax = torch.full((m.shape[0],), -float("inf")).scatter_reduce(0, best, s, "amax")
        wts = ((s - smax[best]) / TEMPERATURE).exp()
        v = m.index_add(0, best, wts[:, None] * q)
        moved = torch.isfinite(smax)
        self.items = torch.where(moved[:, None], v / v.norm(dim=1, keepdim=True).clamp(min=EPS), m)


class MemAE(nn.Module):
    def __init__(self, cin, ch, slots):
        super().__init__()
        c1, c2, c3, c4 = ch
        self.enc = nn.ModuleList([ConvBlock(cin, c1), ConvBlock(c1, c2), ConvBlock(c2, c3), ConvBlock(c3, c4)])
        self.up3, self.dec3 = nn.Conv2d(c4, c3, 3, padding=1), ConvBlock(2 * c3, c3)
        self.up2, self.dec2 = nn.Conv2d(c3, c2, 3, padding=1), ConvBlock(2 * c2, c2)
        self.up1, self.dec1 = nn.Conv2d(c2, c1, 3, padding=1), ConvBlock(c1, c1)
        self.out = nn.Conv2d(c1, cin, 1)
        self.memories = [Memory(slots[0], c4), Memory(slots[1], c3), Memory(slots[2], c2)]

    def forward(self, x, losses=True):
        e1 = self.enc[0](x)
        e2 = self.enc[1](F.max_pool2d(e1, 2))
        e3 = self.enc[2](F.max_pool2d(e2, 2))
        e4 = self.enc[3](F.max_pool2d(e3, 2))
        reads = [mem.read(f, losses) for mem, f in zip(self.memories, (e4, e3, e2))]
        d = self.dec3(torch.cat([self.up3(up(reads[0][0])), reads[1][0]], 1))
        d = self.dec2(torch.cat([self.up2(up(d)), reads[2][0]], 1))
        d = self.dec1(self.up1(up(d)))
        return self.out(d), reads


class Encoder(nn.Module):
    def __init__(self, cin, ch):
        super().__init__()
        self.blocks = nn.ModuleList([ConvBlock(cin, ch[0]), ConvBlock(ch[0], ch[1]),
                                     ConvBlock(ch[1], ch[2]), ConvBlock(ch[2], ch[3])])

    def forward(self, x):
        f1 = self.blocks[0](x)
        f2 = self.blocks[1](F.max_pool2d(f1, 2))
        f3 = self.blocks[2](F.max_pool2d(f2, 2))
        f4 = self.blocks[3](F.max_pool2d(f3, 2))
        return f1, f2, f3, f4


class CVAE(nn.Module):
    def __init__(self, cin, frames, ch, latent):
        super().__init__()
        c1, c2, c3, c4 = ch
        self.prior = Encoder(2 * frames, ch)
        self.prior_mu, self.prior_logvar = nn.Conv2d(c4, latent, 1), nn.Conv2d(c4, latent, 1)
        self.posterior = Encoder(cin * frames + 2 * frames, ch)
        self.post_mu, self.post_logvar = nn.Conv2d(c4, latent, 1), nn.Conv2d(c4, latent, 1)
        self.dec4 = ConvBlock(latent + c4, c4)
        self.up3, self.dec3 = nn.Conv2d(c4, c3, 3, padding=1), ConvBlock(2 * c3, c3)
        self.up2, self.dec2 = nn.Conv2d(c3, c2, 3, padding=1), ConvBlock(2 * c2, c2)
        self.up1, self.dec1 = nn.Conv2d(c2, c1, 3, padding=1), ConvBlock(2 * c1, c1)
        self.out = nn.Conv2d(c1, cin, 1)
        self.latent = latent

    def forward(self, x_hat, flow, noise):
        p = self.prior(flow)
        mu_p, logvar_p = self.prior_mu(p[3]), self.prior_logvar(p[3])
        f = self.posterior(torch.cat([x_hat, flow], 1))
        mu_q, logvar_q = self.post_mu(f[3]), self.post_logvar(f[3])
        z = mu_q + (logvar_q * 0.5).exp() * noise if noise is not None else mu_q
        d = self.dec4(torch.cat([z, p[3]], 1))
        d = self.dec3(torch.cat([self.up3(up(d)), f[2]], 1))
        d = self.dec2(torch.cat([self.up2(up(d)), f[1]], 1))
        d = self.dec1(torch.cat([self.up1(up(d)), f[0]], 1))
        return self.out(d), mu_q, logvar_q, mu_p, logvar_p


def gradient_loss(p, t):
    def dx(x):
        return (x[..., :, 1:] - x[..., :, :-1]).abs()

    def dy(x):
        return (x[..., 1:, :] - x[..., :-1, :]).abs()

    return (dx(p) - dx(t)).abs().mean() + (dy(p) - dy(t)).abs().mean()


def per_sample(a, b):
    return (a - b).pow(2).reshape(a.shape[0], -1).mean(1)


class Hybrid(nn.Module):
    def __init__(self, profile):
        super().__init__()
        size, c, t, mch, slots, cch, latent, _, _ = PROFILES[profile]
        self.memae = MemAE(c * t, mch, slots)
        self.cvae = CVAE(c, t, cch, latent)

    def forward(self, frames, nxt, flow, sample, losses=True):
        """Losses (None when `losses` is off: scoring, as vadscope's `score`),
        per-sample score terms and the memory reads."""
        recon, reads = self.memae(frames, losses)
        distance = sum(r[4] for r in reads) / len(reads)
        noise = None
        if sample:
            b, _, h, w = recon.shape
            noise = torch.randn(b, self.cvae.latent, h // 8, w // 8)
        pred, mu_q, logvar_q, mu_p, logvar_p = self.cvae(recon, flow, noise)
        scores = (per_sample(recon, frames).detach(), per_sample(pred, nxt).detach(), distance.detach())
        if not losses:
            return None, scores, reads
        l_recon = F.mse_loss(recon, frames)
        compact = sum(r[2] for r in reads)
        separate = sum(r[3] for r in reads)
        l_pred = F.mse_loss(pred, nxt)
        inner = (logvar_p - logvar_q) + (logvar_q - logvar_p).exp() + (mu_q - mu_p).pow(2) * (-logvar_p).exp()
        kl = ((inner - 1) * 0.5).mean()
        grad = gradient_loss(pred, nxt)
        total = (W_RECON * l_recon + W_COMPACT * compact + W_SEPARATE * separate
                 + W_PRED * l_pred + W_KL * kl + W_GRAD * grad)
        return (l_recon, compact, separate, l_pred, kl, grad, total), scores, reads

    def update_memories(self, reads):
        for mem, r in zip(self.memae.memories, reads):
            mem.update(r[5])


def inputs(profile, batch, h, w):
    c, t = PROFILES[profile][1:3]
    frames = torch.rand(batch, c * t, h, w) * 2 - 1
    nxt = torch.rand(batch, c, h, w) * 2 - 1
    flow = torch.rand(batch, 2 * t, h, w) * 4 - 2
    return frames, nxt, flow


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="cpu", choices=sorted(PROFILES))
    ap.add_argument("--batch", type=int)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-train", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    lr, default_batch = PROFILES[args.profile][7:9]
    batch = args.batch or default_batch
    model = Hybrid(args.profile)
    params = sum(p.numel() for p in model.parameters())
    size, c, t = PROFILES[args.profile][:3]
    ih, iw = INFER_SIZE.get(args.profile, (size, size))
    print(f"torch {torch.__version__} profile {args.profile}: batch {batch} x {t} frames x {c}x{ih}x{iw} "
          f"(training on {size}x{size}), {torch.get_num_threads()} threads, {params} parameters, "
          f"{args.runs} runs after {args.warmup} warm-up")
    frames, nxt, flow = inputs(args.profile, batch, size, size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)
    if not args.no_train:
        fwd, bwd, step, upd, tot = [], [], [], [], []
        for run in range(args.warmup + args.runs):
            t0 = time.perf_counter()
            losses, _, reads = model(frames, nxt, flow, sample=True)
            [x.item() for x in losses]
            t1 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            losses[-1].backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            model.update_memories(reads)
            t4 = time.perf_counter()
            if run >= args.warmup:
                fwd.append(t1 - t0)
                bwd.append(t2 - t1)
                step.append(t3 - t2)
                upd.append(t4 - t3)
                tot.append(t4 - t0)
        med = statistics.median
        print(f"train step parts (median): forward {med(fwd) * 1e3:.1f} ms, backward {med(bwd) * 1e3:.1f} ms, "
              f"AdamW {med(step) * 1e3:.1f} ms, memory update {med(upd) * 1e3:.1f} ms")
        print("train step runs (ms): " + " ".join(f"{x * 1e3:.0f}" for x in tot))
    infer = []
    frames, nxt, flow = inputs(args.profile, batch, ih, iw)
    with torch.inference_mode():
        for run in range(args.warmup + args.runs):
            t0 = time.perf_counter()
            _, scores, _ = model(frames, nxt, flow, sample=False, losses=False)
            [s.tolist() for s in scores]
            if run >= args.warmup:
                infer.append(time.perf_counter() - t0)
    print("infer batch runs (ms): " + " ".join(f"{x * 1e3:.0f}" for x in infer))
    if not args.no_train:
        s = statistics.median(tot)
        print(f"train: {s:.4f} s/step, {1 / s:.3f} steps/s, {batch / s:.2f} frames/s")
    s = statistics.median(infer)
    print(f"infer: {s:.4f} s/batch, {batch / s:.2f} frames/s")


if __name__ == "__main__":
    main()
