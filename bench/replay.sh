#!/usr/bin/env bash
# Replay throughput in one interleaved run, 64 connections, servers pinned to core 0 and wrk to core 1:
#   fixed      a minimal hyper 1 server answering fixed bytes (examples/fixed_server.rs): the machine's limit
#   replay     snomed-vcr replay, answering from a cassette
#   talkback   talkback 4.2 in playback mode (npm; Node.js)
#   mitmproxy  mitmdump --server-replay (mitmproxy 11 on Python 3.12)
#   ceiling    canned bytes with no HTTP at all (examples/ceiling_server.rs): what wrk can drive at most
# All five answer the same request ({"MaxResults": 4}, JSON 1.1) with the same 2.4 KB body, recorded once from
# the reference service. Reports req/s, p50/p99 and server CPU per request (from /proc/PID/stat ticks), then the
# ratios over all rounds.
# Needs: wrk; talkback installed under $TALKBACK_DIR (npm install talkback@4.2.0); mitmdump at $MITMDUMP.
# Usage: bench/replay.sh [seconds per round] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}; rounds=${2:-2}
TALKBACK_DIR=${TALKBACK_DIR:-/tmp/talkback}
MITMDUMP=${MITMDUMP:-/tmp/mitm-venv/bin/mitmdump}
source bench/build.sh && release_build fixed_server ceiling_server
bin=target/release/snomed-vcr
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
wait_line() { for _ in $(seq 300); do grep -q '^listening on ' "$1" 2>/dev/null && return; sleep 0.05; done; echo "no listening line in $1" >&2; cat "$1.err" >&2 || true; exit 2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
target='ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs'

# 1. Record the answer once from the reference: a cassette, the raw body, and mitmproxy flows.
"$bin" reference >"$work/ref.out" 2>/dev/null & pids+=($!); wait_line "$work/ref.out"
ref=$(sed -n 's/^listening on //p' "$work/ref.out")
AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=x "$bin" record --upstream "$ref" --cassette "$work/bench.json" --reproducible >"$work/rec.out" 2>/dev/null &
rec=$!; wait_line "$work/rec.out"
curl -s -o /dev/null -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" \
  --data '{"MaxResults": 4}' "$(sed -n 's/^listening on //p' "$work/rec.out")/"
kill -TERM $rec; wait $rec
kill "${pids[0]}"   # the reference: offline from here on
# The replay server under test; its (redacted) answer is the body every other server serves.
taskset -c 0 "$bin" replay --cassette "$work/bench.json" >"$work/replay.out" 2>"$work/replay.out.err" & pids+=($!); replay_pid=$!; wait_line "$work/replay.out"
replay_url=$(sed -n 's/^listening on //p' "$work/replay.out")
curl -s -o "$work/body.json" -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" --data '{"MaxResults": 4}' "$replay_url/"
mport=$(free_port)
"$MITMDUMP" -q --listen-host 127.0.0.1 --listen-port "$mport" --mode "reverse:$replay_url" -w "$work/flows.mitm" >/dev/null 2>&1 &
mrec=$!
for _ in $(seq 100); do curl -s -o /dev/null -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" --data '{"MaxResults": 4}' "http://127.0.0.1:$mport/" && break; sleep 0.1; done
kill -INT $mrec; wait $mrec || true
mkdir -p "$work/tapes"
python3 - "$work/body.json" "$work/tapes/list.json5" "$target" <<'PY'
import json, sys
body, tape, target = sys.argv[1:]
json.dump({
  "meta": {"createdAt": "2026-11-30T00:00:00.000Z", "host": "http://127.0.0.1:9", "reqHumanReadable": True, "resHumanReadable": True},
  "req": {"url": "/", "method": "POST", "headers": {"content-type": "application/x-amz-json-1.1", "x-amz-target": target}, "body": '{"MaxResults": 4}'},
  "res": {"status": 200, "headers": {"content-type": ["application/x-amz-json-1.1"]}, "body": open(body).read()},
}, open(tape, "w"))
PY
echo "response body: $(wc -c < "$work/body.json") bytes"

# 2. The servers, on core 0.
declare -A url pid
taskset -c 0 target/release/examples/fixed_server "$work/body.json" >"$work/fixed.out" 2>"$work/fixed.out.err" & pids+=($!); pid[fixed]=$!; wait_line "$work/fixed.out"
pid[replay]=$replay_pid
taskset -c 0 target/release/examples/ceiling_server "$work/body.json" >"$work/ceiling.out" 2>"$work/ceiling.out.err" & pids+=($!); pid[ceiling]=$!; wait_line "$work/ceiling.out"
tport=$(free_port)
NODE_PATH="$TALKBACK_DIR/node_modules" taskset -c 0 node bench/talkback-playback.js "$work/tapes" "$tport" >"$work/talkback.out" 2>"$work/talkback.out.err" & pids+=($!); pid[talkback]=$!; wait_line "$work/talkback.out"
mport=$(free_port)
taskset -c 0 "$MITMDUMP" -q --listen-host 127.0.0.1 --listen-port "$mport" --mode "reverse:$replay_url" --server-replay "$work/flows.mitm" \
  --set server_replay_reuse=true --set server_replay_extra=kill --set connection_strategy=lazy >"$work/mitm.out.err" 2>&1 & pids+=($!); pid[mitmproxy]=$!
for _ in $(seq 100); do curl -s -o /dev/null -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" --data '{"MaxResults": 4}' "http://127.0.0.1:$mport/" && break; sleep 0.1; done
echo "listening on http://127.0.0.1:$mport" > "$work/mitmproxy.out"
servers="fixed replay talkback mitmproxy ceiling"
for s in $servers; do url[$s]=$(sed -n 's/^listening on //p' "$work/$s.out"); done
# Every server must answer with the recorded bytes before it is measured.
for s in $servers; do
  got=$(curl -s -H 'Accept:' -H 'User-Agent:' -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" --data '{"MaxResults": 4}' "${url[$s]}/")
  python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.load(open(sys.argv[2])); sys.exit(0 if a==b else 1)' "$got" "$work/body.json" \
    || { echo "$s does not answer the recorded body: ${got:0:200}" >&2; exit 2; }
done

ticks() { awk '{print $14+$15}' /proc/$1/stat; }
hz=$(getconf CLK_TCK)
for r in $(seq "$rounds"); do
  for s in $servers; do
    t0=$(ticks ${pid[$s]})
    out=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s bench/list-json-small.lua "${url[$s]}")
    t1=$(ticks ${pid[$s]})
    echo "$out" | awk -v name="$s" -v r="$r" -v dt=$((t1 - t0)) -v hz="$hz" '
      /requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} /Socket errors/ {err=$0}
      END {printf "%-9s round %s: %9s req/s  p50 %-8s p99 %-8s cpu %6.1f us/req  non-2xx %s %s\n", name, r, rps, p50, p99, dt*1e6/hz/n, (bad==""?0:bad), err}'
  done
done | tee "$work/rounds.txt"
awk '{n[$1] += $4; r[$3 + 0, $1] = $4; if ($3 + 0 > k) k = $3 + 0} END {
  printf "replay/talkback by round:"; for (i = 1; i <= k; i++) printf " %.2fx", r[i, "replay"] / r[i, "talkback"]; printf "\n"
  printf "all rounds: replay/fixed %.0f%%, replay/talkback %.2fx, replay/mitmproxy %.0fx; fixed/talkback %.2fx, ceiling/talkback %.2fx, replay/ceiling %.0f%%\n",
    100*n["replay"]/n["fixed"], n["replay"]/n["talkback"], n["replay"]/n["mitmproxy"], n["fixed"]/n["talkback"], n["ceiling"]/n["talkback"], 100*n["replay"]/n["ceiling"]}' "$work/rounds.txt"
