//! Judging one chain: the target's runs of it redacted like the recording, compared page by page and as a
//! whole, judged by the model's oracles, and reported; placeholder pairings collected for the cassette.

use serde_json::{Value, json};

use super::DiffConfig;
use super::outcome::{self, ChainReport, Difference, Kind, Verdict, View};
use super::run::TargetRun;
use super::{compare, judge, run};
use crate::cassette::redact::Redactor;
use crate::doc::JsonPath;
use crate::model::{Chain, End, Page, Reply};
use crate::protocol::Protocol;

/// A reply as the document reports show: the output, or the error's code and message.
fn shown_document(page: Option<&Page>) -> Value {
    /// The most jobs a report shows of a page.
    const SHOWN_JOBS: usize = 20;
    match page.map(|p| (&p.reply, p.status)) {
        None => Value::Null,
        Some((Reply::Output(o), _)) => {
            let mut o = o.clone();
            if let Some(Value::Array(jobs)) = o.get_mut(crate::model::JOBS_MEMBER)
                && jobs.len() > SHOWN_JOBS
            {
                let more = jobs.len() - SHOWN_JOBS;
                jobs.truncate(SHOWN_JOBS);
                jobs.push(Value::String(format!("… {more} more jobs, not shown")));
            }
            if let Value::Object(m) = &mut o {
                for v in m.values_mut() {
                    if !v.is_array() {
                        *v = outcome::quote(std::mem::take(v));
                    }
                }
            }
            o
        }
        Some((Reply::Error(e), status)) => json!({"__type": e.code, "message": e.message, "status": status}),
    }
}

/// Applies the recording's `json:` redaction rules to the target's answers. (Account and key ids are not
/// replaced: the comparison pairs the recording's placeholders with the target's real values instead.)
pub(super) fn redact_run(redactor: &Redactor, run: &mut TargetRun) {
    for page in &mut run.pages {
        match &mut page.reply {
            Reply::Output(doc) => redactor.document_rules(doc),
            Reply::Error(e) => {
                let mut doc = json!({ "message": e.message });
                redactor.document_rules(&mut doc);
                if let Some(m) = doc["message"].as_str() {
                    e.message = m.to_string();
                }
            }
        }
    }
}

/// Chain-level differences: the run's transport failure, and how its listing ended against the recording's.
fn chain_differences(view: View, rec: &Chain, run: &TargetRun, missing_jobs: bool, out: &mut Vec<Difference>) {
    let token_path = || JsonPath::root().key("NextToken");
    if let Some(f) = &run.failure {
        out.push(f.difference());
        return;
    }
    let (n, m) = (run.pages.len(), rec.pages.len());
    let last_interaction = run.pages.last().and_then(|p| p.interaction);
    match &run.end {
        End::Loop { token } => {
            let first = run.pages.iter().position(|p| p.next_token() == Some(token.as_str())).unwrap_or(0);
            out.push(Difference::new(Kind::Pagination, token_path(), format!(
                    "NextToken repeated: page {n} returned the token page {} returned, so the listing would never end",
                    first + 1
                )).on_page(n).of_interaction(last_interaction).received(Some(token.clone().into())));
        }
        End::Capped => out.push(
            Difference::new(
                Kind::Pagination,
                token_path(),
                format!("target kept paginating past the recorded end: cut at {n} pages; the cassette has {m}"),
            )
            .on_page(n),
        ),
        End::Complete if n < m && (view == View::Strict || missing_jobs) => out.push(
            Difference::new(
                Kind::Pagination,
                token_path(),
                format!("target ended after page {n}; the cassette has {m}"),
            )
            .on_page(n)
            .of_interaction(last_interaction)
            .recorded(Some(Value::String("present".into())))
            .received(Some(Value::String("absent".into()))),
        ),
        End::Complete | End::Unfollowed if n > m && view == View::Strict => out.push(
            Difference::new(
                Kind::Pagination,
                token_path(),
                format!("target kept paginating past the recorded end: {n} pages; the cassette has {m}"),
            )
            .on_page(m + 1),
        ),
        _ => {}
    }
}

