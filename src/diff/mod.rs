//! `snomed-vcr diff`: replays each recorded chain against another implementation (or compares two
//! recordings) and reports every place their answers differ.
//!
//! | file | owns |
//! |---|---|
//! | `run.rs` | a recorded chain replayed against a target: token mapping, caps, transport failures |
//! | `compare.rs` | typed comparison of replies and documents; the strict and logical views |
//! | `rules.rs` | comparison rules by path (TOML), and the defaults |
//! | `judge.rs` | the model's oracles on the target's answers, outranked by the recording |
//! | `noise.rs` | learning the paths that vary between runs |
//! | `baseline.rs` | accepted differences, and the ratchet |
//! | `summary.rs` | differences counted by field and kind |
//! | `report/` | text, JSON, JUnit and HTML reports |
//!
//! The pipeline: each cassette's chains ([`crate::Cassette::chains`]) are run against the target
//! concurrently ([`run::run_chain`]; a chain that starts with a token an earlier answer issued waits for that
//! chain, so it can send the target's token instead). Then, cassette by cassette in recorded order, the
//! target's answers pass through the recording's redaction, are compared ([`compare`]), judged ([`judge`]),
//! and matched against the baseline.

pub mod baseline;
mod compare;
mod judge;
pub mod noise;
pub mod report;
pub mod rules;
pub mod run;
mod summary;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use serde_json::{Value, json};

use crate::cassette::redact::{self, Redactor};
use crate::cassette::{self, Cassette};
use crate::client::Client;
use crate::doc::JsonPath;
use crate::model::{Chain, End, Page, Reply, Start};
use crate::protocol::Protocol;
pub use rules::Rules;
pub use run::{Failure, TargetRun};
pub use summary::SummaryLine;

/// How a chain's pages are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Page by page: the same jobs on the same pages, `NextToken` present where it was.
    Strict,
    /// The chain's pages joined and jobs aligned by `JobId`: a different page split is no difference (the
    /// page-size limit is still checked on every page).
    Logical,
}

/// Which protocol requests go in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolChoice {
    /// Each chain in the protocol it was recorded in.
    Recorded,
    /// AWS JSON 1.1.
    Json,
    /// Smithy RPC v2 CBOR.
    Cbor,
    /// Each chain in both; the two answers must agree too.
    Both,
}

impl ProtocolChoice {
    fn protocols(self, recorded: Protocol) -> Vec<Protocol> {
        match self {
            ProtocolChoice::Recorded => vec![recorded],
            ProtocolChoice::Json => vec![Protocol::AwsJson11],
            ProtocolChoice::Cbor => vec![Protocol::RpcV2Cbor],
            ProtocolChoice::Both => vec![Protocol::AwsJson11, Protocol::RpcV2Cbor],
        }
    }
}

/// What kind of difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The HTTP status.
    Status,
    /// The error code (namespace and suffix stripped).
    ErrorCode,
    /// The error message, under the message policy.
    Message,
    /// A value in the output document.
    Body,
    /// A recorded job the target did not list.
    Missing,
    /// A job the target listed that the recording does not have.
    Extra,
    /// A job the target listed twice in one chain.
    Duplicate,
    /// A job out of the recorded order, where order is compared.
    Moved,
    /// `NextToken` presence, a chain that ends early or runs on, a token loop.
    Pagination,
    /// An invariant of the model or the documentation the target broke (and the recording did not).
    Oracle,
    /// The JSON and CBOR answers to the same request disagree.
    Protocol,
    /// No readable answer: refused, timed out, closed mid-answer, not the protocol.
    Transport,
}

impl Kind {
    /// The stable name reports and baselines use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Status => "status",
            Kind::ErrorCode => "error-code",
            Kind::Message => "message",
            Kind::Body => "body",
            Kind::Missing => "missing",
            Kind::Extra => "extra",
            Kind::Duplicate => "duplicate",
            Kind::Moved => "moved",
            Kind::Pagination => "pagination",
            Kind::Oracle => "oracle",
            Kind::Protocol => "protocol",
            Kind::Transport => "transport",
        }
    }
}

