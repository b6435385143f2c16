//! One integration test binary (one link step on 2 cores), a module per area.

mod boto3;
mod cli;
mod credentials;
mod diff;
mod family;
mod first_hour;
mod fuzz;
mod fuzz_corpus;
mod hostile;
mod record;
mod replay;
mod rust_sdk;
mod trust;
mod util;
