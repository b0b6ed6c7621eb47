#!/bin/bash
# Do two builds give the same training losses, scores and score maps?
# For refactors that must not change results (issue #17).
#
#   benches/same_outputs.sh OLD_VADSCOPE NEW_VADSCOPE [WORK_DIR]
#
# Makes a small synthetic dataset, then with each binary trains the demo
# profile for 30 steps and scores the test videos with --maps, and compares
# loss.csv, every score CSV and every maps file byte for byte. Exit 0 when all
# are identical. About 15 s per binary on 2 cores. WORK_DIR (default: a new
# temporary folder) is scratch: its old/ and new/ are replaced on every run.
set -euo pipefail
old=${1:?usage: same_outputs.sh OLD_VADSCOPE NEW_VADSCOPE [WORK_DIR]}
new=${2:?usage: same_outputs.sh OLD_VADSCOPE NEW_VADSCOPE [WORK_DIR]}
work=${3:-$(mktemp -d)}
mkdir -p "$work"
ds=$work/ds
[ -d "$ds" ] || "$old" synth "$ds" --dataset --train 2 --test 2 >/dev/null
for side in old new; do
  bin=${!side}
  rm -rf "$work/$side"
  mkdir -p "$work/$side"
  "$bin" train "$ds" --profile demo --max-steps 30 -o "$work/$side/run" 2>"$work/$side/train.log"
  "$bin" score "$work/$side/run" "$ds" -o "$work/$side/scores" --maps 2>"$work/$side/score.log"
done
status=0
for f in run/loss.csv $(cd "$work/old" && ls scores/*.csv scores/*.npy); do
  if cmp -s "$work/old/$f" "$work/new/$f"; then
    echo "same      $f"
  else
    echo "DIFFERENT $f"
    status=1
  fi
done
echo "work dir: $work"
exit $status
