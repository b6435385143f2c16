//! `snomed-vcr fuzz`: generated filter, token and page-size inputs against any implementation, judged by
//! oracles that assume only what their basis says.
//!
//! The pipeline, and where each step lives:
//!
//! 1. [`warmup::warm_up`] probes the target with one small request, then walks it (unfiltered, by each
//!    status, at a job's instant, with a token no one issued, falling back to smaller pages): the population
//!    and behaviour it shows become the generators' [`input::Pool`] and, through [`learn`], the model that
//!    answers for reproducers.
//! 2. [`input`] builds each case from seeded bytes with boundary-biased [`arbitrary`] impls: a sequence of
//!    requests (chains followed, filters or page sizes changed mid-chain, tokens reused and tampered) or a
//!    metamorphic [`input::Relation`].
//! 3. [`exec`] runs it against a [`Target`](crate::client::Target) (HTTP, or the reference in-process).
//! 4. [`oracles`] judge the trace ([`verdict`] decides validity from the input sent and who issued its token);
//!    with `--cassette` or `--against`, [`differential`] compares it with the expected side's answers as
//!    `diff` does, only where that side can speak.
//! 5. [`campaign`] deduplicates by oracle and signature and re-checks what depends on the population,
//!    [`shrink`] makes each finding small, [`repro`] saves it as cassettes `diff` replays, and [`report`]
//!    summarizes (unstable findings apart).
//!
//! [`family`] runs one campaign per list operation the target answers (`--operation`), sharing the budget,
//! and merges their outcomes.
//!
//! [`harness`] holds the bodies of the cargo-fuzz targets in `fuzz/`, which stable `cargo test` replays.

pub mod campaign;
pub mod differential;
pub mod exec;
pub mod family;
pub mod finding;
pub mod generate;
pub mod harness;
pub mod input;
pub mod learn;
pub mod oracles;
pub mod report;
pub mod repro;
pub mod shrink;
pub mod verdict;
pub mod warmup;

pub use crate::model::oracle::{Basis, Oracle};
pub use campaign::{Budget, CaseProtocol, Expected, FuzzConfig, FuzzError, run};
pub use family::{FamilyFuzz, Operations};
pub use finding::{Finding, Outcome, Stability};
pub use generate::case;
pub use learn::Learned;
pub use oracles::Judge;
pub use repro::save;
pub use warmup::{WarmUp, warm_up};
