//! `snomed-vcr diff`: replays each recorded chain against another implementation (or compares two
//! recordings) and reports every place their answers differ.
//!
//! | file | owns |
//! |---|---|
//! | `outcome.rs` | what a diff finds: kinds of difference, verdicts, the report of chains per cassette |
//! | `run.rs` | a recorded chain replayed against a target: token mapping, caps, transport failures |
//! | `compare.rs` | typed comparison of replies and documents; the strict and logical views |
//! | `rules.rs` | comparison rules by path (TOML), and the defaults |
//! | `judge.rs` | the model's oracles on the target's answers, outranked by the recording |
//! | `noise.rs` | learning the paths that vary between runs |
//! | `baseline.rs` | accepted differences, and the ratchet |
//! | `summary.rs` | differences counted by field and kind |
//! | `report/` | text, JSON, JUnit and HTML reports |
//!
//! The pipeline: each cassette is loaded as skeleton chains with its bodies kept as compact text
//! (`load`). Chains run against the target concurrently in a bounded window (`run_all`, [`run::run_chain`]); a
//! chain that starts with a token an earlier answer issued runs after the others, so it can send the
//! target's token instead. In the chain's own task its documents are parsed, the target's answers pass
//! through the recording's `json:` redaction rules, and they are compared (`compare`) and judged (`judge`);
//! only the differences are kept. Then, in a fixed order whatever the timing, each chain's placeholder
//! pairings are merged into its cassette's, and at the end the differences are matched against the baseline
//! and summarized.

pub mod baseline;
pub(crate) mod compare;
mod judge;
pub mod noise;
mod outcome;
pub mod report;
pub mod rules;
pub mod run;
mod summary;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::cassette;
use crate::cassette::redact::{self, Redactor};
use crate::client::ByteBudget;
pub use crate::client::Target;
use crate::doc::JsonPath;
use crate::model::{Chain, End, Page, Reply, Start};
use crate::protocol::Protocol;
pub use outcome::{CassetteReport, ChainReport, Difference, Kind, ProtocolChoice, Report, Totals, Verdict, View};
pub use rules::Rules;
pub use run::{Failure, TargetRun};
pub use summary::SummaryLine;

/// What the cassettes are compared against.
#[derive(Clone, Debug)]
pub enum Subject {
    /// An implementation, over HTTP(S) or in-process.
    Service(Target),
    /// Another recording of the same traffic.
    Cassette(PathBuf),
}

/// How a diff runs.
#[derive(Clone, Debug)]
pub struct DiffConfig {
    /// Cassette files or directories.
    pub cassettes: Vec<PathBuf>,
    /// What they are compared against.
    pub subject: Subject,
    /// Strict or logical.
    pub view: View,
    /// Which protocol requests go in.
    pub protocol: ProtocolChoice,
    /// Comparison rules.
    pub rules: Rules,
    /// Chains run at once.
    pub concurrency: usize,
    /// How many pages past the recorded end a target is followed before the chain is cut.
    pub extra_pages: usize,
    /// Extra redaction rules, as `record --redact` took them.
    pub redact: Vec<redact::Rule>,
    /// Accepted differences.
    pub baseline: Option<baseline::Baseline>,
    /// How much of the target's answers one chain, and all chains in flight, may hold.
    pub budget: ByteBudget,
    /// Show progress on stderr.
    pub progress: bool,
}

impl DiffConfig {
    /// Defaults: logical view, recorded protocols, default rules, 4 chains at once, 3 extra pages, the
    /// default byte budgets.
    pub fn new(cassettes: Vec<PathBuf>, subject: Subject) -> DiffConfig {
        DiffConfig {
            cassettes,
            subject,
            view: View::Logical,
            protocol: ProtocolChoice::Recorded,
            rules: Rules::defaults(),
            concurrency: 4,
            extra_pages: 3,
            redact: Vec::new(),
            baseline: None,
            budget: ByteBudget::default(),
            progress: false,
        }
    }
}

