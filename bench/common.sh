# Sourced by the benchmark scripts that start servers: a scratch directory ($work) removed at exit with every
# server started ($pids), the benchmark's credentials, the operation's X-Amz-Target, and wait_line FILE (until
# a server's `listening on` line is in FILE).
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work" 2>/dev/null' EXIT
export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret
# shellcheck disable=SC2034  # used by the scripts that source this
target='ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs'
wait_line() {
  for _ in $(seq 300); do grep -q '^listening on ' "$1" 2>/dev/null && return; sleep 0.05; done
  echo "no listening line in $1" >&2
  exit 2
}
