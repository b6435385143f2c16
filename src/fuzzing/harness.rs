//! The bodies of the cargo-fuzz targets in `fuzz/`, here so that stable `cargo test` replays the same code
//! over `fuzz/seeds/*` and `fuzz/regressions/*` (see `tests/it/fuzz_corpus.rs`). Each takes raw bytes and
//! panics on a bug; anything else (an input that does not parse) returns quietly.
//!
//! | target | what it asserts |
//! |---|---|
//! | `reference_oracles` | the reference, in-process, breaks no oracle on any generated case |
//! | `http_target` | the implementation at `SNOMED_VCR_FUZZ_URL` breaks no oracle |
//! | `cassette_load` | loading never panics; a loaded cassette's canonical text loads back equal |
//! | `json_codec` | JSON request bodies decode without panic and re-encode to the same typed request |
//! | `cbor_codec` | CBOR request bodies likewise |
//! | `request_matching` | a request's matching key is the same for its document and the document re-read from its text |
//! | `token_decoding` | opening any token never panics; every issued token opens to its cursor, in both formats |
//! | `sigv4_plain` | the plain SigV4 signer agrees with aws-sigv4 on every request it takes |
//! | `redaction_text` | redacting JSON text in place equals redacting its document |
//! | `check_types_text` | `check_types_text` on JSON text agrees with `check_types` on its document |

use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use arbitrary::{Arbitrary, Unstructured};
use serde_json::Value;

use super::exec;
use super::input::{Case, Pool};
use super::oracles::Judge;
use super::warmup;
use crate::client::{ByteBudget, Target};
use crate::model::{self, ListRequest, Timestamp, check_types, check_types_text};
use crate::protocol::{self, Protocol};
use crate::reference::choices::TokenFormat;
use crate::reference::token::{self, Cursor, TokenKey};
use crate::reference::{Reference, ReferenceConfig};

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target, by name, for the corpus replay.
pub const TARGETS: [(&str, Body); 10] = [
    ("reference_oracles", reference_oracles),
    ("http_target", http_target),
    ("cassette_load", cassette_load),
    ("json_codec", json_codec),
    ("cbor_codec", cbor_codec),
    ("request_matching", request_matching),
    ("token_decoding", token_decoding),
    ("sigv4_plain", sigv4_plain),
    ("redaction_text", redaction_text),
    ("check_types_text", check_types_text_agrees),
];

struct InProcess {
    runtime: tokio::runtime::Runtime,
    target: Target,
    pool: Pool,
    bytes: ByteBudget,
}

/// The target warmed up, or why it cannot be.
fn in_process(target: impl FnOnce() -> Target) -> Result<InProcess, crate::client::Fault> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let (target, bytes) = (target(), ByteBudget::default());
    let pool = runtime.block_on(warmup::warm_up(&target, Protocol::AwsJson11, &bytes))?.pool();
    Ok(InProcess { runtime, target, pool, bytes })
}

fn judge_case(world: &InProcess, data: &[u8]) {
    let Ok(case) = Case::generate(&mut Unstructured::new(data), &world.pool) else { return };
    let protocol = if data.first().is_some_and(|b| b & 1 == 1) { Protocol::RpcV2Cbor } else { Protocol::AwsJson11 };
    let trace = world.runtime.block_on(exec::run(&world.target, &world.bytes, protocol, &case, &world.pool));
    let violations = Judge::new().judge(&case, &trace);
    if let Some(v) = violations.first() {
        panic!("{} ({}): {}\ncase: {case:?}", v.oracle, v.basis, v.message);
    }
}

/// The reference in-process: no case breaks an oracle.
pub fn reference_oracles(data: &[u8]) {
    static WORLD: OnceLock<InProcess> = OnceLock::new();
    let world = WORLD.get_or_init(|| {
        in_process(|| Target::local("the reference", Arc::new(Reference::new(ReferenceConfig::default()))))
            .expect("the reference answers in-process")
    });
    judge_case(world, data);
}

/// The variable `http_target` reads its implementation's URL from.
pub const FUZZ_URL: &str = "SNOMED_VCR_FUZZ_URL";