/// A loaded cassette: its chains as skeletons (each page's request, status, error and token, no jobs), each
/// interaction's protocol, and each response body as compact JSON text. A chain's documents are parsed
/// ([`Loaded::materialize`]) only while it is being run and compared, so memory holds the cassette's text
/// once, not its documents.
pub(crate) struct Loaded {
    pub path: PathBuf,
    pub protocols: Vec<Protocol>,
    pub chains: Vec<Arc<Chain>>,
    pub bodies: Arc<Vec<Box<str>>>,
}

/// JSON text without the whitespace between tokens.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// Loads every cassette named (files or directories), streaming: bodies stay text.
pub(crate) fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<Loaded>> {
    #[derive(serde::Deserialize)]
    struct TokenOnly {
        #[serde(rename = "NextToken")]
        next_token: Option<String>,
    }
    let files = cassette::expand_paths(paths)?;
    if files.is_empty() {
        anyhow::bail!("no cassettes found in {:?} (expected *.json files or directories holding them)", paths);
    }
    files
        .into_iter()
        .map(|path| {
            let (mut protocols, mut pages, mut bodies) = (Vec::new(), Vec::new(), Vec::new());
            cassette::stream(&path, |i, it, _| {
                let status = it.response.status;
                let text = it.response.body.get();
                protocols.push(it.request.protocol);
                if it.response.encoding.is_some_and(|e| e.format.is_verbatim()) {
                    // Not the protocol's answer: no page of a listing (replay serves it as recorded).
                    bodies.push(Box::from(""));
                    return Ok(());
                }
                let reply = if (200..300).contains(&status) {
                    // Checked as a response document when it was read; only its token is needed now.
                    let token = serde_json::from_str::<TokenOnly>(text).ok().and_then(|t| t.next_token);
                    Reply::Output(token.map_or_else(|| json!({}), |t| json!({ "NextToken": t })))
                } else {
                    let doc: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                    let header = it.response.headers.get(crate::protocol::ERROR_TYPE_HEADER).map(String::as_str);
                    Reply::Error(crate::protocol::error_of(status, &doc, header))
                };
                bodies.push(minify(text).into_boxed_str());
                pages.push(Page { request: it.request.body, status, reply, interaction: Some(i) });
                Ok(())
            })?;
            let chains = cassette::link_chains(pages.into_iter()).into_iter().map(Arc::new).collect();
            Ok(Loaded { path, protocols, chains, bodies: Arc::new(bodies) })
        })
        .collect()
}

/// A skeleton chain with its outputs parsed from `bodies`.
fn materialize(bodies: &[Box<str>], skeleton: &Chain) -> Chain {
    let pages = skeleton
        .pages
        .iter()
        .map(|p| {
            let mut page = p.clone();
            if let (Reply::Output(_), Some(text)) = (&p.reply, p.interaction.and_then(|i| bodies.get(i))) {
                page.reply = Reply::Output(serde_json::from_str(text).expect("checked when the cassette was read"));
            }
            page
        })
        .collect();
    Chain { start: skeleton.start, pages, end: skeleton.end.clone() }
}

impl Loaded {
    /// Chain `k` with its documents.
    pub fn materialize(&self, k: usize) -> Chain {
        materialize(&self.bodies, &self.chains[k])
    }

    /// The protocol a chain was recorded in (its first interaction's).
    fn protocol_of(&self, chain: &Chain) -> Protocol {
        chain
            .pages
            .first()
            .and_then(|p| p.interaction)
            .and_then(|i| self.protocols.get(i).copied())
            .unwrap_or(Protocol::AwsJson11)
    }
}

/// The progress line: chains done of all, as a bar.
fn progress_bar(done: usize, total: usize) -> String {
    let width = 30;
    let filled = done * width / total.max(1);
    format!("diff [{}{}] {done}/{total} chains", "#".repeat(filled), ".".repeat(width - filled))
}

