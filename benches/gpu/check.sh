#!/usr/bin/env bash
# The CUDA check, run on a lent GPU machine from the repository root with `.gpu/` (made by
# benches/gpu/prepare.sh) carried (not yet run on a GPU: time it the first time). Writes its log to
# $OUT (or /tmp/gpu-check):
#   1. the GPU and the libraries the binary resolves;
#   2. CPU and GPU scores of the same synthetic scene with the demo model, compared per column;
#   3. `bench model` on the GPU, `paper` and `cpu` profiles (training steps/s, inference frames/s);
#   4. a short GPU training on a synthetic dataset: losses must be finite and fall.
# To try the script itself on a machine without a GPU:
#   VADSCOPE_CHECK_ALLOW_CPU=1 PROFILES=demo bash benches/gpu/check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
exec > >(tee "$out/check.log") 2>&1
work=$(mktemp -d)
fail=0
# Runs a command and prints its wall time (the image may lack /usr/bin/time).
timed() {
  local label=$1 t0 rc
  shift
  t0=$(date +%s.%N)
  "$@"
  rc=$?
  echo "$label: $(python3 -c "print(round($(date +%s.%N) - $t0, 2))") s wall"
  return "$rc"
}
# Runs a command that was asked for the GPU; a fallback to the CPU fails the check.
on_gpu() {
  "$@" 2>&1 | tee "$work/last.log"
  local rc=${PIPESTATUS[0]}
  if grep -q "using the CPU" "$work/last.log" && [ "${VADSCOPE_CHECK_ALLOW_CPU:-0}" != 1 ]; then
    echo "FAIL: fell back to the CPU"
    return 1
  fi
  return "$rc"
}

# 1. Libraries: ours from the bundle, CUDA's from the machine's pip wheels (cu13).
python3 - "$work" <<'EOF'
import lzma, os, shutil, sys, tarfile
work = sys.argv[1]
tarfile.open(".gpu/libs.tar.xz").extractall(os.path.join(work, "lib"))
with lzma.open(".gpu/vadscope.xz") as src, open(os.path.join(work, "vadscope"), "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(os.path.join(work, "vadscope"), 0o755)
EOF
cudalib=$(dirname "$(find / -name libcublas.so.13 -not -path '/proc/*' 2>/dev/null | head -n 1)")
export LD_LIBRARY_PATH=$work/lib:$cudalib:${LD_LIBRARY_PATH:-}
V=$work/vadscope
echo "== commit $(cat .gpu/commit); CUDA libraries from $cudalib"
nvidia-smi -L
if ldd "$V" | grep "not found"; then
  echo "FAIL: unresolved libraries"
  exit 1
fi

# 2. The same scores on both devices.
"$V" synth "$work/scene" --frames 120 --seed 3 --anomalies 2 >/dev/null
echo "== score on the CPU, then on the GPU"
timed "score cpu" "$V" score resources/demo "$work/scene" -o "$work/cpu" || fail=1
if ! on_gpu timed "score gpu" "$V" score resources/demo "$work/scene" -o "$work/gpu" --gpu; then
  echo "== stopped: the rest would measure the CPU"
  exit 1
fi
if python3 - "$work/cpu" "$work/gpu" <<'EOF'
import csv, glob, os, sys
cpu, gpu = sys.argv[1], sys.argv[2]
worst = 0.0
for a in sorted(glob.glob(os.path.join(cpu, "*.csv"))):
    ra = list(csv.DictReader(open(a)))
    rb = list(csv.DictReader(open(os.path.join(gpu, os.path.basename(a)))))
    assert len(ra) == len(rb) and ra, f"{a}: {len(ra)} vs {len(rb)} rows"
    for col in ra[0]:
        if col == "frame":
            continue
        va = [float(r[col]) for r in ra]
        vb = [float(r[col]) for r in rb]
        span = (max(va) - min(va)) or 1.0
        d = max(abs(x - y) for x, y in zip(va, vb)) / span
        worst = max(worst, d)
        print(f"{os.path.basename(a)} {col}: max |cpu - gpu| = {d:.2e} of the column's range")
print(f"worst relative difference {worst:.2e}")
sys.exit(0 if worst < 1e-2 else 1)
EOF
then
  echo "PASS: CPU and GPU scores agree"
else
  echo "FAIL: CPU and GPU scores differ"
  fail=1
fi

# 3. Speed.
for profile in ${PROFILES:-paper cpu}; do
  echo "== bench model --profile $profile --gpu"
  on_gpu "$V" bench model --profile "$profile" --gpu --runs 10 || fail=1
done

# 4. Training on the GPU.
"$V" synth "$work/ds" --dataset --train 2 --test 1 --frames 60 >/dev/null
echo "== train --profile demo --gpu --max-steps 150"
on_gpu timed "train" "$V" train "$work/ds" --profile demo --gpu --max-steps 150 \
  -o "$work/run" || fail=1
cp "$work/run/loss.csv" "$out/train-loss.csv" 2>/dev/null
python3 - "$work/run/loss.csv" <<'EOF' || fail=1
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
total = [float(r["total"]) for r in rows]
assert total and all(math.isfinite(t) for t in total), "non-finite loss"
k = max(1, len(total) // 10)
first, last = sum(total[:k]) / k, sum(total[-k:]) / k
print(f"{len(total)} steps, mean total loss first {k}: {first:.4f}, last {k}: {last:.4f}")
sys.exit(0 if last < first else 1)
EOF
[ $fail = 0 ] && echo "== ALL PASS" || echo "== SOME CHECK FAILED"
exit $fail
