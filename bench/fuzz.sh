#!/usr/bin/env bash
# The fuzz benchmark: requests per second of a campaign (3,000 seeded cases, every oracle, no shrinking)
# against the reference over loopback, beside the bare request loop (the same cases' requests, generated
# beforehand, with the same client and window, judged by nothing), alternating in one run. With OLD (the
# fuzz_bench example of an earlier build), that build's campaign runs in the same rounds too, so a change is
# compared with the build before it side by side.
#
#     bash bench/fuzz.sh [ROUNDS] [CONCURRENCY] [OLD]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
concurrency=${2:-4}
old=${3:-}
source bench/build.sh && release_build fuzz_bench
bin=target/release/snomed-vcr
bench=target/release/examples/fuzz_bench
out=$(mktemp)
"$bin" reference >"$out" 2>/dev/null &
ref=$!
trap 'kill $ref 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$out")
loops=(); fuzzes=(); olds=()
rate() { sed -n 's/.*: \([0-9]*\) requests\/s.*/\1/p'; }
for r in $(seq "$rounds"); do
  l=$("$bench" loop "$url" 3000 "$concurrency" | rate)
  f=$("$bench" fuzz "$url" 3000 "$concurrency" | rate)
  loops+=("$l"); fuzzes+=("$f")
  line="round $r: loop $l/s, fuzz $f/s, fuzz/loop $(( 100 * f / l ))%"
  if [ -n "$old" ]; then
    o=$("$old" fuzz "$url" 3000 "$concurrency" | rate)
    olds+=("$o")
    line="$line, old fuzz $o/s, old/loop $(( 100 * o / l ))%"
  fi
  echo "$line"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ml=$(median "${loops[@]}"); mf=$(median "${fuzzes[@]}")
line="median: loop $ml/s, fuzz $mf/s, fuzz/loop $(( 100 * mf / ml ))%"
if [ -n "$old" ]; then mo=$(median "${olds[@]}"); line="$line, old fuzz $mo/s, old/loop $(( 100 * mo / ml ))%"; fi
echo "$line"
