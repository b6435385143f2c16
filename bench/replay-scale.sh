#!/usr/bin/env bash
# Replay at scale: a cassette of N interactions (load time and resident memory at the listening line), then
# requests walking all N keys in turn (key k, k + 7919, ... mod N: every key once per N requests) at 64
# connections, sampling resident memory every 5 s, until every key has been asked at least twice; then 5 s of
# requests no recording matches (8 connections), each different.
# Server on core 0, wrk on core 1. With OLD (an earlier build's binary), the same for it, one after the other.
# Usage: bench/replay-scale.sh [interactions, default 100000] [OLD binary]   (needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
old=${2:-}
cargo build --release --quiet --bin snomed-vcr
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
# The cassette: the golden walk's first job, N times with distinct ids, each answering its own request. Written
# by filling in one interaction's canonical text (json.dump of a million would take a minute).
python3 - "$work/big.json" cassettes/boto3-walk.json "$n" <<'PY'
import json, sys
out, golden, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
g = json.load(open(golden))
job = g["interactions"][0]["response"]["body"]["ComprehendMedicalAsyncJobPropertiesList"][0]
base = {k: v for k, v in g.items() if k != "interactions"}
one = {
    "seq": 1234567890,
    "request": {"method": "POST", "path": "/", "protocol": "awsJson1_1",
                "headers": {"content-type": "application/x-amz-json-1.1"},
                "body": {"MaxResults": 1234567891, "NextToken": "@TOKEN@"}},
    "response": {"status": 200, "headers": {"content-type": "application/x-amz-json-1.1"},
                 "body": {"ComprehendMedicalAsyncJobPropertiesList": [dict(job, JobId="@JOBID@")],
                          "NextToken": "@NEXT@"}},
}
head, tail = json.dumps(dict(base, interactions=["@ITEMS@"]), indent=2).split('"@ITEMS@"')
item = json.dumps([one], indent=2)[4:-2].replace("\n  ", "\n    ")
parts = item.replace("1234567890", "\0").replace("1234567891", "\0").replace("@TOKEN@", "\0") \
    .replace("@JOBID@", "\0").replace("@NEXT@", "\0").split("\0")
with open(out, "w") as f:
    f.write(head)
    for k in range(n):
        vals = (str(k), str(k % 500 + 1), f"token-{k:07d}", f"{k:032x}", f"token-{k + 1:07d}")
        if k:
            f.write(",\n    ")
        f.write("".join(p + v for p, v in zip(parts, vals)) + parts[-1])
    f.write(tail + "\n")
PY
echo "cassette: $n interactions, $(du -m "$work/big.json" | cut -f1) MB"
cat > "$work/walk.lua" <<LUA
-- Requests walking all $n recorded keys in turn.
local headers = {["Content-Type"] = "application/x-amz-json-1.1",
                 ["X-Amz-Target"] = "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs"}
local k = 0
request = function()
  k = (k + 7919) % $n
  local body = string.format('{"MaxResults": %d, "NextToken": "token-%07d"}', k % 500 + 1, k)
  return wrk.format("POST", "/", headers, body)
end
LUA
cat > "$work/miss.lua" <<LUA
-- Requests no recorded key matches (a token never issued), each different.
local headers = {["Content-Type"] = "application/x-amz-json-1.1",
                 ["X-Amz-Target"] = "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs"}
local k = 0
request = function()
  k = k + 1
  return wrk.format("POST", "/", headers, string.format('{"MaxResults": 3, "NextToken": "unrecorded-%d"}', k))
end
LUA
rss() { awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status; }
measure() {
  local bin=$1 name=$2 loads=()
  echo "== $name ($bin)"
  # Load time, start to the listening line, over three starts (the machine is shared: the spread is the noise).
  for i in 1 2 3; do
    rm -f "$work/out"
    start=$(date +%s.%N)
    RUST_LOG=snomed_vcr=info taskset -c 0 "$bin" replay --cassette "$work/big.json" >"$work/out" 2>"$work/err" &
    pid=$!
    until grep -q '^listening on ' "$work/out" 2>/dev/null; do
      kill -0 $pid 2>/dev/null || { cat "$work/err" >&2; exit 2; }
      sleep 0.005
    done
    ready=$(date +%s.%N)
    loads+=("$(echo "$ready - $start" | bc)")
    [ "$i" = 3 ] || { kill $pid; wait $pid 2>/dev/null || true; }
  done
  printf 'load: %s s to the listening line (median of three; sorted: %s)\n' \
    "$(printf '%s\n' "${loads[@]}" | sort -n | sed -n 2p)" "$(printf '%s\n' "${loads[@]}" | sort -n | xargs printf '%.2f ')"
  printf 'resident at listening: %s MiB, peak while loading %s MiB (%s)\n' "$(rss)" \
    "$(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status)" \
    "$(grep -o 'answers_in_memory=[0-9]* answers_read_back=[0-9]*' "$work/err" | head -1)"
  url=$(sed -n 's/^listening on //p' "$work/out")
  local asked=0 round=0
  while [ "$asked" -lt $((2 * n)) ]; do
    round=$((round + 1))
    asked=$((asked + $(taskset -c 1 wrk -t1 -c64 -d5s -s "$work/walk.lua" "$url" | awk '/requests in/ {print $1}')))
    echo "  after ${round}x5 s: $asked requests, resident $(rss) MiB"
  done
  echo "resident after every key was asked $((asked / n)) times: $(rss) MiB"
  # Requests no recording matches, each different: every one is answered with a guide to its closest
  # recorded request, found on the thread that answers everything else.
  taskset -c 1 wrk -t1 -c8 -d5s --latency -s "$work/miss.lua" "$url" |
    awk '/requests in/ {n=$1} /Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
      END {printf "unmatched requests: %s in 5 s (%s req/s, p50 %s, p99 %s; %s answered 400)\n", n, r, p50, p99, bad}'
  kill $pid; wait $pid 2>/dev/null || true; pid=
}
measure target/release/snomed-vcr this
[ -z "$old" ] || measure "$old" old