/// Compares one chain's run with the recording: chain-level, then page and job differences, then oracles.
/// Returns the differences, and where placeholders were paired with the target's values.
fn compare_run(
    config: &DiffConfig,
    rec: &Chain,
    run: &mut TargetRun,
) -> (Vec<Difference>, Vec<super::renaming::Binding>) {
    let mut renaming = super::renaming::Renaming::default();
    let (mut out, bindings) =
        compare::chains_bound(&config.rules, &mut renaming, config.view, &rec.pages, &run.pages, rec.is_complete());
    if run.failure.is_some() {
        // The jobs after a failed request were never asked for: the transport difference says so once.
        out.retain(|d| d.kind != Kind::Missing);
    }
    let missing_jobs = out.iter().any(|d| d.kind == Kind::Missing);
    let mut chain_level = Vec::new();
    chain_differences(config.view, rec, run, missing_jobs, &mut chain_level);
    chain_level.append(&mut out);
    // The oracles judge the run's own pages, lent as a chain (not copied).
    let target = Chain {
        start: rec.start,
        operation: rec.operation,
        pages: std::mem::take(&mut run.pages),
        end: run.end.clone(),
    };
    let oracles = judge::judge(rec, &target, &chain_level);
    run.pages = target.pages;
    chain_level.extend(oracles);
    for (page, d) in &run.deviations {
        let interaction = run.pages.get(page - 1).and_then(|p| p.interaction);
        chain_level.push(run::deviation_difference(*page, interaction, d));
    }
    if chain_level.len() > outcome::MAX_PER_CHAIN {
        // The chain's own faults and the oracles' findings first, then differences job by job.
        let urgent = |d: &Difference| !matches!(d.kind, Kind::Body | Kind::Missing | Kind::Extra | Kind::Moved);
        let mut kept: Vec<usize> = (0..chain_level.len()).filter(|i| urgent(&chain_level[*i])).collect();
        kept.extend((0..chain_level.len()).filter(|i| !urgent(&chain_level[*i])));
        kept.truncate(outcome::MAX_PER_CHAIN);
        kept.sort_unstable();
        let more = chain_level.len() - kept.len();
        let dropped = (0..chain_level.len()).find(|i| kept.binary_search(i).is_err()).expect("some were dropped");
        let (kind, page) = (chain_level[dropped].kind, chain_level[dropped].page);
        let mut all = std::mem::take(&mut chain_level).into_iter().enumerate();
        chain_level = kept.iter().map(|k| all.find(|(i, _)| i == k).expect("kept in order").1).collect();
        chain_level.push(
            Difference::new(
                kind,
                JsonPath::root(),
                format!(
                    "{more} more difference(s) in this chain, not listed (the first {} are)",
                    outcome::MAX_PER_CHAIN
                ),
            )
            .on_page(page),
        );
    }
    (chain_level, bindings)
}

/// Builds a chain's report from its differences.
pub(super) fn chain_report(chain_no: usize, rec: &Chain, run: &TargetRun, differences: Vec<Difference>) -> ChainReport {
    let shown =
        differences.iter().filter_map(|d| d.page).min().or(if differences.is_empty() { None } else { Some(1) }).map(
            |p| {
                let recorded = shown_document(rec.pages.get(p - 1));
                let mut received = shown_document(run.pages.get(p - 1));
                // What diff does not count is not marked either: a real id where the recording has its placeholder.
                super::renaming::show_placeholders(&recorded, &mut received);
                (p, recorded, received)
            },
        );
    ChainReport {
        chain: chain_no,
        protocol: run.protocol,
        operation: rec.operation,
        start: rec.start,
        interactions: rec.pages.iter().filter_map(|p| p.interaction).collect(),
        request: rec.first_request().cloned().unwrap_or(Value::Null),
        recorded_pages: rec.pages.len(),
        target_pages: run.pages.len(),
        recorded_jobs: rec.job_ids().len(),
        verdict: if differences.is_empty() { Verdict::Same } else { Verdict::Differs },
        differences,
        shown,
    }
}

