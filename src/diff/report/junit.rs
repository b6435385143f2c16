//! JUnit XML: a `<testsuite>` per cassette, a `<testcase>` per chain; a chain that differs is a
//! `<failure>` listing its differences, one accepted by the baseline passes with them in `<system-out>`.

use std::fmt::Write;

use super::super::outcome::{Report, Verdict};
use super::{chain_title, difference_line};

/// Escapes text for XML content and attributes (and drops characters XML 1.0 cannot hold).
fn esc(s: &str) -> String {
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

pub(super) fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures = report.cassettes.iter().flat_map(|c| &c.chains).filter(|c| c.verdict == Verdict::Differs).count();
    let _ = writeln!(
        out,
        "<testsuites name=\"snomed-vcr diff\" tests=\"{}\" failures=\"{failures}\">",
        report.totals.chains
    );
    for c in &report.cassettes {
        let name = esc(&c.name());
        let failed = c.chains.iter().filter(|ch| ch.verdict == Verdict::Differs).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\">",
            c.chains.len()
        );
        for ch in &c.chains {
            let _ = write!(out, "    <testcase classname=\"{name}\" name=\"{}\"", esc(&chain_title(ch)));
            let lines: String = ch.differences.iter().map(|d| difference_line(d) + "\n").collect();
            match ch.verdict {
                Verdict::Same => out.push_str("/>\n"),
                Verdict::Accepted => {
                    let _ = write!(
                        out,
                        ">\n      <system-out>accepted by the baseline:\n{}</system-out>\n    </testcase>\n",
                        esc(&lines)
                    );
                }
                Verdict::Differs => {
                    let n = ch.differences.iter().filter(|d| !d.accepted).count();
                    let first = ch.differences.iter().find(|d| !d.accepted).map(difference_line).unwrap_or_default();
                    let _ = write!(
                        out,
                        ">\n      <failure message=\"{n} difference(s); first: {}\" type=\"difference\">{}</failure>\n    </testcase>\n",
                        esc(&first),
                        esc(&lines)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(super::esc("<a href=\"x\">&'\u{1}"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\u{FFFD}");
    }
}
