#!/usr/bin/env bash
# Interleaved speed comparison of vadscope's model (Candle) and its PyTorch twin
# (model_torch.py): each round runs PyTorch, then vadscope, on the same number of
# threads, so both see the same machine load. Prints every round's summary lines
# with the load average, then the median over rounds of each side's medians and
# the ratios (Candle time / PyTorch time: < 1 means Candle is faster). Both sides
# run the full hybrid (`--variant cvae`), whatever variant the profile trains.
#
#   PY=/work/venv-torch/bin/python VADSCOPE=target/release/vadscope \
#       benches/reference/bench_model.sh [PROFILE] [ROUNDS] [RUNS] [THREADS]
set -euo pipefail
profile=${1:-cpu}
rounds=${2:-3}
runs=${3:-5}
threads=${4:-2}
py=${PY:-python3}
bin=${VADSCOPE:-target/release/vadscope}
here=$(dirname "$0")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export RAYON_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
for r in $(seq "$rounds"); do
    echo "# round $r ($(uptime | sed 's/.*load/load/'))"
    "$py" "$here/model_torch.py" --profile "$profile" --runs "$runs" --threads "$threads" |
        sed 's/^/torch  /' | tee -a "$log"
    "$bin" bench model --profile "$profile" --variant cvae --runs "$runs" | sed 's/^/candle /' | tee -a "$log"
done
echo "# medians over $rounds rounds ($(uptime | sed 's/.*load/load/'))"
awk '
    function med(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $2 == "train:" { tr[$1, ++nt[$1]] = $3 }
    $2 == "infer:" { inf[$1, ++ni[$1]] = $3 }
    END {
        for (s in nt) { delete a; for (i = 1; i <= nt[s]; i++) a[i] = tr[s, i]; T[s] = med(a, nt[s]) }
        for (s in ni) { delete a; for (i = 1; i <= ni[s]; i++) a[i] = inf[s, i]; I[s] = med(a, ni[s]) }
        printf "torch  train %.4f s/step, infer %.4f s/batch\n", T["torch"], I["torch"]
        printf "candle train %.4f s/step, infer %.4f s/batch\n", T["candle"], I["candle"]
        if (T["torch"] > 0 && I["torch"] > 0)
            printf "ratio candle/torch: train %.2f, infer %.2f\n", T["candle"] / T["torch"], I["candle"] / I["torch"]
    }' "$log"
