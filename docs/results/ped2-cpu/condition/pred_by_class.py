"""Mean prediction error on normal and anomalous UCSD Ped2 test frames, per
score folder: python3 pred_by_class.py UCSDped2.m scores-given scores-zero scores-shifted"""
import csv
import re
import sys

m_file, folders = sys.argv[1], sys.argv[2:]
ranges = re.findall(r"\[(\d+):(\d+)\]", open(m_file).read())  # 1-based, inclusive
truth = {"%02d" % (i + 1): (int(a) - 1, int(b)) for i, (a, b) in enumerate(ranges)}
for folder in folders:
    normal, anomalous = [], []
    for name, (start, end) in truth.items():
        for row in csv.DictReader(open(f"{folder}/{name}.csv")):
            f, pred = int(row["frame"]), float(row["pred"])
            (anomalous if start <= f < end else normal).append(pred)
    mn, ma = sum(normal) / len(normal), sum(anomalous) / len(anomalous)
    print(f"{folder:16s} normal {mn:.6f} ({len(normal)} frames)  "
          f"anomalous {ma:.6f} ({len(anomalous)})  ratio {ma / mn:.3f}")