/// One place the target's answers differ from the recording's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// What kind.
    pub kind: Kind,
    /// The target's page (from 1), when it concerns one.
    pub page: Option<usize>,
    /// The recorded interaction (index in the cassette), when it concerns one.
    pub interaction: Option<usize>,
    /// Where, with jobs named by identity.
    pub path: JsonPath,
    /// The recorded value, if any.
    pub recorded: Option<Value>,
    /// The target's value, if any.
    pub received: Option<Value>,
    /// What differs, in words.
    pub message: String,
    /// For kind `oracle`: the oracle's stable name.
    pub oracle: Option<&'static str>,
    /// For kind `oracle`: the basis of its expectation (model, documentation).
    pub basis: Option<&'static str>,
    /// Listed in the baseline: known and accepted.
    pub accepted: bool,
}

impl Difference {
    pub(crate) fn new(
        kind: Kind,
        page: Option<usize>,
        interaction: Option<usize>,
        path: JsonPath,
        recorded: Option<Value>,
        received: Option<Value>,
        message: String,
    ) -> Difference {
        Difference {
            kind,
            page,
            interaction,
            path,
            recorded,
            received,
            message,
            oracle: None,
            basis: None,
            accepted: false,
        }
    }
}

/// The verdict on one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No difference.
    Same,
    /// Differences the baseline does not accept.
    Differs,
    /// Differences, all accepted by the baseline.
    Accepted,
}

/// One recorded chain, run in one protocol, and what differed.
#[derive(Clone, Debug, Serialize)]
pub struct ChainReport {
    /// The chain's number in its cassette (from 1).
    pub chain: usize,
    /// The protocol its requests went in.
    pub protocol: Protocol,
    /// How the recorded chain started.
    #[serde(serialize_with = "start_name")]
    pub start: Start,
    /// The recorded interactions it replays.
    pub interactions: Vec<usize>,
    /// Its first request.
    pub request: Value,
    /// Pages in the recording.
    pub recorded_pages: usize,
    /// Pages the target answered.
    pub target_pages: usize,
    /// Jobs the recording lists in it.
    pub recorded_jobs: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// What differs.
    pub differences: Vec<Difference>,
    /// The first page that differs, both sides (recorded, target), as documents: what reports show.
    #[serde(skip)]
    pub shown: Option<(usize, Value, Value)>,
}

fn start_name<S: serde::Serializer>(s: &Start, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(match s {
        Start::Fresh => "fresh",
        Start::ReusedToken => "reused-token",
        Start::ForeignToken => "foreign-token",
    })
}

/// One cassette's chains.
#[derive(Clone, Debug, Serialize)]
pub struct CassetteReport {
    /// The cassette file.
    pub path: PathBuf,
    /// Its chains, in recorded order (with `--protocol both`, each chain twice).
    pub chains: Vec<ChainReport>,
}

impl CassetteReport {
    /// The file name, as reports name the cassette.
    pub fn name(&self) -> String {
        self.path.file_name().map_or_else(|| self.path.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}

/// Counts of what was compared.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Totals {
    /// Chains (runs) compared.
    pub chains: usize,
    /// Requests sent to the target (pages answered or failed).
    pub interactions: usize,
    /// Recorded jobs compared.
    pub jobs: usize,
    /// Differences the baseline does not accept.
    pub differences: usize,
    /// Differences the baseline accepts.
    pub accepted: usize,
}

/// The whole outcome of a diff.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// What was compared against the cassettes: a URL, or the other cassette.
    pub target: String,
    /// The view.
    pub view: View,
    /// The protocol choice.
    pub protocol: ProtocolChoice,
    /// Per cassette.
    pub cassettes: Vec<CassetteReport>,
    /// Differences by field and kind, biggest first.
    pub summary: Vec<SummaryLine>,
    /// Baseline entries that no longer occur.
    pub stale: Vec<baseline::Entry>,
    /// Counts.
    pub totals: Totals,
}

impl Report {
    /// Whether the run should fail: a difference the baseline does not accept, or a baseline entry that no
    /// longer occurs (the ratchet: the baseline must shrink).
    pub fn failed(&self) -> bool {
        self.totals.differences > 0 || !self.stale.is_empty()
    }
}

/// What the cassettes are compared against.
#[derive(Clone, Debug)]
pub enum Target {
    /// An implementation over HTTP(S).
    Http(Box<Client>),
    /// Another recording of the same traffic.
    Cassette(PathBuf),
}

/// How a diff runs.
#[derive(Clone, Debug)]
pub struct DiffConfig {
    /// Cassette files or directories.
    pub cassettes: Vec<PathBuf>,
    /// What they are compared against.
    pub target: Target,
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
    /// Show progress on stderr.
    pub progress: bool,
}

