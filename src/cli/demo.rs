//! `snomed-vcr demo`: the tool's main job, end to end, against the built-in reference service.
//!
//! Starts the reference on a loopback port, then drives it over HTTP in both wire protocols the way an SDK
//! would: full paginated walks judged by the listing oracles, every filter kind, and the error cases; then
//! records a walk through `record` (and one of each sibling list operation), lints it, and replays it offline
//! over the other protocol. Each step is a
//! check that can fail; the exit code is 1 if any did.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::cassette::Cassette;
use crate::client::Client;
use crate::model::oracle::{self, Basis, Bounds, FilterSemantics, NameMatch, Violation};
use crate::model::{Chain, JobStatus, Operation};
use crate::protocol::{Protocol, Reply};
use crate::reference::{Reference, ReferenceConfig};
use crate::server::{Server, ServerConfig};

/// What the demo runs on.
pub(crate) struct DemoConfig {
    /// Jobs in the generated population.
    pub jobs: usize,
    /// The population's seed.
    pub seed: u64,
    /// Page size of the walks.
    pub max_results: i32,
}

/// The most pages a walk follows.
const MAX_PAGES: usize = 10_000;

/// How the reference filters, which its own README documents; for judging the reference itself. (A judge of
/// another implementation uses `FilterSemantics::DOCUMENTED`, or what a recording shows.)
const REFERENCE_FILTERS: FilterSemantics = FilterSemantics {
    before: Bounds::Strict,
    after: Bounds::Strict,
    job_name: NameMatch::EXACT,
    basis: Basis::Documentation,
};

struct Checks {
    failures: usize,
}

impl Checks {
    fn check(&mut self, ok: bool, what: impl std::fmt::Display) {
        if ok {
            println!("  ok    {what}");
        } else {
            self.failures += 1;
            println!("  FAIL  {what}");
        }
    }

    /// A check this population cannot show: neither passed nor failed, with why.
    fn not_shown(&mut self, why: impl std::fmt::Display) {
        println!("  skip  {why}");
    }

    /// A check that also fails on any oracle violation, printing the first few.
    fn judged(&mut self, ok: bool, violations: &[Violation], what: impl std::fmt::Display) {
        self.check(ok && violations.is_empty(), what);
        for v in violations.iter().take(3) {
            println!("        {v}");
        }
    }
}

fn first_request(filter: Option<Value>, max: i32) -> Value {
    let mut input = json!({"MaxResults": max});
    if let Some(f) = filter {
        input["Filter"] = f;
    }
    input
}

/// A complete walk of ListSNOMEDCTInferenceJobs, or why not.
async fn walk(client: &Client, protocol: Protocol, filter: Option<Value>, max: i32) -> anyhow::Result<Chain> {
    walk_of(client, protocol, Operation::default(), filter, max).await
}

/// A complete walk of `operation`, or why not.
async fn walk_of(
    client: &Client,
    protocol: Protocol,
    operation: Operation,
    filter: Option<Value>,
    max: i32,
) -> anyhow::Result<Chain> {
    let chain = client.walk_operation(protocol, operation, &first_request(filter, max), MAX_PAGES).await?;
    if !chain.is_complete() {
        let why = match (&chain.end, chain.pages.last().map(|p| &p.reply)) {
            (crate::model::End::Error, Some(Reply::Error(e))) => format!("with an error ({e})"),
            (end, _) => format!("{end:?}"),
        };
        anyhow::bail!(
            "the walk ended {why} after {}",
            crate::reporting::count(chain.pages.len() as u64, "page", "pages")
        );
    }
    Ok(chain)
}

fn owned_ids(chain: &Chain) -> Vec<String> {
    chain.job_ids().into_iter().map(str::to_string).collect()
}

