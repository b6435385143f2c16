//! Reproducers: a finding's shrunk case saved as cassettes that `snomed-vcr diff` replays.
//!
//! `DIR/NN-ORACLE/` holds `expected.json` (the shrunk requests with the expected side's answers: the
//! recording's model, the `--against` implementation, or a model of the target's own population with the
//! documented behaviour), `actual.json` (the same requests with the target's answers), `finding.json` (the
//! oracle, basis, signature, message, sizes, and the commands), and `request.cbor` for a CBOR curl line.
//! `snomed-vcr diff --cassette DIR/NN-ORACLE/expected.json --target URL` fails while the bug is there.

use crate::program::quote;
use std::collections::BTreeMap;
use std::path::Path;

use crate::cassette::CassetteError;
use crate::cassette::error::Doing;
use serde_json::{Value, json};

use super::exec::{Sent, Trace};
use super::finding::{Finding, Outcome};
use crate::cassette::{Cassette, Encoding, EncodingFormat, Interaction, RecordedRequest, RecordedResponse};
use crate::model::{self, Operation, Page, Reply};
use crate::protocol::{self, Protocol};

/// The commands that replay a finding.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Commands {
    /// The reproducer's folder.
    #[serde(skip)]
    pub dir: std::path::PathBuf,
    /// `snomed-vcr diff --cassette … --target …`.
    pub diff: String,
    /// The failing request, as curl sends it.
    pub curl: String,
}

fn interaction(
    seq: u64,
    (protocol, operation): (Protocol, Operation),
    request: &Value,
    status: u16,
    reply: &Reply,
) -> Interaction {
    let headers: BTreeMap<String, String> =
        protocol::request_headers(protocol, operation.name()).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let body = match reply {
        Reply::Output(doc) => doc.clone(),
        Reply::Error(e) => protocol::error_document(protocol, e),
    };
    let encoding = (protocol == Protocol::RpcV2Cbor)
        .then_some(Encoding { format: EncodingFormat::Cbor, indefinite_lengths: false });
    let mut resp_headers = BTreeMap::new();
    resp_headers.insert("content-type".to_string(), protocol.content_type().to_string());
    Interaction {
        seq,
        recorded_at: None,
        elapsed_ms: None,
        request: RecordedRequest {
            method: "POST".into(),
            path: protocol.path("", operation.name()),
            protocol,
            operation,
            headers,
            body: request.clone(),
            encoding,
        },
        response: RecordedResponse { status, headers: resp_headers, body, encoding },
    }
}

/// A cassette of a trace's answered exchanges, after `prelude` pages (the walks that issued pool tokens).
pub fn cassette(trace: &Trace, prelude: &[Page], upstream: &str) -> Cassette {
    let mut c = Cassette::new(upstream, crate::client::DEFAULT_REGION);
    let mut push = |request: &Value, status: u16, reply: &Reply| {
        let seq = c.interactions.len() as u64;
        c.interactions.push(interaction(seq, (trace.protocol, trace.operation), request, status, reply));
    };
    for p in prelude {
        push(&p.request, p.status, &p.reply);
    }
    for listing in &trace.listings {
        for (i, p) in listing.chain.pages.iter().enumerate() {
            push(&p.request, p.status, &p.reply);
            if let Some((at, again)) = &listing.repeated
                && *at == i
            {
                push(&p.request, again.status, &again.reply);
            }
        }
    }
    c
}

/// The exchange a violation points at (or the last one sent).
fn failing(trace: &Trace, step: Option<usize>, page: Option<usize>) -> Option<&Sent> {
    trace
        .sent
        .iter()
        .find(|s| Some(s.step) == step && Some(s.page) == page.or(Some(0)))
        .or_else(|| trace.sent.iter().rfind(|s| Some(s.step) == step))
        .or(trace.sent.last())
}

