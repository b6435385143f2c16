#!/usr/bin/env bash
# Proxy overhead, interleaved in one run at 64 connections, wrk pinned to core 1:
#   direct      wrk -> reference (core 0)
#   shared      wrk -> record (core 0) -> reference (core 0): proxy and upstream split one core
#   own-core    wrk -> record (core 0) -> reference (core 1, beside wrk): the proxy has a core to itself
# The proxy runs in mode `all`: every request is forwarded, re-signed with SigV4, redacted and journaled.
# Usage: bench/proxy.sh [seconds per round] [rounds]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}; rounds=${2:-2}
cargo build --release --quiet
bin=target/release/snomed-vcr
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
start() { # start CORE NAME ARGS...: runs a server pinned to CORE, sets $url (no subshell: the trap kills it)
  local core=$1 out="$work/$2.out"; shift 2
  taskset -c "$core" "$bin" "$@" >"$out" 2>"$out.err" &
  pids+=($!)
  for _ in $(seq 200); do grep -q listening "$out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$out")
}
export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret
start 0 ref0 reference; ref0=$url
start 1 ref1 reference; ref1=$url
start 0 shared record --upstream "$ref0" --cassette "$work/shared.json" --mode all; shared=$url
start 0 own record --upstream "$ref1" --cassette "$work/own.json" --mode all; own=$url
for r in $(seq "$rounds"); do
  for target in "direct|$ref0" "shared|$shared" "own-core|$own"; do
    name=${target%%|*}; u=${target#*|}
    printf '%-9s round %s: ' "$name" "$r"
    taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s bench/list-json.lua "$u" \
      | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /^ +50%/ {p50=$2} /Non-2xx/ {bad=$NF}
             END {printf "%s req/s  p50 %s  p99 %s  non-2xx %s\n", rps, p50, p99, (bad==""?0:bad)}'
  done
done
echo "journal lines: shared $(wc -l < "$work/shared.json.journal"), own-core $(wc -l < "$work/own.json.journal")"
