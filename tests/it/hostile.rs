//! Hostile targets (`examples/hostile_server.rs`: a listing that never ends with 1-4 MB pages, no answer, a
//! redirect, HTML, half an answer, big pages that take 15 s): `fuzz` and `diff` end within their budgets with
//! a named finding or difference, or, when nothing can be read at all, with one line that names the cause.
//! Their memory is measured by `bench/hostile.sh`, not here.

use std::process::Command;
use std::time::{Duration, Instant};

use snomed_vcr::Client;
use snomed_vcr::client::ClientConfig;
use snomed_vcr::client::Target;
use snomed_vcr::diff::{self, DiffConfig, Kind, Subject};
use snomed_vcr::fuzzing::Oracle;
use snomed_vcr::fuzzing::{self, Budget, Expected, FuzzConfig, Outcome};

use crate::util::{BIN, manifest_dir};

#[path = "../../examples/hostile_server.rs"]
mod hostile_server;

use hostile_server::Mode;

/// Requests answered well before a mode's misbehaviour starts: past the fuzz warm-up.
const PAST_WARM_UP: usize = 40;

fn target(url: &str, timeout: Duration) -> Target {
    let mut c = ClientConfig::new(snomed_vcr::Endpoint::parse(url, "us-east-1").unwrap());
    c.timeout = timeout;
    Target::http(Client::with_config(c).unwrap())
}

async fn start(mode: Mode, after: usize) -> String {
    format!("http://{}", hostile_server::start(mode, after).await)
}

fn fuzz_config(url: &str, budget: Budget, timeout: Duration) -> FuzzConfig {
    let mut c = FuzzConfig::new(target(url, timeout));
    c.budget = budget;
    c.seed = 1;
    c.shrink_runs = 10;
    c.judge.timeout = timeout;
    c
}

/// The campaign found a `robustness` finding with this signature.
fn assert_robustness(o: &Outcome, signature: &str) {
    let hit = o.findings.iter().any(|f| f.violation.oracle == Oracle::Robustness && f.violation.signature == signature);
    assert!(hit, "no robustness finding '{signature}': {:?}", named(o));
}

