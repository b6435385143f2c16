//! snomed-vcr: a record/replay test harness and fuzzer for the AWS Comprehend Medical operation
//! ListSNOMEDCTInferenceJobs.
//!
//! The nouns a Rust user needs are re-exported here: [`ReplayServer`] (answer from cassettes in-process),
//! [`Cassette`], [`Client`], [`Protocol`], [`Reference`] (the stand-in for AWS), [`Recorder`], and their
//! configurations. The modules, from the bottom up:
//!
//! | module | owns |
//! |---|---|
//! | [`doc`] | JSON documents: one [`doc::JsonPath`] type, canonical form, differences and their rendering |
//! | [`options`] | the one error for an option value that does not parse |
//! | [`model`] | the operation's types, validation with AWS messages, listings ([`Chain`]) and the oracles that judge them |
//! | [`protocol`] | AWS JSON 1.1 and Smithy RPC v2 CBOR codecs, routing, error encoding and parsing |
//! | [`sigv4`] | signing and verification with `aws-sigv4`, credentials |
//! | [`cassette`] | the cassette format, loading with precise errors, the store (atomic writes, journal, folding), redaction, lint |
//! | [`matching`] | request keys and named matchers |
//! | [`playback`] | answering a request from cassettes, and the guide when nothing does |
//! | [`client`] | the one client of the operation: http/https, signing, both protocols, walks |
//! | [`record`] | the recording proxy and record modes |
//! | [`replay`] | the replay server: faults, latency, watch, the in-process [`ReplayServer`] |
//! | [`diff`] | replaying cassettes against another implementation: token mapping, typed comparison, rules, oracles, noise, baselines, reports |
//! | [`review`] | accepting or rejecting re-recordings |
//! | [`reference`](mod@reference) | the reference implementation of the service (stand-in for AWS) |
//! | [`server`] | the one hyper 1 serve loop, with timeouts and graceful shutdown |

#![warn(missing_docs)]

pub mod cassette;
mod cli;
pub mod client;
mod demo;
pub mod diff;
pub mod doc;
pub mod fuzzing;
mod hex;
pub mod matching;
pub mod model;
pub mod options;
pub mod playback;
pub mod protocol;
pub mod record;
pub mod reference;
pub mod replay;
pub mod reporting;
pub mod review;
mod rng;
#[doc(hidden)]
pub mod scratch;
pub mod server;
pub mod sigv4;
mod time;

pub use cassette::{Cassette, LoadError};
pub use client::{Client, ClientConfig, Endpoint};
pub use model::{Chain, Page, Reply, ServiceError};
pub use playback::{Playback, PlaybackConfig};
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
