//! Trust against implementations nobody here wrote. Every knob a correct service turns (`reference`'s flags:
//! short pages, an empty last page, random tokens, its own wording, another bad-token error, latency by page
//! size, the variant's orders, a live population), alone and all together, gives no finding from `fuzz`:
//! without a recording, with a recording made from that same service, and, for the paging knobs, with the
//! plain reference's recording, which `diff`'s logical view also finds no difference with. A live service
//! gives nothing but unstable findings for a minute. And a planted bug is caught on the evidence of a
//! recording that only rules its behaviour out.

use std::sync::Arc;
use std::time::Duration;

use snomed_vcr::client::ClientConfig;
use snomed_vcr::client::Target;
use snomed_vcr::diff::{self, DiffConfig, Subject};
use snomed_vcr::fuzzing::{self, Budget, Expected, FuzzConfig, Outcome};
use snomed_vcr::fuzzing::{Basis, Learned, Oracle};
use snomed_vcr::reference::{Choices, Defect, Delay};
use snomed_vcr::{Client, Reference, ReferenceConfig, Server, ServerConfig};

use crate::util::{manifest_dir, record_traffic, scratch_dir};

async fn serve(config: ReferenceConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::spawn(listener, Arc::new(Reference::new(config)), ServerConfig::default()).unwrap()
}

fn target(url: &str) -> Target {
    let mut c = ClientConfig::new(snomed_vcr::Endpoint::parse(url, "us-east-1").unwrap());
    c.timeout = Duration::from_secs(5);
    Target::http(Client::with_config(c).unwrap())
}

/// A seeded campaign of `runs` cases, held to `recording` when given.
async fn fuzz(url: &str, runs: u64, recording: Option<Arc<Learned>>) -> Outcome {
    let mut c = FuzzConfig::new(target(url));
    c.budget = Budget::Runs(runs);
    c.seed = 7;
    c.shrink_runs = 20;
    if let Some(l) = recording {
        c.judge.semantics = l.semantics();
        c.expected = Expected::Recording(l);
    }
    fuzzing::run(&c).await.unwrap()
}

fn describe(o: &Outcome) -> String {
    o.findings
        .iter()
        .map(|f| format!("{}: {} — {}\n", f.violation.oracle, f.violation.signature, f.violation.message))
        .collect()
}

/// Each knob, named, and whether it only changes how a listing is paged.
fn knobs() -> Vec<(&'static str, ReferenceConfig, bool)> {
    let with = |choices: Choices| ReferenceConfig { choices, ..ReferenceConfig::default() };
    let r = Choices::REFERENCE;
    let slow = Some(Delay { base: Duration::from_millis(1), per_job: Duration::from_micros(20) });
    let everything = Choices {
        short_pages: true,
        empty_last_page: true,
        random_tokens: true,
        token_error: Some((400, "ValidationException".into())),
        ..Choices::variant()
    };
    vec![
        ("short pages", with(Choices { short_pages: true, ..r.clone() }), true),
        ("an empty last page", with(Choices { empty_last_page: true, ..r.clone() }), true),
        ("random tokens, new on every call", with(Choices { random_tokens: true, ..r.clone() }), true),
        ("latency by page size", ReferenceConfig { latency: slow, ..ReferenceConfig::default() }, true),
        (
            "terse messages",
            with(Choices { messages: snomed_vcr::reference::choices::Messages::Terse, ..r.clone() }),
            false,
        ),
        (
            "ValidationException for a bad token",
            with(Choices { token_error: Some((400, "ValidationException".into())), ..r.clone() }),
            false,
        ),
        ("the variant's orders and hex tokens", with(Choices::variant()), false),
        (
            "a live population",
            ReferenceConfig { churn: Some(Duration::from_millis(40)), ..ReferenceConfig::default() },
            false,
        ),
        (
            "all of them together",
            ReferenceConfig {
                choices: everything,
                latency: slow,
                churn: Some(Duration::from_millis(40)),
                ..ReferenceConfig::default()
            },
            false,
        ),
    ]
}

