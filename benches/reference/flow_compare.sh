#!/usr/bin/env bash
# Interleaved speed/accuracy comparison of vadscope's flow and OpenCV's, on the
# pairs made by `flow_opencv.py make` (see its header). Both sides see the same
# load: each round runs OpenCV, then every vadscope preset, ROUNDS times.
#
#   PY=/tmp/cv/bin/python VADSCOPE=target/release/vadscope \
#       benches/reference/flow_compare.sh /tmp/flowpairs [ROUNDS] [THREADS]
set -euo pipefail
dir=${1:?usage: flow_compare.sh PAIRS_DIR [ROUNDS] [THREADS]}
rounds=${2:-3}
threads=${3:-2}
py=${PY:-python3}
bin=${VADSCOPE:-target/release/vadscope}
here=$(dirname "$0")
for r in $(seq "$rounds"); do
    echo "# round $r ($(uptime | sed 's/.*load/load/'))"
    "$py" "$here/flow_opencv.py" measure "$dir" --threads "$threads" --runs 5
    for p in fast balanced accurate; do
        "$bin" bench flow-epe "$dir" --threads "$threads" --runs 5 --preset "$p"
    done
done
