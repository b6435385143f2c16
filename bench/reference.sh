#!/usr/bin/env bash
# Reference service throughput at 64 connections, server and load generator pinned to different cores.
# Usage: bench/reference.sh [seconds]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
cargo build --release --quiet
bin=target/release/snomed-vcr
out=$(mktemp)
taskset -c 0 "$bin" reference >"$out" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$out")
for proto in json cbor; do
  echo "== $proto: wrk -t1 -c64 -d${secs}s (server on core 0, wrk on core 1)"
  taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s "bench/list-$proto.lua" "$url" | grep -E "Requests/sec|Latency|50%|99%|requests in|Non-2xx"
done
echo "server resident memory: $(ps -o rss= -p $pid) KiB"