impl DiffConfig {
    /// Defaults: logical view, recorded protocols, default rules, 4 chains at once, 3 extra pages.
    pub fn new(cassettes: Vec<PathBuf>, target: Target) -> DiffConfig {
        DiffConfig {
            cassettes,
            target,
            view: View::Logical,
            protocol: ProtocolChoice::Recorded,
            rules: Rules::defaults(),
            concurrency: 4,
            extra_pages: 3,
            redact: Vec::new(),
            baseline: None,
            progress: false,
        }
    }
}

/// A loaded cassette and its chains.
pub(crate) struct Loaded {
    pub path: PathBuf,
    pub cassette: Cassette,
    pub chains: Vec<Arc<Chain>>,
}

/// Loads every cassette named (files or directories).
pub(crate) fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<Loaded>> {
    let files = cassette::expand_paths(paths)?;
    if files.is_empty() {
        anyhow::bail!("no cassettes found in {:?} (expected *.json files or directories holding them)", paths);
    }
    files
        .into_iter()
        .map(|path| {
            let cassette = Cassette::load(&path)?;
            let chains = cassette.chains().into_iter().map(Arc::new).collect();
            Ok(Loaded { path, cassette, chains })
        })
        .collect()
}

fn recorded_protocol(cassette: &Cassette, chain: &Chain) -> Protocol {
    chain
        .pages
        .first()
        .and_then(|p| p.interaction)
        .and_then(|i| cassette.interactions.get(i))
        .map_or(Protocol::AwsJson11, |it| it.request.protocol)
}

/// The runs of one cassette's chains: for each chain, one per protocol.
pub(crate) type Runs = Vec<Vec<TargetRun>>;

/// Live progress on stderr: chains done of all.
struct Progress {
    on: bool,
    done: AtomicUsize,
    total: usize,
}

impl Progress {
    fn tick(&self) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.on && (n == self.total || n.is_multiple_of(8)) {
            let width = 30;
            let filled = n * width / self.total.max(1);
            eprint!("\rdiff [{}{}] {n}/{} chains", "#".repeat(filled), ".".repeat(width - filled), self.total);
            if n == self.total {
                eprintln!();
            }
        }
    }
}

/// Runs every chain of `loaded` against `client`, at most `concurrency` at once. Chains that begin with a
/// reused token run after the others, with the target's token for it.
pub(crate) async fn run_all(client: &Client, loaded: &[Loaded], config: &DiffConfig) -> Vec<Runs> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1)));
    let total: usize = loaded
        .iter()
        .flat_map(|l| l.chains.iter().map(move |c| config.protocol.protocols(recorded_protocol(&l.cassette, c)).len()))
        .sum();
    let progress = Arc::new(Progress { on: config.progress, done: AtomicUsize::new(0), total });
    let mut results: HashMap<(usize, usize, usize), TargetRun> = HashMap::new();
    // token maps: (cassette, protocol index) → recorded token → target token
    let mut tokens: HashMap<(usize, usize), HashMap<String, String>> = HashMap::new();
    for phase in [false, true] {
        let mut tasks = tokio::task::JoinSet::new();
        for (c, l) in loaded.iter().enumerate() {
            for (k, chain) in l.chains.iter().enumerate() {
                if (chain.start == Start::ReusedToken) != phase {
                    continue;
                }
                let cap = chain.pages.len()
                    + config.extra_pages
                    + if config.view == View::Logical { chain.job_ids().len() } else { 0 };
                for (pi, protocol) in
                    config.protocol.protocols(recorded_protocol(&l.cassette, chain)).into_iter().enumerate()
                {
                    let first_token = match chain.start {
                        Start::ReusedToken => chain
                            .pages
                            .first()
                            .and_then(Page::sent_token)
                            .and_then(|t| tokens.get(&(c, pi)).and_then(|m| m.get(t)))
                            .cloned(),
                        _ => None,
                    };
                    let (client, chain, semaphore, progress) =
                        (client.clone(), chain.clone(), semaphore.clone(), progress.clone());
                    tasks.spawn(async move {
                        let _permit = semaphore.acquire_owned().await.expect("the semaphore is never closed");
                        let run = run::run_chain(&client, &chain, protocol, first_token.as_deref(), cap).await;
                        progress.tick();
                        ((c, k, pi), run)
                    });
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            let (key, run) = done.expect("a chain run does not panic");
            results.insert(key, run);
        }
        if !phase {
            for ((c, k, pi), run) in &results {
                let map = tokens.entry((*c, *pi)).or_default();
                for (rec, got) in run.token_pairs(&loaded[*c].chains[*k]) {
                    map.entry(rec.to_string()).or_insert_with(|| got.to_string());
                }
            }
        }
    }
    loaded
        .iter()
        .enumerate()
        .map(|(c, l)| {
            (0..l.chains.len()).map(|k| (0..).map_while(|pi| results.remove(&(c, k, pi))).collect()).collect()
        })
        .collect()
}

/// The other recording's chains as the target's runs, paired with `loaded`'s by first request (the n-th
/// chain starting with a request pairs with the other's n-th). Returns the runs, and the other's chains that
/// paired with none.
fn pair_recordings(a: &Loaded, b: &Loaded) -> (Runs, Vec<Arc<Chain>>) {
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
                let other = &b.chains[i];
                vec![TargetRun {
                    protocol: recorded_protocol(&b.cassette, other),
                    pages: other.pages.clone(),
                    end: other.end.clone(),
                    failure: None,
                }]
            }
            None => Vec::new(),
        })
        .collect();
    let unpaired = b.chains.iter().zip(used).filter(|(_, u)| !u).map(|(c, _)| c.clone()).collect();
    (runs, unpaired)
}

