#!/usr/bin/env bash
# Two builds side by side in one interleaved run: replay throughput (bench/replay.sh's request and cassette),
# beside the minimal hyper server answering the same bytes (examples/fixed_server.rs, the limit replay is
# held to), and proxy overhead (bench/proxy.sh's own-core layout: `record --mode all` on core 0, its upstream and wrk on
# core 1). 64 connections, wrk on core 1. Per round: req/s and CPU per request of the server under load; at
# the end, NEW over OLD for each, over all rounds.
# Usage: bench/compare.sh OLD_BINARY NEW_BINARY [seconds per round] [rounds]   (needs wrk, curl)
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/compare.sh OLD_BINARY NEW_BINARY [secs] [rounds]}; new=${2:?new binary}
secs=${3:-5}; rounds=${4:-4}
source bench/common.sh
start() { # start CORE NAME BIN ARGS...: sets $url and $pid
  local core=$1 out="$work/$2.out"; shift 2
  taskset -c "$core" "$@" >"$out" 2>"$out.err" & pid=$!; pids+=($pid); wait_line "$out"
  url=$(sed -n 's/^listening on //p' "$out")
}
start 1 ref "$new" reference; ref=$url
# The replay cassette: one answer, recorded once from the reference (as bench/replay.sh does).
"$new" record --upstream "$ref" --cassette "$work/bench.json" --reproducible >"$work/rec.out" 2>/dev/null & rec=$!; wait_line "$work/rec.out"
curl -s -o /dev/null -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" --data '{"MaxResults": 4}' "$(sed -n 's/^listening on //p' "$work/rec.out")/"
kill -TERM $rec; wait $rec
declare -A url_of pid_of lua
cargo build --release --quiet --example fixed_server
curl -s -o "$work/body.json" -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" --data '{"MaxResults": 4}' "$ref/"
start 0 fixed target/release/examples/fixed_server "$work/body.json"; url_of[fixed]=$url; pid_of[fixed]=$pid; lua[fixed]=bench/list-json-small.lua
for b in old new; do
  bin=${!b}
  start 0 "replay-$b" "$bin" replay --cassette "$work/bench.json"; url_of[replay-$b]=$url; pid_of[replay-$b]=$pid
  start 0 "record-$b" "$bin" record --upstream "$ref" --cassette "$work/record-$b.json" --mode all; url_of[record-$b]=$url; pid_of[record-$b]=$pid
  lua[replay-$b]=bench/list-json-small.lua; lua[record-$b]=bench/list-json.lua
done
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
hz=$(getconf CLK_TCK)
for r in $(seq "$rounds"); do
  for s in fixed replay-old replay-new record-old record-new; do
    t0=$(ticks "${pid_of[$s]}")
    out=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s "${lua[$s]}" "${url_of[$s]}")
    t1=$(ticks "${pid_of[$s]}")
    echo "$out" | awk -v name="$s" -v r="$r" -v dt=$((t1 - t0)) -v hz="$hz" '
      /requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
      END {printf "%-10s round %s: %9s req/s  p99 %-8s cpu %6.1f us/req  non-2xx %s\n", name, r, rps, p99, dt*1e6/hz/n, (bad==""?0:bad)}'
  done
done | tee "$work/rounds.txt"
awk '{n[$1] += $4; c[$1] += $9 * $4} END {
  printf "all rounds, new/old: replay %.1f%% of the requests (CPU per request %.1f vs %.1f us), record %.1f%% (%.1f vs %.1f us)\n",
    100*n["replay-new"]/n["replay-old"], c["replay-new"]/n["replay-new"], c["replay-old"]/n["replay-old"],
    100*n["record-new"]/n["record-old"], c["record-new"]/n["record-new"], c["record-old"]/n["record-old"]
  printf "replay beside the minimal hyper server (fixed, %.1f us/req): new %.1f%% of its requests, old %.1f%%\n",
    c["fixed"]/n["fixed"], 100*n["replay-new"]/n["fixed"], 100*n["replay-old"]/n["fixed"]}' "$work/rounds.txt"