/// Runs every chain of `loaded` against `client` (in each protocol the choice names), at most `concurrency`
/// chains at once. In the task that ran them, `work(chain number, recorded chain, runs)` makes what the caller
/// keeps of them (the comparison, for diff); then `each(cassette, chain, kept)` takes it in a fixed order
/// whatever the timing: chains in recorded order, except that those beginning with a token an earlier
/// answer issued come after all the others, so that they can send the target's token for it. At most a
/// window of chains past the oldest unfinished one is in flight, so memory stays bounded however long a
/// cassette is.
pub(crate) async fn run_all<T, W>(
    target: &Target,
    loaded: &[Loaded],
    config: &DiffConfig,
    work: Arc<W>,
    mut each: impl FnMut(usize, usize, T),
) -> usize
where
    T: Send + 'static,
    W: Fn(usize, &Chain, Vec<TargetRun>) -> T + Send + Sync + 'static,
{
    let semaphore = Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1)));
    // Chains run sharing the run's byte budget; one cut because the others held it runs again alone, so that a
    // moment's crowding is never a difference.
    let alone = Arc::new(Alone::default());
    let window = config.concurrency.max(1) * 4 + 16;
    let total = loaded.iter().map(|l| l.chains.len()).sum();
    let (mut progress, mut finished) = (crate::reporting::Progress::new(config.progress), 0);
    // (cassette, protocol index) → recorded token → the target's token at the same page
    let mut tokens: HashMap<(usize, usize), HashMap<String, String>> = HashMap::new();
    for reused in [false, true] {
        let order: Vec<(usize, usize)> = loaded
            .iter()
            .enumerate()
            .flat_map(|(c, l)| l.chains.iter().enumerate().map(move |(k, ch)| (c, k, ch.start)))
            .filter(|(_, _, start)| (*start == Start::ReusedToken) == reused)
            .map(|(c, k, _)| (c, k))
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        // Finished chains waiting for the ones before them: slot → (token pairs per protocol, what was kept).
        type Finished<T> = (Vec<Vec<(String, String)>>, T);
        let mut done: HashMap<usize, Finished<T>> = HashMap::new();
        let (mut spawned, mut next) = (0, 0);
        while next < order.len() {
            while spawned < order.len() && spawned < next + window {
                let (c, k) = order[spawned];
                let (l, chain) = (&loaded[c], loaded[c].chains[k].clone());
                let bodies = l.bodies.clone();
                let (extra_pages, logical) = (config.extra_pages, config.view == View::Logical);
                let protocols = config.protocol.protocols(l.protocol_of(&chain));
                let first_tokens: Vec<Option<String>> = (0..protocols.len())
                    .map(|pi| match chain.start {
                        Start::ReusedToken => chain
                            .pages
                            .first()
                            .and_then(Page::sent_token)
                            .and_then(|t| tokens.get(&(c, pi)).and_then(|m| m.get(t)))
                            .cloned(),
                        _ => None,
                    })
                    .collect();
                let (target, budget) = (target.clone(), config.budget.clone());
                let (semaphore, work, slot, alone) = (semaphore.clone(), work.clone(), spawned, alone.clone());
                tasks.spawn(async move {
                    let _permit = semaphore.acquire_owned().await.expect("the semaphore is never closed");
                    alone.wait_turn().await;
                    let chain = materialize(&bodies, &chain);
                    // A chain may hold at least four times what its recording took in memory (some eight times
                    // its compact text).
                    let recorded: usize =
                        chain.pages.iter().filter_map(|p| bodies.get(p.interaction?)).map(|b| 8 * b.len()).sum();
                    let cap = chain.pages.len() + extra_pages + if logical { chain.job_ids().len() } else { 0 };
                    let mut runs = Vec::with_capacity(protocols.len());
                    for (protocol, first) in protocols.into_iter().zip(first_tokens) {
                        let held = budget.hold_at_least(recorded.saturating_mul(4));
                        let mut run = run::run_chain(&target, held, &chain, protocol, first.as_deref(), cap).await;
                        if run.crowded_out() {
                            drop(run);
                            let mine = runs.iter().filter_map(|r: &TargetRun| r.held.as_ref()).map(|h| h.bytes()).sum();
                            let again = || {
                                let held = budget.hold_at_least(recorded.saturating_mul(4));
                                run::run_chain(&target, held, &chain, protocol, first.as_deref(), cap)
                            };
                            run = alone.run(&budget, mine, again).await;
                        }
                        runs.push(run);
                    }
                    let pairs = runs
                        .iter()
                        .map(|r| r.token_pairs(&chain).map(|(a, b)| (a.to_string(), b.to_string())).collect())
                        .collect();
                    let kept = work(k + 1, &chain, runs);
                    (slot, pairs, kept)
                });
                spawned += 1;
            }
            let (slot, pairs, kept) =
                tasks.join_next().await.expect("a chain is in flight").expect("a chain run does not panic");
            done.insert(slot, (pairs, kept));
            while let Some((pairs, kept)) = done.remove(&next) {
                let (c, k) = order[next];
                for (pi, pairs) in pairs.into_iter().enumerate() {
                    let map = tokens.entry((c, pi)).or_default();
                    for (rec, got) in pairs {
                        map.entry(rec).or_insert(got);
                    }
                }
                finished += 1;
                progress.show(finished == total, || progress_bar(finished, total));
                if finished == total {
                    progress.finish(true);
                }
                each(c, k, kept);
                next += 1;
            }
        }
    }
    alone.runs.load(std::sync::atomic::Ordering::Relaxed)
}

