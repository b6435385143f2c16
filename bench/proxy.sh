#!/usr/bin/env bash
# Proxy overhead: the same JSON 1.1 request straight to the reference vs through `snomed-vcr record`
# (mode all: every request forwarded, re-signed and journaled), interleaved in one run.
# Server side (reference, and the proxy) pinned to core 0, wrk to core 1; 64 connections.
# Usage: bench/proxy.sh [seconds per round] [rounds]   (needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}; rounds=${2:-2}
cargo build --release --quiet
bin=target/release/snomed-vcr
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
start() { # start NAME ARGS...: runs a server on core 0, sets $url (no subshell, so the trap can kill it)
  local out="$work/$1.out"; shift
  taskset -c 0 "$bin" "$@" >"$out" 2>"$out.err" &
  pids+=($!)
  for _ in $(seq 200); do grep -q listening "$out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$out")
}
start ref reference --require-sigv4 AKIDBENCH:bench-secret; direct=$url
AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret \
  start rec record --upstream "$direct" --cassette "$work/bench.json" --mode all; proxied=$url
# wrk cannot sign, so the direct runs go to a second, open reference with the same population.
start open reference; open=$url
for r in $(seq "$rounds"); do
  for target in "direct:$open" "proxied:$proxied"; do
    name=${target%%:*}; url=${target#*:}
    printf '%-8s round %s: ' "$name" "$r"
    taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s bench/list-json.lua "$url" \
      | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /^ +50%/ {p50=$2} /Non-2xx/ {bad=$NF}
             END {printf "%s req/s  p50 %s  p99 %s  non-2xx %s\n", rps, p50, p99, (bad==""?0:bad)}'
  done
done
echo "journal lines written by the proxy: $(wc -l < "$work/bench.json.journal")"
