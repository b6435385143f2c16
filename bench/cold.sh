#!/usr/bin/env bash
# Cold build and test times of several commits, one after the other on this machine: for each COMMIT, a worktree
# and new target directories; `cargo build --release` (the README's first command builds it), then
# `cargo test --no-run` (every test target compiled) and the tests run (with the venv .ci/run makes, when it
# exists, so nothing is ignored). Usage: bash bench/cold.sh COMMIT...   Prints one line per commit.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
scratch=$(mktemp -d /tmp/snomed-vcr-cold.XXXXXX)
trap 'for w in "$scratch"/tree-*; do git -C "$root" worktree remove --force "$w" 2>/dev/null || true; done; rm -rf "$scratch"' EXIT
python=${SNOMED_VCR_PYTHON:-$root/target/venv/bin/python}
seconds() { local start=$SECONDS; "$@" >"$scratch/log" 2>&1 || { tail -20 "$scratch/log"; exit 1; }; echo $((SECONDS - start)); }
for commit in "$@"; do
  tree=$scratch/tree-$commit
  git -C "$root" worktree add --detach -q "$tree" "$commit"
  build=$(cd "$tree" && CARGO_TARGET_DIR=$scratch/release-$commit seconds cargo build --release --locked)
  compile=$(cd "$tree" && CARGO_TARGET_DIR=$scratch/test-$commit seconds cargo test --locked --no-run)
  run=$(cd "$tree" && CARGO_TARGET_DIR=$scratch/test-$commit SNOMED_VCR_PYTHON=$python seconds cargo test --locked)
  echo "$commit: release build ${build} s; cargo test: compile ${compile} s, run ${run} s"
  rm -rf "$scratch/release-$commit" "$scratch/test-$commit"
done