/// The implementation at `SNOMED_VCR_FUZZ_URL`: no case breaks an oracle. Without a valid URL, or with one
/// nothing answers at, the first input stops the run with the fix (a fuzz target that skips every input
/// would report millions of runs of nothing).
pub fn http_target(data: &[u8]) {
    static WORLD: OnceLock<InProcess> = OnceLock::new();
    let world = WORLD.get_or_init(|| match http_world() {
        Ok(world) => world,
        Err(why) => {
            eprintln!("http_target: {why}");
            std::process::exit(2);
        }
    });
    judge_case(world, data);
}

/// Why `http_target` cannot fuzz what `SNOMED_VCR_FUZZ_URL` names, and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NotFuzzable(String);

/// The world of `http_target`, or what is wrong and how to fix it.
fn http_world() -> Result<InProcess, NotFuzzable> {
    let url = std::env::var(FUZZ_URL).map_err(|_| {
        NotFuzzable(format!(
            "{FUZZ_URL} is not set: set it to the URL of the implementation to fuzz, e.g. {FUZZ_URL}=http://127.0.0.1:4566"
        ))
    })?;
    let endpoint = crate::client::Endpoint::parse(&url, crate::client::DEFAULT_REGION)
        .map_err(|e| NotFuzzable(format!("{FUZZ_URL}: {e}")))?;
    let mut config = crate::client::ClientConfig::new(endpoint);
    config.timeout = Duration::from_secs(5);
    let client = crate::client::Client::with_config(config).map_err(|e| NotFuzzable(format!("{FUZZ_URL}: {e:#}")))?;
    in_process(|| Target::http(client)).map_err(|f| NotFuzzable(format!("{FUZZ_URL}={url} cannot be fuzzed: {f}")))
}

/// Cassette loading: no panic; a cassette that loads writes canonical text that loads back equal.
pub fn cassette_load(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = crate::cassette::Cassette::parse(&text) {
        let again = crate::cassette::Cassette::parse(&c.to_canonical()).expect("canonical text loads");
        assert_eq!(again, c, "a cassette changed through its canonical text");
    }
}

fn codec(protocol: Protocol, data: &[u8]) {
    let Ok(doc) = protocol::decode_document(protocol, data) else { return };
    let Ok(request) = ListRequest::from_document(&doc) else { return };
    let _ = request.validate();
    let body = protocol::encode_request(protocol, &request.to_document());
    let again = protocol::decode_request(protocol, &body).expect("an encoded request decodes").1;
    assert_eq!(again, request, "a request changed through {}", protocol.name());
}

/// JSON request bodies: decode, type, validate and round-trip without panic or change.
pub fn json_codec(data: &[u8]) {
    codec(Protocol::AwsJson11, data);
}

/// CBOR request bodies: likewise.
pub fn cbor_codec(data: &[u8]) {
    codec(Protocol::RpcV2Cbor, data);
}

/// Request matching: the key of a document equals the key of the document re-read from its text.
pub fn request_matching(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<Value>(data) else { return };
    let rules = crate::matching::parse_rules(&crate::matching::DEFAULT_RULES).expect("default rules parse");
    let key = crate::matching::request_key(&rules, Protocol::AwsJson11, model::OPERATION, &doc);
    let reread: Value = serde_json::from_str(&doc.to_string()).expect("re-reads");
    let again = crate::matching::request_key(&rules, Protocol::AwsJson11, model::OPERATION, &reread);
    assert_eq!(key, again, "the same request, two keys");
}

/// Tokens: opening any string never panics; an issued token opens to its cursor, in both formats.
pub fn token_decoding(data: &[u8]) {
    let key = TokenKey::from_seed(1);
    let digest = token::filter_digest(&model::Filter::default());
    let text = String::from_utf8_lossy(data);
    for format in [TokenFormat::Base64Url, TokenFormat::Hex] {
        let _ = token::open(&key, format, &text, digest);
    }
    let mut u = Unstructured::new(data);
    let (Ok(secs), Ok(id)) = (u.arbitrary::<f64>(), String::arbitrary(&mut u)) else { return };
    let Some(t) = Timestamp::from_secs_f64(secs) else { return };
    if id.len() > u16::MAX as usize {
        return;
    }
    let cursor = Cursor { submit_time: t, job_id: id };
    for format in [TokenFormat::Base64Url, TokenFormat::Hex] {
        let issued = token::issue(&key, format, digest, &cursor);
        assert_eq!(token::open(&key, format, &issued, digest), Ok(cursor.clone()), "{format:?}");
    }
}

