#!/usr/bin/env bash
# Replay at scale: a 100,000-interaction cassette (load time and resident memory), then requests spread over
# all its keys at 64 connections until at least 1,000,000 are answered, sampling resident memory every 5 s.
# Server on core 0, wrk on core 1. Usage: bench/replay-scale.sh [seconds of load]   (needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-45}
cargo build --release --quiet --bin snomed-vcr
bin=target/release/snomed-vcr
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
python3 - "$work/big.json" cassettes/boto3-walk.json <<'PY'
import json, sys
out, golden = sys.argv[1:]
g = json.load(open(golden))
job = g["interactions"][0]["response"]["body"]["ComprehendMedicalAsyncJobPropertiesList"][0]
base = {k: v for k, v in g.items() if k != "interactions"}
its = []
for k in range(100_000):
    j = dict(job, JobId=f"{k:032x}")
    its.append({
        "seq": k,
        "request": {"method": "POST", "path": "/", "protocol": "awsJson1_1",
                    "headers": {"content-type": "application/x-amz-json-1.1"},
                    "body": {"MaxResults": k % 500 + 1, "NextToken": f"token-{k:06d}"}},
        "response": {"status": 200, "headers": {"content-type": "application/x-amz-json-1.1"},
                     "body": {"ComprehendMedicalAsyncJobPropertiesList": [j], "NextToken": f"token-{k + 1:06d}"}},
    })
json.dump(dict(base, interactions=its), open(out, "w"), indent=2)
PY
echo "cassette: 100000 interactions, $(du -m "$work/big.json" | cut -f1) MB"
rss() { awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status; }
# Load time, start to the listening line, over five starts (the machine is shared: the spread is the noise).
loads=()
for i in 1 2 3 4 5; do
  rm -f "$work/out"
  start=$(date +%s.%N)
  RUST_LOG=snomed_vcr=info taskset -c 0 "$bin" replay --cassette "$work/big.json" >"$work/out" 2>"$work/err" &
  pid=$!
  until grep -q '^listening on ' "$work/out" 2>/dev/null; do sleep 0.005; done
  ready=$(date +%s.%N)
  loads+=("$(echo "$ready - $start" | bc)")
  [ "$i" = 5 ] || { kill $pid; wait $pid 2>/dev/null || true; }
done
printf 'load: %s s to the listening line (five starts; sorted: %s)\n' \
  "$(printf '%s\n' "${loads[@]}" | sort -n | sed -n 3p)" "$(printf '%s\n' "${loads[@]}" | sort -n | xargs printf '%.2f ')"
printf 'resident after load: %s MiB (%s)\n' "$(rss)" "$(grep -o 'answers_in_memory=[0-9]* answers_read_back=[0-9]*' "$work/err" | head -1)"
url=$(sed -n 's/^listening on //p' "$work/out")
cat > "$work/spread.lua" <<'LUA'
-- Requests spread over the 100,000 recorded keys.
local headers = {["Content-Type"] = "application/x-amz-json-1.1",
                 ["X-Amz-Target"] = "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs"}
local k = 0
request = function()
  k = (k * 7919 + 1) % 100000
  local body = string.format('{"MaxResults": %d, "NextToken": "token-%06d"}', k % 500 + 1, k)
  return wrk.format("POST", "/", headers, body)
end
LUA
(for i in $(seq $((secs / 5))); do sleep 5; echo "  resident at ${i}x5 s: $(rss) MiB"; done) &
sampler=$!
taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency -s "$work/spread.lua" "$url" | grep -E "requests in|Requests/sec|50%|99%|Non-2xx|Socket errors" || true
wait $sampler || true
echo "resident at the end: $(rss) MiB"
