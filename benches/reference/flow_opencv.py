#!/usr/bin/env python3
"""Reference measurement for vadscope's dense flow: OpenCV DIS and Farneback.

Not part of the crate. Needs numpy and opencv-python-headless, e.g.

    python3 -m venv /tmp/cv && /tmp/cv/bin/pip install numpy opencv-python-headless

The benchmark of record is made by `vadscope bench flow-pairs` (sets, splits and
occlusion masks; docs/results/flow/README.md); `measure` reads it, and
flow_compare.sh interleaves both sides. `make` below is the older Ped2-only set.

1. Make warped pairs with known flow from real frames (UCSD Ped2 here):

    /tmp/cv/bin/python benches/reference/flow_opencv.py make \
        /work/shared/data/ped2 /tmp/flowpairs --pairs 100 --size 256

   Each pair NNN is NNN_prev.png, NNN_next.png (8-bit gray), NNN_flow.flo (the
   true flow from prev to next, in pixels) and NNN_mask.png (255 where the EPE
   counts). `next` is a real frame resized to SIZExSIZE (area interpolation);
   `prev(q) = next(q + F(q))` by bilinear backward warping, so F is exactly the
   flow from prev to next. F is random and smooth: an affine part, a few
   low-frequency sinusoids and a Gaussian blob, scaled to a maximum length of
   1.5 to 5 px. The mask drops pixels whose source q + F(q) lies outside the
   frame and an 8-pixel border.

2. Measure OpenCV on them (2 threads, median pairs/s of several timed runs):

    /tmp/cv/bin/python benches/reference/flow_opencv.py measure /tmp/flowpairs --threads 2 --runs 5

   and ours on the same pairs:

    vadscope bench flow-epe /tmp/flowpairs --threads 2 --runs 5 [--preset balanced]

Both print `METHOD: EPE e px, F pairs/s` lines; EPE is the mean over pairs of the
mean end-point error over each pair's mask.
"""

import argparse
import glob
import json
import os
import statistics
import struct
import sys
import time

import cv2
import numpy as np


def natural_key(path):
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def write_flo(path, flow):
    h, w = flow.shape[:2]
    with open(path, "wb") as f:
        f.write(b"PIEH")
        f.write(struct.pack("<ii", w, h))
        f.write(flow.astype("<f4").tobytes())


