#!/usr/bin/env bash
# Interleaved speed/accuracy comparison of vadscope's flow presets and OpenCV's
# DIS, on a benchmark made by `vadscope bench flow-pairs` (docs/results/flow/).
# Both sides see the same load: each round runs OpenCV, then every vadscope
# preset. Each run writes a JSON into OUT; flow_table.py makes the table
# (median pairs/s over rounds, EPE per split and set, ratios).
#
#   PY=/tmp/cv/bin/python VADSCOPE=target/release/vadscope \
#       benches/reference/flow_compare.sh /tmp/flowbench OUT [ROUNDS] [THREADS]
#
# PARAMS="a.json b.json" adds a run of each parameter file (a candidate preset,
# as `vadscope bench flow-epe --params` reads it) to every round.
set -euo pipefail
dir=${1:?usage: flow_compare.sh BENCH_DIR OUT_DIR [ROUNDS] [THREADS]}
out=${2:?usage: flow_compare.sh BENCH_DIR OUT_DIR [ROUNDS] [THREADS]}
rounds=${3:-3}
threads=${4:-2}
py=${PY:-python3}
bin=${VADSCOPE:-target/release/vadscope}
here=$(dirname "$0")
mkdir -p "$out"
for r in $(seq "$rounds"); do
    echo "# round $r ($(uptime | sed 's/.*load/load/'))"
    for m in dis-medium dis-fast; do
        "$py" "$here/flow_opencv.py" measure "$dir" --threads "$threads" --runs 3 \
            --methods "$m" --json "$out/$m-$r.json" | tail -1
    done
    for p in fast balanced accurate; do
        "$bin" bench flow-epe "$dir" --threads "$threads" --runs 3 --preset "$p" \
            --json "$out/vadscope-$p-$r.json" | tail -1
    done
    for f in ${PARAMS:-}; do
        "$bin" bench flow-epe "$dir" --threads "$threads" --runs 3 --params "$f" \
            --json "$out/params-$(basename "$f" .json)-$r.json" | tail -1
    done
done
"$py" "$here/flow_table.py" "$out"
