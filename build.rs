//! Which of the tests' outside tools this machine has, for the tests that need them: a check whose tool is
//! missing is compiled as ignored, with the fix as its reason, so `cargo test` counts it as ignored and never as
//! passed. Under CI (`CI` set) nothing is ignored: a missing tool fails its checks with the fix instead.
//!
//! | cfg | when | tool |
//! |---|---|---|
//! | `no_boto3` | no Python at `SNOMED_VCR_PYTHON` or `target/venv/bin/python` | Python with boto3 (`bash .ci/run` installs it) |
//! | `no_chromium` | no file at `SNOMED_VCR_CHROMIUM` or `/usr/bin/chromium` | headless Chromium (Debian's `chromium`) |
//! | `no_js_sdk` | no `@aws-sdk/client-comprehendmedical/package.json` in `SNOMED_VCR_JS` or `target/js/node_modules` | the AWS SDK for JavaScript v3 (`bash .ci/run` installs it) |
//!
//! Only whether the files exist is looked at (a build script should be quick); whether that Python has boto3
//! is the checks' own first assertion.
//!
//! It also lays out the release binary's hot path: the functions replay and record run on every request, listed
//! in `hot-path.order` (written by `bench/hot-order.sh`), go together at the start of the binary's code, through
//! the linker's `--symbol-ordering-file`. Scattered over 16 MB of code, one replayed request ran code on 126
//! pages of 4 KiB (the minimal hyper server's on 88); laid out together, on 39, and replay answers 3-4% more
//! requests, level with that server (BENCHMARKS.md, "the hot path laid out together"). Only for release
//! builds of the `snomed-vcr` binary on x86_64 Linux with Rust's own linker (LLD, the default there since Rust
//! 1.90): with a linker of your own (`linker =`, `-C linker...` in `RUSTFLAGS`) nothing is passed.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_boto3)");
    println!("cargo::rustc-check-cfg=cfg(no_chromium)");
    println!("cargo::rustc-check-cfg=cfg(no_js_sdk)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=SNOMED_VCR_PYTHON");
    println!("cargo::rerun-if-env-changed=SNOMED_VCR_CHROMIUM");
    println!("cargo::rerun-if-env-changed=SNOMED_VCR_JS");
    let ci = std::env::var_os("CI").is_some();
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let python =
        std::env::var_os("SNOMED_VCR_PYTHON").map_or_else(|| manifest.join("target/venv/bin/python"), PathBuf::from);
    let chromium =
        std::env::var_os("SNOMED_VCR_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let js = std::env::var_os("SNOMED_VCR_JS")
        .map_or_else(|| manifest.join("target/js/node_modules"), PathBuf::from)
        .join("@aws-sdk/client-comprehendmedical/package.json");
    for (tool, cfg) in [(python, "no_boto3"), (chromium, "no_chromium"), (js, "no_js_sdk")] {
        if !watch(&tool) && !ci {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    order_hot_path(&manifest);
}

/// Passes `hot-path.order`, without its comment lines, to the linker for the release binary, when the linker
/// is LLD.
fn order_hot_path(manifest: &Path) {
    println!("cargo::rerun-if-changed=hot-path.order");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let lld_by_default = var("TARGET") == "x86_64-unknown-linux-gnu";
    let own_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || var("CARGO_ENCODED_RUSTFLAGS").split('\x1f').any(|flag| flag.contains("link"));
    if var("PROFILE") != "release" || !lld_by_default || own_linker {
        return;
    }
    let Ok(order) = std::fs::read_to_string(manifest.join("hot-path.order")) else { return };
    let symbols: String =
        order.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(|l| l.to_owned() + "\n").collect();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("hot-path.order");
    std::fs::write(&out, symbols).expect("OUT_DIR is writable");
    println!("cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", out.display());
    println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// Whether `path` exists; asks to run again when it changes.
///
/// A missing path is not watched: cargo would run the script on every build for it, and a folder would be
/// scanned whole. `bash .ci/run` sets `SNOMED_VCR_PYTHON`, `SNOMED_VCR_CHROMIUM` and `SNOMED_VCR_JS` to what
/// it installed, which runs the script again; after installing a tool by hand, set its variable (or `touch
/// build.rs`).
fn watch(path: &Path) -> bool {
    let exists = path.exists();
    if exists {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    exists
}