/// What comparing one chain made: its reports (one per protocol), and the placeholder pairings each made.
pub(crate) struct Judged {
    reports: Vec<ChainReport>,
    bindings: Vec<(usize, super::renaming::Binding)>,
}

/// Compares chain `chain_no` with the target's runs of it (none: the other recording has no such chain).
/// Needs nothing of other chains, so it runs in the task that ran the chain.
pub(super) fn judge_chain(
    config: &DiffConfig,
    redactor: &Redactor,
    chain_no: usize,
    rec: &Chain,
    mut runs: Vec<TargetRun>,
    fallback: Protocol,
) -> Judged {
    if runs.is_empty() {
        let d = Difference::new(
            Kind::Missing,
            JsonPath::root(),
            "the other recording has no chain starting with this request",
        )
        .of_interaction(rec.pages.first().and_then(|p| p.interaction))
        .recorded(rec.first_request().cloned());
        let empty = TargetRun::recorded(
            fallback,
            Chain { start: rec.start, operation: rec.operation, pages: Vec::new(), end: End::Complete },
        );
        return Judged { reports: vec![chain_report(chain_no, rec, &empty, vec![d])], bindings: Vec::new() };
    }
    let mut judged = Judged { reports: Vec::new(), bindings: Vec::new() };
    for run in &mut runs {
        redact_run(redactor, run);
        let (diffs, bindings) = compare_run(config, rec, run);
        judged.bindings.extend(bindings.into_iter().map(|b| (judged.reports.len(), b)));
        judged.reports.push(chain_report(chain_no, rec, run, diffs));
    }
    if let [json_run, cbor_run] = &runs[..] {
        // --protocol both: the two answers must agree with each other too.
        let mut agree = compare::chains(
            &config.rules,
            &mut super::renaming::Renaming::default(),
            View::Strict,
            &json_run.pages,
            &cbor_run.pages,
            true,
        );
        for d in &mut agree {
            d.message = format!("JSON and CBOR answers differ: {} ({})", d.message, d.kind.name());
            d.kind = Kind::Protocol;
        }
        if let Some(last) = judged.reports.last_mut() {
            last.differences.extend(agree);
            if !last.differences.is_empty() {
                last.verdict = Verdict::Differs;
            }
        }
    }
    judged
}

/// One cassette's reports, and its placeholder pairing, built up chain by chain in the fixed order.
#[derive(Default)]
pub(super) struct Judging {
    renaming: super::renaming::Renaming,
    pub(super) chains: Vec<ChainReport>,
}

impl Judging {
    /// Takes a judged chain: its pairings must agree with every earlier chain's.
    pub(super) fn take(&mut self, mut judged: Judged) {
        for (r, b) in judged.bindings {
            if let Err(why) = self.renaming.bind(&b.recorded, &b.target) {
                let report = &mut judged.reports[r];
                report
                    .differences
                    .push(Difference::new(Kind::Body, b.path, why).on_page(b.at.page).of_interaction(b.at.interaction));
                report.verdict = Verdict::Differs;
            }
        }
        self.chains.append(&mut judged.reports);
    }
}

/// The fault that kept every run of a chain from reaching the target at all (nothing answered, and the
/// connection or the TLS handshake failed), if one did.
pub(super) fn unreached(runs: &[TargetRun]) -> Option<crate::client::Fault> {
    let mut fault = None;
    for r in runs {
        match &r.failure {
            Some(f) if r.pages.is_empty() && !f.fault.reached() => fault = Some(f.fault.clone()),
            _ => return None,
        }
    }
    fault
}
