//! The one scratch-directory helper, for the demo and the tests.

use std::path::PathBuf;

/// A fresh, empty directory for this process under the system temp dir, `snomed-vcr-NAME-PID`: whatever an
/// earlier process of the same id left there is removed first. The caller removes it when done (the demo
/// does; tests leave theirs to look at).
pub fn dir(name: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("snomed-vcr-{name}-{}", std::process::id()));
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
/// A [`dir`] removed when this is dropped: at the end, on an error, and while a panic unwinds (a demo whose
/// reader went away, `demo | head`).
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh [`dir`] named `name`.
    pub fn new(name: &str) -> std::io::Result<Scratch> {
        dir(name).map(Scratch)
    }

    /// Where it is.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
