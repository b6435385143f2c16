//! The recording proxy: re-signing (HTTP and HTTPS), both protocols, nothing secret and nothing lost, record
//! modes, upstream failures, and the open-relay refusal.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use snomed_vcr::cassette::{Cassette, journal};
use snomed_vcr::client::Client;
use snomed_vcr::protocol::{Protocol, Reply};
use snomed_vcr::record::{Endpoint, RecordConfig, RecordMode, Recorder, Saved};
use snomed_vcr::reference::{Reference, ReferenceConfig};
use snomed_vcr::server::{Server, ServerConfig};
use snomed_vcr::sigv4::Credentials;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::{BIN, Proc, python, run_python, scratch_dir, tls_files};

/// The proxy's own credentials: planted so the tests can prove they never reach a file.
const CANARY_AK: &str = "AKIACANARY0000000001";
const CANARY_SK: &str = "canarySecretKey/DoNotStore+0123456789abcd";
/// The client's credentials, which the upstream does not accept: success proves the proxy re-signed.
const CLIENT_AK: &str = "AKIDCLIENTONLY000002";
const CLIENT_SK: &str = "clientSecretKey/DoNotStore+0123456789abcd";

fn assert_no_secrets(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for secret in [
        CANARY_AK,
        CANARY_SK,
        CLIENT_AK,
        CLIENT_SK,
        "Authorization",
        "authorization",
        "X-Amz-Date",
        "x-amz-date",
        "user-agent",
    ] {
        assert!(!text.contains(secret), "{what} contains {secret}");
    }
}

async fn reference_server(require: bool) -> Server {
    let mut config = ReferenceConfig::default();
    if require {
        config.require_sigv4 = Some(Credentials::new(CANARY_AK, CANARY_SK));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::spawn(listener, Arc::new(Reference::new(config)), ServerConfig::default()).unwrap()
}

pub fn record_config(upstream: &str, cassette: &Path, mode: RecordMode) -> RecordConfig {
    RecordConfig {
        mode,
        resign: Some(Credentials::new(CANARY_AK, CANARY_SK).into()),
        upstream_timeout: Duration::from_secs(5),
        reproducible: true,
        ..RecordConfig::new(Endpoint::parse(upstream, "us-east-1").unwrap(), cassette.to_path_buf())
    }
}

pub async fn start_recorder(config: RecordConfig) -> (Server, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::open(config).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (Server::spawn(listener, recorder.clone(), ServerConfig::default()).unwrap(), recorder)
}

fn client_for(url: &str) -> Client {
    Client::new(url).unwrap().with_signing(Credentials::new(CLIENT_AK, CLIENT_SK), "us-east-1")
}

fn output(reply: &Reply) -> &Value {
    match reply {
        Reply::Output(v) => v,
        Reply::Error(e) => panic!("expected output, got {e}"),
    }
}

#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn boto3_through_the_proxy_over_http_is_re_signed_and_recorded_without_secrets() {
    let py = python();
    let dir = scratch_dir("record-http");
    let cassette = dir.join("boto3.json");
    let upstream = Proc::start(&["reference", "--require-sigv4", &format!("{CANARY_AK}:{CANARY_SK}")]);
    let proxy = Proc::start_with_env(
        &["record", "--upstream", &upstream.url, "--cassette", cassette.to_str().unwrap(), "--mode", "all"],
        &[("AWS_ACCESS_KEY_ID", CANARY_AK), ("AWS_SECRET_ACCESS_KEY", CANARY_SK)],
    );
    let creds = ["--access-key", CLIENT_AK, "--secret-key", CLIENT_SK];
    let mut args = vec!["walk", "--endpoint", &proxy.url, "--max", "37"];
    args.extend(creds);
    let walk: Value = serde_json::from_str(&run_python(&py, "boto3_client.py", &args)).unwrap();
    let jobs: usize = walk["pages"].as_array().unwrap().iter().map(|p| p.as_array().unwrap().len()).sum();
    assert_eq!(jobs, 240, "the upstream only accepts the proxy's key: every page was re-signed");
    let mut args = vec!["call", "--endpoint", &proxy.url, "--input", r#"{"MaxResults": 501}"#];
    args.extend(creds);
    let err: Value = serde_json::from_str(&run_python(&py, "boto3_client.py", &args)).unwrap();
    assert_eq!(err["code"], "ValidationException", "upstream errors pass through: {err}");

    // Before shutdown, everything is in the journal, and nothing secret is.
    let journal_bytes = std::fs::read(journal::journal_path(&cassette)).unwrap();
    assert_eq!(journal_bytes.iter().filter(|b| **b == b'\n').count(), 1 + 7 + 1);
    assert_no_secrets("the journal", &journal_bytes);

    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!journal::journal_path(&cassette).exists(), "the journal is folded in and removed");
    let bytes = std::fs::read(&cassette).unwrap();
    assert_no_secrets("the cassette", &bytes);
    let c = Cassette::load(&cassette).unwrap();
    assert_eq!(c.interactions.len(), 8);
    assert_eq!(c.interactions[7].response.status, 400);
    assert!(c.interactions.iter().all(|i| i.request.protocol == Protocol::AwsJson11));
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains("111122223333") && !text.contains("444455556666"), "account ids are redacted");
    assert!(text.contains("arn:aws:iam::000000000001:role/"));
    let lint = std::process::Command::new(BIN).args(["lint", cassette.to_str().unwrap()]).output().unwrap();
    assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stdout));
}

