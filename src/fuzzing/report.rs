//! What a campaign says: live progress on a terminal, and the summary as text, JSON or JUnit.

use serde_json::{Value, json};

use super::finding::{Finding, Outcome};
use super::repro::Commands;
use crate::reporting::junit::{Failed, Suite, Suites, TestCase};

pub use crate::reporting::{Format, Progress};

/// Renders a campaign's outcome; `commands` holds each finding's replay commands, when saved.
pub fn render(o: &Outcome, target: &str, commands: &[Option<Commands>], format: Format) -> String {
    match format {
        Format::Text => text(o, target, commands),
        Format::Json => serde_json::to_string_pretty(&document(o, target, commands)).expect("serializes") + "\n",
        Format::Junit => junit(o, target),
        // The command line offers no HTML for fuzz; a library caller gets the text report as a page.
        Format::Html => format!(
            "<!DOCTYPE html>\n<meta charset=\"utf-8\"><title>snomed-vcr fuzz</title>\n<pre>{}</pre>\n",
            crate::reporting::escape(&text(o, target, commands))
        ),
    }
}

/// Where a finding was first seen: its case, or the warm-up.
fn first_case(f: &Finding) -> String {
    f.case_index.map_or_else(|| "the warm-up".to_string(), |i| format!("case {i}"))
}

fn text(o: &Outcome, target: &str, commands: &[Option<Commands>]) -> String {
    let mut s = format!(
        "fuzz: {} cases, {} requests in {:.1} s ({:.0} exec/s) against {target}, seed {}\n",
        o.cases,
        o.case_requests,
        o.elapsed.as_secs_f64(),
        o.exec_per_sec(),
        o.seed
    );
    let classes: Vec<String> = o.classes.iter().map(|(k, v)| format!("{k} {v}")).collect();
    s += &format!("inputs: {}\n", classes.join(", "));
    for l in &o.learned {
        s += &format!("learned: {l}\n");
    }
    let names: Vec<&str> = o.oracles.iter().map(|o| o.name()).collect();
    s += &format!("oracles: {}\n", names.join(", "));
    if let (spent, Some(most)) = o.shrinking {
        s += &format!(
            "re-checks and shrinking: {:.1} s (up to {:.1} s of the --seconds budget once a finding is in)\n",
            spent.as_secs_f64(),
            most.as_secs_f64()
        );
    }
    if o.out_of_time {
        s += "the --seconds budget ended work under way\n";
    }
    if o.cut > 0 {
        s += &format!(
            "limits: {} listing(s) cut where their answers passed the byte budget (--max-chain-bytes, --max-run-bytes): not judged as complete\n",
            o.cut
        );
    }
    if !o.unstable.is_empty() {
        s += &format!("unstable: {} (did not survive a re-check; not failures)\n", o.unstable.len());
        for f in &o.unstable {
            let why = match &f.stability {
                super::finding::Stability::Unstable(why) => why.as_str(),
                super::finding::Stability::Stable => "",
            };
            s += &format!(
                "  {} {}: {}\n     {} ({}, {}): {why}\n",
                f.violation.oracle,
                f.violation.signature,
                f.violation.message,
                first_case(f),
                f.actual.operation,
                f.protocol.name()
            );
        }
    }
    if o.findings.is_empty() {
        s += "findings: none\n";
        return s;
    }
    s += &format!("findings: {} (deduplicated by oracle and signature)\n", o.findings.len());
    for oracle in &o.oracles {
        let mine: Vec<(usize, &Finding)> =
            o.findings.iter().enumerate().filter(|(_, f)| f.violation.oracle == *oracle).collect();
        if mine.is_empty() {
            continue;
        }
        let occurrences: u64 = mine.iter().map(|(_, f)| f.occurrences).sum();
        let cases: u64 = mine.iter().map(|(_, f)| f.cases).sum();
        s += &format!(
            "\n{} ({}): {} finding(s), {occurrences} occurrence(s) in {cases} case(s)\n",
            oracle.name(),
            oracle.basis(),
            mine.len()
        );
        for (i, f) in mine {
            let v = &f.violation;
            s += &format!("  #{} {}\n", i + 1, v.signature);
            s += &format!("     {}\n", v.message);
            if v.basis != oracle.basis() {
                s += &format!("     basis: {}\n", v.basis);
            }
            s += &format!(
                "     {} ({}, {}), first after {:.2} s, in {} case(s); shrunk from size {} to {} in {} run(s)\n",
                first_case(f),
                f.actual.operation,
                f.protocol.name(),
                f.after.as_secs_f64(),
                f.cases,
                f.sizes.0,
                f.sizes.1,
                f.shrink_runs
            );
            if let Some(Some(c)) = commands.get(i) {
                s += &format!("     replay: {}\n     curl:   {}\n", c.diff, c.curl);
            }
        }
    }
    s
}

fn finding_document(f: &Finding, replay: Option<Commands>) -> Value {
    json!({
        "oracle": f.violation.oracle.name(),
        "basis": f.violation.basis,
        "signature": f.violation.signature,
        "message": f.violation.message,
        "occurrences": f.occurrences,
        "cases": f.cases,
        "case": f.case_index,
        "protocol": f.protocol.name(),
        "operation": f.actual.operation.name(),
        "first_after_seconds": f.after.as_secs_f64(),
        "size": {"generated": f.sizes.0, "shrunk": f.sizes.1},
        "shrink_runs": f.shrink_runs,
        "unstable": match &f.stability {
            super::finding::Stability::Unstable(why) => Some(why.as_str()),
            super::finding::Stability::Stable => None,
        },
        "replay": replay,
    })
}

fn document(o: &Outcome, target: &str, commands: &[Option<Commands>]) -> Value {
    let findings: Vec<Value> =
        o.findings.iter().enumerate().map(|(i, f)| finding_document(f, commands.get(i).cloned().flatten())).collect();
    let unstable: Vec<Value> = o.unstable.iter().map(|f| finding_document(f, None)).collect();
    json!({
        "target": target,
        "seed": o.seed,
        "cases": o.cases,
        "requests": o.case_requests,
        "seconds": o.elapsed.as_secs_f64(),
        "exec_per_sec": o.exec_per_sec(),
        "inputs": o.classes,
        "learned": o.learned,
        "oracles": o.oracles.iter().map(|o| json!({"name": o.name(), "basis": o.basis()})).collect::<Vec<_>>(),
        "shrinking_seconds": o.shrinking.0.as_secs_f64(),
        "cut_listings": o.cut,
        "out_of_time": o.out_of_time,
        "findings": findings,
        "unstable": unstable,
    })
}

fn junit(o: &Outcome, target: &str) -> String {
    let cases = o
        .oracles
        .iter()
        .map(|oracle| TestCase {
            classname: format!("fuzz.{}", oracle.basis().name()),
            name: oracle.name().to_string(),
            failures: o
                .findings
                .iter()
                .filter(|f| f.violation.oracle == *oracle)
                .map(|f| Failed {
                    message: f.violation.signature.clone(),
                    kind: oracle.name().to_string(),
                    text: format!(
                        "{} ({}, {} occurrence(s) in {} case(s))",
                        f.violation.message,
                        first_case(f),
                        f.occurrences,
                        f.cases
                    ),
                })
                .collect(),
            system_out: None,
        })
        .collect();
    let time = Some(o.elapsed.as_secs_f64());
    Suites { name: "snomed-vcr fuzz".into(), time, suites: vec![Suite { name: target.to_string(), time, cases }] }
        .render()
}
