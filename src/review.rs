//! `snomed-vcr review`: accept or reject re-recordings (`NAME.json.new`), insta's workflow.
//!
//! Each pending file is shown as a diff against the reviewed cassette (the project's one renderer,
//! [`crate::doc::diff::render_lines`]: patience algorithm, 4 lines of context, line numbers). On a terminal it asks: accept, reject, skip, or accept/reject all remaining. Without one, it
//! prints the diffs and the commands that settle them, and exits 1 while anything is pending; `--accept` and
//! `--reject` settle everything for scripts.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cassette::CassetteError;
use crate::cassette::error::Doing;

/// The pending re-recordings under the given files or directories.
pub fn pending(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CassetteError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(crate::cassette::list_dir(p, |f| f.to_string_lossy().ends_with(".json.new"))?);
        } else if p.to_string_lossy().ends_with(".json.new") && p.exists() {
            out.push(p.clone());
        } else {
            let new = crate::cassette::pending_path(p);
            if new.exists() {
                out.push(new);
            } else if !p.exists() {
                return Err(CassetteError::invalid(format!(
                    "'{}' does not exist (expected a cassette, its .json.new, or a directory)",
                    p.display()
                )));
            }
        }
    }
    Ok(out)
}

/// The reviewed cassette a pending file would replace.
pub fn target(pending: &Path) -> PathBuf {
    PathBuf::from(pending.to_string_lossy().trim_end_matches(".new").to_string())
}

/// Replaces the reviewed cassette with the pending one.
pub fn accept(pending: &Path) -> Result<(), CassetteError> {
    std::fs::rename(pending, target(pending)).doing(|| format!("cannot accept '{}'", pending.display()))
}

/// Deletes the pending file.
pub fn reject(pending: &Path) -> Result<(), CassetteError> {
    std::fs::remove_file(pending).doing(|| format!("cannot reject '{}'", pending.display()))
}

/// How pending re-recordings are settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Ask on a terminal; without one, show each diff and leave it pending.
    Ask,
    /// Accept every pending re-recording.
    AcceptAll,
    /// Reject every pending re-recording.
    RejectAll,
}

/// Runs a review; returns how many remain pending.
pub fn run(paths: &[PathBuf], mut policy: Policy) -> Result<usize, CassetteError> {
    let files = pending(paths)?;
    let interactive = policy == Policy::Ask && std::io::stdin().is_terminal();
    let color = std::io::stdout().is_terminal();
    let mut left = 0;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    for new in &files {
        let old_path = target(new);
        let old = std::fs::read_to_string(&old_path).unwrap_or_default();
        let text = std::fs::read_to_string(new).doing(|| format!("cannot read '{}'", new.display()))?;
        println!("━━ {} → {}", new.display(), old_path.display());
        print!("{}", crate::doc::diff::render_lines(&old, &text, color));
        let decision = match policy {
            Policy::AcceptAll => 'a',
            Policy::RejectAll => 'r',
            Policy::Ask if !interactive => 's',
            Policy::Ask => loop {
                print!("accept (a), reject (r), skip (s), accept all (A), reject all (R)? ");
                std::io::stdout().flush().ok();
                match lines
                    .next()
                    .transpose()
                    .doing(|| "cannot read the answer from the terminal".into())?
                    .as_deref()
                    .map(str::trim)
                {
                    Some("a") => break 'a',
                    Some("r") => break 'r',
                    Some("s") | None => break 's',
                    Some("A") => {
                        policy = Policy::AcceptAll;
                        break 'a';
                    }
                    Some("R") => {
                        policy = Policy::RejectAll;
                        break 'r';
                    }
                    Some(_) => continue,
                }
            },
        };
        match decision {
            'a' => {
                accept(new)?;
                println!("accepted: {}", old_path.display());
            }
            'r' => {
                reject(new)?;
                println!("rejected: {}", new.display());
            }
            _ => {
                left += 1;
                if !interactive {
                    println!(
                        "pending: settle it with `{program} review --accept {path}` or `{program} review --reject {path}`",
                        program = crate::program::program(),
                        path = crate::program::quote(&old_path.display().to_string())
                    );
                }
            }
        }
    }
    if files.is_empty() {
        println!("nothing to review");
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_and_reject() {
        let dir = crate::scratch::dir("review").unwrap();
        let c = dir.join("c.json");
        std::fs::write(&c, "old\n").unwrap();
        std::fs::write(dir.join("c.json.new"), "new\n").unwrap();
        assert_eq!(pending(std::slice::from_ref(&dir)).unwrap(), vec![dir.join("c.json.new")]);
        assert_eq!(pending(std::slice::from_ref(&c)).unwrap(), vec![dir.join("c.json.new")]);
        assert_eq!(run(std::slice::from_ref(&dir), Policy::AcceptAll).unwrap(), 0);
        assert_eq!(std::fs::read_to_string(&c).unwrap(), "new\n");
        std::fs::write(dir.join("c.json.new"), "newer\n").unwrap();
        assert_eq!(run(std::slice::from_ref(&dir), Policy::RejectAll).unwrap(), 0);
        assert_eq!(std::fs::read_to_string(&c).unwrap(), "new\n");
        assert!(pending(std::slice::from_ref(&dir)).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
