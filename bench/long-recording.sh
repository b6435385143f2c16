#!/usr/bin/env bash
# Long recordings: for each session size N (interactions), records N requests through `record --mode all`
# (wrk, 32 connections, the request of bench/proxy.sh; proxy on core 0, wrk and the reference on core 1),
# kills the proxy with SIGKILL, and measures (these three unpinned, as a user runs them):
#   restart-to-listening  a new `record` on the same cassette, spawn to its `listening on` line (it resumes
#                         the journal of N interactions)
#   SIGTERM-to-exit       that session, SIGTERM to exit; it says whether it folded the journal or left it
#   fold                  `record --recover` on the same journal: wall time and peak RSS (GNU time)
# and checks that nothing answered was lost: the folded cassette holds every interaction the journal held,
# and at least as many as wrk saw answered.
# Usage: bench/long-recording.sh [N ...]   (default 10000 100000 300000; needs wrk and GNU time)
#        SNOMED_VCR_BIN=path/to/another/build bench/long-recording.sh 100000   (measures that build instead)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-10000 100000 300000}")
# shellcheck disable=SC2206
sizes=(${sizes[*]})
if [ -z "${SNOMED_VCR_BIN:-}" ]; then cargo build --release --quiet --bin snomed-vcr; fi
bin=${SNOMED_VCR_BIN:-$PWD/target/release/snomed-vcr}
work=$(mktemp -d "${TMPDIR:-/tmp}/long-recording.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill -9 $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
wait_line() { # up to 10 minutes (an older build folds before it listens)
  local until=$(( $(date +%s) + 600 ))
  while [ "$(date +%s)" -lt "$until" ]; do grep -q '^listening on ' "$1" 2>/dev/null && return; sleep 0.005; done
  echo "no listening line in $1" >&2; cat "$1.err" >&2; exit 2
}
taskset -c 1 "$bin" reference >"$work/ref.out" 2>/dev/null & pids+=($!); disown; wait_line "$work/ref.out"
ref=$(sed -n 's/^listening on //p' "$work/ref.out")
cat >"$work/count.lua" <<'LUA'
-- The request of bench/proxy.sh; wrk exits once LIMIT answers have come back (its duration does not end a
-- thread early, so the script ends the process).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs"
wrk.body = '{"MaxResults": 10, "Filter": {"JobStatus": "COMPLETED"}}'
local limit = tonumber(os.getenv("LIMIT"))
local answered = 0
response = function()
  answered = answered + 1
  if answered >= limit then os.exit(0) end
end
LUA
printf '%-8s %-10s %-12s %-12s %-22s %-10s %-12s %s\n' interactions journal answered restart-s sigterm-exit-s fold-s fold-peak-MB outcome
for n in "${sizes[@]}"; do
  dir="$work/n$n"; mkdir -p "$dir"; c="$dir/c.json"
  taskset -c 0 "$bin" record --upstream "$ref" --cassette "$c" --mode all --reproducible >"$dir/a.out" 2>"$dir/a.out.err" &
  a=$!; pids+=($a); wait_line "$dir/a.out"
  url=$(sed -n 's/^listening on //p' "$dir/a.out")
  LIMIT=$n taskset -c 1 wrk -t1 -c32 -d3600s -s "$work/count.lua" "$url" >/dev/null
  answered=$n
  kill -9 $a; wait $a 2>/dev/null || true
  journaled=$(( $(wc -l < "$c.journal") - 1 ))
  cp "$c.journal" "$dir/journal.bak"
  # Restart: spawn to the listening line, with the whole journal to resume.
  t0=$(now)
  "$bin" record --upstream "$ref" --cassette "$c" --mode all --reproducible >"$dir/b.out" 2>"$dir/b.out.err" &
  b=$!; pids+=($b); wait_line "$dir/b.out"
  restart=$(since "$t0")
  # SIGTERM: to exit, folding if the stop timeout allows.
  t0=$(now); kill -TERM $b; wait $b; sigterm=$(since "$t0")
  outcome=$(tail -1 "$dir/b.out.err" | cut -c1-60)
  # The fold on its own, from the same journal.
  rm -f "$c" "$c.new"; cp "$dir/journal.bak" "$c.journal"
  /usr/bin/time -f '%e %M' -o "$dir/time" "$bin" record --recover --upstream "$ref" --cassette "$c" 2>"$dir/fold.err"
  read -r fold kb < "$dir/time"
  stored=$(grep -c '^    {$' "$c" || true)
  [ "$stored" -eq "$journaled" ] && [ "$stored" -ge "$answered" ] || { echo "lost interactions: answered $answered, journaled $journaled, stored $stored" >&2; exit 1; }
  printf '%-8s %-10s %-12s %-12.3f %-22.3f %-10s %-12s %s\n' "$stored" "$(du -m "$dir/journal.bak" | cut -f1)MB" "$answered" "$restart" "$sigterm" "$fold" "$((kb / 1024))" "$outcome"
  rm -rf "$dir"
done