/// The commands for a finding saved in `dir`, against `url`.
pub fn commands(f: &Finding, dir: &Path, url: &str) -> Commands {
    let expected = dir.join("expected.json");
    let diff = format!(
        "{} diff --cassette {} --target {}",
        crate::program::program(),
        quote(&expected.display().to_string()),
        quote(url)
    );
    let sent = failing(&f.actual, f.violation.step, f.violation.page);
    let base = url.trim_end_matches('/');
    let curl = match (sent, f.protocol) {
        (Some(s), Protocol::AwsJson11) => format!(
            "curl -sS -X POST {} -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: {}.{}' --data-binary {}",
            quote(&format!("{base}/")),
            model::SERVICE,
            f.actual.operation,
            quote(&s.request.to_string())
        ),
        (Some(_), Protocol::RpcV2Cbor) => format!(
            // The answer is CBOR: to a file, not the terminal.
            "curl -sS -X POST {} -H 'Content-Type: application/cbor' -H 'Accept: application/cbor' -H 'smithy-protocol: rpc-v2-cbor' --data-binary @{} -o {} -w 'HTTP %{{http_code}}, %{{size_download}} bytes of CBOR in response.cbor\\n'",
            quote(&format!("{base}{}", Protocol::RpcV2Cbor.path("", f.actual.operation.name()))),
            quote(&dir.join("request.cbor").display().to_string()),
            quote(&dir.join("response.cbor").display().to_string())
        ),
        (None, _) => String::new(),
    };
    Commands { dir: dir.to_path_buf(), diff, curl }
}

/// What `finding.json` holds: nothing that depends on timing, so the same seed writes the same file.
pub fn finding_document(f: &Finding, commands: &Commands) -> Value {
    let requests: Vec<Value> = f
        .actual
        .sent
        .iter()
        .map(|s| {
            json!({
                "step": s.step,
                "page": s.page,
                "request": s.request,
                "status": s.outcome.as_ref().map(|a| a.status).ok(),
                "fault": s.outcome.as_ref().err().map(ToString::to_string),
            })
        })
        .collect();
    json!({
        "oracle": f.violation.oracle.name(),
        "basis": f.violation.basis,
        "signature": f.violation.signature,
        "message": f.violation.message,
        "step": f.violation.step,
        "page": f.violation.page,
        "protocol": f.protocol.name(),
        "operation": f.actual.operation.name(),
        "case": f.case_index,
        "occurrences": f.occurrences,
        "size": {"generated": f.sizes.0, "shrunk": f.sizes.1},
        "shrink_runs": f.shrink_runs,
        "shrunk_case": format!("{:?}", f.shrunk),
        "exchanges": requests,
        "replay": commands,
    })
}

/// Saves each finding of a campaign as a reproducer under `out` (`01-ORACLE/`, `02-ORACLE/`, …: the cassettes
/// of both sides, the finding, and for CBOR the failing request's bytes), and returns each one's replay
/// commands, in the order of `outcome.findings`.
pub fn save(outcome: &Outcome, out: &Path, url: &str) -> Result<Vec<Commands>, CassetteError> {
    let mut all = Vec::with_capacity(outcome.findings.len());
    for (i, f) in outcome.findings.iter().enumerate() {
        all.push(write(f, &finding_dir(out, i, f), url)?);
    }
    Ok(all)
}

/// Where the reproducer of the `n`th finding (from 0) goes.
fn finding_dir(out: &Path, n: usize, f: &Finding) -> std::path::PathBuf {
    out.join(format!("{:02}-{}", n + 1, f.violation.oracle.name()))
}

/// Writes a finding's reproducer into `dir`.
fn write(f: &Finding, dir: &Path, url: &str) -> Result<Commands, CassetteError> {
    std::fs::create_dir_all(dir).doing(|| format!("--out: cannot create '{}'", dir.display()))?;
    let commands = commands(f, dir, url);
    cassette(&f.expected, &f.prelude, "expected").save(&dir.join("expected.json"))?;
    cassette(&f.actual, &[], url).save(&dir.join("actual.json"))?;
    if f.protocol == Protocol::RpcV2Cbor
        && let Some(s) = failing(&f.actual, f.violation.step, f.violation.page)
    {
        std::fs::write(dir.join("request.cbor"), protocol::encode_request(Protocol::RpcV2Cbor, &s.request))
            .doing(|| format!("--out: cannot write '{}'", dir.display()))?;
    }
    let doc = finding_document(f, &commands);
    std::fs::write(dir.join("finding.json"), serde_json::to_string_pretty(&doc).expect("a finding serializes") + "\n")
        .doing(|| format!("--out: cannot write '{}'", dir.join("finding.json").display()))?;
    Ok(commands)
}
