//! What the commands share to report: the [`Format`]s, one live [`Progress`] line on stderr, escaping for
//! XML and HTML ([`escape`]), the one JUnit XML writer ([`junit`]), and [`count`] for "1 page", "2 pages".

pub mod junit;

use std::io::Write;
use std::time::{Duration, Instant};

/// A report format. Each command writes the ones it names in its `--format` (fuzz has no HTML report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// For programs (diff: see `schemas/diff-report.json`).
    Json,
    /// JUnit XML, for CI test reports.
    Junit,
    /// One self-contained HTML file.
    Html,
}

impl Format {
    /// Every format, in `--help` order.
    pub const ALL: [Format; 4] = [Format::Text, Format::Json, Format::Junit, Format::Html];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Html => "html",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Format::Text => "For people",
            Format::Json => "For programs",
            Format::Junit => "JUnit XML, for CI test reports",
            Format::Html => "One self-contained HTML file",
        }
    }

    /// The `--format` parser of a command that writes only `allowed`.
    pub fn parser(allowed: &'static [Format]) -> impl clap::builder::TypedValueParser<Value = Format> {
        use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
        PossibleValuesParser::new(allowed.iter().map(|f| PossibleValue::new(f.name()).help(f.help())))
            .map(|name| *Format::ALL.iter().find(|f| f.name() == name).expect("clap passes only the possible values"))
    }
}

/// One live line on stderr, redrawn at most ten times a second (and always when forced): diff's chains done,
/// fuzz's cases and findings. Off when stderr is no terminal.
pub struct Progress {
    on: bool,
    last: Option<Instant>,
}

impl Progress {
    /// A line shown only when `on`.
    pub fn new(on: bool) -> Progress {
        Progress { on, last: None }
    }

    /// Redraws the line with `text()` if a tenth of a second has passed since the last redraw, or `force`.
    pub fn show(&mut self, force: bool, text: impl FnOnce() -> String) {
        if !self.on || !(force || self.last.is_none_or(|t| t.elapsed() >= Duration::from_millis(100))) {
            return;
        }
        self.last = Some(Instant::now());
        eprint!("\r\x1b[2K{}", text());
        let _ = std::io::stderr().flush();
    }

    /// Ends the line: kept on the screen (`keep`), or cleared.
    pub fn finish(&mut self, keep: bool) {
        if self.on && self.last.is_some() {
            if keep {
                eprintln!();
            } else {
                eprint!("\r\x1b[2K");
            }
            self.last = None;
        }
    }
}

/// Text for XML (content and attributes) and HTML: markup characters escaped, and the characters XML 1.0
/// cannot hold (controls other than tab and newlines, U+FFFE, U+FFFF) replaced with U+FFFD, so that what a
/// target sent stays visible as having been there.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `n` and the noun, singular for one: `1 page`, `2 pages`.
pub(crate) fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_replaces_what_xml_cannot_hold() {
        assert_eq!(
            super::escape("<a href=\"x\">&'\u{1}\t\u{FFFF}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\u{FFFD}\t\u{FFFD}"
        );
    }

    #[test]
    fn a_command_parses_only_the_formats_it_writes() {
        use super::Format;
        let cmd = clap::Command::new("t")
            .arg(clap::Arg::new("format").long("format").value_parser(Format::parser(&[Format::Text, Format::Junit])));
        let m = cmd.clone().try_get_matches_from(["t", "--format", "junit"]).unwrap();
        assert_eq!(m.get_one::<Format>("format"), Some(&Format::Junit));
        let e = cmd.try_get_matches_from(["t", "--format", "html"]).unwrap_err().to_string();
        assert!(e.contains("html") && e.contains("text, junit"), "{e}");
    }
}
