//! What a diff finds, as every part of `diff` and every report speaks of it: the view and protocol choice,
//! the [`Kind`]s of [`Difference`], verdicts, and the [`Report`] of chains per cassette.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::doc::JsonPath;
use crate::model::Start;
use crate::model::oracle::{Basis, Oracle};
use crate::protocol::Protocol;

/// How a chain's pages are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Page by page: the same jobs on the same pages, `NextToken` present where it was.
    Strict,
    /// The chain's pages joined and jobs aligned by `JobId`: a different page split is no difference (the
    /// page-size limit is still checked on every page).
    Logical,
}

/// Which protocol requests go in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolChoice {
    /// Each chain in the protocol it was recorded in.
    Recorded,
    /// AWS JSON 1.1.
    Json,
    /// Smithy RPC v2 CBOR.
    Cbor,
    /// Each chain in both; the two answers must agree too.
    Both,
}

impl ProtocolChoice {
    pub(crate) fn protocols(self, recorded: Protocol) -> Vec<Protocol> {
        match self {
            ProtocolChoice::Recorded => vec![recorded],
            ProtocolChoice::Json => vec![Protocol::AwsJson11],
            ProtocolChoice::Cbor => vec![Protocol::RpcV2Cbor],
            ProtocolChoice::Both => vec![Protocol::AwsJson11, Protocol::RpcV2Cbor],
        }
    }
}

/// What kind of difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The HTTP status.
    Status,
    /// The error code (namespace and suffix stripped).
    ErrorCode,
    /// The error message, under the message policy.
    Message,
    /// A value in the output document.
    Body,
    /// A recorded job the target did not list.
    Missing,
    /// A job the target listed that the recording does not have.
    Extra,
    /// A job the target listed twice in one chain.
    Duplicate,
    /// A job out of the recorded order, where order is compared.
    Moved,
    /// `NextToken` presence, a chain that ends early or runs on, a token loop.
    Pagination,
    /// An invariant of the model or the documentation the target broke (and the recording did not).
    Oracle,
    /// The JSON and CBOR answers to the same request disagree.
    Protocol,
    /// No readable answer: refused, timed out, closed mid-answer, not the protocol.
    Transport,
}

impl Kind {
    /// The stable name reports and baselines use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Status => "status",
            Kind::ErrorCode => "error-code",
            Kind::Message => "message",
            Kind::Body => "body",
            Kind::Missing => "missing",
            Kind::Extra => "extra",
            Kind::Duplicate => "duplicate",
            Kind::Moved => "moved",
            Kind::Pagination => "pagination",
            Kind::Oracle => "oracle",
            Kind::Protocol => "protocol",
            Kind::Transport => "transport",
        }
    }
}

/// One place the target's answers differ from the recording's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// What kind.
    pub kind: Kind,
    /// The target's page (from 1), when it concerns one.
    pub page: Option<usize>,
    /// The recorded interaction (index in the cassette), when it concerns one.
    pub interaction: Option<usize>,
    /// Where, with jobs named by identity.
    pub path: JsonPath,
    /// The recorded value, if any.
    pub recorded: Option<Value>,
    /// The target's value, if any.
    pub received: Option<Value>,
    /// What differs, in words.
    pub message: String,
    /// For kind `oracle`: the oracle (reports write its stable name).
    pub oracle: Option<Oracle>,
    /// For kind `oracle`: the basis of its expectation.
    pub basis: Option<Basis>,
    /// Listed in the baseline: known and accepted.
    pub accepted: bool,
}

/// Where a comparison is, for the differences it finds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At {
    /// The target's page (from 1).
    pub page: Option<usize>,
    /// The recorded interaction.
    pub interaction: Option<usize>,
}

/// The most characters of a value a difference quotes; longer ones are cut, saying how long they were.
pub const QUOTE_CHARS: usize = 300;
/// The most differences one chain's report lists; the rest are counted in a last one.
pub const MAX_PER_CHAIN: usize = 100;

/// A value as a report quotes it: as it is when short; otherwise cut, and saying so (a hostile target's
/// megabyte value must not make a gigabyte report).
pub fn quote(v: Value) -> Value {
    let text = match &v {
        Value::String(s) if s.chars().count() <= QUOTE_CHARS => return v,
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => {
            let t = v.to_string();
            if t.len() <= 4 * QUOTE_CHARS {
                return v;
            }
            t
        }
        _ => return v,
    };
    let cut: String = text.chars().take(QUOTE_CHARS).collect();
    Value::String(format!("{cut}… ({} characters, cut)", text.chars().count()))
}

impl Difference {
    /// A difference of `kind` at `path`, in words; where it is and the values on each side are added with
    /// the methods below.
    pub(crate) fn new(kind: Kind, path: JsonPath, message: impl Into<String>) -> Difference {
        Difference {
            kind,
            page: None,
            interaction: None,
            path,
            recorded: None,
            received: None,
            message: message.into(),
            oracle: None,
            basis: None,
            accepted: false,
        }
    }

    /// On the target's page `page` (from 1).
    pub(crate) fn on_page(mut self, page: impl Into<Option<usize>>) -> Difference {
        self.page = page.into();
        self
    }

