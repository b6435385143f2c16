//! Command-line definitions and dispatch. `main.rs` only calls [`main`].
//!
//! Contract (scripts depend on it): server subcommands take `--addr` (default `127.0.0.1:0`) and print exactly
//! one first stdout line, `listening on http://HOST:PORT`; logs go to stderr; SIGINT/SIGTERM shut down
//! gracefully with exit 0. Exit codes: 0 success, 1 differences or findings, 2 usage or runtime error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::reference::{self, Reference, ReferenceConfig, population, token::TokenKey};
use crate::server::{self, ServerConfig};
use crate::sigv4::Credentials;

#[derive(Debug, Parser)]
#[command(
    name = "snomed-vcr",
    version,
    about = "Record, replay, diff and fuzz AWS Comprehend Medical ListSNOMEDCTInferenceJobs traffic"
)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the reference implementation of the operation (both protocols).
    Reference(ReferenceArgs),
    /// Print a generated job population as JSON (the format `reference --jobs` reads).
    Jobs(PopulationArgs),
    /// Run the whole tool against the built-in reference service and report what it saw.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct AddrArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "HOST:PORT")]
    pub addr: String,
}

#[derive(Debug, Args)]
pub struct PopulationArgs {
    /// Generate this many jobs.
    #[arg(long, value_name = "N", default_value_t = population::DEFAULT_JOBS)]
    pub generate: usize,
    /// Seed of the generated population (and of the NextToken key, unless --token-secret is given).
    #[arg(long, value_name = "S", default_value_t = population::DEFAULT_SEED)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ReferenceArgs {
    #[command(flatten)]
    pub addr: AddrArgs,
    /// Serve the jobs in this file (a JSON array of job properties) instead of a generated population.
    #[arg(long, value_name = "FILE")]
    pub jobs: Option<PathBuf>,
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Require SigV4 signed with this key pair; others get 403 like AWS.
    #[arg(long, value_name = "ACCESS_KEY_ID:SECRET")]
    pub require_sigv4: Option<String>,
    /// Answer every Nth request with 429 TooManyRequestsException.
    #[arg(long, value_name = "N")]
    pub throttle_every: Option<u64>,
    /// Key NextTokens with this secret instead of one derived from the seed.
    #[arg(long, value_name = "SECRET")]
    pub token_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Page size of the walks.
    #[arg(long, default_value_t = 37)]
    pub max_results: i32,
}

/// Parses arguments, runs, and maps the outcome to the exit code contract.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("snomed_vcr={default},{default}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Reference(args) => run_reference(args).await,
        Command::Jobs(args) => {
            let jobs = population::generate(args.generate, args.seed);
            println!("{}", serde_json::to_string_pretty(&jobs)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => crate::demo::run(args).await,
    }
}

/// Builds the reference configuration from its flags.
pub fn reference_config(args: &ReferenceArgs) -> anyhow::Result<ReferenceConfig> {
    let jobs = match &args.jobs {
        Some(path) => population::load(path)?,
        None => population::generate(args.population.generate, args.population.seed),
    };
    let token_key = match &args.token_secret {
        Some(s) => TokenKey::from_secret(s),
        None => TokenKey::from_seed(args.population.seed),
    };
    let require_sigv4 = match &args.require_sigv4 {
        Some(pair) => Some(Credentials::parse_pair(pair).map_err(|e| anyhow::anyhow!("--require-sigv4: {e}"))?),
        None => None,
    };
    if args.throttle_every == Some(0) {
        anyhow::bail!("--throttle-every: expected a whole number of requests of at least 1, got 0");
    }
    Ok(ReferenceConfig { jobs, token_key, require_sigv4, throttle_every: args.throttle_every })
}

async fn run_reference(args: ReferenceArgs) -> anyhow::Result<ExitCode> {
    let config = reference_config(&args)?;
    let jobs = config.jobs.len();
    let listener = server::bind(&args.addr.addr).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    server::announce(addr);
    tracing::info!(%addr, jobs, sigv4 = config.require_sigv4.is_some(), "reference service up");
    server::serve(listener, Arc::new(Reference::new(config)), ServerConfig::default(), server::shutdown_signal()).await;
    tracing::info!("reference service stopped");
    Ok(ExitCode::SUCCESS)
}

/// Shorthand used by the demo and tests: a reference configuration from population flags.
pub fn generated(args: &PopulationArgs) -> ReferenceConfig {
    reference::ReferenceConfig::generated(args.generate, args.seed)
}