/// One chain at a time run alone: with nothing else holding the run's byte budget (chains already under way
/// finish, new ones wait). The chains' own path reads one flag that is written only around such a run.
#[derive(Default)]
struct Alone {
    runs: std::sync::atomic::AtomicUsize,
    wanted: std::sync::atomic::AtomicBool,
    done: tokio::sync::Notify,
    one: tokio::sync::Mutex<()>,
}

impl Alone {
    /// Waits while a chain runs alone.
    async fn wait_turn(&self) {
        use std::sync::atomic::Ordering;
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.wanted.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    /// Runs `chain` once no other chain holds the run's budget (`mine`: what the caller's own earlier runs
    /// hold), again if one that had already started when it began crowds it out (at most a few times: new
    /// chains wait meanwhile, so those are few and finish).
    async fn run<F: std::future::Future<Output = TargetRun>>(
        &self,
        budget: &ByteBudget,
        mine: usize,
        chain: impl Fn() -> F,
    ) -> TargetRun {
        use std::sync::atomic::Ordering;
        let _one = self.one.lock().await;
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.wanted.store(true, Ordering::Release);
        let mut tries = 0;
        let out = loop {
            while budget.held() > mine {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let run = chain().await;
            tries += 1;
            if !run.crowded_out() || tries == 5 {
                break run;
            }
        };
        self.wanted.store(false, Ordering::Release);
        self.done.notify_waiters();
        out
    }
}

/// The other cassette of `diff A.json B.json`; both sides must be one file each.
fn load_other(loaded: &[Loaded], other: &std::path::Path) -> anyhow::Result<Vec<Loaded>> {
    let b = load(&[other.to_path_buf()])?;
    if loaded.len() != 1 || b.len() != 1 {
        anyhow::bail!("diff A.json B.json compares two cassette files, not directories");
    }
    Ok(b)
}

/// The other recording's chains as the target's runs, paired with `a`'s by first request (the n-th chain
/// starting with a request pairs with the other's n-th). Returns the runs (none for a chain with no pair),
/// and the other's chains that paired with none.
fn pair_recordings(a: &Loaded, b: &Loaded) -> (Vec<Vec<TargetRun>>, Vec<Arc<Chain>>) {
    let key = |c: &Chain| c.first_request().map(|r| crate::doc::canonical(r).to_string()).unwrap_or_default();
    let mut by_key: HashMap<String, std::collections::VecDeque<usize>> = HashMap::new();
    for (i, c) in b.chains.iter().enumerate() {
        by_key.entry(key(c)).or_default().push_back(i);
    }
    let mut used = vec![false; b.chains.len()];
    let runs = a
        .chains
        .iter()
        .map(|c| match by_key.get_mut(&key(c)).and_then(|q| q.pop_front()) {
            Some(i) => {
                used[i] = true;
                let other = b.materialize(i);
                vec![TargetRun::recorded(b.protocol_of(&other), other)]
            }
            None => Vec::new(),
        })
        .collect();
    let unpaired = used.iter().enumerate().filter(|(_, u)| !**u).map(|(i, _)| Arc::new(b.materialize(i))).collect();
    (runs, unpaired)
}

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
fn redact_run(redactor: &Redactor, run: &mut TargetRun) {
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
            out.push(Difference::new(
                Kind::Pagination,
                Some(n),
                last_interaction,
                token_path(),
                None,
                Some(token.clone().into()),
                format!(
                    "NextToken repeated: page {n} returned the token page {} returned, so the listing would never end",
                    first + 1
                ),
            ));
        }
        End::Capped => out.push(Difference::new(
            Kind::Pagination,
            Some(n),
            None,
            token_path(),
            None,
            None,
            format!("target kept paginating past the recorded end: cut at {n} pages; the cassette has {m}"),
        )),
        End::Complete if n < m && (view == View::Strict || missing_jobs) => out.push(Difference::new(
            Kind::Pagination,
            Some(n),
            last_interaction,
            token_path(),
            Some(Value::String("present".into())),
            Some(Value::String("absent".into())),
            format!("target ended after page {n}; the cassette has {m}"),
        )),
        End::Complete | End::Unfollowed if n > m && view == View::Strict => out.push(Difference::new(
            Kind::Pagination,
            Some(m + 1),
            None,
            token_path(),
            None,
            None,
            format!("target kept paginating past the recorded end: {n} pages; the cassette has {m}"),
        )),
        _ => {}
    }
}

