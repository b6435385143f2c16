#!/usr/bin/env bash
# Re-records the golden cassettes: boto3 (JSON 1.1) and Rust SDK (RPC v2 CBOR) traffic, of ListSNOMEDCTInferenceJobs
# and (the *-family cassettes) of its four sibling list operations, through
# `snomed-vcr record` against the reference service (seed 1, SigV4 required). A cassette that changes is
# written beside the old one as NAME.json.new: look at it with `snomed-vcr review cassettes`.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${SNOMED_VCR_PYTHON:-target/venv/bin/python}
cargo build --quiet --bin snomed-vcr --example sdk_traffic
bin=target/debug/snomed-vcr
sdk=target/debug/examples/sdk_traffic
export AWS_ACCESS_KEY_ID=AKIDGOLDENPROXY AWS_SECRET_ACCESS_KEY=golden-proxy-secret
unset AWS_PROFILE AWS_SESSION_TOKEN

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME ARGS...: runs a server subcommand in the background and sets $url from its first line.
start() {
  local out; out=$(mktemp)
  "$bin" "$@" >"$out" &
  pids+=($!)
  for _ in $(seq 200); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$out")
  [ -n "$url" ] || { echo "server $* did not start" >&2; exit 2; }
}

start reference --require-sigv4 "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
reference=$url

# record NAME COMMAND...: records what COMMAND sends to $proxy into cassettes/NAME.json.
record() {
  local name=$1; shift
  start record --upstream "$reference" --cassette "cassettes/$name.json" --mode all --reproducible
  local pid=${pids[-1]}
  proxy=$url "$@"
  kill -TERM "$pid"; wait "$pid"
}

record boto3-walk    bash -c '"$0" tests/python/golden_traffic.py walk --endpoint "$proxy"' "$py"
record boto3-filters bash -c '"$0" tests/python/golden_traffic.py filters --endpoint "$proxy"' "$py"
record boto3-bounds  bash -c '"$0" tests/python/golden_traffic.py bounds --endpoint "$proxy"' "$py"
record boto3-errors  bash -c '"$0" tests/python/golden_traffic.py errors --endpoint "$proxy"' "$py"
record boto3-family  bash -c '"$0" tests/python/golden_traffic.py family --endpoint "$proxy"' "$py"
record rust-sdk-cbor bash -c '"$0" "$proxy"' "$sdk"
record rust-sdk-family bash -c '"$0" "$proxy" family' "$sdk"
"$bin" lint cassettes