/// A reply as the document reports show: the output, or the error's code and message.
fn shown_document(page: Option<&Page>) -> Value {
    match page.map(|p| (&p.reply, p.status)) {
        None => Value::Null,
        Some((Reply::Output(o), _)) => o.clone(),
        Some((Reply::Error(e), status)) => json!({"__type": e.code, "message": e.message, "status": status}),
    }
}

/// Redacts the target's answers with the recording's rules and placeholders (in recorded order).
fn redact_run(redactor: &Redactor, run: &mut TargetRun) {
    for page in &mut run.pages {
        match &mut page.reply {
            Reply::Output(doc) => redactor.document(doc),
            Reply::Error(e) => {
                let mut doc = json!({ "message": e.message });
                redactor.document(&mut doc);
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
        out.push(Difference::new(
            Kind::Transport,
            Some(f.page),
            f.interaction,
            JsonPath::root(),
            None,
            None,
            f.cause.clone(),
        ));
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
fn compare_run(config: &DiffConfig, renaming: &mut compare::Renaming, rec: &Chain, run: &TargetRun) -> Vec<Difference> {
    let mut out = compare::chains(&config.rules, renaming, config.view, &rec.pages, &run.pages, rec.is_complete());
    if run.failure.is_some() {
        // The jobs after a failed request were never asked for: the transport difference says so once.
        out.retain(|d| d.kind != Kind::Missing);
    }
    let missing_jobs = out.iter().any(|d| d.kind == Kind::Missing);
    let mut chain_level = Vec::new();
    chain_differences(config.view, rec, run, missing_jobs, &mut chain_level);
    chain_level.append(&mut out);
    let target = run.chain(rec.start);
    let oracles = judge::judge(rec, &target, &chain_level);
    chain_level.extend(oracles);
    chain_level
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

/// Runs the whole diff.
pub async fn diff(config: &DiffConfig) -> anyhow::Result<Report> {
    let loaded = load(&config.cassettes)?;
    let (target_name, mut all_runs, unpaired) = match &config.target {
        Target::Http(client) => (client.endpoint().url(), run_all(client, &loaded, config).await, Vec::new()),
        Target::Cassette(other) => {
            let b = load(std::slice::from_ref(other))?;
            if loaded.len() != 1 || b.len() != 1 {
                anyhow::bail!("diff A.json B.json compares two cassette files, not directories");
            }
            let (runs, unpaired) = pair_recordings(&loaded[0], &b[0]);
            (other.display().to_string(), vec![runs], unpaired)
        }
    };
    let mut cassettes = Vec::new();
    for (l, runs) in loaded.iter().zip(&mut all_runs) {
        let redactor = Redactor::new(config.redact.clone());
        let mut renaming = compare::Renaming::default();
        let mut agreement = compare::Renaming::default();
        let mut chains = Vec::new();
        for (k, (rec, runs)) in l.chains.iter().zip(runs.iter_mut()).enumerate() {
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
                let empty = TargetRun {
                    protocol: recorded_protocol(&l.cassette, rec),
                    pages: Vec::new(),
                    end: End::Complete,
                    failure: None,
                };
                chains.push(chain_report(k + 1, rec, &empty, vec![d]));
                continue;
            }
            for run in runs.iter_mut() {
                redact_run(&redactor, run);
            }
            for run in runs.iter() {
                let diffs = compare_run(config, &mut renaming, rec, run);
                chains.push(chain_report(k + 1, rec, run, diffs));
            }
            if let [json_run, cbor_run] = &runs[..] {
                // --protocol both: the two answers must agree with each other too.
                let mut agree = compare::chains(
                    &config.rules,
                    &mut agreement,
                    View::Strict,
                    &json_run.pages,
                    &cbor_run.pages,
                    true,
                );
                for d in &mut agree {
                    d.message = format!("JSON and CBOR answers differ: {} ({})", d.message, d.kind.name());
                    d.kind = Kind::Protocol;
                }
                if let Some(last) = chains.last_mut() {
                    last.differences.extend(agree);
                    if !last.differences.is_empty() {
                        last.verdict = Verdict::Differs;
                    }
                }
            }
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
            let run = TargetRun {
                protocol: Protocol::AwsJson11,
                pages: extra.pages.clone(),
                end: extra.end.clone(),
                failure: None,
            };
            let empty = Chain { start: extra.start, pages: Vec::new(), end: End::Complete };
            chains.push(chain_report(l.chains.len() + n + 1, &empty, &run, vec![d]));
        }
        cassettes.push(CassetteReport { path: l.path.clone(), chains });
    }
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
    let Target::Http(client) = &config.target else { anyhow::bail!("the request loop needs an HTTP target") };
    let loaded = load(&config.cassettes)?;
    let runs = run_all(client, &loaded, config).await;
    Ok(runs.iter().flatten().flatten().map(|r| r.pages.len() + usize::from(r.failure.is_some())).sum())
}

/// Learns noise (`--learn-noise RUNS`): runs the cassettes `runs` times against an HTTP target and compares
/// each run with the first, or, for a cassette target, compares the two recordings. Returns what varied,
/// sorted into noise and refusals, and a phrase saying how it was learned.
pub async fn learn_noise(config: &DiffConfig, runs: usize) -> anyhow::Result<(noise::Learned, String)> {
    let loaded = load(&config.cassettes)?;
    let mut found: Vec<Difference> = Vec::new();
    let mut comparisons = 0;
    let how = match &config.target {
        Target::Http(client) => {
            if runs < 2 {
                anyhow::bail!("--learn-noise: expected at least 2 runs against a target, got {runs}");
            }
            let mut sets: Vec<Vec<Runs>> = Vec::new();
            for _ in 0..runs {
                let mut set = run_all(client, &loaded, config).await;
                for cassette_runs in &mut set {
                    let redactor = Redactor::new(config.redact.clone());
                    cassette_runs.iter_mut().flatten().for_each(|r| redact_run(&redactor, r));
                }
                sets.push(set);
            }
            let (first, rest) = sets.split_first().expect("at least two runs");
            let mut renaming = compare::Renaming::default();
            for later in rest {
                for (c, l) in loaded.iter().enumerate() {
                    for (k, chain) in l.chains.iter().enumerate() {
                        for (a, b) in first[c][k].iter().zip(&later[c][k]) {
                            comparisons += 1;
                            found.extend(compare::chains(
                                &config.rules,
                                &mut renaming,
                                config.view,
                                &a.pages,
                                &b.pages,
                                chain.is_complete(),
                            ));
                            if let Some(f) = a.failure.as_ref().or(b.failure.as_ref()) {
                                found.push(Difference::new(
                                    Kind::Transport,
                                    Some(f.page),
                                    f.interaction,
                                    JsonPath::root(),
                                    None,
                                    None,
                                    f.cause.clone(),
                                ));
                            }
                        }
                    }
                }
            }
            format!("between {runs} runs against {}", client.endpoint().url())
        }
        Target::Cassette(other) => {
            let b = load(std::slice::from_ref(other))?;
            if loaded.len() != 1 || b.len() != 1 {
                anyhow::bail!("--learn-noise compares two cassette files, not directories");
            }
            let (runs, _) = pair_recordings(&loaded[0], &b[0]);
            let mut renaming = compare::Renaming::default();
            for (chain, runs) in loaded[0].chains.iter().zip(&runs) {
                for run in runs {
                    comparisons += 1;
                    found.extend(compare::chains(
                        &config.rules,
                        &mut renaming,
                        config.view,
                        &chain.pages,
                        &run.pages,
                        chain.is_complete(),
                    ));
                }
            }
            format!("between {} and {}", loaded[0].path.display(), other.display())
        }
    };
    Ok((noise::classify(&found, comparisons), how))
}
