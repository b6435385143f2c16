//! The command a printed fix or reproducer starts with: `snomed-vcr` when that name on `PATH` is this very
//! binary, else this binary's own path (after `cargo run` or `cargo build`, nothing is installed), so every
//! command the tool prints runs as pasted. In a process that is not `snomed-vcr` (a Rust test using the
//! library), the name.

use std::path::Path;
use std::sync::OnceLock;

/// The name, or the path, to start `snomed-vcr` with; shell-quoted.
pub fn program() -> &'static str {
    static PROGRAM: OnceLock<String> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let Ok(exe) = std::env::current_exe() else { return NAME.to_string() };
        if exe.file_name().is_none_or(|n| n != NAME) || on_path().is_some_and(|p| same_file(&p, &exe)) {
            return NAME.to_string();
        }
        quote(&exe.display().to_string())
    })
}

const NAME: &str = "snomed-vcr";

/// `snomed-vcr` as the shell would find it on `PATH`.
fn on_path() -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(NAME)).find(|p| p.is_file())
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// `s` as one shell word: as it is when it holds nothing the shell reads, else in single quotes.
pub fn quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_plain_words_alone_and_protects_the_rest() {
        assert_eq!(quote("/tmp/a-b_c.json"), "/tmp/a-b_c.json");
        assert_eq!(quote("http://127.0.0.1:4566"), "http://127.0.0.1:4566");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
