//! The five Comprehend Medical list operations, end to end: the reference serves each over its own population
//! with its own tokens; boto3 (JSON 1.1) and the Rust SDK (RPC v2 CBOR) get, through the recording proxy and
//! then from replay, exactly what they get from the reference; diff compares each chain as its operation;
//! fuzz finds a planted defect through every operation and nothing on the clean reference.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use snomed_vcr::model::Operation;
use snomed_vcr::{Cassette, Client, Protocol, Reply};

use crate::util::{BIN, Proc, python, run_js, run_python, rust_sdk, scratch_dir};

const PAGE: i32 = 7;

/// The reference's own first two pages of `op` (no filter: newest first).
fn truth(jobs: &[snomed_vcr::model::JobProperties]) -> Vec<Vec<String>> {
    let ids: Vec<String> = jobs.iter().rev().map(|j| j.job_id.clone().unwrap()).collect();
    vec![ids[..PAGE as usize].to_vec(), ids[PAGE as usize..2 * PAGE as usize].to_vec()]
}

/// `record --mode all` in front of `upstream`, writing `cassette`, with keys to re-sign with.
fn record_all(upstream: &Proc, cassette: &std::path::Path) -> Proc {
    Proc::start_with_env(
        &["record", "--upstream", &upstream.url, "--cassette", cassette.to_str().unwrap(), "--mode", "all"],
        &[("AWS_ACCESS_KEY_ID", "AKIDPROXY"), ("AWS_SECRET_ACCESS_KEY", "proxy-secret")],
    )
}

/// The first two pages of `op` through the Rust SDK's own method for it.
async fn sdk_pages(client: &aws_sdk_comprehendmedical::Client, op: Operation) -> Vec<Vec<String>> {
    // Each operation has its own fluent method and output type: one arm each, the same body.
    macro_rules! page {
        ($method:ident, $token:expr) => {{
            assert_eq!(stringify!($method), op.rust(), "the operations table names the SDK's method");
            let out = client.$method().max_results(PAGE).set_next_token($token).send().await.expect(op.name());
            let ids: Vec<String> = out
                .comprehend_medical_async_job_properties_list()
                .iter()
                .map(|j| j.job_id().unwrap().to_string())
                .collect();
            (ids, out.next_token().map(str::to_string))
        }};
    }
    let mut pages = Vec::new();
    let mut token = None;
    for _ in 0..2 {
        let (ids, next) = match op {
            Operation::EntitiesDetectionV2 => page!(list_entities_detection_v2_jobs, token.clone()),
            Operation::Icd10Cm => page!(list_icd10_cm_inference_jobs, token.clone()),
            Operation::Phi => page!(list_phi_detection_jobs, token.clone()),
            Operation::RxNorm => page!(list_rx_norm_inference_jobs, token.clone()),
            Operation::SnomedCt => page!(list_snomedct_inference_jobs, token.clone()),
        };
        pages.push(ids);
        token = next;
    }
    pages
}

