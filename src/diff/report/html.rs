//! The HTML report: one self-contained file (inline CSS and script, nothing fetched). A section per chain
//! with its verdict; for a chain that differs, its differences and the first differing page side by side,
//! recording against target, with the changed spans marked (`<mark class="changed">`). Checkboxes filter the
//! sections by verdict.

use std::fmt::Write;

use similar::{Algorithm, ChangeTag, TextDiff};

use super::super::outcome::{Report, Verdict};
use super::{chain_title, difference_line, verdict_word};

use crate::reporting::escape as esc;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.05em;margin:.2em 0}.meta{color:#555}\
section.chain{border:1px solid #ccc;border-radius:4px;padding:.5em 1em;margin:.6em 0}\
section.differs{border-left:6px solid #c0392b}section.same{border-left:6px solid #27ae60}\
section.accepted{border-left:6px solid #d4a017}ul.diffs{font-family:ui-monospace,monospace;font-size:12px}\
table.sbs{border-collapse:collapse;width:100%;font-family:ui-monospace,monospace;font-size:12px;table-layout:fixed}\
table.sbs td{vertical-align:top;white-space:pre-wrap;word-break:break-all;padding:0 .4em;border-right:1px solid #eee}\
table.sbs th{text-align:left;background:#f4f4f4}td.del{background:#fdecea}td.ins{background:#e8f6ec}\
mark.changed{background:#f5b041;color:#000;font-weight:bold}td.gap{color:#999}#filters label{margin-right:1em}";

const SCRIPT: &str = "for(const box of document.querySelectorAll('#filters input')){box.addEventListener('change',()=>{\
for(const s of document.querySelectorAll('section.chain[data-verdict=\"'+box.dataset.verdict+'\"]')){\
s.style.display=box.checked?'':'none';}});}";

/// The two documents side by side, a row per line, changed spans marked.
fn side_by_side(rec: &serde_json::Value, got: &serde_json::Value) -> String {
    let pretty = |v: &serde_json::Value| {
        serde_json::to_string_pretty(&crate::doc::canonical(v)).expect("documents serialize") + "\n"
    };
    let (a, b) = (pretty(rec), pretty(got));
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .timeout(std::time::Duration::from_millis(500))
        .diff_lines(&a, &b);
    let mut rows = String::new();
    for (g, group) in diff.grouped_ops(3).iter().enumerate() {
        if g > 0 {
            rows.push_str("<tr><td class=\"gap\">⋯</td><td class=\"gap\">⋯</td></tr>\n");
        }
        for op in group {
            let (mut left, mut right): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
            let mut equal = false;
            for change in diff.iter_inline_changes(op) {
                let mut cell = String::new();
                for (emphasized, text) in change.iter_strings_lossy() {
                    let text = esc(text.trim_end_matches('\n'));
                    if emphasized && change.tag() != ChangeTag::Equal {
                        let _ = write!(cell, "<mark class=\"changed\">{text}</mark>");
                    } else {
                        cell.push_str(&text);
                    }
                }
                match change.tag() {
                    ChangeTag::Equal => {
                        equal = true;
                        left.push(cell.clone());
                        right.push(cell);
                    }
                    ChangeTag::Delete => left.push(cell),
                    ChangeTag::Insert => right.push(cell),
                }
            }
            for i in 0..left.len().max(right.len()) {
                let cls = |side: &str| if equal { String::new() } else { format!(" class=\"{side}\"") };
                let _ = writeln!(
                    rows,
                    "<tr><td{}>{}</td><td{}>{}</td></tr>",
                    if left.get(i).is_some() { cls("del") } else { String::new() },
                    left.get(i).map_or("", String::as_str),
                    if right.get(i).is_some() { cls("ins") } else { String::new() },
                    right.get(i).map_or("", String::as_str),
                );
            }
        }
    }
    format!("<table class=\"sbs\"><tr><th>recording</th><th>target</th></tr>\n{rows}</table>\n")
}

pub(super) fn render(report: &Report) -> String {
    let mut counts = [0usize; 3];
    for ch in report.cassettes.iter().flat_map(|c| &c.chains) {
        counts[ch.verdict as usize] += 1;
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>snomed-vcr diff: {}</title><style>{STYLE}</style></head><body>\n\
         <h1>snomed-vcr diff</h1>\n<p class=\"meta\">against {} · {} chain(s) · {} difference(s), {} accepted · {} interaction(s)</p>\n",
        esc(&report.target),
        esc(&report.target),
        report.totals.chains,
        report.totals.differences,
        report.totals.accepted,
        report.totals.interactions
    );
    out.push_str("<div id=\"filters\">");
    for v in [Verdict::Differs, Verdict::Accepted, Verdict::Same] {
        let w = verdict_word(v);
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" data-verdict=\"{w}\" checked> {w} ({})</label>",
            counts[v as usize]
        );
    }
    out.push_str("</div>\n<section class=\"summary\"><h2>Summary</h2><ul>\n");
    for line in &report.summary {
        let _ = writeln!(out, "<li><b>{}</b> {}</li>", line.kind.name(), esc(&line.text));
    }
    out.push_str("</ul></section>\n");
    for c in &report.cassettes {
        for ch in &c.chains {
            let w = verdict_word(ch.verdict);
            let _ = writeln!(
                out,
                "<section class=\"chain {w}\" data-verdict=\"{w}\"><h2>{} {} {}: {w}</h2>",
                match ch.verdict {
                    Verdict::Same => "✓",
                    Verdict::Differs => "✗",
                    Verdict::Accepted => "~",
                },
                esc(&c.name()),
                esc(&chain_title(ch))
            );
            if !ch.differences.is_empty() {
                out.push_str("<ul class=\"diffs\">\n");
                for d in &ch.differences {
                    let _ = writeln!(out, "<li>{}</li>", esc(&difference_line(d)));
                }
                out.push_str("</ul>\n");
            }
            if let Some((page, rec, got)) = &ch.shown {
                let _ = writeln!(out, "<p>page {page}</p>");
                out.push_str(&side_by_side(rec, got));
            }
            out.push_str("</section>\n");
        }
    }
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changed_spans_are_marked_on_both_sides() {
        let t = side_by_side(&json!({"JobStatus": "COMPLETED", "A": 1}), &json!({"JobStatus": "FAILED", "A": 1}));
        let row = "<tr><td class=\"del\">  &quot;JobStatus&quot;: <mark class=\"changed\">&quot;COMPLETED&quot;</mark></td>\
                   <td class=\"ins\">  &quot;JobStatus&quot;: <mark class=\"changed\">&quot;FAILED&quot;</mark></td></tr>";
        assert!(t.contains(row), "the changed line side by side, its changed span marked: {t}");
        assert!(
            t.contains("<tr><td>  &quot;A&quot;: 1,</td><td>  &quot;A&quot;: 1,</td></tr>"),
            "unchanged lines unmarked: {t}"
        );
    }
}
