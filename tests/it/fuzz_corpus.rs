//! The cargo-fuzz targets' bodies, replayed on stable over the committed seeds (`fuzz/seeds/TARGET/*`) and
//! `fuzz/regressions/TARGET/*`: a failing input is named by its file. The working corpus `cargo fuzz run`
//! grows (`fuzz/corpus/`, git-ignored) is not replayed: what a local run found does not change `cargo test`. `http_target` runs against a
//! reference started here.

use std::path::Path;

use snomed_vcr::fuzzing::harness::TARGETS;

use crate::util::{Proc, manifest_dir};

fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let reference = Proc::start(&["reference"]);
    // SAFETY: set before any thread reads it; the http_target body reads it once, below.
    unsafe { std::env::set_var("SNOMED_VCR_FUZZ_URL", &reference.url) };
    let fuzz = manifest_dir().join("fuzz");
    let mut replayed = 0;
    for (name, body) in TARGETS {
        let files: Vec<_> = [fuzz.join("seeds").join(name), fuzz.join("regressions").join(name)]
            .iter()
            .flat_map(|d| inputs(d))
            .collect();
        assert!(!files.is_empty(), "fuzz/seeds/{name} is empty");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{name}: {} fails", file.strip_prefix(&fuzz).unwrap().display());
            replayed += 1;
        }
    }
    assert!(replayed > 150, "{replayed}");
    reference.terminate();
}
