#!/usr/bin/env bash
# Builds vadscope with `--features cuda` on a machine without a GPU and bundles what the lent GPU
# machine needs to run benches/gpu/check.sh (see benches/gpu/README.md):
#   1. a CUDA 13.0 toolkit from NVIDIA's pip wheels (nvcc, headers, cuBLAS, cuRAND, NVRTC), once;
#   2. a link-time stand-in for the driver library (libcuda.so is part of the driver, which a
#      machine without a GPU lacks; the real one is loaded at run time);
#   3. the release build, for compute capability $CUDA_COMPUTE_CAP (90: H100/H200);
#   4. .gpu/: the stripped binary and the shared libraries it links that the GPU machine's image
#      is likely to lack (FFmpeg and its dependencies), xz-compressed.
# Environment: VADSCOPE_CUDA_HOME (toolkit folder, default ~/.cache/vadscope/cuda13),
# CUDA_COMPUTE_CAP (default 90), CARGO_TARGET_DIR (default target/cuda).
set -euo pipefail
cd "$(dirname "$0")/../.."

toolkit=${VADSCOPE_CUDA_HOME:-$HOME/.cache/vadscope/cuda13}
cu=$toolkit/nvidia/cu13
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/cuda}

# 1. The toolkit: the versions are pinned together (a newer nvvm beside an older ptxas emits PTX
#    that ptxas rejects).
if [ ! -x "$cu/bin/nvcc" ]; then
  echo "== CUDA 13.0 toolkit from pip wheels into $toolkit"
  python3 -m venv "$toolkit/venv" || {
    echo "prepare: python3 -m venv failed; install python3-venv (apt-get install python3-venv)" >&2
    exit 1
  }
  "$toolkit/venv/bin/pip" install -q --target "$toolkit" \
    "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-nvrtc==13.0.*" \
    "nvidia-cuda-cccl==13.0.*" "nvidia-cuda-crt==13.0.*" "nvidia-nvvm==13.0.*" \
    "nvidia-cublas==13.0.*" "nvidia-curand==10.4.0.*"
fi
"$cu/bin/nvcc" --version | tail -n 1

# 2. Link folder: unversioned names for the linker, and libcuda.so built from the driver entry
#    points that cudarc (Candle's CUDA layer) declares. Candle links the CUDA libraries
#    dynamically, so the binary records libcuda.so.1 and loads the driver's own at start.
cargo fetch -q
cudarc=$(cargo metadata --format-version 1 --features cuda |
  python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"]=="cudarc").rsplit("/",1)[0])')
link=$toolkit/link
mkdir -p "$link"
for l in cublas.so.13 cublasLt.so.13 curand.so.10 nvrtc.so.13 cudart.so.13; do
  ln -sf "$cu/lib/lib$l" "$link/lib${l%.so.*}.so"
done
grep -o "pub unsafe fn cu[A-Za-z0-9_]*" "$cudarc/src/driver/sys/mod.rs" | awk '{print $4}' | sort -u |
  awk '{print "int " $1 "(void) { return 999; }"}' > "$link/cuda_stub.c"
gcc -shared -fPIC -o "$link/libcuda.so" -Wl,-soname,libcuda.so.1 "$link/cuda_stub.c"

# 3. The build.
echo "== cargo build --release --no-default-features --features cuda (sm_$CUDA_COMPUTE_CAP)"
PATH=$cu/bin:$PATH CUDA_ROOT=$cu CUDA_PATH=$cu CUDARC_CUDA_VERSION=13000 \
  RUSTFLAGS="-L $link" cargo build --release --no-default-features --features cuda

# 4. The bundle. CUDA's libraries and the driver are the GPU machine's own; the C and C++
#    runtimes are older here than there, so they stay too. The transfer to the GPU machine holds
#    64 MiB with the working tree, so the heaviest codec and data libraries (encoders, ICU's
#    tables, SVG; ~30 MB compressed) are replaced by stand-ins that export the same symbols: the
#    loader is satisfied and the check, which scores frame folders, never calls them. This
#    bundle cannot decode videos in those formats.
bin=$CARGO_TARGET_DIR/release/vadscope
rm -rf .gpu && mkdir -p .gpu/stubs
strip -o .gpu/vadscope "$bin"
stubbed='codec2|icudata|rsvg-2|SvtAv1Enc|aom|rav1e|x265|vpx|openmpt|x264|dav1d'
ldd "$bin" | awk '$3 ~ /^\// {print $3}' | grep -E "/lib($stubbed)\.so" | while read -r lib; do
  soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
  nm -D --defined-only -S "$lib" | python3 -c '
import sys
for line in sys.stdin:
    f = line.split()
    if len(f) == 3 and f[1] in "TtWi":
        print(f"void {f[2]}(void) {{}}")
    elif len(f) == 4 and f[2] in "TtWi":
        print(f"void {f[3]}(void) {{}}")
    elif len(f) == 4 and f[2] in "DdBbRrV":
        print(f"char {f[3]}[{int(f[1], 16)}];")' > .gpu/stubs/stub.c
  gcc -shared -fPIC -w -o ".gpu/stubs/$soname" -Wl,-soname,"$soname" .gpu/stubs/stub.c
done
rm -f .gpu/stubs/stub.c
LD_LIBRARY_PATH=$PWD/.gpu/stubs:$cu/lib ldd "$bin" | awk '$3 ~ /^\// {print $3}' |
  grep -v -E '/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt|libz|ld-linux-x86-64)\.so' |
  grep -v -E '/lib(cuda|cublas|cublasLt|curand|nvrtc|cudart)\.so' > .gpu/libs.txt
tar -cf - --dereference --transform 's,.*/,,' -T .gpu/libs.txt 2>/dev/null | xz -6 -T0 > .gpu/libs.tar.xz
rm -rf .gpu/stubs
xz -6 -T0 .gpu/vadscope
git rev-parse --short HEAD > .gpu/commit
du -sh .gpu/vadscope.xz .gpu/libs.tar.xz
echo "== ready: run benches/gpu/check.sh on the GPU machine with .gpu carried"
