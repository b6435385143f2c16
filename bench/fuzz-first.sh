#!/usr/bin/env bash
# Time to the first finding of each planted defect over SEEDS seeds (default 5), with the oracle that made it
# (the oracle the tests expect is in brackets): a campaign of at most 60 s against `reference --defect NAME`
# that stops at its first finding. inclusive-before and name-prefix are the service's choice unless a
# recording shows otherwise, so they run with --cassette cassettes (the golden recordings rule both out).
#
#     bash bench/fuzz-first.sh [SEEDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-5}
cargo build --release --quiet --bin snomed-vcr
bin=target/release/snomed-vcr
declare -A oracle=([page-overflow]=page-size [inclusive-before]=filter [reversed-before]=documented-order
  [repeat-last-job]=pagination [status-filter-first-page]=filter [token-server-error]=token-safety
  [missing-middle-token]=page-size-invariance [millis-timestamps]=filter [unknown-status]=output-shape
  [wrong-error-type]=validation [name-prefix]=filter [after-oldest-first]=documented-order
  [status-ignored-with-name]=filter [after-ignored-with-before]=filter [max-results-500-refused]=validation
  [long-name-accepted]=validation [empty-token-accepted]=validation [lowercase-status-accepted]=validation
  [cbor-untagged-timestamps]=output-shape [error-type-header-only]=validation [drops-last-page]=page-size-invariance
  [end-before-submit]=output-shape [cbor-error-as-json]=robustness)
for d in page-overflow inclusive-before reversed-before repeat-last-job status-filter-first-page token-server-error \
         missing-middle-token millis-timestamps unknown-status wrong-error-type name-prefix after-oldest-first \
         status-ignored-with-name after-ignored-with-before max-results-500-refused long-name-accepted \
         empty-token-accepted lowercase-status-accepted cbor-untagged-timestamps error-type-header-only \
         drops-last-page end-before-submit cbor-error-as-json; do
  out=$(mktemp)
  "$bin" reference --defect "$d" >"$out" 2>/dev/null &
  ref=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$out")
  extra=(); case $d in inclusive-before|name-prefix) extra=(--cassette cassettes) ;; esac
  times=()
  for s in $(seq "$seeds"); do
    t=$("$bin" fuzz --target "$url" --seconds 60 --seed "$s" --stop-after 1 --shrink-runs 0 --format json "${extra[@]}" \
        | python3 -c "import json,sys; d=json.load(sys.stdin); f=sorted((x['first_after_seconds'], x['oracle']) for x in d['findings']); print('%.3f(%s)' % f[0] if f else 'none')" || true)
    times+=("$t")
  done
  kill $ref
  med=$(printf '%s\n' "${times[@]}" | sed 's/(.*//' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$d [${oracle[$d]}]: median ${med} s; seeds: ${times[*]}"
done
