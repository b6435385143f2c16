#!/usr/bin/env bash
# The recording proxy's user-space instructions per proxied request, counted by valgrind's callgrind: a
# figure that does not move with the machine's load, for comparing two builds of `record` on a shared,
# noisy machine (wall-clock CPU per request moves by 20% from one minute to the next there).
# `record --mode all` forwards to the reference (run natively) and journals every request; the client sends
# the same request as bench/proxy.sh, one at a time on one keep-alive connection. The figure is the difference
# between runs of N1 and N2 requests, divided by N2 - N1, so start-up and shut-down cancel out. Kernel time
# (TCP, the journal's writes) is not counted, and valgrind runs SHA-256 without the CPU's SHA instructions.
# Usage: bench/proxy-instructions.sh [BINARY] [N1] [N2]   (needs valgrind and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${1:-}" ]; then cargo build --release --quiet --bin snomed-vcr; fi
bin=${1:-target/release/snomed-vcr}; n1=${2:-300}; n2=${3:-1300}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret
wait_line() { for _ in $(seq 300); do grep -q '^listening on ' "$1" 2>/dev/null && return; sleep 0.1; done; echo "no listening line in $1" >&2; exit 2; }
target/release/snomed-vcr reference >"$work/ref.out" 2>/dev/null & pids+=($!); disown; wait_line "$work/ref.out"
ref=$(sed -n 's/^listening on //p' "$work/ref.out")
count() { # count N: instructions of `record` over N requests, up to the last one answered
  local n=$1 dir="$work/$1"
  mkdir -p "$dir"
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$bin" record --upstream "$ref" \
    --cassette "$dir/c.json" --mode all >"$dir/rec.out" 2>"$dir/rec.err" &
  local vp=$!; pids+=($vp); wait_line "$dir/rec.out"
  python3 - "$(sed -n 's/^listening on //p' "$dir/rec.out")" "$n" <<'PY'
import http.client, sys, urllib.parse
url, n = urllib.parse.urlparse(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection(url.hostname, url.port)
headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs"}
for _ in range(n):
    conn.request("POST", "/", body='{"MaxResults": 10, "Filter": {"JobStatus": "COMPLETED"}}', headers=headers)
    r = conn.getresponse(); r.read()
    assert r.status == 200, r.status
PY
  # Counts so far, then a kill: folding the journal into a cassette at shutdown is not the proxy's per-request work.
  callgrind_control -d "$vp" >/dev/null 2>&1
  sleep 1
  kill -9 "$vp"; wait "$vp" 2>/dev/null || true
  cat "$dir"/cg.out.* | sed -n 's/^summary: //p' | sort -n | tail -1
}
c1=$(count "$n1"); c2=$(count "$n2")
echo "record, user space: $(( (c2 - c1) / (n2 - n1) )) instructions per proxied request ($c1 over $n1 requests, $c2 over $n2; $bin)"
