#!/usr/bin/env bash
# Takes a screenshot of the app under Xvfb (no display needed; lavapipe renders).
# usage: docs/screenshot.sh OUT.png [SECONDS] [--keys "xdotool keys"] -- VADSCOPE_ARGS...
# e.g.   docs/screenshot.sh docs/screenshot.png 20 -- open ../shared/data/ped2/testing/frames/01
set -euo pipefail
out=$1; shift
wait_s=${1:-15}; shift || true
keys=""
if [ "${1:-}" = "--keys" ]; then keys=$2; shift 2; fi
[ "${1:-}" = "--" ] && shift
bin=${VADSCOPE_BIN:-target/debug/vadscope}
display=:${XVFB_DISPLAY:-99}

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill "$app" "$xvfb" 2>/dev/null || true' EXIT
sleep 1
DISPLAY=$display WINIT_UNIX_BACKEND=x11 "$bin" "$@" &
app=$!
sleep "$wait_s"
if [ -n "$keys" ]; then
  # shellcheck disable=SC2086
  DISPLAY=$display xdotool mousemove 700 300 click 1 sleep 0.5 key --delay 150 $keys || true
  sleep 3
fi
DISPLAY=$display import -window root "$out.full.png"
convert "$out.full.png" -colors 256 -strip "PNG8:$out"
rm -f "$out.full.png"
ls -l "$out"