/// `set` names the scratch directory: the two sets run at once, and each must read back its own recordings.
async fn no_finding_against(set: &str, knobs: Vec<(&'static str, ReferenceConfig, bool)>) {
    let dir = scratch_dir(&format!("trust-knobs-{set}"));
    for (i, (name, config, _)) in knobs.into_iter().enumerate() {
        let server = serve(config).await;
        let url = server.uri();
        let o = fuzz(&url, 400, None).await;
        assert!(o.findings.is_empty(), "{name}, no recording: false alarms:\n{}", describe(&o));
        assert_eq!(o.cases, 400, "{name}");
        // A recording made from this same service: what a user of it would hold it to.
        let cassette = dir.join(format!("{i}.json"));
        record_traffic(&url, &cassette).await;
        let learned = Arc::new(Learned::from_cassettes(&[cassette]).unwrap());
        let o = fuzz(&url, 400, Some(learned)).await;
        assert!(o.findings.is_empty(), "{name}, with its own recording: false alarms:\n{}", describe(&o));
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_finding_against_the_paging_knobs_with_or_without_their_own_recording() {
    no_finding_against("paging", knobs().into_iter().filter(|k| k.2).collect()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_finding_against_the_other_knobs_and_all_of_them_together() {
    no_finding_against("other", knobs().into_iter().filter(|k| !k.2).collect()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_references_recording_neither_fuzz_nor_diff_holds_against_the_paging_knobs() {
    let golden = manifest_dir().join("cassettes");
    let learned = Arc::new(Learned::from_cassettes(std::slice::from_ref(&golden)).unwrap());
    for (name, config, _) in knobs().into_iter().filter(|k| k.2) {
        let server = serve(config).await;
        let o = fuzz(&server.uri(), 400, Some(learned.clone())).await;
        assert!(o.findings.is_empty(), "{name}, the plain reference's recording: false alarms:\n{}", describe(&o));
        assert!(
            o.learned.iter().any(|l| l.contains("listings are compared job for job")),
            "{name}: the population is the recording's, so listings were compared: {:?}",
            o.learned
        );
        let report =
            diff::diff(&DiffConfig::new(vec![golden.clone()], Subject::Service(target(&server.uri())))).await.unwrap();
        let found: Vec<String> = report
            .cassettes
            .iter()
            .flat_map(|c| {
                c.chains.iter().flat_map(|ch| ch.differences.iter().map(|d| format!("{}: {}", d.path, d.message)))
            })
            .collect();
        assert!(found.is_empty(), "{name}: diff's logical view found differences: {found:#?}");
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_service_gives_no_finding_in_a_minute_only_unstable_ones_listed_apart() {
    let config = ReferenceConfig {
        churn: Some(Duration::from_millis(100)),
        choices: Choices { short_pages: true, random_tokens: true, ..Choices::REFERENCE },
        ..ReferenceConfig::default()
    };
    let server = serve(config).await;
    let mut c = FuzzConfig::new(target(&server.uri()));
    c.budget = Budget::Time(Duration::from_secs(60));
    c.seed = 3;
    c.concurrency = 2;
    let began = std::time::Instant::now();
    let o = fuzzing::run(&c).await.unwrap();
    assert!(o.findings.is_empty(), "a live, correct service: false alarms:\n{}", describe(&o));
    assert!(began.elapsed() < Duration::from_secs(60) + c.target.timeout(), "{:?}", began.elapsed());
    // Some relation between listings did break while jobs moved: the re-check said why it is no bug.
    for f in &o.unstable {
        assert!(f.violation.oracle.needs_stable_population(), "{}", f.violation.oracle);
    }
    assert!(o.cases > 1000, "{} cases", o.cases);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_matching_defect_is_caught_by_a_recording_that_only_rules_prefix_out() {
    // The recording: a correct, exact-matching service listed by "ed-notes", a prefix of other jobs' names.
    // It rules prefix matching out, and does not tell exact from case-insensitive matching.
    let clean = serve(ReferenceConfig::default()).await;
    let cassette = scratch_dir("trust-prefix").join("recording.json");
    record_traffic(&clean.uri(), &cassette).await;
    clean.shutdown().await;
    let learned = Arc::new(Learned::from_cassettes(&[cassette]).unwrap());
    assert_eq!(learned.known.job_name.decided(), None);
    assert!(
        learned.describe().iter().any(|l| l == "JobName matching: exact or ignore-case (prefix ruled out)"),
        "{:?}",
        learned.describe()
    );
    let defective = serve(ReferenceConfig { defect: Some(Defect::NamePrefix), ..ReferenceConfig::default() }).await;
    let o = fuzz(&defective.uri(), 800, Some(learned)).await;
    let hit =
        o.findings.iter().find(|f| f.violation.oracle == Oracle::Filter && f.violation.signature.ends_with(".JobName"));
    let hit = hit.unwrap_or_else(|| panic!("name-prefix not caught by the filter oracle:\n{}", describe(&o)));
    assert_eq!(hit.violation.basis, Basis::Recording, "{:?}", hit.violation);
    defective.shutdown().await;
}