/// Records a boto3-style walk through the proxy, and one of each sibling operation, lints the cassette, and
/// replays it offline over the other protocol: the same jobs, page for page, and a guide for a request that
/// was never recorded. `siblings`: each other list operation with the jobs the reference lists for it.
async fn record_then_replay(
    report: &mut Checks,
    dir: &std::path::Path,
    upstream: &str,
    population: &[String],
    siblings: &[(Operation, Vec<String>)],
    max: i32,
) -> anyhow::Result<std::path::PathBuf> {
    use crate::record::{Endpoint, RecordConfig, RecordMode, Recorder};
    use crate::replay::ReplayServer;
    println!("record -> replay:");
    let cassette = dir.join("demo.json");
    let recorder = Arc::new(
        Recorder::open(RecordConfig {
            mode: RecordMode::All,
            resign: Some(crate::sigv4::Credentials::new("AKIDDEMOPROXY", "demo-proxy-secret").into()),
            upstream_timeout: std::time::Duration::from_secs(10),
            reproducible: true,
            ..RecordConfig::new(Endpoint::parse(upstream, crate::client::DEFAULT_REGION)?, cassette.clone())
        })
        .await?,
    );
    let proxy = Server::spawn(crate::server::bind("127.0.0.1:0").await?, recorder.clone(), ServerConfig::default())?;
    let through_proxy = Client::new(&proxy.uri())?;
    let recorded = owned_ids(&walk(&through_proxy, Protocol::AwsJson11, None, max).await?);
    through_proxy.call(Protocol::AwsJson11, &json!({"MaxResults": 501})).await?;
    let mut siblings_recorded = true;
    for (operation, jobs) in siblings {
        let chain = walk_of(&through_proxy, Protocol::AwsJson11, *operation, None, max).await?;
        siblings_recorded &= owned_ids(&chain) == *jobs;
    }
    proxy.shutdown().await;
    let outcome = recorder.finish()?;
    report.check(recorded == population, format!("a JSON 1.1 walk through `record` sees the live jobs; {outcome}"));
    let findings = crate::cassette::lint::lint_file(&cassette);
    report.check(
        findings.is_empty(),
        format!("lint: {} findings (no credentials, account ids redacted)", findings.len()),
    );

    // The guide is shown in the check's own line below, not as replay's framed block on stderr.
    let replay = ReplayServer::start_with(crate::replay::ReplayConfig {
        guides_to_stderr: false,
        ..crate::replay::ReplayConfig::new(vec![cassette.clone()])
    })
    .await?;
    let offline = Client::new(&replay.uri())?;
    let replayed = owned_ids(&walk(&offline, Protocol::RpcV2Cbor, None, max).await?);
    report.check(
        replayed == population,
        format!("replay answers the same walk over CBOR, offline ({} jobs)", replayed.len()),
    );
    let mut siblings_replayed = true;
    for (operation, jobs) in siblings {
        let chain = walk_of(&offline, Protocol::RpcV2Cbor, *operation, None, max).await?;
        siblings_replayed &= owned_ids(&chain) == *jobs;
    }
    let names: Vec<&str> = siblings.iter().map(|(op, _)| op.name()).collect();
    report.check(
        siblings_recorded && siblings_replayed,
        format!(
            "the other list operations ({}) record over JSON 1.1 and replay over CBOR the same way, each its own jobs",
            names.join(", ")
        ),
    );
    let err = offline.call(Protocol::RpcV2Cbor, &json!({"MaxResults": 501})).await?;
    report.check(
        matches!(&err.reply, Reply::Error(e) if e.code == "ValidationException"),
        "the recorded ValidationException replays in the caller's protocol",
    );
    let miss = offline.call(Protocol::AwsJson11, &json!({"MaxResults": max - 1})).await?;
    let closest = match &miss.reply {
        Reply::Error(e) if e.code == "UnmatchedRequestException" => {
            e.message.split(". ").find(|s| s.starts_with("Closest:")).unwrap_or("").to_string()
        }
        _ => String::new(),
    };
    report.check(
        closest.contains("interaction 0"),
        format!("an unrecorded request (MaxResults {}) gets a guide: {closest}", max - 1),
    );
    let summary = replay.shutdown().await;
    report.check(
        summary.unplayed.is_empty() && summary.unmatched == 1,
        format!("strict report: {}", summary.to_string().lines().next().unwrap_or("")),
    );

    Ok(cassette)
}

/// Diffs the recording against the reference it was recorded from (clean, in both protocols) and against one
/// with a planted bug (caught).
async fn diff_the_recording(
    report: &mut Checks,
    cassette: &std::path::Path,
    jobs: usize,
    seed: u64,
) -> anyhow::Result<()> {
    println!("\ndiff:");
    let against = |defect: Option<crate::reference::Defect>| {
        let cassette = cassette.to_path_buf();
        async move {
            let config = ReferenceConfig { defect, ..ReferenceConfig::generated(jobs, seed) };
            let target = Server::spawn(
                crate::server::bind("127.0.0.1:0").await?,
                Arc::new(Reference::new(config)),
                ServerConfig::default(),
            )?;
            let client = crate::client::Target::http(Client::new(&target.uri())?);
            let mut diff_config = crate::diff::DiffConfig::new(vec![cassette], crate::diff::Subject::Service(client));
            diff_config.protocol = crate::diff::ProtocolChoice::Both;
            let report = crate::diff::diff(&diff_config).await?;
            target.shutdown().await;
            anyhow::Ok(report)
        }
    };
    let clean = against(None).await?;
    report.check(
        !clean.failed(),
        format!("the recording diffs clean against the reference in both protocols ({} chains)", clean.totals.chains),
    );
    // The planted bug drops the token of a walk's middle page: it needs a walk of three pages or more.
    let pages = Cassette::load(cassette)?.into_chains().iter().map(|c| c.pages.len()).max().unwrap_or(0);
    if pages < 3 {
        report.not_shown(format!(
            "a planted bug in middle pages (missing-middle-token): the recorded walk has {}; lower --max-results or raise --generate",
            crate::reporting::count(pages as u64, "page", "pages")
        ));
        return Ok(());
    }
    let broken = against(Some(crate::reference::Defect::MissingMiddleToken)).await?;
    let caught = broken.summary.iter().any(|l| l.kind == crate::diff::Kind::Pagination);
    let found: Vec<&str> = broken.summary.iter().map(|l| l.text.as_str()).collect();
    report.check(
        caught,
        format!(
            "a reference with a planted bug (missing-middle-token) is caught: {}",
            if found.is_empty() { "diff found no difference".to_string() } else { found.join("; ") }
        ),
    );

    Ok(())
}