def read_flo(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"PIEH":
        sys.exit(f"{path}: not a .flo file")
    w, h = struct.unpack("<ii", data[4:12])
    return np.frombuffer(data[12:], dtype="<f4").reshape(h, w, 2)


def random_flow(rng, size):
    """A smooth random flow field of size x size, max length 1.5..5 px."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) / size
    u = np.zeros((size, size))
    v = np.zeros((size, size))
    # Affine part.
    a = rng.normal(size=6)
    u += a[0] + a[1] * (xs - 0.5) + a[2] * (ys - 0.5)
    v += a[3] + a[4] * (xs - 0.5) + a[5] * (ys - 0.5)
    # Low-frequency sinusoids (1 to 2.5 periods across the frame).
    for _ in range(3):
        fx, fy = rng.uniform(-2.5, 2.5, size=2) * 2 * np.pi
        ph = rng.uniform(0, 2 * np.pi)
        amp = rng.normal(size=2) * 0.7
        s = np.sin(fx * xs + fy * ys + ph)
        u += amp[0] * s
        v += amp[1] * s
    # A local blob (an object moving on its own).
    cx, cy = rng.uniform(0.2, 0.8, size=2)
    r = rng.uniform(0.05, 0.15)
    g = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * r * r))
    b = rng.normal(size=2) * 2.0
    u += b[0] * g
    v += b[1] * g
    mag = np.sqrt(u * u + v * v).max()
    scale = rng.uniform(1.5, 5.0) / max(mag, 1e-9)
    return np.stack([u * scale, v * scale], axis=-1).astype(np.float32)


def make(args):
    frames = sorted(
        glob.glob(os.path.join(args.root, "*", "frames", "*", "*.jpg")),
        key=natural_key,
    )
    if not frames:
        sys.exit(f"{args.root}: no */frames/*/*.jpg found")
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(frames), size=args.pairs, replace=False)
    n = args.size
    border = 8
    for k, idx in enumerate(sorted(picks)):
        img = cv2.imread(frames[idx], cv2.IMREAD_GRAYSCALE)
        if img is None:
            sys.exit(f"{frames[idx]}: cannot read")
        nxt = cv2.resize(img, (n, n), interpolation=cv2.INTER_AREA)
        flow = random_flow(rng, n)
        ys, xs = np.mgrid[0:n, 0:n].astype(np.float32)
        mx, my = xs + flow[..., 0], ys + flow[..., 1]
        prev = cv2.remap(nxt, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = (mx >= 0) & (mx <= n - 1) & (my >= 0) & (my <= n - 1)
        inside[:border] = inside[-border:] = False
        inside[:, :border] = inside[:, -border:] = False
        base = os.path.join(args.out, f"{k:03d}")
        cv2.imwrite(base + "_prev.png", prev)
        cv2.imwrite(base + "_next.png", nxt)
        cv2.imwrite(base + "_mask.png", inside.astype(np.uint8) * 255)
        write_flo(base + "_flow.flo", flow)
    print(f"{args.pairs} pairs of {n}x{n} in {args.out}")


def load_pairs(folder, split=None):
    """Pairs as (split, set, prev, next, flow, mask, occluded)."""
    manifest = os.path.join(folder, "manifest.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            entries = [
                (p["split"], p["set"], os.path.join(folder, p["file"]))
                for p in json.load(f)["pairs"]
                if split is None or p["split"] == split
            ]
    else:
        entries = [
            ("-", "pairs", p[: -len("_prev.png")])
            for p in sorted(glob.glob(os.path.join(folder, "*_prev.png")), key=natural_key)
        ]
    pairs = []
    for sp, st, base in entries:
        prev = cv2.imread(base + "_prev.png", cv2.IMREAD_GRAYSCALE)
        nxt = cv2.imread(base + "_next.png", cv2.IMREAD_GRAYSCALE)
        mask = cv2.imread(base + "_mask.png", cv2.IMREAD_GRAYSCALE) > 127
        occ_path = base + "_occ.png"
        if os.path.exists(occ_path):
            occ = cv2.imread(occ_path, cv2.IMREAD_GRAYSCALE) > 127
        else:
            occ = np.zeros_like(mask)
        pairs.append((sp, st, prev, nxt, read_flo(base + "_flow.flo"), mask, occ))
    if not pairs:
        sys.exit(f"{folder}: no pairs (run `vadscope bench flow-pairs` first)")
    return pairs


def epe(flow, truth, mask):
    if not mask.any():
        return None
    d = flow - truth
    return float(np.sqrt((d * d).sum(-1))[mask].mean())


SETS = ["synth", "smooth-small", "smooth-large", "piecewise", "photometric", "pairs"]
SPLITS = ["tune", "held-out", "-"]


def summarize(pairs, errors):
    """Rows as `vadscope bench flow-epe` makes them: per split and set, then overall."""
    rows = []
    for sp in SPLITS:
        mine = [(p, e) for p, e in zip(pairs, errors) if p[0] == sp]
        if not mine:
            continue
        for st in SETS + [None]:
            group = [e for p, e in mine if st is None or p[1] == st]
            if not group:
                continue
            noc = [e[1] for e in group if e[1] is not None]
            rows.append({
                "split": sp,
                "set": st or "overall",
                "pairs": len(group),
                "epe_all": statistics.mean(e[0] for e in group),
                "epe_noc": statistics.mean(noc) if noc else 0.0,
            })
    return rows


def measure(args):
    cv2.setNumThreads(args.threads)
    pairs = load_pairs(args.folder, args.split)
    methods = {
        "dis-medium": lambda: cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
        "dis-fast": lambda: cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST),
        "farneback": None,
    }
    only = args.methods.split(",") if args.methods else list(methods)
    docs = []
    for name in only:
        make_est = methods[name]
        if make_est is None:
            def calc(a, b):
                return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        else:
            est = make_est()
            def calc(a, b, est=est):
                return est.calc(a, b, None)
        errors = []
        for _, _, p, n, t, m, o in pairs:
            f = calc(p, n)
            errors.append((epe(f, t, m), epe(f, t, m & ~o)))
        rows = summarize(pairs, errors)
        rates = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            for _, _, p, n, _, _, _ in pairs:
                calc(p, n)
            rates.append(len(pairs) / (time.perf_counter() - t0))
        rate = statistics.median(rates) if rates else None
        print(f"{name} ({args.threads} threads)")
        print(f"{'split':<9} {'set':<13} {'pairs':>5} {'EPE all':>9} {'EPE noc':>9}")
        for r in rows:
            print(f"{r['split']:<9} {r['set']:<13} {r['pairs']:>5} {r['epe_all']:>9.4f} {r['epe_noc']:>9.4f}")
        if rate is not None:
            print(
                f"{name}: {rate:.1f} pairs/s "
                f"({len(pairs)} pairs, median of {args.runs} runs, {args.threads} threads)"
            )
        docs.append({
            "method": name,
            "threads": args.threads,
            "pairs_per_s": rate,
            "runs": args.runs,
            "pairs": len(pairs),
            "rows": rows,
        })
    if args.json:
        with open(args.json, "w") as f:
            json.dump(docs if len(docs) > 1 else docs[0], f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make", help="make warped pairs with known flow")
    m.add_argument("root", help="dataset root with */frames/*/*.jpg (UCSD Ped2 in MNAD layout)")
    m.add_argument("out")
    m.add_argument("--pairs", type=int, default=100)
    m.add_argument("--size", type=int, default=256)
    m.add_argument("--seed", type=int, default=7)
    r = sub.add_parser("measure", help="EPE and pairs/s of OpenCV DIS and Farneback")
    r.add_argument("folder")
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--runs", type=int, default=5, help="timed runs (0 = EPE only)")
    r.add_argument("--methods", help="comma list of dis-medium,dis-fast,farneback")
    r.add_argument("--split", choices=["tune", "held-out"], help="one split only (default: both)")
    r.add_argument("--json", help="also write the figures as JSON (a list if several methods)")
    args = ap.parse_args()
    make(args) if args.cmd == "make" else measure(args)


if __name__ == "__main__":
    main()