/// Compares one chain's run with the recording: chain-level, then page and job differences, then oracles.
/// Returns the differences, and where placeholders were paired with the target's values.
fn compare_run(config: &DiffConfig, rec: &Chain, run: &mut TargetRun) -> (Vec<Difference>, Vec<compare::Binding>) {
    let mut renaming = compare::Renaming::default();
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
    let target = Chain { start: rec.start, pages: std::mem::take(&mut run.pages), end: run.end.clone() };
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
        chain_level.push(Difference::new(
            kind,
            page,
            None,
            JsonPath::root(),
            None,
            None,
            format!("{more} more difference(s) in this chain, not listed (the first {} are)", outcome::MAX_PER_CHAIN),
        ));
    }
    (chain_level, bindings)
}

/// Builds a chain's report from its differences.
fn chain_report(chain_no: usize, rec: &Chain, run: &TargetRun, differences: Vec<Difference>) -> ChainReport {
    let shown = differences
        .iter()
        .filter_map(|d| d.page)
        .min()
        .or(if differences.is_empty() { None } else { Some(1) })
        .map(|p| (p, shown_document(rec.pages.get(p - 1)), shown_document(run.pages.get(p - 1))));
    ChainReport {
        chain: chain_no,
        protocol: run.protocol,
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
    bindings: Vec<(usize, compare::Binding)>,
}

/// Compares chain `chain_no` with the target's runs of it (none: the other recording has no such chain).
/// Needs nothing of other chains, so it runs in the task that ran the chain.
fn judge_chain(
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
            None,
            rec.pages.first().and_then(|p| p.interaction),
            JsonPath::root(),
            rec.first_request().cloned(),
            None,
            "the other recording has no chain starting with this request".into(),
        );
        let empty = TargetRun::recorded(fallback, Chain { start: rec.start, pages: Vec::new(), end: End::Complete });
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
            &mut compare::Renaming::default(),
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
struct Judging {
    renaming: compare::Renaming,
    chains: Vec<ChainReport>,
}

impl Judging {
    /// Takes a judged chain: its pairings must agree with every earlier chain's.
    fn take(&mut self, mut judged: Judged) {
        for (r, b) in judged.bindings {
            if let Err(why) = self.renaming.bind(&b.recorded, &b.target) {
                let report = &mut judged.reports[r];
                report.differences.push(Difference::new(
                    Kind::Body,
                    b.at.page,
                    b.at.interaction,
                    b.path,
                    None,
                    None,
                    why,
                ));
                report.verdict = Verdict::Differs;
            }
        }
        self.chains.append(&mut judged.reports);
    }
}

/// The fault that kept every run of a chain from reaching the target at all (nothing answered, and the
/// connection or the TLS handshake failed), if one did.
fn unreached(runs: &[TargetRun]) -> Option<crate::client::Fault> {
    let mut fault = None;
    for r in runs {
        match &r.failure {
            Some(f) if r.pages.is_empty() && !f.fault.reached() => fault = Some(f.fault.clone()),
            _ => return None,
        }
    }
    fault
}

/// Runs the whole diff.
pub async fn diff(config: &DiffConfig) -> anyhow::Result<Report> {
    let loaded = load(&config.cassettes)?;
    let mut judging: Vec<Judging> = loaded.iter().map(|_| Judging::default()).collect();
    let shared = Arc::new((config.clone(), Redactor::new(config.redact.clone())));
    let mut alone = 0;
    let target_name = match &config.subject {
        Subject::Service(target) => {
            let work = move |chain_no: usize, rec: &Chain, runs: Vec<TargetRun>| {
                let (config, redactor) = &*shared;
                let unreached = unreached(&runs);
                (judge_chain(config, redactor, chain_no, rec, runs, Protocol::AwsJson11), unreached)
            };
            // The target reached by no chain at all: that is no comparison, and says so in one line.
            let (mut chains, mut unreachable) = (0, None);
            alone = run_all(target, &loaded, config, Arc::new(work), |c, _, (judged, unreached)| {
                chains += 1;
                unreachable = match (unreachable.take(), unreached) {
                    (Some(None), _) | (_, None) => Some(None),
                    (_, Some(fault)) => Some(Some(fault)),
                };
                judging[c].take(judged)
            })
            .await;
            if let (true, Some(Some(fault))) = (chains > 0, unreachable) {
                anyhow::bail!("cannot reach the target {}: {fault}", target.name());
            }
            target.name().to_string()
        }
        Subject::Cassette(other) => {
            let b = load_other(&loaded, other)?;
            let (runs, unpaired) = pair_recordings(&loaded[0], &b[0]);
            let (config, redactor) = &*shared;
            for (k, runs) in runs.into_iter().enumerate() {
                let rec = loaded[0].materialize(k);
                judging[0].take(judge_chain(config, redactor, k + 1, &rec, runs, loaded[0].protocol_of(&rec)));
            }
            for (n, extra) in unpaired.iter().enumerate() {
                let d = Difference::new(
                    Kind::Extra,
                    None,
                    None,
                    JsonPath::root(),
                    None,
                    extra.first_request().cloned(),
                    "a chain only the other recording has".into(),
                );
                let run = TargetRun::recorded(b[0].protocol_of(extra), (**extra).clone());
                let empty = Chain { start: extra.start, pages: Vec::new(), end: End::Complete };
                judging[0].chains.push(chain_report(loaded[0].chains.len() + n + 1, &empty, &run, vec![d]));
            }
            other.display().to_string()
        }
    };
    let cassettes = loaded
        .iter()
        .zip(judging)
        .map(|(l, mut j)| {
            // Chains that began with a reused token were compared last; the report keeps recorded order.
            j.chains.sort_by_key(|ch| ch.chain);
            CassetteReport { path: l.path.clone(), chains: j.chains }
        })
        .collect();
    let mut report = Report {
        target: target_name,
        view: config.view,
        protocol: config.protocol,
        cassettes,
        summary: Vec::new(),
        stale: Vec::new(),
        totals: Totals::default(),
    };
    if let Some(b) = &config.baseline {
        report.stale = b.apply(&mut report);
    }
    report.totals = totals(&report);
    report.totals.run_alone = alone;
    report.summary = summary::summarize(&report);
    Ok(report)
}

fn totals(report: &Report) -> Totals {
    let mut t = Totals::default();
    for c in &report.cassettes {
        for ch in &c.chains {
            t.chains += 1;
            t.interactions += ch.target_pages + ch.differences.iter().filter(|d| d.kind == Kind::Transport).count();
            t.jobs += ch.recorded_jobs;
            for d in &ch.differences {
                if d.accepted {
                    t.accepted += 1;
                } else {
                    t.differences += 1;
                }
            }
        }
    }
    t
}

/// Sends every request a diff would send, with the same token mapping and concurrency, and compares nothing:
/// the bare request loop the diff benchmark measures against. Returns the number of requests sent.
pub async fn request_loop(config: &DiffConfig) -> anyhow::Result<usize> {
    let Subject::Service(target) = &config.subject else { anyhow::bail!("the request loop needs a target") };
    let loaded = load(&config.cassettes)?;
    let mut sent = 0;
    let count = |_: usize, _: &Chain, runs: Vec<TargetRun>| {
        runs.iter().map(|r| r.pages.len() + usize::from(r.failure.is_some())).sum::<usize>()
    };
    run_all(target, &loaded, config, Arc::new(count), |_, _, n| sent += n).await;
    Ok(sent)
}

/// What differs between two answers to one chain (two runs, or two recordings): the noise candidates.
fn varied(
    config: &DiffConfig,
    renaming: &mut compare::Renaming,
    chain: &Chain,
    a: &[Page],
    b: &[Page],
) -> Vec<Difference> {
    compare::chains(&config.rules, renaming, config.view, a, b, chain.is_complete())
}

/// Learns noise (`--learn-noise RUNS`): runs the cassettes `runs` times against an HTTP target and compares
/// each run with the first, or, for a cassette target, compares the two recordings. Returns what varied,
/// sorted into noise and refusals, and a phrase saying how it was learned.
pub async fn learn_noise(config: &DiffConfig, runs: usize) -> anyhow::Result<(noise::Learned, String)> {
    let loaded = load(&config.cassettes)?;
    let mut found: Vec<Difference> = Vec::new();
    let mut comparisons = 0;
    let how = match &config.subject {
        Subject::Service(target) => {
            if runs < 2 {
                anyhow::bail!("--learn-noise: expected at least 2 runs against a target, got {runs}");
            }
            // sets[run][cassette][chain] = the chain's runs (one per protocol)
            let mut sets: Vec<Vec<Vec<Vec<TargetRun>>>> = Vec::new();
            for _ in 0..runs {
                let mut set: Vec<Vec<Vec<TargetRun>>> =
                    loaded.iter().map(|l| (0..l.chains.len()).map(|_| Vec::new()).collect()).collect();
                let redactor = Arc::new(Redactor::new(config.redact.clone()));
                let redacted = move |_: usize, _: &Chain, mut runs: Vec<TargetRun>| {
                    // Kept for comparison after every run: they no longer count against the chains in flight.
                    runs.iter_mut().for_each(|r| {
                        redact_run(&redactor, r);
                        r.held = None;
                    });
                    runs
                };
                run_all(target, &loaded, config, Arc::new(redacted), |c, k, runs| set[c][k] = runs).await;
                sets.push(set);
            }
            let (first, rest) = sets.split_first().expect("at least two runs");
            let mut renaming = compare::Renaming::default();
            for later in rest {
                for (c, l) in loaded.iter().enumerate() {
                    for (k, chain) in l.chains.iter().enumerate() {
                        for (a, b) in first[c][k].iter().zip(&later[c][k]) {
                            comparisons += 1;
                            found.extend(varied(config, &mut renaming, chain, &a.pages, &b.pages));
                            if let Some(f) = a.failure.as_ref().or(b.failure.as_ref()) {
                                found.push(f.difference());
                            }
                        }
                    }
                }
            }
            format!("between {runs} runs against {}", target.name())
        }
        Subject::Cassette(other) => {
            let b = load_other(&loaded, other)?;
            let (runs, _) = pair_recordings(&loaded[0], &b[0]);
            let mut renaming = compare::Renaming::default();
            for (k, runs) in runs.iter().enumerate() {
                let chain = loaded[0].materialize(k);
                for run in runs {
                    comparisons += 1;
                    found.extend(varied(config, &mut renaming, &chain, &chain.pages, &run.pages));
                }
            }
            format!("between {} and {}", loaded[0].path.display(), other.display())
        }
    };
    Ok((noise::classify(&found, comparisons), how))
}
