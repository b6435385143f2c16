//! `snomed-vcr demo`: the tool's main job, end to end, against the built-in reference service.
//!
//! Starts the reference on a loopback port, then drives it over HTTP in both wire protocols the way an SDK
//! would: full paginated walks, every filter kind, and the error cases. Each step is a check that can fail;
//! the exit code is 1 if any did.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::cli::DemoArgs;
use crate::client::Client;
use crate::model::{JobStatus, ListResponse};
use crate::protocol::{Protocol, Reply};
use crate::reference::Reference;
use crate::server::{Server, ServerConfig};

struct Report {
    failures: usize,
}

impl Report {
    fn check(&mut self, ok: bool, what: impl std::fmt::Display) {
        if ok {
            println!("  ok    {what}");
        } else {
            self.failures += 1;
            println!("  FAIL  {what}");
        }
    }
}

/// Walks every page of a listing; returns the pages' documents.
async fn walk(client: &Client, protocol: Protocol, filter: Option<Value>, max: i32) -> anyhow::Result<Vec<Value>> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"MaxResults": max});
        if let Some(f) = &filter {
            input["Filter"] = f.clone();
        }
        if let Some(t) = token.take() {
            input["NextToken"] = Value::String(t);
        }
        let ex = client.call(protocol, &input).await?;
        let Reply::Output(doc) = ex.reply else { anyhow::bail!("page {} failed: {:?}", pages.len() + 1, ex.reply) };
        token = doc.get("NextToken").and_then(Value::as_str).map(str::to_string);
        pages.push(doc);
        if token.is_none() || pages.len() > 10_000 {
            return Ok(pages);
        }
    }
}

fn ids(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .filter_map(|p| ListResponse::from_document(p).ok())
        .flat_map(|r| r.jobs.unwrap_or_default())
        .filter_map(|j| j.job_id)
        .collect()
}

