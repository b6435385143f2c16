# Sourced by the benchmark scripts: `release_build [EXAMPLE...]` builds the binary as `cargo build --release`
# makes it, then the examples named, apart. Built in one command with examples, the binary's dependencies
# would take the examples' dev-dependencies' features too, and its functions' names would no longer be
# hot-path.order's (build.rs).
release_build() {
  cargo build --release --quiet --bin snomed-vcr
  local examples=()
  for e in "$@"; do examples+=(--example "$e"); done
  if [ ${#examples[@]} -gt 0 ]; then cargo build --release --quiet "${examples[@]}"; fi
}
