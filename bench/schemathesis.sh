#!/usr/bin/env bash
# The planted defects under Schemathesis 4.x with fuzz/openapi.yaml, for the side-by-side table in
# BENCHMARKS.md: for the clean reference and each `reference --defect NAME`, one run of at most SECONDS
# (default 60) that stops at its first failure; prints what it reported and the wall time.
#
#     bash bench/schemathesis.sh [SECONDS]     (needs target/venv-st: python3 -m venv target/venv-st &&
#                                               target/venv-st/bin/pip install 'schemathesis>=4,<5')
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
cargo build --release --quiet --bin snomed-vcr
bin=target/release/snomed-vcr
st=target/venv-st/bin/schemathesis
[ -x "$st" ] || { echo "no $st: python3 -m venv target/venv-st && target/venv-st/bin/pip install 'schemathesis>=4,<5'" >&2; exit 2; }
for d in clean page-overflow inclusive-before reversed-before repeat-last-job status-filter-first-page token-server-error \
         missing-middle-token millis-timestamps unknown-status wrong-error-type; do
  out=$(mktemp)
  args=(); [ "$d" != clean ] && args=(--defect "$d")
  "$bin" reference "${args[@]}" >"$out" 2>/dev/null &
  ref=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$out")
  start=$(date +%s.%N)
  report=$(cd fuzz && PYTHONPATH=. SCHEMATHESIS_HOOKS=schemathesis_hooks "../$st" run openapi.yaml --url "$url" \
    --max-time "$seconds" --max-failures 1 --exclude-checks unsupported_method,positive_data_acceptance 2>&1 || true)
  end=$(date +%s.%N)
  kill $ref
  found=$(printf '%s\n' "$report" | sed -n 's/^  ❌ \(ST[0-9]* [^:]*\):.*/\1/p' | paste -sd ';' -)
  cases=$(printf '%s\n' "$report" | sed -n 's/^  \([0-9]*\) generated.*/\1/p')
  printf '%s: %s after %.1f s (%s cases)\n' "$d" "${found:-nothing}" "$(echo "$end - $start" | bc)" "${cases:-?}"
done
