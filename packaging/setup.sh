#!/usr/bin/env bash
# Installs every system package that vadscope needs to build, run and test on
# Debian 12 / Ubuntu 22.04+. Idempotent: packages already present are skipped.
set -euo pipefail

packages=(
  # build
  build-essential pkg-config clang libclang-dev
  # FFmpeg (ffmpeg-next links these; the `ffmpeg` CLI is the decode benchmark's reference)
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev ffmpeg
  # GUI runtime (eframe/winit on X11 and Wayland) and headless wgpu (lavapipe)
  libx11-dev libxcursor-dev libxrandr-dev libxi-dev libxkbcommon-dev libxkbcommon-x11-0
  libwayland-dev libvulkan1 mesa-vulkan-drivers libgl1 libegl1
  # screenshots and GUI smoke runs without a display
  xvfb x11-utils imagemagick xdotool
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all system packages present"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust (https://rustup.rs) and run again" >&2
  exit 1
fi