/// What boto3 lists of every operation at `url`, by operation.
fn boto3_pages(url: &str) -> BTreeMap<Operation, Vec<Vec<String>>> {
    let methods: Vec<&str> = Operation::ALL.iter().map(|op| op.boto3()).collect();
    let mut args = vec!["--endpoint", url, "--max", "7"];
    args.extend(methods);
    let out: BTreeMap<String, Vec<Vec<String>>> =
        serde_json::from_str(&run_python(&python(), "family.py", &args)).unwrap();
    Operation::ALL.into_iter().map(|op| (op, out[op.boto3()].clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(no_boto3, ignore = "needs Python with boto3 (SNOMED_VCR_PYTHON or target/venv): `bash .ci/run` installs it")]
async fn boto3_and_the_rust_sdk_get_each_operation_through_record_and_from_replay() {
    let dir = scratch_dir("family");
    let cassette = dir.join("family.json");
    let reference = snomed_vcr::Reference::new(snomed_vcr::ReferenceConfig::generated(40, 11));
    let want: BTreeMap<Operation, Vec<Vec<String>>> =
        Operation::ALL.into_iter().map(|op| (op, truth(reference.jobs_of(op)))).collect();
    let ids_of = |op: Operation| reference.jobs_of(op).iter().map(|j| j.job_id.clone().unwrap()).collect();
    let all: Vec<BTreeSet<String>> = Operation::ALL.into_iter().map(ids_of).collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert!(a.is_disjoint(b), "each operation lists a population of its own");
        }
    }
    let upstream = Proc::start(&["reference", "--generate", "40", "--seed", "11"]);
    assert_eq!(boto3_pages(&upstream.url), want, "boto3 from the reference");

    let proxy = record_all(&upstream, &cassette);
    assert_eq!(boto3_pages(&proxy.url), want, "boto3 through the recording proxy");
    let client = rust_sdk(&proxy.url, "AKIDFAMILY", "family-secret");
    for op in Operation::ALL {
        assert_eq!(sdk_pages(&client, op).await, want[&op], "the Rust SDK through the proxy: {op}");
    }
    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let recorded = Cassette::load(&cassette).unwrap();
    let mut calls: BTreeMap<(Operation, Protocol), usize> = BTreeMap::new();
    for it in &recorded.interactions {
        *calls.entry((it.request.operation, it.request.protocol)).or_default() += 1;
    }
    for op in Operation::ALL {
        for p in Protocol::ALL {
            assert_eq!(calls.get(&(op, p)), Some(&2), "two pages of {op} over {p} recorded: {calls:?}");
        }
    }
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert_eq!(text.matches("\"operation\": \"ListRxNormInferenceJobs\"").count(), 4, "named where not the default");

    let replay = Proc::start(&["replay", "--cassette", cassette.to_str().unwrap()]);
    assert_eq!(boto3_pages(&replay.url), want, "boto3 from replay");
    let client = rust_sdk(&replay.url, "AKIDFAMILY", "family-secret");
    for op in Operation::ALL {
        assert_eq!(sdk_pages(&client, op).await, want[&op], "the Rust SDK from replay: {op}");
    }
    // The same body to an operation the cassette holds no call of with it is no match: the guide says the
    // operation is the difference.
    let miss = Client::new(&replay.url)
        .unwrap()
        .call_operation(Protocol::AwsJson11, Operation::Phi, &json!({"MaxResults": 3}))
        .await
        .unwrap();
    let Reply::Error(e) = &miss.reply else { panic!("{:?}", miss.reply) };
    assert_eq!(e.code, "UnmatchedRequestException");
    let (status, _) = replay.terminate();
    assert_eq!(status.code(), Some(0));
}

/// The first two pages of `op` from the AWS CLI (`aws comprehendmedical list-…-jobs`, which takes one page a
/// call: these operations have no paginator in it), installed beside boto3 by `bash .ci/run`.
fn cli_pages(url: &str, op: Operation) -> Vec<Vec<String>> {
    let aws = python().with_file_name("aws");
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..2 {
        let mut command = std::process::Command::new(&aws);
        command.args(["comprehendmedical", op.cli(), "--endpoint-url", url, "--max-results", "7", "--output", "json"]);
        if let Some(t) = &token {
            command.args(["--next-token", t]);
        }
        let out = command
            .envs([
                ("AWS_ACCESS_KEY_ID", "AKIDCLI"),
                ("AWS_SECRET_ACCESS_KEY", "cli-secret"),
                ("AWS_DEFAULT_REGION", "us-east-1"),
            ])
            .envs([("AWS_CONFIG_FILE", "/dev/null"), ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("{} runs (`bash .ci/run` installs the AWS CLI beside boto3): {e}", aws.display())
            });
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "aws {} failed: {stdout}{}", op.cli(), String::from_utf8_lossy(&out.stderr));
        let page: Value = serde_json::from_str(&stdout).unwrap();
        let jobs = page["ComprehendMedicalAsyncJobPropertiesList"].as_array().unwrap();
        pages.push(jobs.iter().map(|j| j["JobId"].as_str().unwrap().to_string()).collect());
        token = page["NextToken"].as_str().map(str::to_string);
    }
    pages
}

#[test]
#[cfg_attr(no_boto3, ignore = "needs the AWS CLI beside boto3 in target/venv: `bash .ci/run` installs both")]
fn the_aws_cli_gets_each_operation_through_record_and_from_replay() {
    through_record_and_from_replay("cli", "the AWS CLI", |url| {
        Operation::ALL.into_iter().map(|op| (op, cli_pages(url, op))).collect()
    });
}

/// What `client` lists of every operation (two pages of seven each), through a recording proxy in front of the
/// reference and then from replay of what it recorded, is the reference's own first two pages; the cassette
/// holds two pages of each operation, and replay `--strict` played them all. `name`: the scratch directory's.
fn through_record_and_from_replay(
    name: &str,
    client: &str,
    pages: impl Fn(&str) -> BTreeMap<Operation, Vec<Vec<String>>>,
) {
    let dir = scratch_dir(&format!("family-{name}"));
    let cassette = dir.join("client.json");
    let reference = snomed_vcr::Reference::new(snomed_vcr::ReferenceConfig::generated(40, 11));
    let want: BTreeMap<Operation, Vec<Vec<String>>> =
        Operation::ALL.into_iter().map(|op| (op, truth(reference.jobs_of(op)))).collect();
    let upstream = Proc::start(&["reference", "--generate", "40", "--seed", "11"]);
    let proxy = record_all(&upstream, &cassette);
    assert_eq!(pages(&proxy.url), want, "{client} through the proxy");
    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let recorded = Cassette::load(&cassette).unwrap();
    for op in Operation::ALL {
        let n = recorded.interactions.iter().filter(|it| it.request.operation == op).count();
        assert_eq!(n, 2, "two pages of {op} recorded from {client}");
    }
    let replay = Proc::start(&["replay", "--cassette", cassette.to_str().unwrap(), "--strict"]);
    assert_eq!(pages(&replay.url), want, "{client} from replay");
    let (status, stderr) = replay.terminate();
    assert_eq!(status.code(), Some(0), "every request answered and every interaction played: {stderr}");
}

