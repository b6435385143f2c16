//! What a campaign says: live progress on a terminal, and the summary as text, JSON or JUnit.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::campaign::{Finding, Outcome};
use super::repro::Commands;

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For programs.
    Json,
    /// For CI test reports: one test case per oracle.
    Junit,
}

/// A one-line progress display on stderr, redrawn at most ten times a second.
pub struct Progress {
    on: bool,
    last: Instant,
}

impl Progress {
    /// Progress shown only when `on`.
    pub fn new(on: bool) -> Progress {
        Progress { on, last: Instant::now() }
    }

    /// Redraws the line.
    pub fn update(&mut self, cases: u64, requests: u64, elapsed: Duration, findings: usize) {
        if !self.on || self.last.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last = Instant::now();
        let rate = requests as f64 / elapsed.as_secs_f64().max(1e-9);
        eprint!(
            "\r\x1b[2Kfuzz: {cases} cases, {requests} requests, {rate:.0} exec/s, {findings} finding(s), {:.1} s",
            elapsed.as_secs_f64()
        );
        let _ = std::io::stderr().flush();
    }

    /// Clears the line.
    pub fn finish(&mut self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Renders a campaign's outcome; `commands` holds each finding's replay commands, when saved.
pub fn render(o: &Outcome, target: &str, commands: &[Option<Commands>], format: Format) -> String {
    match format {
        Format::Text => text(o, target, commands),
        Format::Json => serde_json::to_string_pretty(&document(o, target, commands)).expect("serializes") + "\n",
        Format::Junit => junit(o, target),
    }
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
        let cases: u64 = mine.iter().map(|(_, f)| f.occurrences).sum();
        s += &format!("\n{} ({}): {} finding(s) in {} case(s)\n", oracle.name(), oracle.basis(), mine.len(), cases);
        for (i, f) in mine {
            let v = &f.violation;
            s += &format!("  #{} {}\n", i + 1, v.signature);
            s += &format!("     {}\n", v.message);
            if v.basis != oracle.basis() {
                s += &format!("     basis: {}\n", v.basis);
            }
            s += &format!(
                "     case {} ({}), first after {:.2} s; shrunk from size {} to {} in {} run(s)\n",
                f.case_index,
                f.protocol.name(),
                f.after.as_secs_f64(),
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

fn document(o: &Outcome, target: &str, commands: &[Option<Commands>]) -> Value {
    let findings: Vec<Value> = o
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            json!({
                "oracle": f.violation.oracle.name(),
                "basis": f.violation.basis,
                "signature": f.violation.signature,
                "message": f.violation.message,
                "occurrences": f.occurrences,
                "case": f.case_index,
                "protocol": f.protocol.name(),
                "first_after_seconds": f.after.as_secs_f64(),
                "size": {"generated": f.sizes.0, "shrunk": f.sizes.1},
                "shrink_runs": f.shrink_runs,
                "replay": commands.get(i).cloned().flatten(),
            })
        })
        .collect();
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
        "findings": findings,
    })
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn junit(o: &Outcome, target: &str) -> String {
    let failures = o.oracles.iter().filter(|or| o.findings.iter().any(|f| f.violation.oracle == **or)).count();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"snomed-vcr fuzz\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">\n",
        o.oracles.len(),
        o.elapsed.as_secs_f64(),
        xml(target),
        o.oracles.len(),
        o.elapsed.as_secs_f64()
    );
    for oracle in &o.oracles {
        s += &format!(
            "    <testcase classname=\"fuzz.{}\" name=\"{}\">\n",
            oracle.basis().name(),
            oracle.name()
        );
        for f in o.findings.iter().filter(|f| f.violation.oracle == *oracle) {
            s += &format!(
                "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                xml(&f.violation.signature),
                oracle.name(),
                xml(&format!("{} (case {}, {} occurrence(s))", f.violation.message, f.case_index, f.occurrences))
            );
        }
        s += "    </testcase>\n";
    }
    s += "  </testsuite>\n</testsuites>\n";
    s
}
