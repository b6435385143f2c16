#!/usr/bin/env bash
# Writes hot-path.order: the functions replay and then record run on every request (bench/instructions.sh's
# requests, counted by callgrind), hottest first, which build.rs asks the linker to lay out together at the
# start of the release binary's code. Run it again after updating dependencies, renaming functions on the
# request path or changing the package's version: symbol names carry a hash of their crate's build, and a name
# the binary no longer has is skipped. bench/ceiling.sh prints how many of the names the binary still has.
# Usage: bench/hot-order.sh   (needs valgrind and python3; about 90 s)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin snomed-vcr
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
HOT_SYMBOLS=$tmp/replay bash bench/instructions.sh replay target/release/snomed-vcr
HOT_SYMBOLS=$tmp/record bash bench/instructions.sh record target/release/snomed-vcr
{
  echo "# The release binary's hot path, laid out first by the linker (build.rs). Written by bench/hot-order.sh:"
  echo "# replay's functions run on every request, hottest first, then record's. Do not edit by hand."
  awk '!seen[$0]++' "$tmp/replay" "$tmp/record"
} >hot-path.order
echo "hot-path.order: $(grep -vc '^#' hot-path.order) functions ($(wc -l <"$tmp/replay") replay's, $(wc -l <"$tmp/record") record's)"