fn named(o: &Outcome) -> Vec<String> {
    o.findings.iter().map(|f| format!("{}: {}", f.violation.oracle, f.violation.signature)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_hangs_after_forty_answers_is_a_finding_and_seconds_bound_the_whole_run() {
    let url = start(Mode::Hang, PAST_WARM_UP).await;
    let timeout = Duration::from_secs(2);
    let began = Instant::now();
    let o = fuzzing::run(&fuzz_config(&url, Budget::Time(Duration::from_secs(10)), timeout)).await.unwrap();
    let took = began.elapsed();
    assert!(took <= Duration::from_secs(10) + timeout + Duration::from_millis(500), "--seconds 10 took {took:?}");
    assert_robustness(&o, "no answer in time");
}

/// The command line first asks which list operations the target answers (`--operation all`): against a target
/// that never answers, that question too ends within `--seconds` (the five are asked at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seconds_bound_the_question_of_which_operations_a_target_that_never_answers_serves() {
    let url = start(Mode::Hang, 0).await;
    let began = Instant::now();
    let out = tokio::process::Command::new(crate::util::BIN)
        .args(["fuzz", "--target", &url, "--seconds", "3", "--timeout", "2"])
        .output()
        .await
        .unwrap();
    let took = began.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(took <= Duration::from_millis(3500), "--seconds 3 took {took:?}: {err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--seconds budget ran out during the warm-up"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_misbehaviour_after_the_warm_up_is_a_named_robustness_finding() {
    for (mode, signature) in [
        (Mode::Redirect, "redirect instead of an answer"),
        (Mode::Html, "answer not in the protocol"),
        (Mode::Close, "connection closed mid-answer"),
    ] {
        let url = start(mode, PAST_WARM_UP).await;
        let o = fuzzing::run(&fuzz_config(&url, Budget::Runs(30), Duration::from_secs(2))).await.unwrap();
        assert_robustness(&o, signature);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_never_ends_with_megabyte_pages_is_cut_at_the_byte_budget() {
    let url = start(Mode::Forever, PAST_WARM_UP).await;
    let o = fuzzing::run(&fuzz_config(&url, Budget::Runs(20), Duration::from_secs(5))).await.unwrap();
    let names = named(&o);
    assert!(names.iter().any(|n| n.starts_with("page-size")), "more jobs than MaxResults: {names:?}");
    assert!(
        names.iter().any(|n| n == "robustness: answer over the byte budget") || o.cut > 0,
        "the budget cut a listing or refused an answer: {names:?}, cut {}",
        o.cut
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_pages_that_take_fifteen_seconds_are_findings_and_the_warm_up_falls_back_to_smaller_ones() {
    let url = start(Mode::SlowBig, 0).await;
    let o = fuzzing::run(&fuzz_config(&url, Budget::Time(Duration::from_secs(8)), Duration::from_secs(1))).await;
    let o = o.expect("a slow target is fuzzed, not abandoned");
    assert!(o.learned.iter().any(|l| l.starts_with("population: 240 job(s), complete")), "{:?}", o.learned);
    assert_robustness(&o, "no answer in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_nothing_can_be_read_from_stops_fuzz_after_one_timeout_with_the_cause() {
    let timeout = Duration::from_secs(1);
    for (mode, cause) in [
        (Mode::Hang, "no whole answer within 1s"),
        (Mode::Redirect, "HTTP 302 (a redirect to http://elsewhere.invalid/)"),
        (Mode::Html, "is not the protocol's"),
        (Mode::Close, "closed before the answer was whole"),
    ] {
        let url = start(mode, 0).await;
        let began = Instant::now();
        let e = fuzzing::run(&fuzz_config(&url, Budget::Runs(10), timeout)).await.unwrap_err().to_string();
        assert!(e.contains("the target cannot be fuzzed") && e.contains(cause), "{mode:?}: {e}");
        assert!(began.elapsed() < timeout * 2, "{mode:?}: {:?}, not one timeout", began.elapsed());
    }
    // The other implementation is checked the same way: a dead or non-AWS one is no expected side.
    let reference = start(Mode::Html, usize::MAX).await;
    for (against, cause) in [(start(Mode::Html, 0).await, "not the protocol's"), (dead(), "cannot connect")] {
        let mut c = fuzz_config(&reference, Budget::Runs(10), timeout);
        c.expected = Expected::Against(target(&against, timeout));
        let e = fuzzing::run(&c).await.unwrap_err().to_string();
        assert!(e.starts_with(&format!("--against {against}")) && e.contains(cause), "{e}");
    }
}

fn dead() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_says_why_in_one_line_and_exits_2() {
    let url = start(Mode::Redirect, 0).await;
    let out = tokio::process::Command::new(BIN).args(["fuzz", "--target", &url, "--runs", "5"]).output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("HTTP 302"), "{err}");
    let down = dead();
    let cassette = manifest_dir().join("cassettes/boto3-walk.json");
    let out =
        Command::new(BIN).args(["diff", "--cassette", cassette.to_str().unwrap(), "--target", &down]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!((out.status.code(), err.lines().count()), (Some(2), 1), "{err}");
    assert!(err.contains("cannot reach the target") && err.contains("cannot connect"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_names_each_misbehaviour_and_cuts_a_listing_that_never_ends() {
    let cassette = manifest_dir().join("cassettes/boto3-walk.json");
    let timeout = Duration::from_secs(1);
    for (mode, kind, words) in [
        (Mode::Hang, Kind::Transport, "no whole answer within 1s"),
        (Mode::Redirect, Kind::Transport, "redirect to http://elsewhere.invalid/"),
        (Mode::Html, Kind::Transport, "is not the protocol's"),
        (Mode::Close, Kind::Transport, "closed before the answer was whole"),
        (Mode::Forever, Kind::Transport, "byte budget"),
    ] {
        let url = start(mode, 2).await;
        let config = DiffConfig::new(vec![cassette.clone()], Subject::Service(target(&url, timeout)));
        let report = diff::diff(&config).await.unwrap();
        let found: Vec<_> =
            report.cassettes.iter().flat_map(|c| c.chains.iter().flat_map(|ch| ch.differences.iter())).collect();
        assert!(found.iter().any(|d| d.kind == kind && d.message.contains(words)), "{mode:?}: {found:#?}");
        assert!(found.len() <= 101 * report.totals.chains, "{mode:?}: {} differences", found.len());
    }
}
