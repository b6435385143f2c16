//! Values given on the command line or in a cassette's header: the one error for a value that does not parse.
//!
//! Every parser of an option value (`--match-on`, `--redact`, `--inject`, `--latency`, `--require-sigv4`, …)
//! returns a [`ParseError`] that quotes the input and says what was expected, the way ripgrep's errors do;
//! the command line puts the option's name in front (`--latency: 'fast' is not a latency (expected …)`).

use std::fmt;

/// A value that does not parse: the input as given, what was expected, and a suggestion when one is close.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    input: String,
    expected: String,
    suggestion: Option<String>,
}

impl ParseError {
    /// `input` is not `expected` (a phrase such as "a latency (expected recorded, none, or milliseconds)").
    pub fn new(input: impl Into<String>, expected: impl Into<String>) -> ParseError {
        ParseError { input: input.into(), expected: expected.into(), suggestion: None }
    }

    /// Adds the closest valid value, shown as "Did you mean '…'?".
    pub fn suggest(mut self, value: impl Into<String>) -> ParseError {
        self.suggestion = Some(value.into());
        self
    }

    /// The input as given.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What was expected instead.
    pub fn expected(&self) -> &str {
        &self.expected
    }

    /// The closest valid value, if one was found.
    pub fn suggestion(&self) -> Option<&str> {
        self.suggestion.as_deref()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not {}", self.input, self.expected)?;
        if let Some(s) = &self.suggestion {
            write!(f, ". Did you mean '{s}'?")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// A size in bytes: a whole number, optionally followed by `K`, `M` or `G` (powers of 1024, `KiB`, `MiB`,
/// `GiB` and `B` also read), as `--max-chain-bytes 16M` takes it.
pub fn parse_bytes(s: &str) -> Result<usize, ParseError> {
    let expected = "a size in bytes (expected a whole number, optionally with K, M or G: 65536, 64K, 8M, 1G)";
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: usize = n.parse().map_err(|_| ParseError::new(s, expected))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(ParseError::new(s, expected)),
    };
    n.checked_mul(1usize << shift).filter(|n| *n > 0).ok_or_else(|| ParseError::new(s, expected))
}

/// Levenshtein distance, for suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `input` by edit distance, if any is within half its length.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(input, c), c))
        .min()
        .filter(|(d, c)| *d <= c.chars().count().div_ceil(2))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_the_input_and_the_expected_form() {
        let e = ParseError::new("fast", "a latency (expected recorded, none, or milliseconds such as 25)");
        assert_eq!(e.to_string(), "'fast' is not a latency (expected recorded, none, or milliseconds such as 25)");
        let e = ParseError::new("next_tokn", "a matcher").suggest("next_token");
        assert_eq!(e.to_string(), "'next_tokn' is not a matcher. Did you mean 'next_token'?");
        assert_eq!((e.input(), e.suggestion()), ("next_tokn", Some("next_token")));
    }

    #[test]
    fn sizes_read_units_of_1024() {
        assert_eq!(parse_bytes("65536"), Ok(65536));
        assert_eq!(parse_bytes("64K"), Ok(64 << 10));
        assert_eq!(parse_bytes("8MiB"), Ok(8 << 20));
        assert_eq!(parse_bytes("1g"), Ok(1 << 30));
        for bad in ["", "0", "8X", "-1", "1.5M"] {
            assert!(parse_bytes(bad).unwrap_err().to_string().contains("a size in bytes"), "{bad}");
        }
    }

    #[test]
    fn suggestions_are_close_or_absent() {
        let names = ["operation", "body", "filter", "max_results", "next_token", "protocol"];
        assert_eq!(closest("next_tokn", names), Some("next_token"));
        assert_eq!(closest("maxresults", names), Some("max_results"));
        assert_eq!(closest("zzzzzzzzzzzzzzz", names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
