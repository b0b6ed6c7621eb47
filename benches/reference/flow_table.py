#!/usr/bin/env python3
"""Table of a flow_compare.sh run: EPE per split and set, median pairs/s over
rounds, and each vadscope preset against its DIS target (issue #19):

    fast     vs dis-fast:   EPE <= 1.0x, speed >= 1.0x
    balanced vs dis-medium: EPE <= 1.0x, speed >= 1.0x
    accurate vs dis-medium: EPE <= 0.7x, speed >= 0.5x

    python3 benches/reference/flow_table.py OUT_DIR   (the JSONs of flow_compare.sh)
"""
import glob
import json
import os
import re
import statistics
import sys

TARGETS = [("vadscope-fast", "dis-fast", 1.0, 1.0),
           ("vadscope-balanced", "dis-medium", 1.0, 1.0),
           ("vadscope-accurate", "dis-medium", 0.7, 0.5)]


def main():
    out = sys.argv[1]
    runs = {}
    for path in glob.glob(os.path.join(out, "*.json")):
        with open(path) as f:
            doc = json.load(f)
        runs.setdefault(doc["method"], []).append(doc)
    if not runs:
        sys.exit(f"{out}: no JSONs")
    # EPE is deterministic per method: take it from the first run.
    epe = {m: {(r["split"], r["set"]): r for r in docs[0]["rows"]} for m, docs in runs.items()}
    rate = {m: statistics.median(d["pairs_per_s"] for d in docs) for m, docs in runs.items()}
    keys = list(next(iter(epe.values())).keys())
    methods = sorted(runs, key=lambda m: (not m.startswith("dis"), m))
    print("EPE all / noc (px), per split and set")
    print(f"| split | set | " + " | ".join(methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    for k in keys:
        cells = [f"{epe[m][k]['epe_all']:.3f} / {epe[m][k]['epe_noc']:.3f}" for m in methods]
        print(f"| {k[0]} | {k[1]} | " + " | ".join(cells) + " |")
    print()
    print("pairs/s, median of " + ", ".join(f"{m} {len(runs[m])}" for m in methods) + " rounds")
    print("| " + " | ".join(f"{m} {rate[m]:.1f}" for m in methods) + " |")
    print()
    print("Targets: EPE all ratio per row (met: *), speed ratio")
    for ours, ref, epe_max, speed_min in TARGETS:
        if ours not in runs or ref not in runs:
            continue
        sp = rate[ours] / rate[ref]
        cells = []
        for k in keys:
            r = epe[ours][k]["epe_all"] / epe[ref][k]["epe_all"]
            cells.append(f"{k[0]}/{k[1]} {r:.2f}{'*' if r <= epe_max else ''}")
        met = sp >= speed_min
        print(f"{ours} vs {ref} (EPE <= {epe_max}x, speed >= {speed_min}x): "
              f"speed {sp:.2f}x{'*' if met else ''}; " + ", ".join(cells))


if __name__ == "__main__":
    main()
