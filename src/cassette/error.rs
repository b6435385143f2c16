//! [`LoadError`]: why a cassette (or a journal) did not load, as fields a caller can read: the file, the
//! line and column of a syntax error, or the field whose value is wrong. `lint` reports these fields, replay's
//! watcher logs them, and `Display` writes the one-line form, `FILE:LINE:COLUMN: message` or
//! `FILE: field 'interactions[3].seq': message`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::doc::JsonPath;

/// Where in a file a load error is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (it cannot be read, say).
    File,
    /// A place in the text, 1-based.
    Text {
        /// The line.
        line: usize,
        /// The column.
        column: usize,
    },
    /// A field of the document (`interactions[3].response.status`).
    Field(JsonPath),
}

/// Why a cassette or journal did not load.
///
/// ```
/// use snomed_vcr::Cassette;
///
/// let e = Cassette::parse("{\n  \"version\": 1,\n  oops\n}").unwrap_err();
/// assert_eq!(e.line(), Some(3));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    path: Option<PathBuf>,
    location: Location,
    message: String,
}

impl LoadError {
    /// An error at a place in the text.
    pub fn at_text(line: usize, column: usize, message: impl Into<String>) -> LoadError {
        LoadError { path: None, location: Location::Text { line, column }, message: message.into() }
    }

    /// An error in a field's value.
    pub fn at_field(field: JsonPath, message: impl Into<String>) -> LoadError {
        LoadError { path: None, location: Location::Field(field), message: message.into() }
    }

    /// An error about the whole file.
    pub fn of_file(path: &Path, message: impl Into<String>) -> LoadError {
        LoadError { path: Some(path.to_path_buf()), location: Location::File, message: message.into() }
    }

    /// A JSON syntax or type error from serde_json, at its line and column.
    pub fn from_json(e: &serde_json::Error) -> LoadError {
        let message = e.to_string();
        // serde_json appends " at line L column C"; the location says it already.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        LoadError::at_text(e.line(), e.column(), message)
    }

    /// The same error, naming the file it is in.
    #[must_use]
    pub fn in_file(mut self, path: &Path) -> LoadError {
        self.path = Some(path.to_path_buf());
        self
    }

    /// The file, when known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Where in the file.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The line, for an error at a place in the text.
    pub fn line(&self) -> Option<usize> {
        match self.location {
            Location::Text { line, .. } => Some(line),
            _ => None,
        }
    }

    /// The field, for an error in a field's value.
    pub fn field(&self) -> Option<&JsonPath> {
        match &self.location {
            Location::Field(f) => Some(f),
            _ => None,
        }
    }

    /// What is wrong, without the place.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}:", p.display())?;
        }
        match &self.location {
            Location::File => write!(f, " {}", self.message),
            Location::Text { line, column } => write!(f, "{line}:{column}: {}", self.message),
            Location::Field(field) => {
                if self.path.is_some() {
                    f.write_str(" ")?;
                }
                write!(f, "field '{}': {}", field.member_path(), self.message)
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// Why cassettes, journals or folders of them could not be read or written (the journal, atomic writes,
/// folds, listing and loading cassette files): a file operation, with what was being done; content that is not
/// what it must be, in words; or a cassette that does not load, precisely.
#[derive(Debug, thiserror::Error)]
pub enum CassetteError {
    /// A file operation failed.
    #[error("{doing}: {error}")]
    Io {
        /// What was being done, naming the file (`cannot write journal 'x.json.journal'`).
        doing: String,
        /// Why it failed.
        error: std::io::Error,
    },
    /// Content that is not what it must be (a journal line, a mode), or a state that forbids the operation,
    /// in words that name the file and line.
    #[error("{0}")]
    Invalid(String),
    /// A cassette that does not load.
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl CassetteError {
    pub(crate) fn invalid(why: impl Into<String>) -> CassetteError {
        CassetteError::Invalid(why.into())
    }
}

/// `io::Result` to [`CassetteError::Io`], saying what was being done.
pub(crate) trait Doing<T> {
    /// The error, if any, with what was being done.
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, CassetteError>;
}

impl<T> Doing<T> for std::io::Result<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, CassetteError> {
        self.map_err(|error| CassetteError::Io { doing: what(), error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_line_form_names_file_and_place() {
        let e = LoadError::at_text(3, 7, "expected `,`").in_file(Path::new("c.json"));
        assert_eq!((e.to_string(), e.line()), ("c.json:3:7: expected `,`".to_string(), Some(3)));
        let field = JsonPath::root().key("interactions").index(2).key("seq");
        let e = LoadError::at_field(field.clone(), "expected 2, found 5");
        assert_eq!(e.to_string(), "field 'interactions[2].seq': expected 2, found 5");
        assert_eq!(
            e.clone().in_file(Path::new("c.json")).to_string(),
            "c.json: field 'interactions[2].seq': expected 2, found 5"
        );
        assert_eq!(e.field(), Some(&field));
        let json = serde_json::from_str::<serde_json::Value>("{\n  x").unwrap_err();
        let e = LoadError::from_json(&json);
        assert_eq!(e.location(), &Location::Text { line: 2, column: 3 });
        assert!(!e.message().contains("at line"), "{e}");
    }
}