/// Records a boto3-style walk through the proxy, lints the cassette, and replays it offline over the other
/// protocol: the same jobs, page for page, and a guide for a request that was never recorded.
async fn record_then_replay(
    report: &mut Report,
    upstream: &str,
    population: &[String],
    max: i32,
) -> anyhow::Result<()> {
    use crate::record::{Mode, RecordConfig, Recorder, Upstream};
    use crate::replay::ReplayServer;
    println!("record -> replay:");
    let dir = crate::util::scratch_dir("demo")?;
    let cassette = dir.join("demo.json");
    let recorder = Arc::new(
        Recorder::open(RecordConfig {
            upstream: Upstream::parse(upstream, "us-east-1")?,
            region: "us-east-1".into(),
            cassette: cassette.clone(),
            mode: Mode::All,
            resign: Some(crate::sigv4::Credentials::new("AKIDDEMOPROXY", "demo-proxy-secret")),
            redact: Vec::new(),
            record_errors: false,
            upstream_timeout: std::time::Duration::from_secs(10),
            upstream_ca_file: None,
            max_body: 8 * 1024 * 1024,
            reproducible: true,
        })
        .await?,
    );
    let proxy = Server::spawn(crate::server::bind("127.0.0.1:0").await?, recorder.clone(), ServerConfig::default())?;
    let through_proxy = Client::new(&proxy.uri())?;
    let recorded = ids(&walk(&through_proxy, Protocol::AwsJson11, None, max).await?);
    through_proxy.call(Protocol::AwsJson11, &json!({"MaxResults": 501})).await?;
    proxy.shutdown().await;
    let outcome = recorder.finish()?;
    report.check(recorded == population, format!("a JSON 1.1 walk through `record` sees the live jobs; {outcome}"));
    let findings = crate::cassette::lint::lint_file(&cassette);
    report.check(
        findings.is_empty(),
        format!("lint: {} findings (no credentials, account ids redacted)", findings.len()),
    );

    let replay = ReplayServer::start(&cassette).await?;
    let offline = Client::new(&replay.uri())?;
    let replayed = ids(&walk(&offline, Protocol::RpcV2Cbor, None, max).await?);
    report.check(
        replayed == population,
        format!("replay answers the same walk over CBOR, offline ({} jobs)", replayed.len()),
    );
    let err = offline.call(Protocol::RpcV2Cbor, &json!({"MaxResults": 501})).await?;
    report.check(
        matches!(&err.reply, Reply::Error(e) if e.code == "ValidationException"),
        "the recorded ValidationException replays in the caller's protocol",
    );
    let miss = offline.call(Protocol::AwsJson11, &json!({"MaxResults": max - 1})).await?;
    report.check(
        matches!(&miss.reply, Reply::Error(e) if e.code == "UnmatchedRequestException" && e.message.contains("interaction 0")),
        "an unrecorded request gets a guide naming the closest interaction",
    );
    let summary = replay.shutdown().await;
    report.check(
        summary.unplayed.is_empty() && summary.misses.len() == 1,
        format!("strict report: {}", summary.to_string().lines().next().unwrap_or("")),
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let config = crate::reference::ReferenceConfig::generated(args.population.generate, args.population.seed);
    let reference = Arc::new(Reference::new(config));
    let population: Vec<String> = reference.jobs().iter().rev().filter_map(|j| j.job_id.clone()).collect();
    let listener = crate::server::bind("127.0.0.1:0").await?;
    let server = Server::spawn(listener, reference.clone(), ServerConfig::default())?;
    let client = Client::new(&server.uri())?;
    println!(
        "snomed-vcr demo: reference service at {} with {} jobs (seed {})",
        server.uri(),
        population.len(),
        args.population.seed
    );

    let mut report = Report { failures: 0 };
    let started = Instant::now();
    let mut walks: BTreeMap<Protocol, Vec<Value>> = BTreeMap::new();
    for protocol in Protocol::ALL {
        println!("\n{protocol}:");
        let pages = walk(&client, protocol, None, args.max_results).await?;
        let got = ids(&pages);
        report.check(
            got == population,
            format!(
                "full walk, MaxResults {}: {} pages, {} jobs, each once, newest first",
                args.max_results,
                pages.len(),
                got.len()
            ),
        );
        let mut per_status = 0;
        for status in JobStatus::ALL {
            let pages = walk(&client, protocol, Some(json!({"JobStatus": status.as_str()})), args.max_results).await?;
            per_status += ids(&pages).len();
        }
        report.check(
            per_status == population.len(),
            format!("JobStatus filters partition the population ({per_status} jobs over 7 statuses)"),
        );
        let mid = reference.jobs()[reference.jobs().len() / 2].submit_time.map_or(json!(0), |t| t.to_json());
        let before = ids(&walk(&client, protocol, Some(json!({"SubmitTimeBefore": mid})), args.max_results).await?);
        let after = ids(&walk(&client, protocol, Some(json!({"SubmitTimeAfter": mid})), args.max_results).await?);
        let at = |cmp: fn(f64, f64) -> bool| {
            let mid = mid.as_f64().unwrap_or(0.0);
            reference.jobs().iter().filter(|j| j.submit_time.is_some_and(|t| cmp(t.secs_f64(), mid))).count()
        };
        let (want_before, want_after) = (at(|t, m| t < m), at(|t, m| t > m));
        report.check(
            (before.len(), after.len()) == (want_before, want_after),
            format!(
                "SubmitTimeBefore/After {mid} are strict bounds ({} + {} jobs; {} at exactly that time excluded)",
                before.len(),
                after.len(),
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
        walks.insert(protocol, pages);
    }
    println!();
    let same = walks.get(&Protocol::AwsJson11) == walks.get(&Protocol::RpcV2Cbor);
    report.check(same, "both protocols return identical documents for every page");

    record_then_replay(&mut report, &server.uri(), &population, args.max_results).await?;
    server.shutdown().await;
    println!(
        "\n{} checks failed; {:.0} ms in all. Next: `snomed-vcr reference` serves the same population for your own clients.",
        report.failures,
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(if report.failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