/// What the JavaScript SDK v3 lists of every operation at `url` (two pages of seven, each through the
/// operation's own command), by operation.
fn js_pages(url: &str) -> BTreeMap<Operation, Vec<Vec<String>>> {
    let mut args = vec![url, "7", "2"];
    args.extend(Operation::ALL.iter().map(|op| op.name()));
    let out: BTreeMap<String, Vec<Vec<String>>> = serde_json::from_str(&run_js("list.cjs", &args)).unwrap();
    Operation::ALL.into_iter().map(|op| (op, out[op.name()].clone())).collect()
}

#[test]
#[cfg_attr(no_js_sdk, ignore = "needs the AWS SDK for JavaScript v3 in target/js: `bash .ci/run` installs it")]
fn the_javascript_sdk_gets_each_operation_through_record_and_from_replay() {
    through_record_and_from_replay("js", "the JavaScript SDK", js_pages);
}

/// A token of one operation is a token another did not issue; a sibling no longer gets
/// `UnknownOperationException`.
#[tokio::test]
async fn tokens_belong_to_their_operation() {
    let server = Proc::start(&["reference"]);
    let client = Client::new(&server.url).unwrap();
    let first = client.call_operation(Protocol::RpcV2Cbor, Operation::RxNorm, &json!({"MaxResults": 5})).await.unwrap();
    let Reply::Output(out) = &first.reply else { panic!("{:?}", first.reply) };
    let token = out["NextToken"].as_str().unwrap();
    let same = json!({"MaxResults": 5, "NextToken": token});
    let again = client.call_operation(Protocol::AwsJson11, Operation::RxNorm, &same).await.unwrap();
    assert_eq!(again.status, 200, "{:?}", again.reply);
    for other in [Operation::SnomedCt, Operation::Phi] {
        let foreign = client.call_operation(Protocol::AwsJson11, other, &same).await.unwrap();
        assert!(
            matches!(&foreign.reply, Reply::Error(e) if e.status == 400 && e.code == "InvalidRequestException"),
            "{other}: {:?}",
            foreign.reply
        );
    }
}

/// diff replays each chain as its operation: clean against the reference it was recorded from, a page-size
/// defect found in the chains of every operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_and_fuzz_find_a_defect_through_every_operation_and_nothing_on_the_clean_reference() {
    let dir = scratch_dir("family-diff");
    let cassette = dir.join("c.json");
    let upstream = Proc::start(&["reference"]);
    let proxy = record_all(&upstream, &cassette);
    let through = Client::new(&proxy.url).unwrap();
    for op in Operation::ALL {
        let chain = through.walk_operation(Protocol::AwsJson11, op, &json!({"MaxResults": 60}), 20).await.unwrap();
        assert!(chain.is_complete() && chain.job_ids().len() == 240, "{op}: {:?}", chain.end);
    }
    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");

    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN).args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let c = cassette.to_str().unwrap();
    let (code, text) = run(&["diff", "--cassette", c, "--target", &upstream.url, "--format", "json"]);
    assert_eq!(code, Some(0), "{text}");
    let defective = Proc::start(&["reference", "--defect", "page-overflow"]);
    let (code, text) = run(&["diff", "--cassette", c, "--target", &defective.url, "--format", "json"]);
    assert_eq!(code, Some(1), "{text}");
    let report: Value = serde_json::from_str::<Value>(&text).unwrap()["report"].clone();
    assert_eq!(report["totals"]["chains"], 5, "{text}");
    let differing: BTreeSet<&str> = report["cassettes"][0]["chains"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] != "same")
        .filter_map(|c| c["operation"].as_str())
        .collect();
    assert_eq!(differing, Operation::ALL.iter().map(|o| o.name()).collect(), "every operation's chain differs: {text}");

    let fuzz = |url: &str, extra: &[&str]| {
        let runs = if extra.contains(&"--runs") { vec![] } else { vec!["--runs", "60"] };
        let mut args = vec!["fuzz", "--target", url, "--format", "json"];
        args.extend(runs);
        args.extend(extra);
        let (code, text) = run(&args);
        let findings: Vec<Value> =
            serde_json::from_str::<Value>(&text).unwrap()["findings"].as_array().unwrap().clone();
        (code, findings)
    };
    let (code, findings) = fuzz(&upstream.url, &[]);
    assert_eq!((code, findings.len()), (Some(0), 0), "{findings:?}");
    let (code, findings) = fuzz(&defective.url, &[]);
    assert_eq!(code, Some(1));
    let operations: BTreeSet<&str> = findings.iter().filter_map(|f| f["operation"].as_str()).collect();
    assert_eq!(operations, Operation::ALL.iter().map(|o| o.name()).collect(), "{findings:?}");
    let (_, findings) = fuzz(&defective.url, &["--operation", "rxnorm"]);
    assert!(!findings.is_empty() && findings.iter().all(|f| f["operation"] == "ListRxNormInferenceJobs"));
    // Planted in one operation, found there and nowhere else; a variant that chooses differently, nowhere.
    let only_phi = Proc::start(&["reference", "--defect", "page-overflow", "--defect-in", "list-phi-detection-jobs"]);
    let (code, findings) = fuzz(&only_phi.url, &[]);
    assert_eq!(code, Some(1));
    assert!(findings.iter().all(|f| f["operation"] == "ListPHIDetectionJobs"), "{findings:?}");
    let variant = Proc::start(&["reference", "--variant"]);
    let (code, findings) = fuzz(&variant.url, &["--runs", "200"]);
    assert_eq!((code, findings.len()), (Some(0), 0), "{findings:?}");
}

