//! Reports of a [`Report`]: text for people (stdout, colour only on a terminal), JSON for machines (schema:
//! `schemas/diff-report.json`), JUnit XML for CI (a suite per cassette, a case per chain), and one
//! self-contained HTML file (verdicts, side-by-side bodies with the changed spans marked, a filter by verdict).

mod html;
mod junit;
mod text;

use super::outcome::{ChainReport, Report, Verdict};

pub use crate::reporting::Format;

/// The `format` field of the JSON report.
pub const JSON_FORMAT: &str = "snomed-vcr/diff-report";

/// Renders `report`. `color` applies to text only.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Json => {
            let doc = serde_json::json!({
                "format": JSON_FORMAT,
                "version": 1,
                "verdict": if report.failed() { "differs" } else { "same" },
                "report": report,
            });
            let mut s = serde_json::to_string_pretty(&doc).expect("reports serialize");
            s.push('\n');
            s
        }
        Format::Junit => junit::render(report),
        Format::Html => html::render(report),
    }
}

/// How a chain is named in reports: `chain 3 [awsJson1_1] {"MaxResults":37}`.
fn chain_title(ch: &ChainReport) -> String {
    format!("chain {} [{}] {}", ch.chain, ch.protocol.name(), crate::doc::canonical(&ch.request))
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Same => "same",
        Verdict::Differs => "differs",
        Verdict::Accepted => "accepted",
    }
}

/// One difference as a report line: `kind  page N  path  message`.
fn difference_line(d: &super::outcome::Difference) -> String {
    let page = d.page.map_or_else(String::new, |p| format!("page {p}  "));
    let oracle = match (d.oracle, d.basis) {
        (Some(o), Some(b)) => format!("{o} ({b}): "),
        _ => String::new(),
    };
    let accepted = if d.accepted { "  [accepted]" } else { "" };
    format!("{:<11} {page}{}  {oracle}{}{accepted}", d.kind.name(), d.path, d.message)
}
