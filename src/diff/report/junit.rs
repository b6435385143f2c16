//! JUnit XML: a `<testsuite>` per cassette, a `<testcase>` per chain; a chain that differs is a
//! `<failure>` listing its differences, one accepted by the baseline passes with them in `<system-out>`.

use super::super::outcome::{Report, Verdict};
use super::{chain_title, difference_line};
use crate::reporting::junit::{Failed, Suite, Suites, TestCase};

pub(super) fn render(report: &Report) -> String {
    let suites = report
        .cassettes
        .iter()
        .map(|c| {
            let name = c.name();
            let cases = c
                .chains
                .iter()
                .map(|ch| {
                    let lines: String = ch.differences.iter().map(|d| difference_line(d) + "\n").collect();
                    let mut case = TestCase { classname: name.clone(), name: chain_title(ch), ..TestCase::default() };
                    match ch.verdict {
                        Verdict::Same => {}
                        Verdict::Accepted => case.system_out = Some(format!("accepted by the baseline:\n{lines}")),
                        Verdict::Differs => {
                            let n = ch.differences.iter().filter(|d| !d.accepted).count();
                            let first =
                                ch.differences.iter().find(|d| !d.accepted).map(difference_line).unwrap_or_default();
                            case.failures.push(Failed {
                                message: format!("{n} difference(s); first: {first}"),
                                kind: "difference".into(),
                                text: lines,
                            });
                        }
                    }
                    case
                })
                .collect();
            Suite { name, time: None, cases }
        })
        .collect();
    Suites { name: "snomed-vcr diff".into(), time: None, suites }.render()
}
