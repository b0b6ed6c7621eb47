#!/usr/bin/env python3
"""Expected metric values from scikit-learn (and SciPy for smoothing), for
tests/metrics_sklearn.rs.

Regenerate (from the repository root):
    pip install numpy scikit-learn scipy
    python3 tests/data/metrics/make_fixtures.py
which rewrites tests/data/metrics/fixtures.json. The seed is fixed, so the file
only changes when scikit-learn's numbers do.

Each case: "scores", "labels" (0/1) and the expectations:
  "auc"  roc_auc_score, or null where scikit-learn raises or gives NaN (single class);
  "ap"   average_precision_score, or null where it is undefined (no positives);
  "roc"  roc_curve(drop_intermediate=False): fpr, tpr, and thresholds without the
         leading +inf (JSON has no infinity); omitted for the large case.
Smoothing cases: SciPy's gaussian_filter1d and median_filter (truncate 4.0).
"""
import json
import os
import warnings

import numpy as np
from scipy import ndimage
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

rng = np.random.default_rng(20260428)


def case(name, scores, labels, roc=True):
    scores = [float(s) for s in scores]
    labels = [int(l) for l in labels]
    out = {"name": name, "scores": scores, "labels": labels}
    y, s = np.array(labels), np.array(scores)
    with warnings.catch_warnings():
        # Single class: older scikit-learn raises, newer warns and returns NaN.
        warnings.simplefilter("ignore")
        try:
            auc = float(roc_auc_score(y, s))
        except ValueError:
            auc = float("nan")
    out["auc"] = None if np.isnan(auc) else auc
    out["ap"] = float(average_precision_score(y, s)) if y.sum() > 0 else None
    if roc and out["auc"] is not None:
        fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
        assert np.isinf(thr[0])
        out["roc"] = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr[1:].tolist()}
    return out


cases = [
    case("random", rng.random(200).round(6), rng.random(200) < 0.3),
    case("heavy_ties", rng.integers(0, 5, 300) / 4, rng.random(300) < 0.4),
    case("constant", [0.5] * 50, rng.random(50) < 0.5),
    case("all_normal", rng.random(20).round(3), [0] * 20),
    case("all_anomalous", rng.random(20).round(3), [1] * 20),
    case("tiny", [0.3, 0.7], [0, 1]),
    case("tiny_tied", [0.5, 0.5], [1, 0]),
    case("tiny_inverted", [0.9, 0.1], [0, 1]),
    case("integers", rng.integers(-5, 6, 120), rng.random(120) < 0.5),
    case("negative_and_spread", (rng.standard_normal(150) * 1e3).round(2), rng.random(150) < 0.2),
]
# Large: a signal plus noise, 4 decimals (some ties), no curve stored.
y = rng.random(5000) < 0.25
cases.append(case("large", (y * 0.8 + rng.standard_normal(5000)).round(4), y, roc=False))

x = (rng.random(40) * 10).round(3)
x[17] = 30.0  # a spike
smoothing = {"input": x.tolist(), "cases": []}
for sigma in [0.5, 1.0, 2.5, 12.0]:
    for mode in ["reflect", "nearest"]:
        smoothing["cases"].append({"kind": "gaussian", "param": sigma, "edge": mode,
                                   "expected": ndimage.gaussian_filter1d(x, sigma, mode=mode).tolist()})
for k in [1, 3, 5, 9]:
    for mode in ["reflect", "nearest"]:
        smoothing["cases"].append({"kind": "median", "param": k, "edge": mode,
                                   "expected": ndimage.median_filter(x, size=k, mode=mode).tolist()})

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "fixtures.json"), "w") as f:
    json.dump({"generator": "make_fixtures.py", "sklearn_cases": cases, "smoothing": smoothing}, f,
              separators=(",", ":"))
    f.write("\n")
print("wrote", os.path.join(here, "fixtures.json"))