/// Fuzzes the reference, a variant, and a live service (nothing found), and one with a planted bug (found and
/// shrunk).
async fn fuzz_the_reference(report: &mut Checks, jobs: usize, seed: u64) -> anyhow::Result<()> {
    println!("\nfuzz:");
    let campaign = |config: ReferenceConfig| async move {
        let target = Server::spawn(
            crate::server::bind("127.0.0.1:0").await?,
            Arc::new(Reference::new(config)),
            ServerConfig::default(),
        )?;
        let url = target.uri();
        let mut fuzz = crate::fuzzing::FuzzConfig::new(crate::client::Target::http(Client::new(&url)?));
        fuzz.budget = crate::fuzzing::Budget::Runs(500);
        fuzz.seed = seed;
        let outcome = crate::fuzzing::run(&fuzz).await?;
        target.shutdown().await;
        anyhow::Ok(outcome)
    };
    let generated = || ReferenceConfig::generated(jobs, seed);
    for (name, config) in [
        ("the reference", generated()),
        (
            "a variant that chooses differently where the documentation is silent",
            ReferenceConfig { choices: crate::reference::Choices::variant(), ..generated() },
        ),
        (
            "a live service with short pages, an empty last page and random tokens",
            ReferenceConfig {
                choices: crate::reference::Choices {
                    short_pages: true,
                    empty_last_page: true,
                    random_tokens: true,
                    ..crate::reference::Choices::REFERENCE
                },
                churn: Some(std::time::Duration::from_millis(50)),
                ..generated()
            },
        ),
    ] {
        let o = campaign(config).await?;
        let unstable = match o.unstable.len() {
            0 => String::new(),
            n => format!(" ({n} unstable, set apart: the population moved)"),
        };
        report.check(
            o.findings.is_empty(),
            format!("500 fuzz cases ({} requests) against {name} find nothing{unstable}", o.case_requests),
        );
    }
    // The planted bug is in the pages after a status filter's first: it needs two jobs of one status.
    let population = generated().jobs;
    let most = crate::model::JobStatus::ALL
        .iter()
        .map(|s| population.iter().filter(|j| j.job_status.as_deref() == Some(s.as_str())).count())
        .max()
        .unwrap_or(0);
    if most < 2 {
        report.not_shown(format!(
            "a planted bug in a status filter's later pages (status-filter-first-page): no status has two of the {}; raise --generate",
            crate::reporting::count(population.len() as u64, "job", "jobs")
        ));
        return Ok(());
    }
    let o = campaign(ReferenceConfig { defect: Some(crate::reference::Defect::StatusFilterFirstPage), ..generated() })
        .await?;
    let first = o.findings.iter().find(|f| f.violation.oracle == crate::model::oracle::Oracle::Filter);
    report.check(
        first.is_some(),
        format!(
            "a planted bug (status-filter-first-page) is found by the filter oracle{}",
            first.map_or_else(
                || format!(": not found in 500 cases ({} other findings)", o.findings.len()),
                |f| format!(
                    ", shrunk to {}: {}",
                    crate::reporting::count(f.actual.requests() as u64, "request", "requests"),
                    f.violation.message
                )
            )
        ),
    );
    Ok(())
}