/// A `--jobs` object gives operations their own jobs; `replay --simulate` answers a sibling's unrecorded
/// request from that operation's learned population; fuzz held to the family's recordings finds nothing on
/// the reference that made them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn populations_by_operation_from_a_jobs_file_from_recordings_and_for_fuzz() {
    let dir = scratch_dir("family-jobs");
    let two = std::process::Command::new(BIN).args(["jobs", "--generate", "2", "--seed", "3"]).output().unwrap();
    let two: Value = serde_json::from_slice(&two.stdout).unwrap();
    let file = dir.join("jobs.json");
    std::fs::write(&file, json!({"ListRxNormInferenceJobs": two}).to_string()).unwrap();
    let server = Proc::start(&["reference", "--jobs", file.to_str().unwrap()]);
    let client = Client::new(&server.url).unwrap();
    let rx = client.walk_operation(Protocol::AwsJson11, Operation::RxNorm, &json!({}), 5).await.unwrap();
    let want: BTreeSet<&str> = two.as_array().unwrap().iter().map(|j| j["JobId"].as_str().unwrap()).collect();
    assert_eq!(rx.job_ids().into_iter().collect::<BTreeSet<_>>(), want);
    let snomed = client.walk(Protocol::AwsJson11, &json!({}), 5).await.unwrap();
    assert_eq!(snomed.job_ids().len(), 240, "an operation the file does not name is generated");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"ListFooJobs": []}"#).unwrap();
    let out = std::process::Command::new(BIN).args(["reference", "--jobs", bad.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("member 'ListFooJobs': expected an operation name"), "{err}");

    // The family's golden recordings, made against the default reference.
    let golden = crate::util::manifest_dir().join("cassettes");
    let reference = Proc::start(&["reference"]);
    let truth = Client::new(&reference.url).unwrap();
    let simulate =
        Proc::start(&["replay", "--simulate", "--cassette", golden.join("boto3-family.json").to_str().unwrap()]);
    let input = json!({"MaxResults": 13, "Filter": {"JobStatus": "FAILED"}});
    let answer = Client::new(&simulate.url)
        .unwrap()
        .call_operation(Protocol::AwsJson11, Operation::RxNorm, &input)
        .await
        .unwrap();
    assert_eq!(answer.headers.get("x-snomed-vcr-simulated").map(|v| v.to_str().unwrap()), Some("true"));
    let want = truth.call_operation(Protocol::AwsJson11, Operation::RxNorm, &input).await.unwrap();
    // The same jobs (as recorded: account and key ids are the cassette's placeholders).
    let jobs = |r: &Reply| match r {
        Reply::Output(o) => o["ComprehendMedicalAsyncJobPropertiesList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| (j["JobId"].clone(), j["JobStatus"].clone(), j["SubmitTime"].clone()))
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(jobs(&answer.reply).len(), 13);
    assert_eq!(jobs(&answer.reply), jobs(&want.reply), "RxNorm's own population, as learned");

    let out = std::process::Command::new(BIN)
        .args(["fuzz", "--target", &reference.url, "--cassette", golden.to_str().unwrap(), "--runs", "150"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for op in Operation::ALL {
        assert!(
            text.contains(&format!("{op}: recording: population: 240 job(s), complete")),
            "{op} learned apart: {text}"
        );
    }
}
