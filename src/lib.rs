//! snomed-vcr: a record/replay test harness and fuzzer for the AWS Comprehend Medical operation
//! ListSNOMEDCTInferenceJobs.
//!
//! | module | owns |
//! |---|---|
//! | [`model`] | the operation's types, validation with AWS messages, output-shape checks |
//! | [`protocol`] | AWS JSON 1.1 and Smithy RPC v2 CBOR codecs, routing, error encoding and parsing |
//! | [`sigv4`] | signing and verification with `aws-sigv4` |
//! | [`reference`](mod@reference) | the reference implementation of the service (stand-in for AWS) |
//! | [`cassette`] | the cassette format, canonical atomic saving, redaction, journal, lint |
//! | [`matching`] | request keys and named matchers |
//! | [`record`] | the recording proxy and record modes |
//! | [`replay`] | answering from recordings in either protocol |
//! | [`review`] | accepting or rejecting re-recordings |
//! | [`server`] | the one hyper 1 serve loop, with graceful shutdown |
//! | [`client`] | a small client of the operation in either protocol |
//! | [`cli`], [`demo`] | the command line |

pub mod cassette;
pub mod cli;
pub mod client;
pub mod demo;
pub mod matching;
pub mod model;
pub mod protocol;
pub mod record;
pub mod reference;
pub mod replay;
pub mod review;
pub mod server;
pub mod sigv4;
pub mod util;
