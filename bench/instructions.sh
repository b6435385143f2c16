#!/usr/bin/env bash
# User-space instructions per request of one server, counted by valgrind's callgrind: a figure that does not
# move with the machine's load, for comparing two builds on a shared, noisy machine (wall-clock CPU per
# request moves by 20% from one minute to the next there). One of:
#   record  `record --mode all` forwarding to the reference (run natively) and journaling every request;
#           the request is bench/proxy.sh's
#   replay  `replay` answering from a one-interaction cassette; the request is bench/replay.sh's
#   fixed   examples/fixed_server.rs answering the same bytes: hyper's own share of replay's figure
# The client sends one request at a time on one keep-alive connection. The figure is the difference between
# runs of N1 and N2 requests, divided by N2 - N1, so start-up and shut-down cancel out. The server runs on
# core 0 (the single-threaded runtime, as in the throughput benchmarks). Kernel time (TCP, the journal's
# writes) is not counted, and valgrind runs SHA-256 without the CPU's SHA instructions.
# With HOT_SYMBOLS=FILE, also writes the functions run on every request to FILE, hottest first
# (bench/hot_symbols.py; bench/hot-order.sh makes hot-path.order from them).
# Usage: bench/instructions.sh record|replay|fixed [BINARY] [N1] [N2]   (needs valgrind and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?usage: bench/instructions.sh record|replay|fixed [BINARY] [N1] [N2]}
if [ -z "${2:-}" ]; then source bench/build.sh && release_build fixed_server; fi
bin=${2:-target/release/snomed-vcr}; n1=${3:-300}; n2=${4:-1300}
server=$bin  # the binary counted
[ "$what" = fixed ] && server=target/release/examples/fixed_server
source bench/common.sh
target/release/snomed-vcr reference >"$work/ref.out" 2>/dev/null & pids+=($!); disown; wait_line "$work/ref.out"
ref=$(sed -n 's/^listening on //p' "$work/ref.out")
case $what in
  record) body='{"MaxResults": 10, "Filter": {"JobStatus": "COMPLETED"}}' ;;
  replay | fixed)
    body='{"MaxResults": 4}'
    # The answer, recorded once from the reference, as a cassette and as bare bytes.
    target/release/snomed-vcr record --upstream "$ref" --cassette "$work/bench.json" --reproducible >"$work/rec.out" 2>/dev/null &
    rec=$!; wait_line "$work/rec.out"
    curl -s -o "$work/body.json" -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: $target" \
      --data "$body" "$(sed -n 's/^listening on //p' "$work/rec.out")/"
    kill -TERM $rec; wait $rec ;;
  *) echo "expected record, replay or fixed, got '$what'" >&2; exit 2 ;;
esac
count() { # count N: the server's instructions over N requests, up to the last one answered
  local n=$1 dir="$work/$1"
  mkdir -p "$dir"
  local cmd=("$bin" record --upstream "$ref" --cassette "$dir/c.json" --mode all)
  [ "$what" = replay ] && cmd=("$bin" replay --cassette "$work/bench.json")
  [ "$what" = fixed ] && cmd=("$server" "$work/body.json")
  local symbols=()
  [ -n "${HOT_SYMBOLS:-}" ] && symbols=(--dump-instr=yes --demangle=no)
  taskset -c 0 valgrind --tool=callgrind "${symbols[@]}" --callgrind-out-file="$dir/cg.out" "${cmd[@]}" >"$dir/server.out" 2>"$dir/server.err" &
  local vp=$!; pids+=($vp); wait_line "$dir/server.out"
  python3 - "$(sed -n 's/^listening on //p' "$dir/server.out")" "$n" "$target" "$body" <<'PY'
import http.client, sys, urllib.parse
url, n, target, body = urllib.parse.urlparse(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = http.client.HTTPConnection(url.hostname, url.port)
headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
for _ in range(n):
    conn.request("POST", "/", body=body, headers=headers)
    r = conn.getresponse(); r.read()
    assert r.status == 200, r.status
PY
  # Counts so far, then a kill: shutting down (folding record's journal into a cassette) is not per-request work.
  callgrind_control -d "$vp" >/dev/null 2>&1
  sleep 1
  kill -9 "$vp"; wait "$vp" 2>/dev/null || true
  cat "$dir"/cg.out.* | sed -n 's/^summary: //p' | sort -n | tail -1
}
c1=$(count "$n1"); c2=$(count "$n2")
echo "$what, user space: $(( (c2 - c1) / (n2 - n1) )) instructions per request ($c1 over $n1 requests, $c2 over $n2; $server)"
if [ -n "${HOT_SYMBOLS:-}" ]; then
  python3 bench/hot_symbols.py "$work/$n1/cg.out.1" "$work/$n2/cg.out.1" $((n2 - n1)) "$server" >"$HOT_SYMBOLS"
fi
