#!/usr/bin/env bash
# The fuzz benchmark: requests per second of a campaign (3,000 seeded cases, every oracle, no shrinking)
# against the reference over loopback, beside the bare request loop (the same cases' requests, generated
# beforehand, with the same client and window, judged by nothing), alternating in one run.
#
#     bash bench/fuzz.sh [ROUNDS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
concurrency=${2:-4}
cargo build --release --quiet --bin snomed-vcr --example fuzz_bench
bin=target/release/snomed-vcr
bench=target/release/examples/fuzz_bench
out=$(mktemp)
"$bin" reference >"$out" 2>/dev/null &
ref=$!
trap 'kill $ref 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$out")
loops=(); fuzzes=()
for r in $(seq "$rounds"); do
  l=$("$bench" loop "$url" 3000 "$concurrency" | sed -n 's/.*: \([0-9]*\) requests\/s.*/\1/p')
  f=$("$bench" fuzz "$url" 3000 "$concurrency" | sed -n 's/.*: \([0-9]*\) requests\/s.*/\1/p')
  loops+=("$l"); fuzzes+=("$f")
  echo "round $r: loop $l/s, fuzz $f/s, fuzz/loop $(( 100 * f / l ))%"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ml=$(median "${loops[@]}"); mf=$(median "${fuzzes[@]}")
echo "median: loop $ml/s, fuzz $mf/s, fuzz/loop $(( 100 * mf / ml ))%"
