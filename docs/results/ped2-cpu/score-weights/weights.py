#!/usr/bin/env python3
"""Score weights from training frames only (see PREREG.txt): prints recon=..,pred=..,dist=.."""
import csv, glob, os, sys

def series(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {t: [float(r[t]) for r in rows] for t in ("recon", "pred", "dist")}

def minmax(x):
    lo, hi = min(x), max(x)
    return [(v - lo) / (hi - lo) if hi > lo else 0.0 for v in x]

jit = {t: [] for t in ("recon", "pred", "dist")}
var = {t: [] for t in jit}
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.csv")))
if not files:
    sys.exit(f"no score CSVs in {sys.argv[1]}")
for path in files:
    for t, x in series(path).items():
        y = minmax(x)
        if len(y) < 3:
            continue
        m = sum(y) / len(y)
        var[t].append(sum((v - m) ** 2 for v in y) / len(y))
        jit[t].append(sum((b - a) ** 2 for a, b in zip(y, y[1:])) / (len(y) - 1))
r = {t: (sum(jit[t]) / len(jit[t])) / (sum(var[t]) / len(var[t])) for t in jit}
inv = {t: 1.0 / r[t] for t in r}
s = sum(inv.values())
print("# r = " + ", ".join(f"{t} {r[t]:.4f}" for t in r) + f" over {len(files)} videos", file=sys.stderr)
print(",".join(f"{t}={inv[t] / s:.4f}" for t in ("recon", "pred", "dist")))
