//! `diff`: the reference against its own golden cassettes (no difference, in every protocol), each planted
//! defect caught with its kind and path, transport faults, noise learning, the baseline ratchet, cassette
//! against cassette, and the reports read by real parsers (jsonschema, junitparser, headless Chromium).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use serde_json::{Value, json};
use snomed_vcr::client::ClientConfig;
use snomed_vcr::diff::{self, DiffConfig, Difference, Kind, ProtocolChoice, Report, Subject, Target, View};
use snomed_vcr::model::oracle::Oracle;
use snomed_vcr::reference::Defect;
use snomed_vcr::server::Handler;
use snomed_vcr::{Client, Endpoint, Reference, ReferenceConfig, Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::{BIN, Proc, manifest_dir, python, run_python, scratch_dir};

fn golden() -> PathBuf {
    manifest_dir().join("cassettes")
}

fn golden_file(name: &str) -> PathBuf {
    golden().join(name)
}

async fn serve<H: Handler>(handler: H) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::spawn(listener, Arc::new(handler), ServerConfig::default()).unwrap()
}

async fn reference(defect: Option<Defect>) -> Server {
    serve(Reference::new(ReferenceConfig { defect, ..ReferenceConfig::default() })).await
}

fn config(url: &str, cassettes: Vec<PathBuf>) -> DiffConfig {
    let mut client = ClientConfig::new(Endpoint::parse(url, "us-east-1").unwrap());
    client.timeout = Duration::from_secs(5);
    DiffConfig::new(cassettes, Subject::Service(Target::http(Client::with_config(client).unwrap())))
}

/// Every difference, with the cassette's file name and the chain's number.
fn all(report: &Report) -> Vec<(String, usize, &Difference)> {
    report
        .cassettes
        .iter()
        .flat_map(|c| c.chains.iter().flat_map(move |ch| ch.differences.iter().map(move |d| (c.name(), ch.chain, d))))
        .collect()
}

