#!/usr/bin/env bash
# Replay beside the minimal hyper server (examples/fixed_server.rs answering the same bytes), beside
# snomed-vcr's serve loop answering those bytes with no handler work (examples/serve_loop.rs: what is left is
# the replay handler's own cost), and beside an earlier build's replay when OLD is given: each server alone on
# core 0, wrk on core 1 (64 connections), interleaved round by round. Per server over all rounds: requests as
# a share of the minimal server's, and CPU per request split into user and kernel time (from /proc/PID/stat),
# which says whether a difference is replay's own work or the socket's.
# Usage: bench/ceiling.sh [OLD_BINARY] [rounds, default 8] [seconds per round, default 5]   (needs wrk, curl)
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:-}; rounds=${2:-8}; secs=${3:-5}
source bench/build.sh && release_build fixed_server serve_loop
new=target/release/snomed-vcr
echo "hot path: $(nm "$new" | awk '{print $NF}' | sort -u | grep -cxFf <(grep -v '^#' hot-path.order) || true) of \
$(grep -vc '^#' hot-path.order) functions of hot-path.order in $new"
source bench/common.sh
declare -A url pid
start() { # start NAME CORE BIN ARGS...
  local name=$1 core=$2; shift 2
  taskset -c "$core" "$@" >"$work/$name.out" 2>/dev/null & pid[$name]=$!; pids+=($!); wait_line "$work/$name.out"
  url[$name]=$(sed -n 's/^listening on //p' "$work/$name.out")
}
# The one answer (bench/replay.sh's request), recorded from the reference, as a cassette and as bare bytes.
start ref 1 "$new" reference
"$new" record --upstream "${url[ref]}" --cassette "$work/bench.json" --reproducible >"$work/rec.out" 2>/dev/null & rec=$!
wait_line "$work/rec.out"
curl -s -o "$work/body.json" -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" \
  --data '{"MaxResults": 4}' "$(sed -n 's/^listening on //p' "$work/rec.out")/"
kill -TERM $rec; wait $rec
names="fixed loop new"
start fixed 0 target/release/examples/fixed_server "$work/body.json"
start loop 0 target/release/examples/serve_loop "$work/body.json"
start new 0 "$new" replay --cassette "$work/bench.json"
if [ -n "$old" ]; then names="fixed loop old new"; start old 0 "$old" replay --cassette "$work/bench.json"; fi
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
for r in $(seq "$rounds"); do
  for s in $names; do
    read -r u0 k0 < <(ticks "${pid[$s]}")
    n=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" -s bench/list-json-small.lua "${url[$s]}" | awk '/requests in/ {print $1}')
    read -r u1 k1 < <(ticks "${pid[$s]}")
    echo "$s $r $n $((u1 - u0)) $((k1 - k0))"
  done
done | tee "$work/rounds" | awk -v hz="$hz" '{printf "%-6s round %s: %8.0f req/s, %.2f us/req\n", $1, $2, $3/'"$secs"', ($4+$5)*1e6/hz/$3}'
awk -v hz="$hz" '{n[$1] += $3; u[$1] += $4; k[$1] += $5}
  END {for (s in n) printf "%-6s %5.1f%% of fixed'"'"'s requests; CPU per request %.2f us (user %.2f, kernel %.2f)\n",
    s, 100*n[s]/n["fixed"], (u[s]+k[s])*1e6/hz/n[s], u[s]*1e6/hz/n[s], k[s]*1e6/hz/n[s]}' "$work/rounds" | sort