/// The plain SigV4 signer against aws-sigv4.
pub fn sigv4_plain(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let pick = |u: &mut Unstructured, from: &[&'static str]| u.choose(from).copied();
    let run = |u: &mut Unstructured| -> arbitrary::Result<()> {
        let method = pick(u, &["POST", "GET", "PUT"])?;
        let uri = pick(
            u,
            &[
                "/",
                "/service/ComprehendMedical_20181030/operation/ListSNOMEDCTInferenceJobs",
                "/a/b",
                "/a%20b",
                "/?x=1",
                "//",
                "/a/./b",
            ],
        )?;
        let mut headers: Vec<(&str, String)> = vec![("host", "comprehendmedical.us-east-1.amazonaws.com".into())];
        for _ in 0..u.int_in_range(0..=6u8)? {
            let name = pick(
                u,
                &[
                    "content-type",
                    "x-amz-target",
                    "accept",
                    "smithy-protocol",
                    "x-custom",
                    "content-length",
                    "x-amz-date",
                    "x-amz-user-agent",
                    "X-Mixed-Case",
                ],
            )?;
            let value: String =
                String::arbitrary(u)?.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(40).collect();
            headers.push((name, value));
        }
        let body = <Vec<u8>>::arbitrary(u)?;
        let secret = format!("s{}", u32::arbitrary(u)?);
        let mut creds = crate::sigv4::Credentials::new("AKIDFUZZ", secret);
        if bool::arbitrary(u)? {
            creds.session_token = Some("token==".into());
        }
        let region = pick(u, &["us-east-1", "eu-west-2"])?;
        let at = UNIX_EPOCH + Duration::from_secs(1_600_000_000 + u64::from(u32::arbitrary(u)?));
        let hs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        if let Some((plain, aws)) = crate::sigv4::both_signatures(method, uri, &hs, &body, &creds, region, at)
            && let Ok(aws) = aws
        {
            assert_eq!(plain, aws, "{method} {uri} {hs:?}");
        }
        Ok(())
    };
    let _ = run(&mut u);
}

/// Redaction of JSON text in place against redaction of its document.
pub fn redaction_text(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<Value>(data) else { return };
    let mut by_doc = doc.clone();
    crate::cassette::redact::Redactor::new(Vec::new()).document(&mut by_doc);
    let mut text = serde_json::to_vec(&doc).expect("serializes");
    crate::cassette::redact::Redactor::new(Vec::new()).json_text_in_place(&mut text).expect("no path rules");
    let by_text: Value = serde_json::from_slice(&text).expect("redacted text stays JSON");
    assert_eq!(by_text, by_doc, "text and document redaction differ");
}

/// `check_types_text` against `check_types`, on every shape.
pub fn check_types_text_agrees(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let doc = serde_json::from_str::<Value>(text);
    for shape in [&model::REQUEST_SHAPE, &model::RESPONSE_SHAPE, &model::JOB_SHAPE, &model::ERROR_SHAPE] {
        let by_text = check_types_text(text, shape);
        match &doc {
            Ok(doc) => {
                let by_doc = check_types(doc, shape);
                assert_eq!(by_text.is_ok(), by_doc.is_ok(), "{text}: text {by_text:?}, document {by_doc:?}");
            }
            Err(_) => assert!(by_text.is_err(), "{text}: malformed JSON passed check_types_text"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_target_without_a_fuzzable_url_says_how_to_fix_it() {
        // SAFETY: the only test of this binary that reads or writes the variable.
        unsafe { std::env::remove_var(FUZZ_URL) };
        let unset = http_world().err().unwrap().to_string();
        assert!(unset.contains("is not set") && unset.contains("SNOMED_VCR_FUZZ_URL=http://"), "{unset}");
        unsafe { std::env::set_var(FUZZ_URL, "ftp://nowhere") };
        let bad = http_world().err().unwrap().to_string();
        assert!(bad.contains("an http:// or https:// URL"), "{bad}");
        let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        unsafe { std::env::set_var(FUZZ_URL, format!("http://{down}")) };
        let dead = http_world().err().unwrap().to_string();
        assert!(dead.contains("cannot be fuzzed: cannot connect"), "{dead}");
        unsafe { std::env::remove_var(FUZZ_URL) };
    }
}
