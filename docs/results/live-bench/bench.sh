#!/usr/bin/env bash
# Live latency on 2 cores: an ffmpeg -re sender to 127.0.0.1 UDP, `vadscope bench live` receiving.
set -u
V=/work/main/target/debug/vadscope
cd /tmp/live
run() { # name model video loops port
  local name=$1 model=$2 video=$3 loops=$4 port=$5
  (sleep 3; ffmpeg -nostdin -loglevel error -re -stream_loop "$loops" -i "$video" -c copy -f mpegts "udp://127.0.0.1:$port") &
  $V bench live "udp://127.0.0.1:$port" --model "$model" --timeout 3 --json "bench-$name.json" 2>&1 | tail -3
  wait
}
run vae-10fps vae-s31 ped2-04.mp4 2 5701
run cvae-10fps ckpt.safetensors ped2-04.mp4 2 5702
run vae-25fps vae-s31 ped2-04-25fps.mp4 7 5703
run cvae-25fps ckpt.safetensors ped2-04-25fps.mp4 7 5704
