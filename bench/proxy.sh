#!/usr/bin/env bash
# Proxy overhead, interleaved in one run at 64 connections, wrk pinned to core 1:
#   direct      wrk -> reference (core 0)
#   shared      wrk -> record (core 0) -> reference (core 0): proxy and upstream split one core
#   own-core    wrk -> record (core 0) -> reference (core 1, beside wrk): the proxy has a core to itself
# The proxy runs in mode `all`: every request is forwarded, re-signed with SigV4, redacted and journaled.
# Per round: req/s, p50/p99, and the CPU per request of the server wrk talks to (the proxy, or the reference
# when direct), from /proc/PID/stat; at the end, the ratios over all rounds together.
# Usage: bench/proxy.sh [seconds per round] [rounds]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}; rounds=${2:-2}
cargo build --release --quiet
bin=target/release/snomed-vcr
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
start() { # start CORE NAME ARGS...: runs a server pinned to CORE, sets $url and $pid (no subshell: the trap kills it)
  local core=$1 out="$work/$2.out"; shift 2
  taskset -c "$core" "$bin" "$@" >"$out" 2>"$out.err" &
  pid=$!; pids+=($pid)
  for _ in $(seq 200); do grep -q listening "$out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$out")
}
export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret
start 0 ref0 reference; ref0=$url; ref0pid=$pid
start 1 ref1 reference; ref1=$url
start 0 shared record --upstream "$ref0" --cassette "$work/shared.json" --mode all; shared=$url; sharedpid=$pid
start 0 own record --upstream "$ref1" --cassette "$work/own.json" --mode all; own=$url; ownpid=$pid
ticks() { awk '{print $14+$15}' /proc/$1/stat; } # user+system CPU of a process, in 10 ms ticks
declare -A total
for r in $(seq "$rounds"); do
  for target in "direct|$ref0|$ref0pid" "shared|$shared|$sharedpid" "own-core|$own|$ownpid"; do
    IFS='|' read -r name u p <<<"$target"
    printf '%-9s round %s: ' "$name" "$r"
    t0=$(ticks "$p")
    out=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s bench/list-json.lua "$u")
    t1=$(ticks "$p")
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    total[$name]=$(( ${total[$name]:-0} + n ))
    echo "$out" | awk -v cpu="$(echo "scale=1; ($t1 - $t0) * 10000 / $n" | bc)" \
      '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /^ +50%/ {p50=$2} /Non-2xx/ {bad=$NF}
       END {printf "%10s req/s  p50 %-8s p99 %-9s front server CPU %6s us/req  non-2xx %s\n", rps, p50, p99, cpu, (bad==""?0:bad)}'
  done
done
echo "all rounds: own-core ${total[own-core]} requests, shared ${total[shared]}, direct ${total[direct]}:" \
  "own-core $(( 100 * ${total[own-core]} / ${total[direct]} ))% of direct, shared $(( 100 * ${total[shared]} / ${total[direct]} ))%"
echo "journal lines: shared $(wc -l < "$work/shared.json.journal"), own-core $(wc -l < "$work/own.json.journal")"