fn kinds(report: &Report) -> std::collections::BTreeSet<&'static str> {
    all(report).iter().map(|(_, _, d)| d.kind.name()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_has_no_difference_with_its_own_cassettes_in_any_protocol() {
    let server = reference(None).await;
    for protocol in [ProtocolChoice::Recorded, ProtocolChoice::Json, ProtocolChoice::Cbor, ProtocolChoice::Both] {
        for view in [View::Logical, View::Strict] {
            let mut c = config(&server.uri(), vec![golden()]);
            c.protocol = protocol;
            c.view = view;
            let report = diff::diff(&c).await.unwrap();
            assert_eq!(all(&report).len(), 0, "{protocol:?} {view:?}: {:#?}", all(&report));
            assert!(!report.failed());
            // 22 chains of ListSNOMEDCTInferenceJobs and 18 of its siblings (the *-family cassettes).
            let chains = if protocol == ProtocolChoice::Both { 80 } else { 40 };
            assert_eq!(report.totals.chains, chains, "{protocol:?}: every chain of the seven cassettes was run");
            assert!(report.totals.jobs > 1000, "{:?}", report.totals);
        }
    }
}

/// What each planted defect must be reported as: a difference it must produce, and the only kinds allowed.
/// Whether a difference (in the named cassette) is the one expected.
type Wanted = Box<dyn Fn(&str, &Difference) -> bool>;

/// `None`: the golden traffic does not exercise the defect (no request of it reaches the planted code), so
/// diff has nothing to compare; `fuzz` finds it (tests/it/fuzz.rs).
fn expectation(defect: Defect) -> Option<(&'static [&'static str], Wanted)> {
    let list = "$.ComprehendMedicalAsyncJobPropertiesList";
    let field = move |d: &Difference, f: &str| {
        let p = d.path.to_string();
        p.starts_with(&format!("{list}[JobId=")) && p.ends_with(&format!("].{f}"))
    };
    Some(match defect {
        Defect::StatusIgnoredWithName
        | Defect::MaxResults500Refused
        | Defect::LongNameAccepted
        | Defect::EmptyTokenAccepted
        | Defect::LowercaseStatusAccepted => return None,
        // The golden filters list by "ed-notes", a prefix of other jobs' names.
        Defect::NamePrefix => (
            &["extra"],
            Box::new(move |c, d| {
                c == "boto3-filters.json"
                    && d.kind == Kind::Extra
                    && d.path.to_string().starts_with(&format!("{list}[JobId="))
            }),
        ),
        Defect::AfterOldestFirst => (
            &["moved", "oracle"],
            Box::new(move |c, d| {
                c == "boto3-bounds.json"
                    && d.kind == Kind::Oracle
                    && d.oracle == Some(Oracle::DocumentedOrder)
                    && field(d, "SubmitTime")
            }),
        ),
        Defect::AfterIgnoredWithBefore => (
            &["extra", "oracle"],
            Box::new(move |_, d| d.kind == Kind::Oracle && d.oracle == Some(Oracle::Filter) && field(d, "SubmitTime")),
        ),
        Defect::CborUntaggedTimestamps => (
            &["oracle"],
            Box::new(|c, d| {
                c == "rust-sdk-cbor.json" && d.oracle == Some(Oracle::OutputShape) && d.message.contains("tag-1")
            }),
        ),
        Defect::ErrorTypeHeaderOnly => (
            &["oracle"],
            Box::new(|c, d| {
                c == "boto3-errors.json" && d.oracle == Some(Oracle::Validation) && d.message.contains("`__type`")
            }),
        ),
        Defect::DropsLastPage => (
            &["missing"],
            Box::new(move |_, d| d.kind == Kind::Missing && d.path.to_string().starts_with(&format!("{list}[JobId="))),
        ),
        Defect::EndBeforeSubmit => (
            &["body", "oracle"],
            Box::new(move |_, d| {
                d.kind == Kind::Oracle && d.oracle == Some(Oracle::OutputShape) && field(d, "EndTime")
            }),
        ),
        Defect::CborErrorAsJson => {
            (&["transport"], Box::new(|c, d| c == "rust-sdk-cbor.json" && d.message.contains("not the protocol's")))
        }
        Defect::PageOverflow => (
            &["oracle"],
            Box::new(move |_, d| d.kind == Kind::Oracle && d.oracle == Some(Oracle::PageSize) && d.path == list),
        ),
        Defect::InclusiveBefore => (
            &["extra"],
            Box::new(move |c, d| {
                c == "boto3-bounds.json"
                    && d.kind == Kind::Extra
                    && d.path.to_string() == format!("{list}[JobId=924e45fa8522f746a77b0419e7794167]")
            }),
        ),
        Defect::ReversedBefore => (
            &["moved", "oracle"],
            Box::new(move |_, d| {
                (d.kind == Kind::Oracle && d.oracle == Some(Oracle::DocumentedOrder) && field(d, "SubmitTime"))
                    || (d.kind == Kind::Moved && d.path.to_string().starts_with(&format!("{list}[JobId=")))
            }),
        ),
        Defect::RepeatLastJob => (
            &["duplicate"],
            Box::new(move |_, d| d.kind == Kind::Duplicate && d.message.contains("listed again (first on page")),
        ),
        Defect::StatusFilterFirstPage => (
            &["extra", "oracle"],
            Box::new(move |_, d| d.kind == Kind::Oracle && d.oracle == Some(Oracle::Filter) && field(d, "JobStatus")),
        ),
        Defect::TokenServerError => (
            &["status", "error-code"],
            Box::new(|c, d| {
                c == "boto3-errors.json"
                    && d.kind == Kind::Status
                    && d.recorded == Some(json!(400))
                    && d.received == Some(json!(500))
            }),
        ),
        Defect::MissingMiddleToken => (
            &["missing", "pagination"],
            Box::new(|_, d| {
                d.kind == Kind::Pagination && d.message.starts_with("target ended after page 2; the cassette has")
            }),
        ),
        Defect::MillisTimestamps => (
            &["body", "oracle"],
            Box::new(move |_, d| {
                d.kind == Kind::Body && field(d, "SubmitTime") && d.message.contains("not a plausible")
            }),
        ),
        Defect::UnknownStatus => (
            &["body", "oracle"],
            Box::new(move |_, d| {
                (d.kind == Kind::Oracle && d.oracle == Some(Oracle::OutputShape) && field(d, "JobStatus"))
                    || (d.kind == Kind::Body
                        && field(d, "JobStatus")
                        && d.recorded == Some(json!("PARTIAL_SUCCESS"))
                        && d.received == Some(json!("PARTIALLY_COMPLETED")))
            }),
        ),
        Defect::WrongErrorType => (
            &["error-code"],
            Box::new(|_, d| {
                d.kind == Kind::ErrorCode
                    && d.recorded == Some(json!("ValidationException"))
                    && d.received == Some(json!("InvalidRequestException"))
            }),
        ),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_budget_that_fits_one_chain_at_a_time_is_crowding_never_a_difference() {
    let server = reference(None).await;
    let mut c = config(&server.uri(), vec![golden()]);
    c.concurrency = 8;
    // Room for about one of the biggest chains (the 240-job walks) at a time: those crowded out run again alone.
    c.budget = snomed_vcr::client::ByteBudget::new(8 << 20, 1 << 20);
    let report = diff::diff(&c).await.unwrap();
    assert_eq!(all(&report).len(), 0, "{:#?}", all(&report));
    assert_eq!(report.totals.chains, 40);
    assert!(report.totals.run_alone > 0, "some chain was crowded out: {:?}", report.totals);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_planted_defect_is_caught_with_its_kind_and_path() {
    for defect in Defect::ALL {
        let server = reference(Some(defect)).await;
        let report = diff::diff(&config(&server.uri(), vec![golden()])).await.unwrap();
        let Some((allowed, wanted)) = expectation(defect) else {
            server.shutdown().await;
            continue;
        };
        let found = all(&report);
        assert!(report.failed(), "{defect}: not caught");
        assert!(found.iter().any(|(c, _, d)| wanted(c, d)), "{defect}: the expected difference is missing: {found:#?}");
        let seen = kinds(&report);
        assert!(seen.iter().all(|k| allowed.contains(k)), "{defect}: kinds {seen:?}, expected only {allowed:?}");
        // The ReversedBefore and UnknownStatus cases need both parts of the expectation, not either.
        if matches!(defect, Defect::ReversedBefore | Defect::UnknownStatus) {
            assert_eq!(seen.len(), 2, "{defect}: {seen:?}");
        }
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strict_view_reports_a_different_page_split_that_the_logical_view_accepts() {
    let server = reference(Some(Defect::PageOverflow)).await;
    let mut c = config(&server.uri(), vec![golden_file("boto3-walk.json")]);
    let logical = diff::diff(&c).await.unwrap();
    assert_eq!(kinds(&logical), ["oracle"].into(), "only the page-size limit: the same jobs, split otherwise");
    c.view = View::Strict;
    let strict = diff::diff(&c).await.unwrap();
    let k = kinds(&strict);
    assert!(k.contains("missing") && k.contains("extra") && k.contains("oracle"), "{k:?}");
}

/// The reference, with every job's ModelVersion different on every answer (and, if `ids`, every JobId too).
struct Noisy {
    inner: Reference,
    n: AtomicU64,
    ids: bool,
}

impl Handler for Noisy {
    async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let resp = self.inner.handle(req).await;
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        let (parts, body) = resp.into_parts();
        let json =
            parts.headers.get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"application/x-amz-json"));
        let Ok(mut doc) = serde_json::from_slice::<Value>(&body) else { return Response::from_parts(parts, body) };
        if !(json && parts.status == 200) {
            return Response::from_parts(parts, body);
        }
        for job in doc["ComprehendMedicalAsyncJobPropertiesList"].as_array_mut().into_iter().flatten() {
            job["ModelVersion"] = json!(format!("2.{n}.0"));
            if self.ids {
                job["JobId"] = json!(format!("{}-{n}", job["JobId"].as_str().unwrap_or("")));
            }
        }
        let mut parts = parts;
        parts.headers.remove("content-length");
        Response::from_parts(parts, Bytes::from(serde_json::to_vec(&doc).unwrap()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noise_is_learned_then_ignored_and_over_broad_noise_is_refused() {
    let dir = scratch_dir("diff-noise");
    let noisy =
        serve(Noisy { inner: Reference::new(ReferenceConfig::default()), n: AtomicU64::new(0), ids: false }).await;
    let cassette = golden_file("boto3-filters.json");
    let before = diff::diff(&config(&noisy.uri(), vec![cassette.clone()])).await.unwrap();
    let found = all(&before);
    // A chain lists at most 100 differences and counts the rest in one more.
    let counted = |d: &Difference| d.path == "$" && d.message.contains("more difference(s) in this chain");
    assert!(
        !found.is_empty()
            && found.iter().all(|(_, _, d)| d.path.to_string().ends_with(".ModelVersion") || counted(d))
            && found.iter().filter(|(_, _, d)| counted(d)).count() < found.len() / 50,
        "{found:#?}"
    );

    let (learned, how) = diff::learn_noise(&config(&noisy.uri(), vec![cassette.clone()]), 3).await.unwrap();
    assert_eq!(learned.refused, vec![], "request ids and a varying field are not over-broad");
    assert_eq!(learned.noise.len(), 1, "{learned:#?}");
    assert_eq!(learned.noise[0].path.to_string(), "$.ComprehendMedicalAsyncJobPropertiesList[*].ModelVersion");
    assert!(learned.noise[0].evidence.len() >= 2, "values seen: {:?}", learned.noise[0].evidence);
    let rules = dir.join("noise.toml");
    let said = learned.write(&rules, &how).unwrap();
    assert!(said.contains("1 noise path(s) written"), "{said}");
    let text = std::fs::read_to_string(&rules).unwrap();
    assert!(text.contains("ignore = true") && text.contains("evidence = [\"2."), "{text}");

    let mut c = config(&noisy.uri(), vec![cassette.clone()]);
    c.rules = diff::Rules::load(&rules).unwrap();
    let after = diff::diff(&c).await.unwrap();
    assert_eq!(all(&after).len(), 0, "{:#?}", all(&after));

    // JobIds that change between runs are whole jobs coming and going: refused, with the reason.
    let shifty =
        serve(Noisy { inner: Reference::new(ReferenceConfig::default()), n: AtomicU64::new(0), ids: true }).await;
    let (learned, _) = diff::learn_noise(&config(&shifty.uri(), vec![cassette]), 2).await.unwrap();
    let refused: Vec<String> = learned.refused.iter().map(|r| format!("{}: {}", r.path, r.why)).collect();
    assert!(
        refused.iter().any(|r| r.starts_with("$.ComprehendMedicalAsyncJobPropertiesList[*]: whole jobs come and go")),
        "{refused:#?}"
    );
    assert!(learned.noise.iter().all(|c| !c.path.to_string().ends_with("JobId")), "{learned:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baseline_accepts_known_differences_and_ratchets() {
    let defective = reference(Some(Defect::WrongErrorType)).await;
    let clean = reference(None).await;
    let cassettes = vec![golden_file("boto3-errors.json")];
    let first = diff::diff(&config(&defective.uri(), cassettes.clone())).await.unwrap();
    let baseline = diff::baseline::Baseline::from_report(&first);
    assert_eq!(baseline.accepted.len(), 4, "the four validation errors: {baseline:#?}");

    let mut c = config(&defective.uri(), cassettes.clone());
    c.baseline = Some(baseline.clone());
    let accepted = diff::diff(&c).await.unwrap();
    assert!(!accepted.failed(), "every difference is known");
    assert_eq!((accepted.totals.differences, accepted.totals.accepted), (0, 4));
    assert!(accepted.cassettes[0].chains.iter().any(|ch| ch.verdict == diff::Verdict::Accepted));

    // Fixed: the entries no longer occur, and the run fails until the baseline shrinks.
    let mut c = config(&clean.uri(), cassettes.clone());
    c.baseline = Some(baseline.clone());
    let fixed = diff::diff(&c).await.unwrap();
    assert_eq!(fixed.stale.len(), 4);
    assert!(fixed.failed(), "a stale baseline entry fails the run");
    let shrunk = diff::baseline::Baseline::from_report(&fixed);
    assert!(shrunk.accepted.is_empty());

    // A new difference is not hidden by an old baseline.
    let other = reference(Some(Defect::TokenServerError)).await;
    let mut c = config(&other.uri(), cassettes);
    c.baseline = Some(baseline);
    let new = diff::diff(&c).await.unwrap();
    assert!(new.totals.differences >= 1 && new.failed());
}

/// A TCP server that answers every connection with `answer` (then closes), or holds it open when `None`.
async fn raw_server(answer: Option<&'static [u8]>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            match answer {
                Some(bytes) => {
                    let _ = s.write_all(bytes).await;
                    let _ = s.shutdown().await;
                }
                None => held.push(s),
            }
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_faults_are_differences_that_name_the_cause() {
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let hangs = raw_server(None).await;
    let cut = raw_server(Some(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 500\r\n\r\n{\"Compre",
    ))
    .await;
    let garbage = raw_server(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world")).await;
    let diff_with = |url: &str| {
        let mut client = ClientConfig::new(Endpoint::parse(url, "us-east-1").unwrap());
        client.timeout = Duration::from_millis(300);
        DiffConfig::new(
            vec![golden_file("boto3-walk.json")],
            Subject::Service(Target::http(Client::with_config(client).unwrap())),
        )
    };
    // Nothing reached at all is no comparison: an error that names the target and the cause.
    let e = diff::diff(&diff_with(&down)).await.unwrap_err().to_string();
    assert!(e.starts_with(&format!("cannot reach the target {down}: cannot connect")), "{e}");
    for (url, cause) in [
        (hangs, "no whole answer within 300ms"),
        (cut, "the connection closed before the answer was whole"),
        (garbage, "the HTTP 200 answer is not the protocol's"),
    ] {
        let report = diff::diff(&diff_with(&url)).await.unwrap();
        let found = all(&report);
        assert_eq!(found.len(), 1, "{cause}: one difference for the one failed interaction: {found:#?}");
        let d = found[0].2;
        assert_eq!((d.kind, d.page, d.interaction), (Kind::Transport, Some(1), Some(0)), "{d:?}");
        assert!(d.message.starts_with(cause), "expected '{cause}…', got '{}'", d.message);
    }
}

fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).env("NO_COLOR", "1").stdin(Stdio::null()).output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_line_keeps_its_exit_codes_and_says_what_is_wrong() {
    let clean = Proc::start(&["reference"]);
    let golden = golden();
    let g = golden.to_str().unwrap();
    let (code, out, _) = run_cli(&["diff", "--cassette", g, "--target", &clean.url, "--protocol", "both"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 difference(s)") && !out.contains('\x1b'), "{out}");

    let bad = Proc::start(&["reference", "--defect", "missing-middle-token"]);
    let (code, out, _) = run_cli(&["diff", "--cassette", g, "--target", &bad.url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("target ended after page 2; the cassette has 7"), "{out}");
    assert!(out.contains("NextToken presence differs in"), "the summary: {out}");
    assert!(out.contains("recording (-) against target (+)"), "a rendered diff: {out}");

    for (args, says) in [
        (vec!["diff", "--target", clean.url.as_str()], "diff needs --cassette PATH and --target URL"),
        (vec!["diff", "--cassette", g, "--target", "ftp://x"], "--target:"),
        (vec!["diff", "--cassette", "/no/such/dir", "--target", clean.url.as_str()], "/no/such/dir"),
        (vec!["diff", "--cassette", g, "--target", clean.url.as_str(), "--concurrency", "0"], "--concurrency"),
    ] {
        let (code, _, err) = run_cli(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: expected '{says}' in: {err}");
    }
    let dir = scratch_dir("diff-cli-rules");
    let rules = dir.join("bad.toml");
    std::fs::write(
        &rules,
        "[[rule]]\npath = \"$.ComprehendMedicalAsyncJobPropertiesList[0].JobStatus\"\nignore = true\n",
    )
    .unwrap();
    let (code, _, err) =
        run_cli(&["diff", "--cassette", g, "--target", &clean.url, "--rules", rules.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml: line 1: [[rule]] path:") && err.contains("by index"), "{err}");

    let (code, printed, _) = run_cli(&["diff", "--print-rules"]);
    assert_eq!(code, 0);
    assert!(printed.contains("keyed = \"JobId\"") && printed.contains("ordered = \"documented\""), "{printed}");
    let mut again = diff::Rules { rules: Vec::new(), ..diff::Rules::defaults() };
    again.extend_from_toml(&printed).unwrap();
    assert_eq!(again, diff::Rules::defaults(), "--print-rules prints rules that read back");
}

#[test]
fn rules_ignore_a_path_by_wildcard_and_the_baseline_works_from_the_command_line() {
    let bad = Proc::start(&["reference", "--defect", "millis-timestamps"]);
    let dir = scratch_dir("diff-cli-baseline");
    let walk = golden_file("boto3-walk.json");
    let w = walk.to_str().unwrap();
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\npath = \"$.ComprehendMedicalAsyncJobPropertiesList[*].SubmitTime\"\nignore = true\n\n\
         [[rule]]\npath = \"$.ComprehendMedicalAsyncJobPropertiesList[*].EndTime\"\nignore = true\n",
    )
    .unwrap();
    let (code, out, _) = run_cli(&["diff", "--cassette", w, "--target", &bad.url, "--rules", rules.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("ExpirationTime differs in") && !out.contains("SubmitTime differs"), "{out}");

    let baseline = dir.join("baseline.json");
    let b = baseline.to_str().unwrap();
    let (code, _, err) =
        run_cli(&["diff", "--cassette", w, "--target", &bad.url, "--baseline", b, "--baseline-update"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("accepted difference(s) written"), "{err}");
    let (code, out, _) = run_cli(&["diff", "--cassette", w, "--target", &bad.url, "--baseline", b]);
    assert_eq!(code, 0, "all known: {out}");
    assert!(out.contains("accepted difference(s)"), "{out}");
    let clean = Proc::start(&["reference"]);
    let (code, out, _) = run_cli(&["diff", "--cassette", w, "--target", &clean.url, "--baseline", b]);
    assert_eq!(code, 1, "stale entries fail the run: {out}");
    assert!(out.contains("no longer occur; run with --baseline-update to drop them"), "{out}");
    let (code, _, _) =
        run_cli(&["diff", "--cassette", w, "--target", &clean.url, "--baseline", b, "--baseline-update"]);
    assert_eq!(code, 0);
    let (code, _, _) = run_cli(&["diff", "--cassette", w, "--target", &clean.url, "--baseline", b]);
    assert_eq!(code, 0, "the baseline shrank to nothing");
}

/// A copy of `from` re-recorded "months later": every token different, one job's status changed.
fn rerecorded(from: &Path, to: &Path) -> String {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(from).unwrap()).unwrap();
    let mut changed = String::new();
    for it in doc["interactions"].as_array_mut().unwrap() {
        for side in ["request", "response"] {
            if let Some(t) = it[side]["body"]["NextToken"].as_str() {
                it[side]["body"]["NextToken"] = json!(format!("v2-{t}"));
            }
        }
        if changed.is_empty()
            && let Some(job) = it["response"]["body"]["ComprehendMedicalAsyncJobPropertiesList"].get_mut(3)
        {
            changed = job["JobId"].as_str().unwrap().to_string();
            job["JobStatus"] = json!("STOPPED");
        }
    }
    std::fs::write(to, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    changed
}

#[test]
fn two_recordings_of_the_same_traffic_are_compared_chain_by_chain() {
    let dir = scratch_dir("diff-two-cassettes");
    let a = golden_file("boto3-walk.json");
    let b = dir.join("boto3-walk-later.json");
    let job = rerecorded(&a, &b);
    let (code, out, _) = run_cli(&["diff", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run_cli(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let diffs: Vec<&Value> = report["report"]["cassettes"][0]["chains"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["differences"].as_array().unwrap())
        .collect();
    assert_eq!(diffs.len(), 1, "tokens differ by value only: {diffs:#?}");
    assert_eq!(diffs[0]["path"], format!("$.ComprehendMedicalAsyncJobPropertiesList[JobId={job}].JobStatus"));
    assert_eq!(diffs[0]["received"], "STOPPED");
}

/// `diff`'s report of the golden cassettes against `target` in `format`, written to `dir/report.FORMAT`.
fn report_of(dir: &std::path::Path, target: &str, format: &str) -> PathBuf {
    let file = dir.join(format!("report.{format}"));
    let g = golden();
    let (code, stdout, err) = run_cli(&[
        "diff",
        "--cassette",
        g.to_str().unwrap(),
        "--target",
        target,
        "--format",
        format,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{format}: {stdout}{err}");
    assert!(stdout.is_empty(), "--out takes the report off stdout");
    file
}

/// The reports of a diff that finds something, each read by a real parser.
#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn reports_are_read_by_real_parsers() {
    let py = python();
    let bad = Proc::start(&["reference", "--defect", "unknown-status"]);
    let dir = scratch_dir("diff-reports");
    // JSON, against its committed schema.
    let json = report_of(&dir, &bad.url, "json");
    let schema = manifest_dir().join("schemas/diff-report.json");
    let checked = run_python(&py, "check_schema.py", &[schema.to_str().unwrap(), json.to_str().unwrap()]);
    assert_eq!(checked.trim(), format!("ok {}", json.display()), "{checked}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["verdict"], "differs");

    // JUnit: a suite per cassette, a case per chain, failures where chains differ.
    let junit = report_of(&dir, &bad.url, "junit");
    let parsed = run_python(&py, "check_junit.py", &[junit.to_str().unwrap()]);
    let suites: Vec<&str> = parsed.lines().filter(|l| l.starts_with("suite ")).collect();
    assert_eq!(suites.len(), 7, "{parsed}");
    assert!(parsed.contains("suite boto3-walk.json tests=1 failures=1"), "{parsed}");
    assert!(parsed.contains("suite boto3-errors.json tests=7 failures=1"), "{parsed}");
    let failure = parsed.lines().find(|l| l.starts_with("boto3-walk.json |")).unwrap();
    assert!(failure.contains("| failure |") && failure.contains("difference(s); first:"), "{failure}");
}

/// The HTML report in headless Chromium: rendered, and the changed span marked in the DOM.
#[cfg_attr(
    no_chromium,
    ignore = "needs Chromium at /usr/bin/chromium (or SNOMED_VCR_CHROMIUM): `bash .ci/run` installs it"
)]
#[test]
fn the_html_report_renders_in_chromium_with_the_change_marked() {
    let chromium = chromium();
    let bad = Proc::start(&["reference", "--defect", "unknown-status"]);
    let dir = scratch_dir("diff-html");
    let html = report_of(&dir, &bad.url, "html");
    let profile = dir.join("chromium-profile");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let url = format!("file://{}", html.display());
    let dom = Command::new(&chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", &url])
        .stdin(Stdio::null())
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    let mark = "<mark class=\"changed\">\"PARTIALLY_COMPLETED\"";
    let at = dom.find(mark).unwrap_or_else(|| panic!("the changed span is marked: {}", &dom[..dom.len().min(3000)]));
    let cell = &dom[dom[..at].rfind("<td").unwrap()..at];
    assert!(cell.starts_with("<td class=\"ins\">"), "marked in the target's column: {cell}");
    let old = dom.find("<mark class=\"changed\">\"PARTIAL_SUCCESS\"").expect("and the recorded side's span");
    // The target's real account ids beside the recording's placeholders are not changes, and not marked.
    let account = regex::Regex::new(r#"<mark class="changed">[^<]*(111122223333|000000000001)"#).unwrap();
    assert!(!account.is_match(&dom), "an account id is marked: {:?}", account.find(&dom));
    assert!(dom[..old].rfind("<td").is_some_and(|i| dom[i..].starts_with("<td class=\"del\">")));
    assert!(dom.contains("data-verdict=\"differs\"") && dom.contains("id=\"filters\""), "verdicts and the filter");
    let shot = dir.join("report.png");
    let status = Command::new(&chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([&format!("--screenshot={}", shot.display()), "--window-size=1280,1600", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("chromium runs");
    assert!(status.success());
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot, {} bytes", png.len());
}

/// Debian's Chromium, or a failure that names the fix. (Where it is missing outside CI, build.rs compiles the
/// checks that need it as ignored.)
fn chromium() -> PathBuf {
    let path = PathBuf::from(std::env::var_os("SNOMED_VCR_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()));
    assert!(
        path.exists(),
        "no Chromium at {}: run `apt-get install -y chromium` (`bash .ci/run` does it), or set SNOMED_VCR_CHROMIUM",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_token_is_sent_as_the_targets_own_and_the_report_does_not_depend_on_concurrency() {
    // boto3-walk's first two pages, then the second page's request again: its token reused.
    let dir = scratch_dir("diff-reused");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(golden_file("boto3-walk.json")).unwrap()).unwrap();
    let its = doc["interactions"].as_array_mut().unwrap();
    its.truncate(2);
    let mut again = its[1].clone();
    again["seq"] = json!(2);
    its.push(again);
    let cassette = dir.join("reused.json");
    std::fs::write(&cassette, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let starts: Vec<_> = snomed_vcr::Cassette::load(&cassette).unwrap().chains().iter().map(|c| c.start).collect();
    assert_eq!(starts, [snomed_vcr::model::Start::Fresh, snomed_vcr::model::Start::ReusedToken]);

    // A target whose tokens are keyed otherwise: every recorded token is foreign to it.
    let other_key = ReferenceConfig {
        token_key: snomed_vcr::reference::token::TokenKey::from_secret("not the recording's"),
        ..ReferenceConfig::default()
    };
    let server = serve(Reference::new(other_key)).await;
    let report = diff::diff(&config(&server.uri(), vec![cassette])).await.unwrap();
    assert_eq!(all(&report).len(), 0, "the reused token was mapped to the target's: {:#?}", all(&report));

    let bad = reference(Some(Defect::StatusFilterFirstPage)).await;
    let render = |concurrency: usize| {
        let mut c = config(&bad.uri(), vec![golden()]);
        c.concurrency = concurrency;
        async move { diff::report::render(&diff::diff(&c).await.unwrap(), diff::report::Format::Json, false) }
    };
    let (one, eight) = (render(1).await, render(8).await);
    assert!(one.contains("\"oracle\": \"filter\""), "the defect is found");
    assert_eq!(one, eight, "the same report at any concurrency");
}

#[test]
fn an_https_target_that_requires_sigv4_is_diffed_with_sign_and_a_ca_file() {
    let dir = scratch_dir("diff-https");
    let (ca, cert, key) = crate::util::tls_files(&dir);
    let target = Proc::start(&[
        "reference",
        "--require-sigv4",
        "AKIDDIFFSIGNER:diff-secret",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(target.url.starts_with("https://"), "{}", target.url);
    let walk = golden_file("boto3-walk.json");
    let args =
        ["diff", "--cassette", walk.to_str().unwrap(), "--target", &target.url, "--ca-file", ca.to_str().unwrap()];
    let run = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", "AKIDDIFFSIGNER")
            .env("AWS_SECRET_ACCESS_KEY", "diff-secret")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = run(&["--sign", "--region", "us-east-1"]);
    assert_eq!(code, Some(0), "signed, over TLS with the test CA: {out}");
    let (code, out) = run(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("HTTP status 200 → 403") && out.contains("MissingAuthenticationTokenException"), "{out}");
}

#[test]
fn the_report_never_overwrites_an_input_and_a_baseline_never_accepts_a_transport_failure() {
    let dir = scratch_dir("diff-inputs");
    let cassette = dir.join("walk.json");
    std::fs::copy(golden_file("boto3-walk.json"), &cassette).unwrap();
    let before = std::fs::read(&cassette).unwrap();
    let reference = Proc::start(&["reference"]);
    let c = cassette.to_str().unwrap();
    let (code, _, err) = run_cli(&["diff", "--cassette", c, "--target", &reference.url, "--out", c]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is one of diff's inputs (--cassette)"), "{err}");
    assert_eq!(std::fs::read(&cassette).unwrap(), before, "the cassette is untouched");
    // A target that accepts connections and never answers: every chain is a transport failure, which
    // --baseline-update does not accept, so the next run against it still fails.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let hangs = rt.block_on(raw_server(None));
    let baseline = dir.join("baseline.json");
    let b = baseline.to_str().unwrap();
    let args = ["diff", "--cassette", c, "--target", &hangs, "--timeout", "0.3", "--baseline", b];
    let (code, _, err) = run_cli(&[&args[..], &["--baseline-update"]].concat());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("transport failure(s) not accepted"), "{err}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(written["accepted"], json!([]), "{written:#}");
    let (code, out, _) = run_cli(&args);
    assert_eq!(code, 1, "{out}");
    drop(rt);
    reference.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_code_given_only_in_x_amzn_errortype_is_read_from_there() {
    let url = raw_server(Some(
        b"HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: ValidationException:http://internal.amazon.com/coral/\r\n\
          content-type: application/x-amz-json-1.1\r\ncontent-length: 2\r\n\r\n{}",
    ))
    .await;
    let report = diff::diff(&config(&url, vec![golden_file("boto3-errors.json")])).await.unwrap();
    let chains = &report.cassettes[0].chains;
    let max_results_501 = chains.iter().find(|c| c.request == json!({"MaxResults": 501})).unwrap();
    // The code is read from the header (no error-code difference), and that it is not in the body, where the
    // SDKs read it, is the one difference: an oracle's.
    let d = &max_results_501.differences;
    assert_eq!(d.len(), 1, "400 ValidationException, from the header: {d:#?}");
    assert_eq!((d[0].kind, d[0].oracle), (Kind::Oracle, Some(Oracle::Validation)), "{d:#?}");
    assert!(d[0].message.contains("no `__type`"), "{}", d[0].message);
    let walk = chains.iter().find(|c| c.request == json!({"MaxResults": 5})).unwrap();
    assert!(walk.differences.iter().any(|d| d.kind == Kind::ErrorCode && d.message.contains("ValidationException")));
}

/// The reference, answering each request with other real account ids (consistent within the answer).
struct Reaccounting {
    inner: Reference,
    n: AtomicU64,
}

impl Handler for Reaccounting {
    async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = self.inner.handle(req).await.into_parts();
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        let text = String::from_utf8_lossy(&body)
            .replace("111122223333", &format!("{:012}", 200_000_000_000 + n * 2))
            .replace("444455556666", &format!("{:012}", 200_000_000_001 + n * 2));
        let mut parts = parts;
        parts.headers.remove("content-length");
        Response::from_parts(parts, Bytes::from(text))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placeholder_that_stands_for_two_real_ids_is_a_difference_even_across_chains() {
    // The same real ids as the recording's, whatever their numbering: no difference.
    let clean = reference(None).await;
    let report = diff::diff(&config(&clean.uri(), vec![golden_file("boto3-filters.json")])).await.unwrap();
    assert_eq!(all(&report).len(), 0);
    // Other real ids on every answer: each recorded placeholder now stands for many.
    let shifty = serve(Reaccounting { inner: Reference::new(ReferenceConfig::default()), n: AtomicU64::new(0) }).await;
    let mut c = config(&shifty.uri(), vec![golden_file("boto3-filters.json")]);
    c.concurrency = 1;
    let report = diff::diff(&c).await.unwrap();
    let found = all(&report);
    assert!(found.iter().all(|(_, _, d)| d.kind == Kind::Body), "{found:#?}");
    assert!(
        found.iter().any(|(_, _, d)| d.message.contains("stands for one value, but the target gives two")),
        "{found:#?}"
    );
    // A one-page chain can only be caught against the chains before it: the pairings are merged in order.
    let one_page: Vec<_> = report.cassettes[0]
        .chains
        .iter()
        .filter(|ch| ch.recorded_pages == 1 && ch.recorded_jobs > 0 && ch.chain > 1)
        .collect();
    assert!(!one_page.is_empty() && one_page.iter().all(|ch| ch.verdict == diff::Verdict::Differs), "{one_page:#?}");
}

/// The text report's side-by-side marks the real change, not the target's real account ids beside the
/// recording's placeholders (which diff does not count).
#[test]
fn the_text_side_by_side_marks_only_real_differences() {
    let bad = Proc::start(&["reference", "--defect", "unknown-status"]);
    let g = golden();
    let (code, stdout, err) = run_cli(&["diff", "--cassette", g.to_str().unwrap(), "--target", &bad.url]);
    assert_eq!(code, 1, "{stdout}{err}");
    let changed: Vec<&str> = stdout.lines().filter(|l| l.contains("│+") || l.contains("│-")).collect();
    assert!(changed.iter().any(|l| l.contains("PARTIALLY_COMPLETED")), "the real change is shown: {stdout}");
    assert!(
        changed.iter().all(|l| !l.contains("111122223333") && !l.contains("000000000001")),
        "account ids are not shown as changes: {changed:#?}"
    );
}
