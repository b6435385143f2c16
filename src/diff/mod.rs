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
mod chain;
pub(crate) mod compare;
mod judge;
mod load;
pub mod noise;
mod outcome;
pub(crate) mod renaming;
pub mod report;
pub mod rules;
pub mod run;
mod schedule;
mod summary;

use std::path::PathBuf;
use std::sync::Arc;

use crate::cassette::CassetteError;
use crate::cassette::redact::{self, Redactor};
use crate::client::ByteBudget;
pub use crate::client::Target;
use crate::doc::JsonPath;
use crate::model::{Chain, End, Page};
use crate::protocol::Protocol;
use chain::{Judging, chain_report, judge_chain, redact_run, unreached};
use load::{load, load_other, pair_recordings};
pub use outcome::{CassetteReport, ChainReport, Difference, Kind, ProtocolChoice, Report, Totals, Verdict, View};
pub use rules::{Rules, RulesError};
pub use run::{Failure, TargetRun};
use schedule::run_all;
pub use summary::SummaryLine;

/// Why a diff (or a noise-learning run) could not be made: nothing compared, no report.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The cassettes did not load.
    #[error(transparent)]
    Cassettes(#[from] CassetteError),
    /// The rules file is not usable.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// A file beside the cassettes (baseline, rules) could not be read or written, or is not what it must be.
    #[error("{0}")]
    File(String),
    /// The target answered no request at all: no comparison, one line.
    #[error("cannot reach the target {target}: {fault}")]
    Unreachable {
        /// The target's name.
        target: String,
        /// What kept every chain from reaching it.
        fault: crate::client::Fault,
    },
    /// What was asked cannot be done (the inputs do not fit together).
    #[error("{0}")]
    Usage(String),
}

/// What the cassettes are compared against.
#[derive(Clone, Debug)]
pub enum Subject {
    /// An implementation, over HTTP(S) or in-process.
    Service(Target),
    /// Another recording of the same traffic.
    Cassette(PathBuf),
}

/// How a diff runs.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// # let reference = std::sync::Arc::new(snomed_vcr::Reference::new(snomed_vcr::ReferenceConfig::generated(12, 7)));
/// # let reference = snomed_vcr::Server::spawn(listener, reference, snomed_vcr::ServerConfig::default()).unwrap();
/// use snomed_vcr::{Client, DiffConfig, Target};
/// use snomed_vcr::diff::Subject;
///
/// # let dir = std::env::temp_dir().join(format!("snomed-vcr-doc-diff-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let cassette = dir.join("golden.json");
/// # std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/boto3-walk.json"), &cassette).unwrap();
/// // The golden cassette was recorded from another population: the target differs.
/// let target = Target::http(Client::new(&reference.uri()).unwrap());
/// let report = DiffConfig::new(vec![cassette], Subject::Service(target)).run().await.unwrap();
/// assert!(report.failed() && report.totals.differences > 0);
/// # std::fs::remove_dir_all(&dir).ok();
/// # });
/// ```
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
    pub redact: Vec<redact::RedactRule>,
    /// Accepted differences.
    pub baseline: Option<baseline::Baseline>,
    /// How much of the target's answers one chain, and all chains in flight, may hold.
    pub budget: ByteBudget,
    /// Show progress on stderr.
    pub progress: bool,
}

impl DiffConfig {
    /// Runs the diff: [`diff`].
    pub async fn run(&self) -> Result<Report, DiffError> {
        diff(self).await
    }

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

/// Runs the whole diff.
pub async fn diff(config: &DiffConfig) -> Result<Report, DiffError> {
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
                return Err(DiffError::Unreachable { target: target.name().to_string(), fault });
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
                let d = Difference::new(Kind::Extra, JsonPath::root(), "a chain only the other recording has")
                    .received(extra.first_request().cloned());
                let run = TargetRun::recorded(b[0].protocol_of(extra), (**extra).clone());
                let empty =
                    Chain { start: extra.start, operation: extra.operation, pages: Vec::new(), end: End::Complete };
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
pub async fn request_loop(config: &DiffConfig) -> Result<usize, DiffError> {
    let Subject::Service(target) = &config.subject else {
        return Err(DiffError::Usage("the request loop needs a target".into()));
    };
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
    renaming: &mut renaming::Renaming,
    chain: &Chain,
    a: &[Page],
    b: &[Page],
) -> Vec<Difference> {
    compare::chains(&config.rules, renaming, config.view, a, b, chain.is_complete())
}

/// Learns noise (`--learn-noise RUNS`): runs the cassettes `runs` times against an HTTP target and compares
/// each run with the first, or, for a cassette target, compares the two recordings. Returns what varied,
/// sorted into noise and refusals, and a phrase saying how it was learned.
pub async fn learn_noise(config: &DiffConfig, runs: usize) -> Result<(noise::Noise, String), DiffError> {
    let loaded = load(&config.cassettes)?;
    let mut found: Vec<Difference> = Vec::new();
    let mut comparisons = 0;
    let how = match &config.subject {
        Subject::Service(target) => {
            if runs < 2 {
                return Err(DiffError::Usage(format!(
                    "--learn-noise: expected at least 2 runs against a target, got {runs}"
                )));
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
            let mut renaming = renaming::Renaming::default();
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
            let mut renaming = renaming::Renaming::default();
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
