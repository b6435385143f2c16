//! snomed-vcr: a record/replay test harness and fuzzer for the AWS Comprehend Medical operation
//! ListSNOMEDCTInferenceJobs and its four sibling list operations (`model::Operation`).
//!
//! The command line (`snomed-vcr record | replay | diff | fuzz | reference`) is the main way in; for Rust
//! tests, these are the nouns, each with an example:
//!
//! | to… | use |
//! |---|---|
//! | answer from cassettes, in-process | [`ReplayServer`], [`ReplayConfig`] |
//! | record through a proxy | [`Recorder`], [`RecordConfig`], [`RecordMode`] |
//! | serve the stand-in for AWS | [`Reference`], [`ReferenceConfig`], on a [`Server`] ([`ServerConfig`]) |
//! | speak the operations | [`Client`] at an [`Endpoint`], in a [`Protocol`]: a [`Reply`], a whole [`Chain`] |
//! | read a cassette | [`Cassette`], [`LoadError`] |
//! | diff an implementation against a recording | [`DiffConfig`] → [`DiffReport`], of a [`Target`] |
//! | fuzz an implementation | [`FuzzConfig`] → [`FuzzOutcome`] |
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use serde_json::json;
//! use snomed_vcr::{Client, Protocol, Reply, ReplayServer};
//!
//! let cassette = concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/boto3-walk.json");
//! let server = ReplayServer::start(cassette).await.unwrap();
//! let reply = Client::new(&server.uri()).unwrap().call(Protocol::RpcV2Cbor, &json!({"MaxResults": 37})).await.unwrap().reply;
//! let Reply::Output(page) = reply else { panic!("{reply:?}") };
//! assert!(page["NextToken"].is_string());
//! # });
//! ```
//!
//! The modules behind them (the README's layout table says what each owns) are public for the project's own
//! tests, examples and `fuzz/` targets only, and hidden from these docs: they change without notice.

#![warn(missing_docs)]

#[doc(hidden)]
pub mod cassette;
mod cli;
#[doc(hidden)]
pub mod client;
#[doc(hidden)]
pub mod diff;
pub(crate) mod doc;
#[doc(hidden)]
pub mod fuzzing;
mod hex;
pub(crate) mod matching;
#[doc(hidden)]
pub mod model;
pub(crate) mod options;
pub(crate) mod playback;
pub(crate) mod program;
#[doc(hidden)]
pub mod protocol;
#[doc(hidden)]
pub mod record;
#[doc(hidden)]
pub mod reference;
#[doc(hidden)]
pub mod replay;
pub(crate) mod reporting;
pub(crate) mod review;
mod rng;
#[doc(hidden)]
pub mod scratch;
#[doc(hidden)]
pub mod server;
#[doc(hidden)]
pub mod sigv4;
mod time;

pub use cassette::{Cassette, LoadError};
pub use client::{Client, Endpoint, Target};
pub use diff::{DiffConfig, Report as DiffReport};
pub use fuzzing::{FuzzConfig, Outcome as FuzzOutcome};
pub use model::{Chain, Reply};
pub use protocol::Protocol;
pub use record::{RecordConfig, RecordMode, Recorder};
pub use reference::{Reference, ReferenceConfig};
pub use replay::{ReplayConfig, ReplayServer};
pub use server::{Server, ServerConfig};

/// The command line, for `main.rs`: parses the arguments, runs, and maps the outcome to the exit code.
#[doc(hidden)]
pub fn cli_main() -> std::process::ExitCode {
    cli::main()
}
