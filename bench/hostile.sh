#!/usr/bin/env bash
# Bounded against hostile peers: wall time and peak RSS of `fuzz` and `diff` against the hostile server
# (examples/hostile_server.rs), each mode answering its first AFTER requests as the reference does, and of
# `replay` while 100 connections send it 8 MB bodies at once.
#
#     bash bench/hostile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/build.sh && release_build hostile_server
bin=target/release/snomed-vcr
hostile=target/release/examples/hostile_server
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# serve CMD...: starts a server in the background and sets $url from its first line.
serve() {
  local out; out=$(mktemp)
  "$@" >"$out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$out")
}

# measure NAME CMD...: runs CMD under /usr/bin/time; prints wall time, peak RSS and exit code.
measure() {
  local name=$1; shift
  local t; t=$(mktemp)
  set +e
  /usr/bin/time -v "$@" >"$t.out" 2>"$t"
  local code=$?
  set -e
  printf '%-58s %8s wall  %5d MiB peak RSS  exit %d  %s\n' "$name" \
    "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$t")" \
    "$(( $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$t") / 1024 ))" "$code" \
    "$(grep -m1 -E '^(error|findings|diff:)' "$t" "$t.out" | cut -d: -f2- | cut -c1-70)"
}

serve "$hostile" forever 40
measure "fuzz --runs 20, forever paginating with 1-4 MB pages" "$bin" fuzz --target "$url" --runs 20
serve "$hostile" forever 40
measure "fuzz --runs 20 --concurrency 16, the same" "$bin" fuzz --target "$url" --runs 20 --concurrency 16
serve "$hostile" hang 40
measure "fuzz --seconds 10 --timeout 2, hangs after 40 answers" "$bin" fuzz --target "$url" --seconds 10 --timeout 2
serve "$hostile" slow-big 0
measure "fuzz --seconds 20, 15 s for pages over 20 jobs" "$bin" fuzz --target "$url" --seconds 20
serve "$hostile" forever 2
report=$(mktemp)
measure "diff cassettes, forever paginating after 2 answers" "$bin" diff --cassette cassettes --target "$url" --out "$report"
echo "  its report: $(( $(stat -c %s "$report") / 1024 )) KiB"
serve "$hostile" redirect 0
measure "fuzz, every answer a 302" "$bin" fuzz --target "$url" --runs 20

# Replay while 100 connections each send an 8 MB body: the serve loop's cap on large bodies in flight.
serve "$bin" replay --cassette cassettes
replay=${pids[-1]}
python3 - "$url" <<'PY'
import socket, sys, threading
host, port = sys.argv[1].split("//")[1].split(":")
body = b"{" + b" " * (8 * 1024 * 1024 - 2) + b"}"
codes = []
def send():
    s = socket.create_connection((host, int(port)))
    s.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\n"
              b"x-amz-target: ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs\r\n"
              b"content-length: %d\r\n\r\n" % len(body))
    try:
        s.sendall(body)
    except OSError:
        pass
    codes.append(s.recv(64).split(b" ")[1:2])
threads = [threading.Thread(target=send) for _ in range(100)]
[t.start() for t in threads]
[t.join() for t in threads]
from collections import Counter
print("  100 connections x 8 MB bodies: answers", dict(Counter(c[0].decode() if c else "none" for c in codes)))
PY
echo "  replay server peak RSS: $(( $(sed -n 's/VmHWM:\s*\([0-9]*\) kB/\1/p' /proc/$replay/status) / 1024 )) MiB"
