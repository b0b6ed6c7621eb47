#!/usr/bin/env python3
"""The table of README.md from a folder of runs' outputs (/work/runs layout):
calibration-RUN.json, eval-cal-RUN.txt (calibrated `score`) and the earlier
eval-{score,pred,recon,dist}-RUN.txt. Usage: table.py DIR RUN..."""
import json, re, sys

def micro(path):
    try:
        for line in open(path):
            if line.startswith("micro (all)"):
                return float(line.split()[4])
    except FileNotFoundError:
        return None

d = sys.argv[1]
print("| run | weights recon / pred / D | objective (train) | calibrated `score` | best single term | met | config-weights `score` | recon | pred | D |")
print("|---|---|---|---|---|---|---|---|---|---|")
for run in sys.argv[2:]:
    c = json.load(open(f"{d}/calibration-{run}.json"))
    cal = micro(f"{d}/eval-cal-{run}.txt")
    terms = {k: micro(f"{d}/eval-{k}-{run}.txt") for k in ("recon", "pred", "dist")}
    best_k = max((k for k in terms if terms[k] is not None), key=lambda k: terms[k])
    best = terms[best_k]
    met = "yes" if cal is not None and cal >= best - 0.001 else "no"
    f = lambda v: "—" if v is None else f"{v:.3f}"
    print(f"| {run} | {c['recon']:.2f} / {c['pred']:.2f} / {c['compact']:.2f} | {c['objective']:.3f} | **{f(cal)}** | {f(best)} ({best_k}) | {met} | {f(micro(f'{d}/eval-score-{run}.txt'))} | {f(terms['recon'])} | {f(terms['pred'])} | {f(terms['dist'])} |")