/// Runs the demo; exit 1 if a check failed.
pub(crate) async fn run(config: DemoConfig) -> anyhow::Result<ExitCode> {
    let reference = Arc::new(Reference::new(ReferenceConfig::generated(config.jobs, config.seed)));
    // The reference lists newest first without a filter: its own choice, which its README documents.
    let population: Vec<String> = reference.jobs().iter().rev().filter_map(|j| j.job_id.clone()).collect();
    let listener = crate::server::bind("127.0.0.1:0").await?;
    let server = Server::spawn(listener, reference.clone(), ServerConfig::default())?;
    let client = Client::new(&server.uri())?;
    let max = config.max_results;
    println!(
        "snomed-vcr demo: reference service at {} with {} jobs (seed {})",
        server.uri(),
        population.len(),
        config.seed
    );

    let mut report = Checks { failures: 0 };
    let started = Instant::now();
    let mut walks: Vec<Chain> = Vec::new();
    for protocol in Protocol::ALL {
        println!("\n{protocol}:");
        let whole = walk(&client, protocol, None, max).await?;
        let got = owned_ids(&whole);
        report.judged(
            got == population,
            &oracle::check_chain(&whole, &FilterSemantics::DOCUMENTED),
            format!(
                "full walk, MaxResults {max}: {} pages, {} jobs, each once, newest first; the listing oracles find nothing",
                whole.pages.len(),
                got.len()
            ),
        );
        let mut parts = Vec::new();
        for status in JobStatus::ALL {
            parts.push(walk(&client, protocol, Some(json!({"JobStatus": status.as_str()})), max).await?);
        }
        let mut violations = oracle::check_partition(&whole, &parts);
        violations.extend(parts.iter().flat_map(|c| oracle::check_chain(c, &FilterSemantics::DOCUMENTED)));
        let per_status: usize = parts.iter().map(|c| c.job_ids().len()).sum();
        report.judged(
            per_status == population.len(),
            &violations,
            format!("JobStatus filters partition the population ({per_status} jobs over 7 statuses)"),
        );
        let mid = reference.jobs()[reference.jobs().len() / 2].submit_time.map_or(json!(0), |t| t.to_json());
        let before = walk(&client, protocol, Some(json!({"SubmitTimeBefore": mid})), max).await?;
        let after = walk(&client, protocol, Some(json!({"SubmitTimeAfter": mid})), max).await?;
        let mut violations = oracle::check_chain(&before, &REFERENCE_FILTERS);
        violations.extend(oracle::check_chain(&after, &REFERENCE_FILTERS));
        let at = |cmp: fn(f64, f64) -> bool| {
            let mid = mid.as_f64().unwrap_or(0.0);
            reference.jobs().iter().filter(|j| j.submit_time.is_some_and(|t| cmp(t.secs_f64(), mid))).count()
        };
        let (want_before, want_after) = (at(|t, m| t < m), at(|t, m| t > m));
        let counts = (before.job_ids().len(), after.job_ids().len());
        report.judged(
            counts == (want_before, want_after),
            &violations,
            format!(
                "SubmitTimeBefore/After {mid} are strict bounds in documented order ({} + {} jobs; {} at exactly that time excluded)",
                counts.0,
                counts.1,
                population.len() - want_before - want_after
            ),
        );
        for (input, code) in [
            (json!({"MaxResults": 501}), "ValidationException"),
            (json!({"Filter": {"JobStatus": "BOGUS"}}), "ValidationException"),
            (json!({"NextToken": "dGFtcGVyZWQ"}), "InvalidRequestException"),
            (json!({"MaxResults": "5"}), "SerializationException"),
        ] {
            let ex = client.call(protocol, &input).await?;
            let ok = matches!(&ex.reply, Reply::Error(e) if e.code == code && e.status == 400);
            report.check(ok, format!("{input} -> 400 {code}"));
        }
        walks.push(whole);
    }
    println!();
    let same = walks[0].pages.iter().map(|p| &p.reply).eq(walks[1].pages.iter().map(|p| &p.reply));
    report.check(same, "both protocols return identical documents for every page");

    let dir = crate::scratch::Scratch::new("demo")?;
    let siblings: Vec<(Operation, Vec<String>)> = Operation::ALL
        .into_iter()
        .filter(|op| *op != Operation::default())
        .map(|op| (op, reference.jobs_of(op).iter().rev().filter_map(|j| j.job_id.clone()).collect()))
        .collect();
    let cassette = record_then_replay(&mut report, dir.path(), &server.uri(), &population, &siblings, max).await?;
    server.shutdown().await;
    diff_the_recording(&mut report, &cassette, population.len(), config.seed).await?;
    fuzz_the_reference(&mut report, population.len(), config.seed).await?;
    drop(dir);
    println!(
        "\n{} failed; {:.0} ms in all. Next: `{} reference --generate {} --seed {}` serves the same population for your own clients.",
        crate::reporting::count(report.failures as u64, "check", "checks"),
        started.elapsed().as_secs_f64() * 1e3,
        crate::program::program(),
        config.jobs,
        config.seed
    );
    Ok(if report.failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
