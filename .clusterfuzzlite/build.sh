#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ into $OUT with its seed corpus ($OUT/TARGET_seed_corpus.zip).
# In ClusterFuzzLite's image (nightly, $SANITIZER=address) the targets get AddressSanitizer; run elsewhere
# with SANITIZER=none (stable Rust) to check the build:  SRC=$PWD/.. OUT=/tmp/out SANITIZER=none bash .clusterfuzzlite/build.sh
cd "$SRC/snomed-vcr/fuzz"
if [ "${SANITIZER:-address}" = none ]; then
  cargo fuzz build -O -s none
else
  cargo fuzz build -O
fi
mkdir -p "$OUT"
release=target/x86_64-unknown-linux-gnu/release
for src in fuzz_targets/*.rs; do
  name=$(basename "$src" .rs)
  cp "$release/$name" "$OUT/"
  if [ -d "seeds/$name" ]; then
    (cd "seeds/$name" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
  fi
done