#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn boto3_through_the_proxy_to_an_https_upstream_with_a_test_ca() {
    let py = python();
    let dir = scratch_dir("record-https");
    let (ca, cert, key) = tls_files(&dir);
    let upstream = Proc::start(&[
        "reference",
        "--require-sigv4",
        &format!("{CANARY_AK}:{CANARY_SK}"),
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(upstream.url.starts_with("https://"));
    let https = upstream.url.replace("127.0.0.1", "localhost");
    let env = [("AWS_ACCESS_KEY_ID", CANARY_AK), ("AWS_SECRET_ACCESS_KEY", CANARY_SK)];
    let cassette = dir.join("https.json");
    let proxy = Proc::start_with_env(
        &[
            "record",
            "--upstream",
            &https,
            "--upstream-ca-file",
            ca.to_str().unwrap(),
            "--cassette",
            cassette.to_str().unwrap(),
        ],
        &env,
    );
    let r: Value = serde_json::from_str(&run_python(
        &py,
        "boto3_client.py",
        &[
            "call",
            "--endpoint",
            &proxy.url,
            "--input",
            r#"{"MaxResults": 4}"#,
            "--access-key",
            CLIENT_AK,
            "--secret-key",
            CLIENT_SK,
        ],
    ))
    .unwrap();
    assert_eq!((r["ok"].as_bool(), r["jobs"].as_array().map(Vec::len)), (Some(true), Some(4)), "{r}");
    let (status, _) = proxy.terminate();
    assert_eq!(status.code(), Some(0));
    assert_eq!(Cassette::load(&cassette).unwrap().upstream, https);

    // Without the CA the TLS failure is a 502 that names it, and nothing is recorded.
    let untrusted = dir.join("untrusted.json");
    let proxy =
        Proc::start_with_env(&["record", "--upstream", &https, "--cassette", untrusted.to_str().unwrap()], &env);
    let r: Value = serde_json::from_str(&run_python(
        &py,
        "boto3_client.py",
        &["call", "--endpoint", &proxy.url, "--input", "{}", "--max-attempts", "1"],
    ))
    .unwrap();
    assert_eq!((r["status"].as_u64(), r["code"].as_str()), (Some(502), Some("BadGatewayException")), "{r}");
    assert!(r["message"].as_str().unwrap().contains("certificate"), "{r}");
    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(!untrusted.exists(), "failures are not recorded: {stderr}");
}

#[tokio::test]
async fn rust_sdk_traffic_is_recorded_as_cbor_documents() {
    let dir = scratch_dir("record-sdk");
    let cassette = dir.join("sdk.json");
    let upstream = reference_server(true).await;
    let (proxy, recorder) = start_recorder(record_config(&upstream.uri(), &cassette, RecordMode::Once)).await;
    let sdk = crate::util::rust_sdk(&proxy.uri(), CLIENT_AK, CLIENT_SK);
    let first = sdk.list_snomedct_inference_jobs().max_results(100).send().await.unwrap();
    let second =
        sdk.list_snomedct_inference_jobs().max_results(100).set_next_token(first.next_token).send().await.unwrap();
    assert_eq!(second.comprehend_medical_async_job_properties_list().len(), 100);
    let err = sdk.list_snomedct_inference_jobs().max_results(501).send().await.unwrap_err().into_service_error();
    assert!(err.is_validation_exception());
    proxy.shutdown().await;
    assert_eq!(recorder.finish().unwrap(), Saved::Written { path: cassette.clone(), interactions: 3 });
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert_no_secrets("the cassette", text.as_bytes());
    let c = Cassette::parse(&text).unwrap();
    let it = &c.interactions[1];
    assert_eq!(it.request.protocol, Protocol::RpcV2Cbor);
    assert!(it.request.encoding.unwrap().indefinite_lengths, "the SDK's indefinite-length map is noted");
    assert_eq!(it.request.body["MaxResults"], 100);
    assert!(it.request.body["NextToken"].is_string(), "the pagination token is kept for replay");
    assert_eq!(it.request.headers.get("smithy-protocol").map(String::as_str), Some("rpc-v2-cbor"));
    assert!(it.request.headers.keys().all(|k| k != "x-amz-user-agent" && !k.starts_with("amz-sdk")));
    let submit = &it.response.body["ComprehendMedicalAsyncJobPropertiesList"][0]["SubmitTime"];
    assert!(submit.is_number(), "tag-1 timestamps are stored as epoch seconds: {submit}");
    assert_eq!(c.interactions[2].response.body["__type"], "com.amazonaws.comprehendmedical#ValidationException");
}

#[tokio::test]
async fn two_hundred_concurrent_requests_make_two_hundred_numbered_interactions() {
    let dir = scratch_dir("record-concurrent");
    let cassette = dir.join("c.json");
    let upstream = reference_server(true).await;
    let (proxy, recorder) = start_recorder(record_config(&upstream.uri(), &cassette, RecordMode::All)).await;
    let client = client_for(&proxy.uri());
    let mut tasks = Vec::new();
    for n in 1..=200 {
        let client = client.clone();
        let protocol = if n % 2 == 0 { Protocol::AwsJson11 } else { Protocol::RpcV2Cbor };
        tasks.push(tokio::spawn(async move { client.call(protocol, &json!({"MaxResults": n})).await.unwrap() }));
    }
    for t in tasks {
        let ex = t.await.unwrap();
        assert_eq!(ex.status, 200);
    }
    assert_eq!(recorder.recorded(), 200);
    proxy.shutdown().await;
    recorder.finish().unwrap();
    let c = Cassette::load(&cassette).unwrap();
    assert_eq!(c.interactions.len(), 200);
    assert_eq!(c.interactions.iter().map(|i| i.seq).collect::<Vec<_>>(), (0..200).collect::<Vec<_>>());
    let mut sizes: Vec<u64> = c.interactions.iter().map(|i| i.request.body["MaxResults"].as_u64().unwrap()).collect();
    sizes.sort();
    assert_eq!(sizes, (1..=200).collect::<Vec<_>>(), "each request exactly once");
    for it in &c.interactions {
        let n = it.request.body["MaxResults"].as_u64().unwrap() as usize;
        assert_eq!(
            it.response.body["ComprehendMedicalAsyncJobPropertiesList"].as_array().unwrap().len(),
            n,
            "response paired with its request"
        );
    }
}

#[test]
fn sigkill_loses_nothing_the_journal_held() {
    let dir = scratch_dir("record-kill");
    let cassette = dir.join("k.json");
    let upstream = Proc::start(&["reference"]);
    let env = [("AWS_ACCESS_KEY_ID", CANARY_AK), ("AWS_SECRET_ACCESS_KEY", CANARY_SK)];
    let args = ["record", "--upstream", &upstream.url, "--cassette", cassette.to_str().unwrap(), "--reproducible"];
    let mut proxy = Proc::start_with_env(&args, &env);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = Client::new(&proxy.url).unwrap();
    rt.block_on(async {
        for n in 1..=5 {
            assert_eq!(client.call(Protocol::AwsJson11, &json!({"MaxResults": n})).await.unwrap().status, 200);
        }
    });
    proxy.child.kill().unwrap(); // SIGKILL
    proxy.child.wait().unwrap();
    assert!(!cassette.exists());
    assert!(journal::journal_path(&cassette).exists());
    // A fold killed the same way leaves its temporary file (its process gone: no PID that high runs).
    let stale = dir.join(".k.json.tmp-4194999");
    std::fs::write(&stale, b"{\"format\": \"snomed-vcr/cass").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["record", "--recover", "--upstream", &upstream.url, "--cassette", cassette.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stale.exists(), "--recover removes what a killed fold left");
    let c = Cassette::load(&cassette).unwrap();
    assert_eq!(
        c.interactions.iter().map(|i| i.request.body["MaxResults"].as_u64().unwrap()).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert!(!journal::journal_path(&cassette).exists());

    // The next plain `record` recovers by itself too.
    let second = dir.join("k2.json");
    let args2 = ["record", "--upstream", &upstream.url, "--cassette", second.to_str().unwrap(), "--reproducible"];
    let mut proxy = Proc::start_with_env(&args2, &env);
    let client = Client::new(&proxy.url).unwrap();
    rt.block_on(async { client.call(Protocol::RpcV2Cbor, &json!({"MaxResults": 2})).await.unwrap() });
    proxy.child.kill().unwrap();
    proxy.child.wait().unwrap();
    let proxy = Proc::start_with_env(&args2, &env);
    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(stderr.contains("recovered an unfinished recording"), "{stderr}");
    assert_eq!(Cassette::load(&second).unwrap().interactions.len(), 1);
}

/// A restart resumes an unfinished recording (no fold before listening), its interactions joining the
/// session's; a fold that cannot finish within `--stop-timeout` leaves the journal whole for `--recover`.
#[test]
fn a_restart_resumes_the_journal_and_a_fold_out_of_time_is_left_for_recover() {
    let dir = scratch_dir("record-resume");
    let cassette = dir.join("r.json");
    let upstream = Proc::start(&["reference"]);
    let env = [("AWS_ACCESS_KEY_ID", CANARY_AK), ("AWS_SECRET_ACCESS_KEY", CANARY_SK)];
    let c = cassette.to_str().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let call = |url: &str, n: u64| {
        let client = Client::new(url).unwrap();
        rt.block_on(async {
            assert_eq!(client.call(Protocol::AwsJson11, &json!({"MaxResults": n})).await.unwrap().status, 200)
        })
    };
    let mut first =
        Proc::start_with_env(&["record", "--upstream", &upstream.url, "--cassette", c, "--reproducible"], &env);
    call(&first.url, 1);
    call(&first.url, 2);
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let second = Proc::start_with_env(
        &["record", "--upstream", &upstream.url, "--cassette", c, "--reproducible", "--stop-timeout", "0"],
        &env,
    );
    call(&second.url, 3);
    let (status, stderr) = second.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("recovered an unfinished recording") && stderr.contains("resumes it"), "{stderr}");
    assert!(stderr.contains("record --recover --cassette"), "the deferred fold says how to finish: {stderr}");
    assert!(!cassette.exists(), "nothing was folded");
    let journal = std::fs::read_to_string(journal::journal_path(&cassette)).unwrap();
    assert_eq!(journal.lines().count(), 2 + 3, "two session headers and three interactions: {journal}");
    let out = std::process::Command::new(BIN).args(["record", "--recover", "--cassette", c]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sizes: Vec<u64> = Cassette::load(&cassette)
        .unwrap()
        .interactions
        .iter()
        .map(|i| i.request.body["MaxResults"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [1, 2, 3]);
    assert!(!journal::journal_path(&cassette).exists());
}

/// The same traffic, in the same order, against a deterministic upstream.
async fn record_fixed_traffic(cassette: &Path, upstream: &str, mode: RecordMode) -> Saved {
    let (proxy, recorder) = start_recorder(record_config(upstream, cassette, mode)).await;
    let client = client_for(&proxy.uri());
    for protocol in Protocol::ALL {
        let first = json!({"MaxResults": 90, "Filter": {"SubmitTimeAfter": 1704067200.5}});
        let chain = client.walk(protocol, &first, 100).await.unwrap();
        assert!(chain.is_complete(), "{:?}", chain.end);
        client.call(protocol, &json!({"Filter": {"JobStatus": "BOGUS"}})).await.unwrap();
    }
    proxy.shutdown().await;
    recorder.finish().unwrap()
}

#[tokio::test]
async fn re_recording_is_byte_identical_and_never_overwrites_a_reviewed_cassette() {
    let dir = scratch_dir("record-twice");
    let upstream = reference_server(true).await;
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    record_fixed_traffic(&a, &upstream.uri(), RecordMode::All).await;
    record_fixed_traffic(&b, &upstream.uri(), RecordMode::All).await;
    let (ta, tb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(ta, tb, "byte-identical");
    assert_eq!(Cassette::load(&a).unwrap().interactions.len(), 8);

    // Re-recording the same traffic: unchanged, nothing written.
    assert_eq!(record_fixed_traffic(&a, &upstream.uri(), RecordMode::All).await, Saved::Unchanged { path: a.clone() });
    // A reviewed cassette that differs is never overwritten: the re-recording goes beside it.
    let mut edited = Cassette::load(&a).unwrap();
    edited.interactions.truncate(3);
    edited.save(&a).unwrap();
    let outcome = record_fixed_traffic(&a, &upstream.uri(), RecordMode::All).await;
    let pending = dir.join("a.json.new");
    assert_eq!(outcome, Saved::Pending { path: pending.clone(), interactions: 8 });
    assert_eq!(Cassette::load(&a).unwrap().interactions.len(), 3, "untouched");
    assert_eq!(std::fs::read(&pending).unwrap(), ta);
    let out = std::process::Command::new(BIN).args(["review", a.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "pending without a terminal: exit 1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("review --accept") && stdout.contains("│+"), "{stdout}");
    let out = std::process::Command::new(BIN).args(["review", "--accept", a.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read(&a).unwrap(), ta);
}

#[tokio::test]
async fn record_modes_answer_from_the_cassette_as_vcr_does() {
    let dir = scratch_dir("record-modes");
    let upstream = reference_server(true).await;
    let cassette = dir.join("m.json");
    // once, no cassette: records.
    let (proxy, recorder) = start_recorder(record_config(&upstream.uri(), &cassette, RecordMode::Once)).await;
    let first = client_for(&proxy.uri()).call(Protocol::AwsJson11, &json!({"MaxResults": 3})).await.unwrap();
    proxy.shutdown().await;
    assert!(matches!(recorder.finish().unwrap(), Saved::Written { interactions: 1, .. }));

    // once, cassette exists: answers from it (upstream gone), in the other protocol too; refuses the unknown.
    drop(upstream);
    let (proxy, recorder) = start_recorder(record_config("http://127.0.0.1:9", &cassette, RecordMode::Once)).await;
    let client = client_for(&proxy.uri());
    let again = client.call(Protocol::RpcV2Cbor, &json!({"MaxResults": 3.0})).await.unwrap();
    let recorded = &Cassette::load(&cassette).unwrap().interactions[0].response.body;
    assert_eq!(output(&again.reply), recorded, "the recording, as stored (redacted)");
    let live = output(&first.reply);
    assert_eq!(output(&again.reply)["NextToken"], live["NextToken"]);
    assert_eq!(
        output(&again.reply)["ComprehendMedicalAsyncJobPropertiesList"][2]["JobId"],
        live["ComprehendMedicalAsyncJobPropertiesList"][2]["JobId"]
    );
    let miss = client.call(Protocol::AwsJson11, &json!({"MaxResults": 4})).await.unwrap();
    assert!(
        matches!(&miss.reply, Reply::Error(e) if e.status == 400 && e.code == "UnmatchedRequestException" && e.message.contains("new_episodes")),
        "{:?}",
        miss.reply
    );
    proxy.shutdown().await;
    assert_eq!(recorder.finish().unwrap(), Saved::Nothing);

    // none without a cassette is a usage error naming the file.
    let missing = dir.join("missing.json");
    let err = Recorder::open(record_config("http://127.0.0.1:9", &missing, RecordMode::None)).await.err().unwrap();
    assert!(err.to_string().contains("missing.json"), "{err}");

    // new_episodes: old answers from the cassette, new ones recorded; result goes beside the cassette.
    let upstream = reference_server(true).await;
    let (proxy, recorder) = start_recorder(record_config(&upstream.uri(), &cassette, RecordMode::NewEpisodes)).await;
    let client = client_for(&proxy.uri());
    client.call(Protocol::AwsJson11, &json!({"MaxResults": 3})).await.unwrap();
    client.call(Protocol::AwsJson11, &json!({"MaxResults": 5})).await.unwrap();
    proxy.shutdown().await;
    let outcome = recorder.finish().unwrap();
    assert_eq!(outcome, Saved::Pending { path: dir.join("m.json.new"), interactions: 2 });
}

#[tokio::test]
async fn upstream_failures_are_502s_that_name_the_cause_and_are_not_recorded() {
    let dir = scratch_dir("record-failures");
    // Refused: nothing listens on the port.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let cassette = dir.join("f.json");
    let (proxy, recorder) = start_recorder(record_config(&closed_url, &cassette, RecordMode::All)).await;
    let ex = client_for(&proxy.uri()).call(Protocol::AwsJson11, &json!({})).await.unwrap();
    assert!(
        matches!(&ex.reply, Reply::Error(e) if e.status == 502 && e.code == "BadGatewayException" && e.message.to_lowercase().contains("refused")),
        "{:?}",
        ex.reply
    );
    proxy.shutdown().await;
    assert_eq!(recorder.finish().unwrap(), Saved::Nothing);
    assert!(!cassette.exists());

    // --record-errors records them.
    let mut config = record_config(&closed_url, &cassette, RecordMode::All);
    config.record_errors = true;
    let (proxy, recorder) = start_recorder(config).await;
    client_for(&proxy.uri()).call(Protocol::RpcV2Cbor, &json!({})).await.unwrap();
    proxy.shutdown().await;
    recorder.finish().unwrap();
    assert_eq!(Cassette::load(&cassette).unwrap().interactions[0].response.status, 502);

    // Timeout: an upstream that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut config = record_config(&silent_url, &dir.join("t.json"), RecordMode::All);
    config.upstream_timeout = Duration::from_millis(300);
    let (proxy, _recorder) = start_recorder(config).await;
    let ex = client_for(&proxy.uri()).call(Protocol::AwsJson11, &json!({})).await.unwrap();
    assert!(
        matches!(&ex.reply, Reply::Error(e) if e.status == 502 && e.message.contains("--upstream-timeout")),
        "{:?}",
        ex.reply
    );
    holder.abort();

    // Oversized request bodies are 413 before anything is forwarded.
    let upstream = reference_server(false).await;
    let mut config = record_config(&upstream.uri(), &dir.join("big.json"), RecordMode::All);
    config.max_body = 1024;
    let recorder = Arc::new(Recorder::open(config).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy =
        Server::spawn(listener, recorder.clone(), ServerConfig { max_body: 1024, ..ServerConfig::default() }).unwrap();
    let big = bytes::Bytes::from(format!("{{\"NextToken\": \"{}\"}}", "x".repeat(2048)));
    let ex =
        Client::new(&proxy.uri()).unwrap().send(Protocol::AwsJson11, "ListSNOMEDCTInferenceJobs", big).await.unwrap();
    assert!(matches!(&ex.reply, Reply::Error(e) if e.status == 413 && e.message.contains("1024")), "{:?}", ex.reply);
    assert_eq!(recorder.recorded(), 0);
}

#[test]
fn credentials_in_the_upstream_url_are_refused_with_the_fix_and_never_echoed() {
    let cassette = scratch_dir("record-userinfo").join("u.json");
    let out = std::process::Command::new(BIN)
        .args(["record", "--upstream", "http://AKIDINURL:secretInUrl@127.0.0.1:9", "--cassette"])
        .arg(&cassette)
        .env("AWS_ACCESS_KEY_ID", CANARY_AK)
        .env("AWS_SECRET_ACCESS_KEY", CANARY_SK)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--upstream: 'http://***@127.0.0.1:9' is not an endpoint without credentials"), "{err}");
    assert!(err.contains("AWS_ACCESS_KEY_ID") && !err.contains("secretInUrl") && !err.contains("AKIDINURL"), "{err}");
    assert!(!cassette.exists() && !journal::journal_path(&cassette).exists(), "nothing written");
}

#[tokio::test]
async fn the_proxy_is_not_an_open_relay() {
    let dir = scratch_dir("record-relay");
    let upstream = reference_server(false).await;
    let (proxy, recorder) = start_recorder(record_config(&upstream.uri(), &dir.join("r.json"), RecordMode::All)).await;
    let raw = |request: String| {
        let addr = proxy.local_addr();
        async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(request.as_bytes()).await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        }
    };
    let body = "{}";
    let foreign = raw(format!(
        "POST http://example.com/ HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
    .await;
    assert!(foreign.starts_with("HTTP/1.1 403"), "{foreign}");
    assert!(foreign.contains("not an open relay"), "{foreign}");
    let connect = raw("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".into()).await;
    assert!(connect.starts_with("HTTP/1.1 403"), "{connect}");
    assert_eq!(recorder.recorded(), 0);
}

#[test]
fn lint_finds_planted_secrets_and_passes_clean_cassettes() {
    let dir = scratch_dir("lint");
    let clean = dir.join("clean.json");
    let mut c = Cassette::new("https://comprehendmedical.us-east-1.amazonaws.com", "us-east-1");
    c.interactions = Cassette::parse(include_str!("../../cassettes/boto3-walk.json")).unwrap().interactions;
    c.save(&clean).unwrap();
    let out = std::process::Command::new(BIN).args(["lint", dir.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    let planted = dir.join("planted.json");
    let text =
        std::fs::read_to_string(&clean).unwrap().replacen("\"JobName\": \"", "\"JobName\": \"AKIAIOSFODNN7EXAMPLE", 1);
    std::fs::write(&planted, &text).unwrap();
    let line = text.lines().position(|l| l.contains("AKIAIOSFODNN7EXAMPLE")).unwrap() + 1;
    let out = std::process::Command::new(BIN).args(["lint", dir.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("planted.json:{line}:JobName: AWS access key id")), "{stdout}");
    assert!(!stdout.contains("clean.json"), "{stdout}");
}

/// The golden cassettes lint clean and load; the CBOR one really is CBOR from the Rust SDK. (No Python: this
/// runs everywhere.)
#[test]
fn golden_cassettes_lint_clean_and_load() {
    let root = crate::util::manifest_dir();
    let golden = snomed_vcr::cassette::expand_paths(&[root.join("cassettes")]).unwrap();
    assert_eq!(golden.len(), 7, "{golden:?}");
    let lint = std::process::Command::new(BIN).arg("lint").arg(root.join("cassettes")).output().unwrap();
    assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stdout));
    for path in &golden {
        assert!(!Cassette::load(path).unwrap().interactions.is_empty(), "{}", path.display());
    }
    let sdk = Cassette::load(&root.join("cassettes/rust-sdk-cbor.json")).unwrap();
    assert!(sdk.interactions.iter().all(|i| i.request.protocol == Protocol::RpcV2Cbor && i.request.encoding.is_some()));
    // The family's cassettes hold the four sibling operations, each named, each over both SDKs.
    for (name, protocol) in [("boto3-family", Protocol::AwsJson11), ("rust-sdk-family", Protocol::RpcV2Cbor)] {
        let c = Cassette::load(&root.join(format!("cassettes/{name}.json"))).unwrap();
        let ops: std::collections::BTreeSet<_> = c.interactions.iter().map(|i| i.request.operation).collect();
        let siblings: std::collections::BTreeSet<_> =
            snomed_vcr::model::Operation::ALL.into_iter().filter(|o| *o != Default::default()).collect();
        assert_eq!(ops, siblings, "{name}");
        assert!(c.interactions.iter().all(|i| i.request.protocol == protocol), "{name}");
    }
}

/// The golden cassettes match the published JSON Schema (read by Python's `jsonschema`), and a cassette that
/// breaks it does not.
#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn golden_cassettes_match_the_json_schema() {
    let py = python();
    let root = crate::util::manifest_dir();
    let schema = root.join("cassettes/schema.json");
    let golden = snomed_vcr::cassette::expand_paths(&[root.join("cassettes")]).unwrap();
    let dir = scratch_dir("schema");
    // A cassette that breaks the schema: a header that must never be stored.
    let bad = dir.join("bad.json");
    let text = std::fs::read_to_string(&golden[0]).unwrap().replacen(
        "\"content-type\":",
        "\"authorization\": \"x\",\n          \"content-type\":",
        1,
    );
    std::fs::write(&bad, text).unwrap();
    let mut args: Vec<&str> = vec![schema.to_str().unwrap()];
    args.extend(golden.iter().map(|p| p.to_str().unwrap()));
    args.push(bad.to_str().unwrap());
    let out = run_python(&py, "check_schema.py", &args);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), golden.len() + 1, "{out}");
    for l in &lines[..golden.len()] {
        assert!(l.starts_with("ok "), "{out}");
    }
    assert!(lines[golden.len()].starts_with("invalid ") && lines[golden.len()].contains("headers"), "{out}");
}

/// An upstream whose JSON answers are valid but awkward: the `MaxResults` of a request picks the body.
struct AwkwardUpstream;

const AWKWARD_BODIES: &[&str] = &[
    // Pretty-printed, with LF and CRLF line ends: the journal is JSON Lines, so these must not split a line.
    "{\n  \"ComprehendMedicalAsyncJobPropertiesList\": [\n    {\"JobId\": \"a\", \"DataAccessRoleArn\": \"arn:aws:iam::444455556666:role/R\"}\n  ]\n}\n",
    "{\r\n\t\"NextToken\": \"t\\n2\",\r\n\t\"ComprehendMedicalAsyncJobPropertiesList\": []\r\n}",
    // Surrounding whitespace, escapes, non-ASCII text, a number kept exactly as sent.
    "  {\"ComprehendMedicalAsyncJobPropertiesList\": [{\"JobName\": \"\\u00c5ngstr\\u00f6m \\\"q\\\" \\\\ / \\/ Ångström ✓\", \"SubmitTime\": 1704164645.678}]}  ",
    // JSON text that no document holds: a lone surrogate escape, a number beyond f64.
    "{\"ComprehendMedicalAsyncJobPropertiesList\": [{\"JobName\": \"\\ud800\"}]}",
    "{\"ComprehendMedicalAsyncJobPropertiesList\": [], \"NextToken\": 1e400}",
    // Not JSON at all (a load balancer's page).
    "<html>busy\n</html>",
];

impl snomed_vcr::server::Handler for AwkwardUpstream {
    async fn handle(&self, req: http::Request<bytes::Bytes>) -> http::Response<bytes::Bytes> {
        if let Some(asked) = req.headers().get("accept-encoding") {
            let body = format!("{{\"message\": \"the proxy forwarded accept-encoding: {asked:?}\"}}");
            return http::Response::builder().status(400).body(bytes::Bytes::from(body)).unwrap();
        }
        let input: Value = serde_json::from_slice(req.body()).unwrap_or_default();
        let n = input["MaxResults"].as_u64().unwrap_or(1) as usize - 1;
        let body = AWKWARD_BODIES.get(n).copied().unwrap_or("{}");
        http::Response::builder()
            .header("content-type", "application/x-amz-json-1.1")
            .body(bytes::Bytes::from_static(body.as_bytes()))
            .unwrap()
    }
}

#[tokio::test]
async fn awkward_upstream_answers_are_recorded_whole_and_answered_unchanged() {
    let dir = scratch_dir("record-awkward");
    let cassette = dir.join("a.json");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = Server::spawn(listener, Arc::new(AwkwardUpstream), ServerConfig::default()).unwrap();
    let (proxy, recorder) = start_recorder(record_config(&upstream.uri(), &cassette, RecordMode::All)).await;
    // A plain HTTP client: the SDK-like one would refuse to decode some of these answers.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    for (i, body) in AWKWARD_BODIES.iter().enumerate() {
        let req = http::Request::post(proxy.uri())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs")
            // Asked of the proxy, not of the upstream: the answer is recorded uncompressed.
            .header("accept-encoding", "gzip, deflate")
            .body(http_body_util::Full::new(bytes::Bytes::from(format!("{{\"MaxResults\": {}}}", i + 1))))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        let got = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
        assert_eq!(got, body.as_bytes(), "the client gets the upstream's bytes, body {i}");
    }
    assert_eq!(recorder.recorded(), AWKWARD_BODIES.len() as u64);
    proxy.shutdown().await;
    // Every line of the journal is one interaction: nothing lost when it is folded into the cassette.
    let journal = std::fs::read_to_string(journal::journal_path(&cassette)).unwrap();
    assert_eq!(journal.lines().count(), 1 + AWKWARD_BODIES.len(), "{journal}");
    recorder.finish().unwrap();
    let text = std::fs::read_to_string(&cassette).unwrap();
    let c: Value = serde_json::from_str(&text).unwrap();
    let bodies: Vec<&Value> = c["interactions"].as_array().unwrap().iter().map(|i| &i["response"]["body"]).collect();
    assert_eq!(bodies.len(), AWKWARD_BODIES.len());
    let role = &bodies[0]["ComprehendMedicalAsyncJobPropertiesList"][0]["DataAccessRoleArn"];
    assert_eq!(role, "arn:aws:iam::000000000001:role/R", "redacted");
    assert_eq!(bodies[1]["NextToken"], "t\n2");
    assert_eq!(bodies[2]["ComprehendMedicalAsyncJobPropertiesList"][0]["JobName"], "Ångström \"q\" \\ / / Ångström ✓");
    assert!(text.contains("1704164645.678"), "the number as received");
    // Answers that are not the protocol's (JSON no document holds, a load balancer's page) are kept verbatim,
    // marked so, in a form the cassette's own checks accept.
    for i in 3..=5 {
        assert_eq!(*bodies[i], Value::String(AWKWARD_BODIES[i].to_string()));
        assert_eq!(c["interactions"][i]["response"]["encoding"]["format"], "text", "{i}");
    }
    let loaded = Cassette::load(&cassette).unwrap();
    assert_eq!(loaded.interactions.len(), AWKWARD_BODIES.len());
    assert!(snomed_vcr::cassette::lint::lint_file(&cassette).is_empty(), "lint accepts it");
    // Replay serves every answer as recorded: the verbatim ones byte for byte, with their content type.
    let replay = snomed_vcr::ReplayServer::start(&cassette).await.unwrap();
    for (i, body) in AWKWARD_BODIES.iter().enumerate().skip(3) {
        let req = http::Request::post(replay.uri())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs")
            .body(http_body_util::Full::new(bytes::Bytes::from(format!("{{\"MaxResults\": {}}}", i + 1))))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        assert_eq!(resp.status(), 200, "{i}");
        assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.1", "{i}");
        let got = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
        assert_eq!(got, body.as_bytes(), "replayed unchanged, body {i}");
    }
    // And diff reads it: the verbatim answers are no page of a listing, the others are compared.
    let reference = reference_server(false).await;
    let report = snomed_vcr::diff::diff(&snomed_vcr::diff::DiffConfig::new(
        vec![cassette.clone()],
        snomed_vcr::diff::Subject::Service(snomed_vcr::client::Target::http(Client::new(&reference.uri()).unwrap())),
    ))
    .await
    .unwrap();
    assert_eq!(report.totals.chains, 3, "{:#?}", report.cassettes);
}

/// `record --keep accounts`: the cassette holds the real account ids and says so in its header; `lint` passes
/// it with a notice naming the file, and replay answers exactly what the service answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_accounts_records_real_ids_and_lint_says_so() {
    let dir = scratch_dir("record-keep");
    let cassette = dir.join("kept.json");
    let upstream = Proc::start(&["reference"]);
    let proxy = Proc::start_with_env(
        &["record", "--upstream", &upstream.url, "--cassette", cassette.to_str().unwrap(), "--keep", "accounts"],
        &[("AWS_ACCESS_KEY_ID", CANARY_AK), ("AWS_SECRET_ACCESS_KEY", CANARY_SK)],
    );
    let input = serde_json::json!({"MaxResults": 50});
    let live = Client::new(&upstream.url).unwrap().call(Protocol::AwsJson11, &input).await.unwrap();
    let through = Client::new(&proxy.url).unwrap().call(Protocol::AwsJson11, &input).await.unwrap();
    assert_eq!(through.reply, live.reply);
    let (status, stderr) = proxy.terminate();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let text = std::fs::read_to_string(&cassette).unwrap();
    // Account ids kept; KMS key ids are still replaced (only accounts were asked for).
    assert!(
        text.contains("arn:aws:iam::111122223333:") && !text.contains("arn:aws:iam::000000000001:"),
        "real account ids kept"
    );
    assert!(text.contains("key/00000000-0000-4000-8000-000000000001"), "KMS key ids still redacted");
    assert_eq!(Cassette::load(&cassette).unwrap().kept, vec!["accounts".to_string()]);
    assert_no_secrets("the cassette", text.as_bytes());

    let lint = std::process::Command::new(BIN).args(["lint", cassette.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&lint.stderr);
    assert!(lint.status.success(), "{}{err}", String::from_utf8_lossy(&lint.stdout));
    assert!(err.contains(&format!("{}: keeps real account ids", cassette.display())), "{err}");
    // Without the header's word for it, the same ids are findings.
    let unmarked = dir.join("unmarked.json");
    std::fs::write(&unmarked, text.replace("  \"kept\": [\n    \"accounts\"\n  ],\n", "")).unwrap();
    let lint = std::process::Command::new(BIN).args(["lint", unmarked.to_str().unwrap()]).output().unwrap();
    assert_eq!(lint.status.code(), Some(1), "{}", String::from_utf8_lossy(&lint.stdout));

    let replay = Proc::start(&["replay", "--cassette", cassette.to_str().unwrap()]);
    let replayed = Client::new(&replay.url).unwrap().call(Protocol::AwsJson11, &input).await.unwrap();
    let jobs = |r: &Reply| match r {
        Reply::Output(o) => o["ComprehendMedicalAsyncJobPropertiesList"].as_array().unwrap().clone(),
        other => panic!("{other:?}"),
    };
    let (replayed, live) = (jobs(&replayed.reply), jobs(&live.reply));
    assert_eq!(replayed.len(), live.len());
    for (r, l) in replayed.iter().zip(&live) {
        for field in ["DataAccessRoleArn", "InputDataConfig", "ManifestFilePath", "Message"] {
            assert_eq!(r.get(field), l.get(field), "replay serves the live service's account ids: {field}");
        }
    }
}