    /// Of the recorded interaction `interaction`.
    pub(crate) fn of_interaction(mut self, interaction: impl Into<Option<usize>>) -> Difference {
        self.interaction = interaction.into();
        self
    }

    /// With the recorded value (quoted: cut when long).
    pub(crate) fn recorded(mut self, value: impl Into<Option<Value>>) -> Difference {
        self.recorded = value.into().map(quote);
        self
    }

    /// With the target's value (quoted: cut when long).
    pub(crate) fn received(mut self, value: impl Into<Option<Value>>) -> Difference {
        self.received = value.into().map(quote);
        self
    }
}

/// The verdict on one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No difference.
    Same,
    /// Differences the baseline does not accept.
    Differs,
    /// Differences, all accepted by the baseline.
    Accepted,
}

/// One recorded chain, run in one protocol, and what differed.
#[derive(Clone, Debug, Serialize)]
pub struct ChainReport {
    /// The chain's number in its cassette (from 1).
    pub chain: usize,
    /// The protocol its requests went in.
    pub protocol: Protocol,
    /// The list operation it called.
    pub operation: crate::model::Operation,
    /// How the recorded chain started.
    #[serde(serialize_with = "start_name")]
    pub start: Start,
    /// The recorded interactions it replays.
    pub interactions: Vec<usize>,
    /// Its first request.
    pub request: Value,
    /// Pages in the recording.
    pub recorded_pages: usize,
    /// Pages the target answered.
    pub target_pages: usize,
    /// Jobs the recording lists in it.
    pub recorded_jobs: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// What differs.
    pub differences: Vec<Difference>,
    /// The first page that differs, both sides (recorded, target), as documents: what reports show.
    #[serde(skip)]
    pub shown: Option<(usize, Value, Value)>,
}

fn start_name<S: serde::Serializer>(s: &Start, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(match s {
        Start::Fresh => "fresh",
        Start::ReusedToken => "reused-token",
        Start::ForeignToken => "foreign-token",
    })
}

/// One cassette's chains.
#[derive(Clone, Debug, Serialize)]
pub struct CassetteReport {
    /// The cassette file.
    pub path: PathBuf,
    /// Its chains, in recorded order (with `--protocol both`, each chain twice).
    pub chains: Vec<ChainReport>,
}

impl CassetteReport {
    /// The file name, as reports name the cassette.
    pub fn name(&self) -> String {
        self.path.file_name().map_or_else(|| self.path.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}

/// Counts of what was compared.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Totals {
    /// Chains (runs) compared.
    pub chains: usize,
    /// Requests sent to the target (pages answered or failed).
    pub interactions: usize,
    /// Recorded jobs compared.
    pub jobs: usize,
    /// Differences the baseline does not accept.
    pub differences: usize,
    /// Differences the baseline accepts.
    pub accepted: usize,
    /// Chains cut because the others in flight held the run's byte budget, and run again alone.
    pub run_alone: usize,
}

/// The whole outcome of a diff.
/// Rendered as text, JSON, JUnit or HTML by [`crate::diff::report::render`]; [`Report::failed`] decides
/// the exit code.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use snomed_vcr::{DiffConfig, DiffReport};
/// use snomed_vcr::diff::Subject;
///
/// // A recording diffed against itself agrees everywhere.
/// let walk = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/boto3-walk.json"));
/// let report: DiffReport = DiffConfig::new(vec![walk.clone()], Subject::Cassette(walk)).run().await.unwrap();
/// assert!(!report.failed());
/// # });
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// What was compared against the cassettes: a URL, or the other cassette.
    pub target: String,
    /// The view.
    pub view: View,
    /// The protocol choice.
    pub protocol: ProtocolChoice,
    /// Per cassette.
    pub cassettes: Vec<CassetteReport>,
    /// Differences by field and kind, biggest first.
    pub summary: Vec<SummaryLine>,
    /// Baseline entries that no longer occur.
    pub stale: Vec<Accepted>,
    /// Counts.
    pub totals: Totals,
}

impl Report {
    /// Whether the run should fail: a difference the baseline does not accept, or a baseline entry that no
    /// longer occurs (the ratchet: the baseline must shrink).
    pub fn failed(&self) -> bool {
        self.totals.differences > 0 || !self.stale.is_empty()
    }
}

/// One line of the summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SummaryLine {
    /// The kind of difference.
    pub kind: Kind,
    /// The field (or oracle) it concerns.
    pub field: String,
    /// How many units differ.
    pub count: usize,
    /// Of how many compared.
    pub total: usize,
    /// `jobs`, `interactions` or `chains`.
    pub unit: &'static str,
    /// The line as text.
    pub text: String,
}

/// One accepted difference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    /// The cassette's file name.
    pub cassette: String,
    /// The chain's number in it (from 1).
    pub chain: usize,
    /// `awsJson1_1` or `rpcv2Cbor`.
    pub protocol: String,
    /// The difference's kind.
    pub kind: String,
    /// Its path.
    pub path: String,
    /// The recorded value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Value>,
    /// The target's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<Value>,
}
