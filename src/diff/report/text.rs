//! The text report: a verdict per chain, its differences as JSON-path lines, a line diff of the first page
//! that differs (the pretty documents, `similar`), then the summary.

use std::fmt::Write;

use super::super::outcome::{ProtocolChoice, Report, Verdict, View};
use super::{chain_title, difference_line};

/// Differences listed per chain before "… N more".
const LINES_PER_CHAIN: usize = 20;
/// Lines of the rendered document diff shown per chain.
const DIFF_LINES: usize = 40;

/// The most stale baseline entries the text report lists.
const STALE_LINES: usize = 20;

pub(super) fn render(report: &Report, color: bool) -> String {
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() };
    let mut out = String::new();
    let chains: usize = report.cassettes.iter().map(|c| c.chains.len()).sum();
    let _ = writeln!(
        out,
        "diff: {} cassette(s), {chains} chain(s) against {} ({} view, {} protocol)\n",
        report.cassettes.len(),
        report.target,
        match report.view {
            View::Strict => "strict",
            View::Logical => "logical",
        },
        match report.protocol {
            ProtocolChoice::Recorded => "recorded",
            ProtocolChoice::Json => "json",
            ProtocolChoice::Cbor => "cbor",
            ProtocolChoice::Both => "both",
        }
    );
    for c in &report.cassettes {
        let name = c.name();
        for ch in &c.chains {
            let span = match (ch.interactions.first(), ch.interactions.last()) {
                (Some(a), Some(b)) if a != b => format!("interactions {a}-{b}"),
                (Some(a), _) => format!("interaction {a}"),
                _ => "no interactions".into(),
            };
            let pages = format!("{} page(s), target {}", ch.recorded_pages, ch.target_pages);
            match ch.verdict {
                Verdict::Same => {
                    let _ = writeln!(out, "{} {name} {} ({span}, {pages}): same", paint("32", "✓"), chain_title(ch));
                    continue;
                }
                Verdict::Accepted => {
                    let _ = writeln!(
                        out,
                        "{} {name} {} ({span}, {pages}): {} accepted difference(s)",
                        paint("33", "~"),
                        chain_title(ch),
                        ch.differences.len()
                    );
                    continue;
                }
                Verdict::Differs => {}
            }
            let n = ch.differences.iter().filter(|d| !d.accepted).count();
            let _ =
                writeln!(out, "{} {name} {} ({span}, {pages}): {n} difference(s)", paint("31", "✗"), chain_title(ch));
            for d in ch.differences.iter().take(LINES_PER_CHAIN) {
                let _ = writeln!(out, "    {}", difference_line(d));
            }
            if ch.differences.len() > LINES_PER_CHAIN {
                let _ = writeln!(
                    out,
                    "    … {} more (all of them with --format json)",
                    ch.differences.len() - LINES_PER_CHAIN
                );
            }
            if let Some((page, rec, got)) = &ch.shown {
                let rendered = crate::doc::diff::render_documents(rec, got, color);
                if !rendered.is_empty() {
                    let _ = writeln!(out, "  page {page}, recording (-) against target (+):");
                    let lines: Vec<&str> = rendered.lines().collect();
                    for l in lines.iter().take(DIFF_LINES) {
                        let _ = writeln!(out, "  {l}");
                    }
                    if lines.len() > DIFF_LINES {
                        let _ = writeln!(out, "  … {} more diff lines", lines.len() - DIFF_LINES);
                    }
                }
            }
        }
    }
    let t = report.totals;
    let differing = report.cassettes.iter().flat_map(|c| &c.chains).filter(|c| c.verdict == Verdict::Differs).count();
    let _ = writeln!(
        out,
        "\nSummary: {differing} of {} chain(s) differ; {} difference(s), {} accepted; {} interaction(s), {} recorded job(s) compared",
        t.chains, t.differences, t.accepted, t.interactions, t.jobs
    );
    for line in &report.summary {
        let _ = writeln!(out, "  {:<11} {}", line.kind.name(), line.text);
    }
    if !report.stale.is_empty() {
        let _ = writeln!(
            out,
            "\nBaseline: {} accepted difference(s) no longer occur; run with --baseline-update to drop them:",
            report.stale.len()
        );
        for e in report.stale.iter().take(STALE_LINES) {
            let _ = writeln!(out, "  {} chain {} [{}] {} {}", e.cassette, e.chain, e.protocol, e.kind, e.path);
        }
        if report.stale.len() > STALE_LINES {
            let _ = writeln!(out, "  … {} more (all of them with --format json)", report.stale.len() - STALE_LINES);
        }
    }
    out
}
