//! `fuzz`: seeded campaigns find each planted defect under its oracle, find nothing against the clean
//! reference or against a variant that chooses differently where the documentation is silent, shrink what
//! they find into reproducers that `diff` replays, and give the same findings for the same seed. And
//! `reference --from-cassette` serves what a recording showed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use snomed_vcr::client::ClientConfig;
use snomed_vcr::diff::{self, DiffConfig, Subject, Target};
use snomed_vcr::fuzzing::{self, Budget, Expected, FuzzConfig, Outcome};
use snomed_vcr::fuzzing::{Learned, Oracle};
use snomed_vcr::model::Operation;
use snomed_vcr::reference::{Choices, Defect};
use snomed_vcr::{Client, Reference, ReferenceConfig, Server, ServerConfig};

use crate::util::{BIN, Proc, manifest_dir, scratch_dir};

async fn serve(config: ReferenceConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::spawn(listener, Arc::new(Reference::new(config)), ServerConfig::default()).unwrap()
}

fn url(server: &Server) -> String {
    format!("http://{}", server.local_addr())
}

fn client(url: &str) -> Client {
    let mut c = ClientConfig::new(snomed_vcr::Endpoint::parse(url, "us-east-1").unwrap());
    c.timeout = Duration::from_secs(5);
    Client::with_config(c).unwrap()
}

fn config(url: &str, runs: u64) -> FuzzConfig {
    let mut c = FuzzConfig::new(Target::http(client(url)));
    c.budget = Budget::Runs(runs);
    c.seed = 1;
    c
}

fn golden() -> PathBuf {
    manifest_dir().join("cassettes")
}

fn describe(o: &Outcome) -> String {
    o.findings
        .iter()
        .map(|f| format!("{}: {} — {}\n", f.violation.oracle, f.violation.signature, f.violation.message))
        .collect()
}

