//! The one JUnit XML writer: `<testsuites>` of `<testsuite>`s of `<testcase>`s, each passing, failing
//! (`<failure>`s) or passing with notes (`<system-out>`). Counts are worked out from the cases; every text
//! goes through [`super::escape`].

use std::fmt::Write;

use super::escape;

/// A whole report.
#[derive(Debug, Default)]
pub struct Suites {
    /// The report's name (`snomed-vcr diff`).
    pub name: String,
    /// Seconds it took, if told.
    pub time: Option<f64>,
    /// Its suites.
    pub suites: Vec<Suite>,
}

/// One suite (diff: a cassette; fuzz: the target).
#[derive(Debug, Default)]
pub struct Suite {
    /// Its name.
    pub name: String,
    /// Seconds it took, if told.
    pub time: Option<f64>,
    /// Its cases.
    pub cases: Vec<TestCase>,
}

/// One case (diff: a chain; fuzz: an oracle).
#[derive(Debug, Default)]
pub struct TestCase {
    /// Its class name.
    pub classname: String,
    /// Its name.
    pub name: String,
    /// Why it failed; none when it passed.
    pub failures: Vec<Failed>,
    /// Notes of a case that passed.
    pub system_out: Option<String>,
}

/// One `<failure>`.
#[derive(Debug)]
pub struct Failed {
    /// The one-line message.
    pub message: String,
    /// Its `type`.
    pub kind: String,
    /// The details.
    pub text: String,
}

fn time(t: Option<f64>) -> String {
    t.map_or_else(String::new, |t| format!(" time=\"{t:.3}\""))
}

impl Suites {
    /// The XML document.
    pub fn render(&self) -> String {
        let failed = |s: &Suite| s.cases.iter().filter(|c| !c.failures.is_empty()).count();
        let tests: usize = self.suites.iter().map(|s| s.cases.len()).sum();
        let failures: usize = self.suites.iter().map(failed).sum();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\"{}>",
            escape(&self.name),
            time(self.time)
        );
        for s in &self.suites {
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\"{}>",
                escape(&s.name),
                s.cases.len(),
                failed(s),
                time(s.time)
            );
            for c in &s.cases {
                let _ =
                    write!(out, "    <testcase classname=\"{}\" name=\"{}\"", escape(&c.classname), escape(&c.name));
                if c.failures.is_empty() && c.system_out.is_none() {
                    out.push_str("/>\n");
                    continue;
                }
                out.push_str(">\n");
                for f in &c.failures {
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        escape(&f.message),
                        escape(&f.kind),
                        escape(&f.text)
                    );
                }
                if let Some(text) = &c.system_out {
                    let _ = writeln!(out, "      <system-out>{}</system-out>", escape(text));
                }
                out.push_str("    </testcase>\n");
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_the_cases_and_every_text_is_escaped() {
        let doc = Suites {
            name: "n<".into(),
            time: Some(1.5),
            suites: vec![Suite {
                name: "s".into(),
                time: None,
                cases: vec![
                    TestCase { classname: "c".into(), name: "pass".into(), ..TestCase::default() },
                    TestCase {
                        classname: "c".into(),
                        name: "fail".into(),
                        failures: vec![Failed { message: "m\"".into(), kind: "k".into(), text: "a\u{1}b".into() }],
                        system_out: None,
                    },
                ],
            }],
        }
        .render();
        assert!(doc.contains("<testsuites name=\"n&lt;\" tests=\"2\" failures=\"1\" time=\"1.500\">"), "{doc}");
        assert!(doc.contains("<testcase classname=\"c\" name=\"pass\"/>"), "{doc}");
        assert!(doc.contains("<failure message=\"m&quot;\" type=\"k\">a\u{FFFD}b</failure>"), "{doc}");
    }
}
