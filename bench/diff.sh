#!/usr/bin/env bash
# The diff benchmark: a 10,000-interaction cassette (walked from the reference, JSON and CBOR chains, 5-10
# jobs a page) diffed against the reference, beside the bare request loop (the same requests with the same
# token mapping, client and concurrency, comparing nothing), alternating in one run; then the peak RSS of
# `snomed-vcr diff` itself on the same cassette. With OLD (the diff_bench example of an earlier build), that
# build's diff runs in the same rounds too.
#
#     bash bench/diff.sh [ROUNDS] [CONCURRENCY] [OLD]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
concurrency=${2:-4}
old=${3:-}
source bench/build.sh && release_build diff_bench
bin=target/release/snomed-vcr
bench=target/release/examples/diff_bench
cassette=target/bench/diff-10k.json
mkdir -p target/bench
[ -f "$cassette" ] || "$bench" cassette 10000 "$cassette"

out=$(mktemp)
"$bin" reference >"$out" 2>/dev/null &
ref=$!
trap 'kill $ref 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$out")

loops=(); diffs=(); olds=()
rate() { sed -n 's/.*: \([0-9]*\) interactions\/s/\1/p'; }
for r in $(seq "$rounds"); do
  l=$("$bench" loop "$cassette" "$url" "$concurrency" | rate)
  d=$("$bench" diff "$cassette" "$url" "$concurrency" | rate)
  loops+=("$l"); diffs+=("$d")
  line="round $r: loop $l/s, diff $d/s, diff/loop $(( 100 * d / l ))%"
  if [ -n "$old" ]; then
    o=$("$old" diff "$cassette" "$url" "$concurrency" | rate)
    olds+=("$o")
    line="$line, old diff $o/s, old/loop $(( 100 * o / l ))%"
  fi
  echo "$line"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ml=$(median "${loops[@]}"); md=$(median "${diffs[@]}")
line="median: loop $ml/s, diff $md/s, diff/loop $(( 100 * md / ml ))%"
if [ -n "$old" ]; then mo=$(median "${olds[@]}"); line="$line, old diff $mo/s, old/loop $(( 100 * mo / ml ))%"; fi
echo "$line"
/usr/bin/time -v "$bin" diff --cassette "$cassette" --target "$url" --concurrency "$concurrency" 2>"$out.time" >/dev/null
echo "snomed-vcr diff: $(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out.time") wall, peak RSS $(( $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out.time") / 1024 )) MiB"