/// The oracle each planted defect must be found under.
fn expected_oracle(d: Defect) -> Oracle {
    match d {
        Defect::PageOverflow => Oracle::PageSize,
        Defect::InclusiveBefore => Oracle::Filter,
        Defect::ReversedBefore => Oracle::DocumentedOrder,
        Defect::RepeatLastJob => Oracle::Pagination,
        Defect::StatusFilterFirstPage => Oracle::Filter,
        Defect::TokenServerError => Oracle::TokenSafety,
        Defect::MissingMiddleToken => Oracle::PageSizeInvariance,
        Defect::MillisTimestamps => Oracle::Filter,
        Defect::UnknownStatus => Oracle::OutputShape,
        Defect::WrongErrorType => Oracle::Validation,
        Defect::NamePrefix => Oracle::Filter,
        Defect::AfterOldestFirst => Oracle::DocumentedOrder,
        Defect::StatusIgnoredWithName => Oracle::Filter,
        Defect::AfterIgnoredWithBefore => Oracle::Filter,
        Defect::MaxResults500Refused => Oracle::Validation,
        Defect::LongNameAccepted => Oracle::Validation,
        Defect::EmptyTokenAccepted => Oracle::Validation,
        Defect::LowercaseStatusAccepted => Oracle::Validation,
        Defect::CborUntaggedTimestamps => Oracle::OutputShape,
        Defect::ErrorTypeHeaderOnly => Oracle::Validation,
        Defect::DropsLastPage => Oracle::PageSizeInvariance,
        Defect::EndBeforeSubmit => Oracle::OutputShape,
        Defect::CborErrorAsJson => Oracle::Robustness,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_planted_defect_is_found_under_its_oracle() {
    let learned = Arc::new(Learned::from_cassettes(&[golden()]).unwrap());
    for (i, d) in Defect::ALL.into_iter().enumerate() {
        // Bound inclusivity and name matching are the service's choice: only a recording that shows them makes
        // another behaviour a bug.
        // (The golden recordings list by a name that is a prefix of others', which rules prefix matching out.)
        let recording = matches!(d, Defect::InclusiveBefore | Defect::NamePrefix).then_some(&learned);
        // Each defect planted in one operation of the family in turn (those the recording judges, in the
        // operation the golden recordings show them for), and fuzzed through it.
        let operation = match recording {
            Some(_) => Operation::default(),
            None => Operation::ALL[i % Operation::ALL.len()],
        };
        let planted = ReferenceConfig { defect: Some(d), defect_in: Some(operation), ..ReferenceConfig::default() };
        let server = serve(planted).await;
        let mut c = config(&url(&server), 800);
        c = c.for_operation(operation, 0, 1);
        c.shrink_runs = 40;
        if let Some(l) = recording {
            c.judge.semantics = l.semantics();
            c.expected = Expected::Recording(l.clone());
        }
        let o = fuzzing::run(&c).await.unwrap();
        let want = expected_oracle(d);
        let hit = o.findings.iter().find(|f| f.violation.oracle == want);
        assert!(hit.is_some(), "{d} in {operation}: no {want} finding in {}:\n{}", o.cases, describe(&o));
        assert!(o.findings.iter().all(|f| f.actual.operation == operation), "{d}");
        if recording.is_some() {
            assert_eq!(hit.unwrap().violation.basis, snomed_vcr::fuzzing::Basis::Recording, "{d}");
        }
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_finding_against_the_reference_nor_a_variant_that_chooses_differently() {
    let variant = ReferenceConfig { choices: Choices::variant(), ..ReferenceConfig::default() };
    for (name, config_) in [("reference", ReferenceConfig::default()), ("variant", variant)] {
        let server = serve(config_).await;
        for seed in [1, 2] {
            let mut c = config(&url(&server), 1000);
            c.seed = seed;
            let o = fuzzing::run(&c).await.unwrap();
            assert!(o.findings.is_empty(), "{name}, seed {seed}: false alarms:\n{}", describe(&o));
            assert!(
                o.cases == 1000 && o.case_requests > 3000,
                "{name}: {} cases, {} requests",
                o.cases,
                o.case_requests
            );
            // Every class of input was sent.
            for class in ["token", "changed mid-chain", "invalid or open input", "status-partition", "intersection"] {
                assert!(o.classes.get(class).is_some_and(|n| *n > 10), "{name}: {:?}", o.classes);
            }
        }
        server.shutdown().await;
    }
    // Held to the golden recordings, the reference (which made them) has no finding either.
    let server = serve(ReferenceConfig::default()).await;
    let learned = Arc::new(Learned::from_cassettes(&[golden()]).unwrap());
    let mut c = config(&url(&server), 1000);
    c.judge.semantics = learned.semantics();
    c.expected = Expected::Recording(learned);
    let o = fuzzing::run(&c).await.unwrap();
    assert!(o.findings.is_empty(), "against the recording: false alarms:\n{}", describe(&o));
    server.shutdown().await;
}

async fn diff_count(cassette: &Path, url: &str) -> usize {
    let report =
        diff::diff(&DiffConfig::new(vec![cassette.to_path_buf()], Subject::Service(Target::http(client(url)))))
            .await
            .unwrap();
    report.totals.differences
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shrunk_reproducer_fails_diff_against_the_defect_and_passes_against_the_reference() {
    let reference = serve(ReferenceConfig::default()).await;
    let dir = scratch_dir("fuzz-repro");
    for d in [Defect::StatusFilterFirstPage, Defect::PageOverflow, Defect::WrongErrorType, Defect::TokenServerError] {
        let defective = serve(ReferenceConfig { defect: Some(d), ..ReferenceConfig::default() }).await;
        let o = fuzzing::run(&config(&url(&defective), 400)).await.unwrap();
        let f = o
            .findings
            .iter()
            .find(|f| f.violation.oracle == expected_oracle(d))
            .unwrap_or_else(|| panic!("{d}: {}", describe(&o)));
        assert!(f.sizes.1 <= f.sizes.0, "{d}: shrunk {:?}", f.sizes);
        if matches!(f.original, snomed_vcr::fuzzing::input::Case::Sequence(_)) {
            assert!(f.sizes.1 < f.sizes.0, "{d}: a generated sequence did not shrink: {:?}", f.sizes);
        }
        let n = o.findings.iter().position(|g| std::ptr::eq(f, g)).unwrap();
        let commands = fuzzing::save(&o, &dir.join(d.name()), &url(&defective)).unwrap().swap_remove(n);
        assert!(commands.diff.contains("expected.json") && commands.curl.starts_with("curl "), "{commands:?}");
        let cassette = commands.dir.join("expected.json");
        assert!(diff_count(&cassette, &url(&defective)).await > 0, "{d}: the reproducer passes against the defect");
        assert_eq!(diff_count(&cassette, &url(&reference)).await, 0, "{d}: the reproducer fails against the reference");
        defective.shutdown().await;
    }
    reference.shutdown().await;
}

fn fuzz_cli(url: &str, out: &Path, concurrency: &str) -> (i32, String) {
    let o = Command::new(BIN)
        .args([
            "fuzz",
            "--target",
            url,
            "--runs",
            "300",
            "--seed",
            "5",
            "--concurrency",
            concurrency,
            "--format",
            "json",
        ])
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    (o.status.code().unwrap(), String::from_utf8(o.stdout).unwrap())
}

/// Every file under `dir`, by relative name, with `dir` itself written as `DIR` (the replay commands name it).
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&e).unwrap()).replace(&dir.display().to_string(), "DIR");
        out.push((e.strip_prefix(dir).unwrap().display().to_string(), text));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn the_same_seed_gives_byte_identical_findings_at_any_concurrency() {
    let reference = Proc::start(&["reference", "--defect", "repeat-last-job"]);
    let dir = scratch_dir("fuzz-seed");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let (code_a, json_a) = fuzz_cli(&reference.url, &a, "1");
    let (code_b, _) = fuzz_cli(&reference.url, &b, "4");
    assert_eq!((code_a, code_b), (1, 1), "findings exit 1");
    let (ta, tb) = (tree(&a), tree(&b));
    assert!(ta.iter().any(|(n, _)| n.ends_with("finding.json")), "{:?}", ta.iter().map(|t| &t.0).collect::<Vec<_>>());
    assert_eq!(ta.len(), tb.len());
    for ((na, a), (nb, b)) in ta.iter().zip(&tb) {
        assert_eq!(na, nb);
        assert!(a == b, "the same seed wrote a different {na}");
    }
    let doc: serde_json::Value = serde_json::from_str(&json_a).unwrap();
    assert_eq!(doc["findings"][0]["oracle"], "pagination", "{doc:#}");
    assert!(doc["exec_per_sec"].as_f64().unwrap() > 0.0);
    reference.terminate();
}

#[test]
fn the_command_line_reports_in_junit_and_refuses_bad_options() {
    let reference = Proc::start(&["reference"]);
    let o = Command::new(BIN)
        .args(["fuzz", "--target", &reference.url, "--runs", "200", "--format", "junit"])
        .output()
        .unwrap();
    let xml = String::from_utf8(o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{xml}");
    assert!(
        xml.contains("<testcase classname=\"fuzz.model\" name=\"validation\"/>") && !xml.contains("<failure"),
        "{xml}"
    );
    for (args, want) in [
        (vec!["--runs", "0"], "--runs: expected at least 1 case, got 0"),
        (vec!["--seconds=-1"], "--seconds: expected a positive number of seconds, got -1"),
        (vec!["--concurrency", "0"], "--concurrency: expected at least 1"),
        (vec!["--oracle", "nonsense"], "invalid value 'nonsense' for '--oracle <NAME>'"),
        (vec!["--cassette", "/no/such/file.json"], "'/no/such/file.json' does not exist"),
    ] {
        let o = Command::new(BIN).args(["fuzz", "--target", &reference.url]).args(&args).output().unwrap();
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let o = Command::new(BIN).args(["fuzz", "--target", "http://127.0.0.1:9", "--runs", "5"]).output().unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the target cannot be fuzzed: cannot connect"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    reference.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_served_by_reference_from_cassette_answers_as_recorded() {
    let served = Proc::start(&["reference", "--from-cassette", golden().to_str().unwrap()]);
    let chain = client(&served.url)
        .walk(snomed_vcr::Protocol::AwsJson11, &serde_json::json!({"MaxResults": 50}), 100)
        .await
        .unwrap();
    assert_eq!(chain.job_ids().len(), 240);
    // Every golden cassette replays against it without a difference.
    for name in [
        "boto3-walk",
        "boto3-filters",
        "boto3-bounds",
        "boto3-errors",
        "rust-sdk-cbor",
        "boto3-family",
        "rust-sdk-family",
    ] {
        let n = diff_count(&golden().join(format!("{name}.json")), &served.url).await;
        assert_eq!(n, 0, "{name}");
    }
    let (_, stderr) = served.terminate();
    assert!(stderr.contains("learned of ListSNOMEDCTInferenceJobs: SubmitTimeBefore bound: exclusive"), "{stderr}");
}
