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
