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

use crate::reporting::Format;
use crate::reference::{Reference, ReferenceConfig, population, token::TokenKey};
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
    /// Record traffic: a proxy that forwards to an upstream (re-signing with SigV4) and writes a cassette.
    Record(RecordArgs),
    /// Answer from cassettes, offline and deterministically, in either protocol.
    Replay(ReplayArgs),
    /// Check cassettes: they load, and hold no secrets (exit 1 with file:line:field on a finding).
    Lint(LintArgs),
    /// Accept or reject re-recordings (NAME.json.new) after seeing their diff.
    Review(ReviewArgs),
    /// Replay cassettes against another implementation (or compare two cassettes) and report every difference.
    Diff(DiffArgs),
    /// Hunt bugs in an implementation: generated filter, token and page-size inputs judged by oracles.
    Fuzz(FuzzArgs),
    /// Run the whole tool against the built-in reference service and report what it saw.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Oracles (name: basis): validation, output-shape, page-size, robustness: model; filter, documented-order, \
pagination, token-safety: documentation; narrower-subset, intersection, page-size-invariance, status-partition: \
metamorphic; recording (with --cassette); against (with --against).\n\
Exit status: 0 no findings, 1 findings, 2 usage or runtime error.\n\
Examples:\n  snomed-vcr fuzz --target http://127.0.0.1:4566 --seconds 60 --out findings\n  \
snomed-vcr fuzz --target URL --cassette cassettes/boto3-bounds.json --runs 2000 --seed 7\n  \
snomed-vcr fuzz --target URL --against http://127.0.0.1:4567 --format junit > fuzz.xml"
)]
pub struct FuzzArgs {
    /// The implementation under test: an http(s):// URL, or `aws` for the AWS endpoint of --region.
    #[arg(long, value_name = "URL|aws")]
    pub target: String,
    /// Recordings of the service to hold the target to (files or directories, repeatable): the population
    /// and the behaviours they show (bound inclusivity, name matching, order without time bounds, token
    /// errors) are learned and asserted.
    #[arg(long = "cassette", value_name = "PATH", conflicts_with = "against")]
    pub cassettes: Vec<PathBuf>,
    /// A second implementation: every input goes to both and the answers are compared as diff compares.
    #[arg(long, value_name = "URL")]
    pub against: Option<String>,
    /// Run for this many seconds (default: 1000 cases).
    #[arg(long, value_name = "N", conflicts_with = "runs")]
    pub seconds: Option<f64>,
    /// Run this many cases.
    #[arg(long, value_name = "N")]
    pub runs: Option<u64>,
    /// The seed: the same seed sends the same inputs.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Cases run at once (the findings do not depend on it).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Save each finding's reproducer (cassettes diff replays, and a curl line) under DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The protocol cases speak.
    #[arg(long, value_enum, default_value_t = crate::fuzzing::CaseProtocol::Alternate)]
    pub protocol: crate::fuzzing::CaseProtocol,
    /// Seconds an answer may take before it is a robustness finding (and the request gives up).
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub timeout: f64,
    /// Only these oracles (repeatable or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME", conflicts_with = "skip_oracle")]
    pub oracle: Vec<crate::model::oracle::Oracle>,
    /// Every oracle but these (repeatable or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME")]
    pub skip_oracle: Vec<crate::model::oracle::Oracle>,
    /// Comparison rules (TOML, as diff takes them) for --against and --cassette.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Report format.
    #[arg(long, default_value = "text", value_parser = Format::parser(&[Format::Text, Format::Json, Format::Junit]))]
    pub format: Format,
    /// Sign requests with SigV4, with the credentials `record` uses (environment, AWS_PROFILE).
    #[arg(long)]
    pub sign: bool,
    /// Signing region (default: the target's AWS host, AWS_REGION, else us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Extra CA certificates (PEM) to trust for an https target.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Runs of the target each finding's shrinking may take.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub shrink_runs: usize,
    /// Stop starting cases once N distinct findings are in (cases under way finish).
    #[arg(long, value_name = "N")]
    pub stop_after: Option<usize>,
    /// Re-runs of a finding whose oracle depends on the population (relations, recording, against,
    /// pagination, token-safety) before it is reported; one that does not reproduce, or whose target's
    /// population moved meanwhile, is listed apart as unstable and does not fail the run.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub rechecks: usize,
    #[command(flatten)]
    pub bytes: ByteArgs,
}

/// The byte budgets of `diff` and `fuzz`.
#[derive(Debug, Args)]
pub struct ByteArgs {
    /// The most memory one listing's answers may take (an estimate of their parsed size; K, M, G suffixes):
    /// past it the listing ends, named as the budget (diff: at least 4 times what the recorded chain took).
    #[arg(long, value_name = "BYTES", default_value = "4M", value_parser = byte_size)]
    pub max_chain_bytes: usize,
    /// The most memory the answers of all listings in flight may take together.
    #[arg(long, value_name = "BYTES", default_value = "32M", value_parser = byte_size)]
    pub max_run_bytes: usize,
}

impl ByteArgs {
    fn budget(&self) -> crate::client::ByteBudget {
        crate::client::ByteBudget::new(self.max_chain_bytes, self.max_run_bytes)
    }
}

fn byte_size(s: &str) -> Result<usize, crate::options::ParseError> {
    crate::options::parse_bytes(s)
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 no differences (or all accepted by the baseline), 1 differences, 2 usage or runtime error.\n\
Examples:\n  snomed-vcr diff --cassette cassettes --target http://127.0.0.1:4566\n  \
snomed-vcr diff old.json new.json\n  \
snomed-vcr diff --cassette c.json --target URL --learn-noise 3 --rules noise.toml\n  \
snomed-vcr diff --cassette c.json --target URL --baseline known.json --format junit --out diff.xml"
)]
pub struct DiffArgs {
    /// Two cassette files to compare with each other (the same traffic recorded twice), instead of
    /// --cassette and --target.
    #[arg(value_name = "A.json B.json")]
    pub pair: Vec<PathBuf>,
    /// Cassettes whose chains are replayed: files, or directories of *.json (repeatable).
    #[arg(long = "cassette", value_name = "PATH")]
    pub cassettes: Vec<PathBuf>,
    /// The implementation to compare: an http(s):// URL, or `aws` for the AWS endpoint of --region.
    #[arg(long, value_name = "URL|aws")]
    pub target: Option<String>,
    /// strict: page by page; logical: a chain's pages joined, jobs aligned by JobId.
    #[arg(long, value_enum, default_value_t = crate::diff::View::Logical)]
    pub pages: crate::diff::View,
    /// The protocol requests go in: as recorded, json, cbor, or both (which must then agree).
    #[arg(long, value_enum, default_value_t = crate::diff::ProtocolChoice::Recorded)]
    pub protocol: crate::diff::ProtocolChoice,
    /// Comparison rules (TOML) added to the defaults; see --print-rules.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Print the rules in force (the defaults, plus --rules) as TOML, and exit.
    #[arg(long)]
    pub print_rules: bool,
    /// Run the cassettes RUNS times (default 3) against the target, or compare the two cassettes, and add
    /// the paths that vary to the --rules file as `ignore`.
    #[arg(long, value_name = "RUNS", num_args = 0..=1, default_missing_value = "3", requires = "rules")]
    pub learn_noise: Option<usize>,
    /// Accepted differences (JSON): reported as accepted, not failures; entries that no longer occur fail
    /// the run until --baseline-update drops them.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write this run's differences to the --baseline file.
    #[arg(long, requires = "baseline")]
    pub baseline_update: bool,
    /// Report format.
    #[arg(long, default_value = "text", value_parser = Format::parser(&Format::ALL))]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Chains run at once (the report's order does not depend on it).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Seconds to wait for each answer's headers, and again for its body.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Sign requests with SigV4, with the credentials `record` uses (environment, AWS_PROFILE).
    #[arg(long)]
    pub sign: bool,
    /// Signing region (default: the target's AWS host, AWS_REGION, else us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Extra CA certificates (PEM) to trust for an https target.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// The redaction rules the cassettes were recorded with (header:NAME or json:$.PATH; repeatable): the
    /// target's answers pass through them before comparison.
    #[arg(long = "redact", value_name = "RULE")]
    pub redact: Vec<String>,
    /// How many pages past the recorded end a target is followed before its chain is cut.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub extra_pages: usize,
    #[command(flatten)]
    pub bytes: ByteArgs,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub addr: AddrArgs,
    /// Where to forward: an http(s):// URL, or `aws` for `https://comprehendmedical.REGION.amazonaws.com`.
    #[arg(long, value_name = "URL|aws", required_unless_present = "recover")]
    pub upstream: Option<String>,
    /// Signing region (default: AWS_REGION, AWS_DEFAULT_REGION, the upstream's AWS host, else us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The cassette file to write.
    #[arg(long, value_name = "PATH")]
    pub cassette: PathBuf,
    /// Record mode.
    #[arg(long, value_enum, default_value = "once")]
    pub mode: crate::record::Mode,
    /// Forward the client's signature untouched (the proxy is the client's HTTP proxy; absolute-form requests).
    #[arg(long)]
    pub no_resign: bool,
    /// An extra redaction rule: header:NAME or json:$.PATH (repeatable).
    #[arg(long = "redact", value_name = "RULE")]
    pub redact: Vec<String>,
    /// Also record the 502s answered when the upstream fails.
    #[arg(long)]
    pub record_errors: bool,
    /// Seconds to wait for the upstream.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub upstream_timeout: f64,
    /// Extra CA certificates (PEM) to trust for an https:// upstream, besides the system roots.
    #[arg(long, value_name = "PEM")]
    pub upstream_ca_file: Option<PathBuf>,
    /// Largest request or response body, in bytes; larger requests get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body: usize,
    /// Leave out recorded_at and elapsed_ms so re-recordings are byte-identical (also when SOURCE_DATE_EPOCH is set).
    #[arg(long)]
    pub reproducible: bool,
    /// Fold a journal left by a crash (or by a fold deferred at shutdown) into the cassette, and exit.
    #[arg(long)]
    pub recover: bool,
    /// Seconds from SIGINT/SIGTERM to exit: in-flight requests get up to 2 of them, folding the journal into
    /// the cassette the rest; a fold that needs longer is left for `--recover` (the journal keeps everything).
    #[arg(long, value_name = "SECS", default_value_t = 4.0)]
    pub stop_timeout: f64,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub addr: AddrArgs,
    /// Cassette files or directories (every *.json inside).
    #[arg(long = "cassette", required = true, value_name = "PATH", num_args = 1..)]
    pub cassettes: Vec<PathBuf>,
    /// Matchers to use instead of each cassette's own, comma-separated: operation, body, filter, max_results,
    /// next_token, protocol.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub match_on: Option<Vec<String>>,
    /// After a request's recorded answers are played: repeat the last, cycle, or answer an error.
    #[arg(long, value_enum, default_value = "last")]
    pub repeat: crate::playback::Repeat,
    /// Simulated latency: recorded, none, or milliseconds.
    #[arg(long, default_value = "none", value_name = "recorded|none|MS")]
    pub latency: String,
    /// Inject faults by probability, e.g. throttle=0.05,internal=0.01 (429s and 500s), drawn by --seed.
    #[arg(long, value_name = "FAULTS")]
    pub inject: Option<String>,
    /// Seed of the fault stream.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// On shutdown, exit 1 listing unmatched requests and interactions never played.
    #[arg(long)]
    pub strict: bool,
    /// Reload cassettes when they change; a broken edit keeps the last good version.
    #[arg(long)]
    pub watch: bool,
    /// Megabytes of JSON answers held in memory; answers past it are read back from the cassette file when
    /// served, so huge cassettes serve in bounded memory.
    #[arg(long, value_name = "MB", default_value_t = 16)]
    pub resident_answers_mb: usize,
    /// Redaction rules the cassettes were recorded with (header:NAME or json:$.PATH), applied to requests.
    #[arg(long = "redact", value_name = "RULE")]
    pub redact: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Cassette files, or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Cassettes, their .json.new files, or directories (default: cassettes).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Accept every pending re-recording.
    #[arg(long, conflicts_with = "reject")]
    pub accept: bool,
    /// Reject every pending re-recording.
    #[arg(long)]
    pub reject: bool,
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
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Plant one bug, to see what `diff` and `fuzz` report for it.
    #[arg(long, value_name = "NAME")]
    pub defect: Option<crate::reference::Defect>,
    /// Serve the population and behaviours learned from a recording (where it shows none, the reference's
    /// own choices), so the recording answers any filter.
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with_all = ["jobs", "variant"])]
    pub from_cassette: Option<Vec<PathBuf>>,
    /// Choose differently wherever the documentation is silent (and still be correct): oldest first with no
    /// time bound, newest first with both, hex NextTokens, terse messages, ValidationException for a bad token.
    #[arg(long)]
    pub variant: bool,
    /// Pages hold from 1 to MaxResults jobs, varying page by page (MaxResults is a maximum, so this is
    /// correct).
    #[arg(long)]
    pub short_pages: bool,
    /// A page as full as it may be always carries a NextToken, so a listing may end with an empty page
    /// (correct: clients follow tokens until there is none).
    #[arg(long)]
    pub empty_last_page: bool,
    /// NextTokens are random ids the service keeps, a new one on every call, even for the same page (tokens
    /// are opaque).
    #[arg(long)]
    pub random_tokens: bool,
    /// Word error messages tersely, the service's own way (the wording is the service's).
    #[arg(long)]
    pub terse_messages: bool,
    /// The error code for a NextToken this service did not issue (any 4xx is correct).
    #[arg(long, value_name = "CODE", value_parser = ["InvalidRequestException", "ValidationException"])]
    pub bad_token_error: Option<String>,
    /// Milliseconds every answer takes.
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    pub latency: f64,
    /// Milliseconds more for each job on the page (big pages are slow, as they are on real services).
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    pub latency_per_job: f64,
    /// A live account: a new job is submitted every MS milliseconds, and jobs move through their statuses
    /// while you list them (with keyset tokens, so nothing is listed twice because of it).
    #[arg(long, value_name = "MS")]
    pub churn: Option<f64>,
}

impl ReferenceArgs {
    /// The choices the flags make, on top of the reference's own (or the variant's).
    fn choices(&self) -> crate::reference::Choices {
        use crate::reference::choices::{Choices, Messages};
        let mut c = if self.variant { Choices::variant() } else { Choices::REFERENCE };
        c.short_pages |= self.short_pages;
        c.empty_last_page |= self.empty_last_page;
        c.random_tokens |= self.random_tokens;
        if self.terse_messages {
            c.messages = Messages::Terse;
        }
        if let Some(code) = &self.bad_token_error {
            c.token_error = Some((400, code.clone()));
        }
        c
    }

    /// The latency and churn the flags ask for.
    fn live(&self) -> anyhow::Result<(Option<crate::reference::Latency>, Option<std::time::Duration>)> {
        let ms = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(std::time::Duration::from_secs_f64(v / 1000.0))
            } else {
                Err(anyhow::anyhow!("{name}: expected milliseconds of at least 0, got {v}"))
            }
        };
        let latency = crate::reference::Latency {
            base: ms("--latency", self.latency)?,
            per_job: ms("--latency-per-job", self.latency_per_job)?,
        };
        let latency = (latency != crate::reference::Latency::default()).then_some(latency);
        let churn = match self.churn {
            Some(v) if !(v.is_finite() && v >= 1.0) => {
                anyhow::bail!("--churn: expected milliseconds of at least 1 between new jobs, got {v}")
            }
            Some(v) => Some(std::time::Duration::from_secs_f64(v / 1000.0)),
            None => None,
        };
        Ok((latency, churn))
    }
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
    let runtime = match server::runtime() {
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
        Command::Fuzz(args) => run_fuzz(args).await,
        Command::Jobs(args) => {
            let jobs = population::generate(args.generate, args.seed);
            println!("{}", serde_json::to_string_pretty(&jobs)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let config = crate::demo::DemoConfig {
                jobs: args.population.generate,
                seed: args.population.seed,
                max_results: args.max_results,
            };
            crate::demo::run(config).await
        }
        Command::Record(args) => run_record(args).await,
        Command::Diff(args) => run_diff(args).await,
        Command::Replay(args) => run_replay(args).await,
        Command::Lint(args) => {
            let files = crate::cassette::expand_paths(&args.paths)?;
            let mut findings = 0;
            for f in &files {
                for finding in crate::cassette::lint::lint_file(f) {
                    println!("{finding}");
                    findings += 1;
                }
            }
            eprintln!("{} cassette(s), {findings} finding(s)", files.len());
            Ok(if findings == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Review(args) => {
            let paths = if args.paths.is_empty() { vec![PathBuf::from("cassettes")] } else { args.paths };
            let policy = match (args.accept, args.reject) {
                (true, _) => crate::review::Policy::AcceptAll,
                (_, true) => crate::review::Policy::RejectAll,
                _ => crate::review::Policy::Ask,
            };
            let left = crate::review::run(&paths, policy)?;
            Ok(if left == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// The `--redact` rules given, parsed; the error names the option.
fn redact_rules(given: &[String]) -> anyhow::Result<Vec<crate::cassette::redact::Rule>> {
    given
        .iter()
        .map(|r| crate::cassette::redact::Rule::parse(r).map_err(|e| anyhow::anyhow!("--redact: {e}")))
        .collect()
}

/// Builds the record configuration from its flags and the environment.
pub fn record_config(
    args: &RecordArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::record::RecordConfig> {
    use crate::record::Endpoint;
    let env_region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).filter(|r| !r.is_empty());
    let region_hint = args.region.clone().or(env_region.clone()).unwrap_or_else(|| "us-east-1".into());
    let given = args.upstream.as_deref().unwrap_or("aws");
    let upstream = Endpoint::parse(given, &region_hint).map_err(|e| anyhow::anyhow!("--upstream: {e}"))?;
    let region = args
        .region
        .clone()
        .or_else(|| upstream.aws_region().map(str::to_string))
        .or(env_region)
        .unwrap_or_else(|| "us-east-1".into());
    let resign = if args.no_resign {
        None
    } else {
        let (creds, source) = crate::sigv4::credentials_from_chain(env).map_err(|e| {
            anyhow::anyhow!(
                "{e}. The proxy re-signs requests for the upstream and needs credentials (or pass --no-resign)"
            )
        })?;
        tracing::info!(source = %source.0, "re-signing with credentials");
        Some(creds)
    };
    let redact = redact_rules(&args.redact)?;
    if !(args.upstream_timeout > 0.0 && args.upstream_timeout.is_finite()) {
        anyhow::bail!("--upstream-timeout: expected a positive number of seconds, got {}", args.upstream_timeout);
    }
    Ok(crate::record::RecordConfig {
        upstream,
        region,
        cassette: args.cassette.clone(),
        mode: args.mode,
        resign,
        redact,
        record_errors: args.record_errors,
        upstream_timeout: std::time::Duration::from_secs_f64(args.upstream_timeout),
        upstream_ca_file: args.upstream_ca_file.clone(),
        max_body: args.max_body,
        reproducible: args.reproducible || env("SOURCE_DATE_EPOCH").is_some(),
    })
}

/// Builds the replay configuration from its flags.
pub fn replay_config(args: &ReplayArgs) -> anyhow::Result<crate::replay::ReplayConfig> {
    use crate::playback::PlaybackConfig;
    use crate::replay::{Faults, Latency, ReplayConfig};
    let match_on = match &args.match_on {
        Some(names) => Some(crate::matching::parse_rules(names).map_err(|e| anyhow::anyhow!("--match-on: {e}"))?),
        None => None,
    };
    let latency = Latency::parse(&args.latency).map_err(|e| anyhow::anyhow!("--latency: {e}"))?;
    let faults = match &args.inject {
        Some(s) => Faults::parse(s).map_err(|e| anyhow::anyhow!("--inject: {e}"))?,
        None => Faults::default(),
    };
    let redact = redact_rules(&args.redact)?;
    Ok(ReplayConfig {
        playback: PlaybackConfig {
            cassettes: args.cassettes.clone(),
            match_on,
            repeat: args.repeat,
            resident_answers: args.resident_answers_mb.saturating_mul(1 << 20),
        },
        latency,
        faults,
        seed: args.seed,
        redact,
        watch: args.watch,
    })
}

async fn run_replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let config = replay_config(&args)?;
    let watch = config.watch;
    let replayer = Arc::new(crate::replay::Replayer::new(config)?);
    let listener = server::bind(&args.addr.addr).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let shutdown = server::shutdown_signal();
    server::announce(addr);
    let library = replayer.playback().library();
    let (in_memory, read_back) = library.residency();
    tracing::info!(
        %addr,
        cassettes = library.paths.len(),
        interactions = library.len(),
        answers_in_memory = in_memory,
        answers_read_back = read_back,
        "replay server up"
    );
    let watcher = watch.then(|| crate::replay::spawn_watcher(replayer.clone(), std::time::Duration::from_millis(250)));
    server::serve(listener, replayer.clone(), ServerConfig::default(), shutdown).await;
    if let Some(w) = watcher {
        w.abort();
    }
    let report = replayer.report();
    if args.strict {
        eprint!("{report}");
        if !report.is_clean() {
            return Ok(ExitCode::from(1));
        }
    } else {
        tracing::info!(served = report.served, unmatched = report.unmatched, "replay server stopped");
    }
    Ok(ExitCode::SUCCESS)
}

/// The most of `--stop-timeout` that `record`'s in-flight requests may take to finish after SIGTERM.
const RECORD_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

async fn run_record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    if args.recover {
        let journal = crate::cassette::journal::journal_path(&args.cassette);
        if !journal.exists() {
            anyhow::bail!("--recover: no journal at '{}' (nothing to recover)", journal.display());
        }
        let outcome = crate::cassette::store::fold(&args.cassette, None)?;
        eprintln!("{outcome}");
        return Ok(ExitCode::SUCCESS);
    }
    let config = record_config(&args, &|k| std::env::var(k).ok())?;
    let upstream = config.upstream.url();
    if !(args.stop_timeout >= 0.0 && args.stop_timeout.is_finite()) {
        anyhow::bail!("--stop-timeout: expected a number of seconds of at least 0, got {}", args.stop_timeout);
    }
    let stop_timeout = std::time::Duration::from_secs_f64(args.stop_timeout);
    let drain = RECORD_DRAIN.min(stop_timeout);
    let server_config = ServerConfig { max_body: config.max_body, drain, ..ServerConfig::default() };
    let recorder = Arc::new(crate::record::Recorder::open(config).await?);
    let listener = server::bind(&args.addr.addr).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let signal = server::shutdown_signal();
    let signalled = Arc::new(std::sync::OnceLock::new());
    let stopped = signalled.clone();
    let shutdown = async move {
        signal.await;
        let _ = stopped.set(std::time::Instant::now());
    };
    server::announce(addr);
    tracing::info!(%addr, %upstream, cassette = %args.cassette.display(), "recording proxy up");
    server::serve(listener, recorder.clone(), server_config, shutdown).await;
    let deadline = signalled.get().copied().unwrap_or_else(std::time::Instant::now) + stop_timeout;
    let outcome = recorder.finish_by(Some(deadline))?;
    eprintln!("{outcome}");
    Ok(ExitCode::SUCCESS)
}

/// Builds the reference configuration from its flags.
pub fn reference_config(args: &ReferenceArgs) -> anyhow::Result<ReferenceConfig> {
    if let Some(path) = &args.from_cassette {
        let learned = crate::fuzzing::Learned::from_cassettes(path)?;
        if learned.jobs.is_empty() {
            anyhow::bail!("--from-cassette: the recordings list no job to serve");
        }
        for line in learned.describe() {
            eprintln!("reference: learned {line}");
        }
        let mut config = learned.config(args.population.seed);
        config.defect = args.defect;
        config.throttle_every = args.throttle_every;
        if let Some(s) = &args.token_secret {
            config.token_key = TokenKey::from_secret(s);
        }
        return Ok(config);
    }
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
    let (latency, churn) = args.live()?;
    Ok(ReferenceConfig {
        jobs,
        token_key,
        require_sigv4,
        throttle_every: args.throttle_every,
        defect: args.defect,
        choices: args.choices(),
        latency,
        churn,
    })
}

async fn run_reference(args: ReferenceArgs) -> anyhow::Result<ExitCode> {
    let config = reference_config(&args)?;
    let jobs = config.jobs.len();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls_acceptor(cert, key)?),
        _ => None,
    };
    let listener = server::bind(&args.addr.addr).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let shutdown = server::shutdown_signal();
    server::announce_scheme(if tls.is_some() { "https" } else { "http" }, addr);
    tracing::info!(%addr, jobs, sigv4 = config.require_sigv4.is_some(), "reference service up");
    if let Some(d) = config.defect {
        eprintln!("reference: serving with the planted defect '{d}'");
    }
    let reference = Arc::new(Reference::new(config));
    server::serve_with_tls(listener, tls, reference, ServerConfig::default(), shutdown).await;
    tracing::info!("reference service stopped");
    Ok(ExitCode::SUCCESS)
}

/// Builds the diff configuration from its flags and the environment.
pub fn diff_config(args: &DiffArgs, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<crate::diff::DiffConfig> {
    use crate::diff::{DiffConfig, Subject};
    let target = match (&args.pair[..], &args.target) {
        ([a, b], None) if args.cassettes.is_empty() => {
            return finish_diff_config(DiffConfig::new(vec![a.clone()], Subject::Cassette(b.clone())), args);
        }
        ([], Some(url)) if !args.cassettes.is_empty() => url,
        ([], None) | ([], Some(_)) => {
            anyhow::bail!("diff needs --cassette PATH and --target URL (or two cassette files: diff A.json B.json)")
        }
        (pair, _) => anyhow::bail!(
            "diff takes either two cassette files (diff A.json B.json) or --cassette PATH --target URL; got {} path(s){}",
            pair.len(),
            if args.target.is_some() { " and --target" } else { "" }
        ),
    };
    let client = http_client(target, args.region.as_deref(), args.timeout, args.sign, args.ca_file.as_ref(), env)?;
    let target = crate::client::Target::http(client);
    finish_diff_config(DiffConfig::new(args.cassettes.clone(), Subject::Service(target)), args)
}

/// A client for `--target URL|aws` with `--region`, `--timeout`, `--sign` and `--ca-file`, as diff and fuzz
/// take them.
fn http_client(
    target: &str,
    region: Option<&str>,
    timeout: f64,
    sign: bool,
    ca_file: Option<&PathBuf>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::client::Client> {
    let env_region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).filter(|r| !r.is_empty());
    let hint = region.map(str::to_string).or(env_region.clone()).unwrap_or_else(|| "us-east-1".into());
    let endpoint = crate::client::Endpoint::parse(target, &hint).map_err(|e| anyhow::anyhow!("--target: {e}"))?;
    if !(timeout > 0.0 && timeout.is_finite()) {
        anyhow::bail!("--timeout: expected a positive number of seconds, got {timeout}");
    }
    let region = region
        .map(str::to_string)
        .or_else(|| endpoint.aws_region().map(str::to_string))
        .or(env_region)
        .unwrap_or_else(|| "us-east-1".into());
    let mut client_config = crate::client::ClientConfig::new(endpoint);
    client_config.timeout = std::time::Duration::from_secs_f64(timeout);
    client_config.ca_file = ca_file.cloned();
    if sign {
        let (creds, source) = crate::sigv4::credentials_from_chain(env)
            .map_err(|e| anyhow::anyhow!("--sign: {e}. Signing needs credentials, as record's re-signing does"))?;
        tracing::info!(source = %source.0, "signing with credentials");
        client_config.signing = Some((creds, region));
    }
    crate::client::Client::with_config(client_config)
}

fn finish_diff_config(mut config: crate::diff::DiffConfig, args: &DiffArgs) -> anyhow::Result<crate::diff::DiffConfig> {
    if args.concurrency == 0 {
        anyhow::bail!("--concurrency: expected at least 1 chain at a time, got 0");
    }
    config.view = args.pages;
    config.protocol = args.protocol;
    config.concurrency = args.concurrency;
    config.extra_pages = args.extra_pages;
    config.rules = match &args.rules {
        // A rules file that does not exist yet is where --learn-noise will write.
        Some(path) if args.learn_noise.is_some() && !path.exists() => crate::diff::Rules::defaults(),
        Some(path) => crate::diff::Rules::load(path)?,
        None => crate::diff::Rules::defaults(),
    };
    config.redact = redact_rules(&args.redact)?;
    config.baseline = match &args.baseline {
        Some(path) if args.baseline_update && !path.exists() => None,
        Some(path) => Some(crate::diff::baseline::Baseline::load(path)?),
        None => None,
    };
    config.budget = args.bytes.budget();
    config.progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    Ok(config)
}

async fn run_diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    if args.print_rules {
        let rules = match &args.rules {
            Some(path) => crate::diff::Rules::load(path)?,
            None => crate::diff::Rules::defaults(),
        };
        print!("{}", rules.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(out) = &args.out {
        refuse_input_as_output(out, &args)?;
    }
    let config = diff_config(&args, &|k| std::env::var(k).ok())?;
    if let Some(runs) = args.learn_noise {
        let path = args.rules.as_ref().expect("clap requires --rules with --learn-noise");
        let (learned, how) = crate::diff::learn_noise(&config, runs).await?;
        print!("{}", learned.write(path, &how)?);
        return Ok(ExitCode::SUCCESS);
    }
    let report = crate::diff::diff(&config).await?;
    let mut unaccepted = 0;
    if args.baseline_update {
        let path = args.baseline.as_ref().expect("clap requires --baseline with --baseline-update");
        let baseline = crate::diff::baseline::Baseline::from_report(&report);
        baseline.save(path)?;
        eprintln!(
            "baseline: {} accepted difference(s) written to {} ({} no longer occurred and were dropped)",
            baseline.accepted.len(),
            path.display(),
            report.stale.len()
        );
        unaccepted = report
            .cassettes
            .iter()
            .flat_map(|c| &c.chains)
            .flat_map(|ch| &ch.differences)
            .filter(|d| !crate::diff::baseline::acceptable(d))
            .count();
        if unaccepted > 0 {
            eprintln!(
                "baseline: {unaccepted} transport failure(s) not accepted: a target that did not answer is no behaviour to accept"
            );
        }
    }
    let color = args.out.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let text = crate::diff::report::render(&report, args.format, color);
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| anyhow::anyhow!("--out: cannot write '{}': {e}", path.display()))?;
            let t = report.totals;
            eprintln!(
                "diff: {} difference(s), {} accepted, in {} chain(s); report written to {}",
                t.differences,
                t.accepted,
                t.chains,
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(if (report.failed() && !args.baseline_update) || unaccepted > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `diff --out` must not overwrite what the diff reads: a cassette, the other recording, the rules or the
/// baseline.
fn refuse_input_as_output(out: &std::path::Path, args: &DiffArgs) -> anyhow::Result<()> {
    let Ok(out) = out.canonicalize() else { return Ok(()) }; // a new file is no input
    let mut inputs: Vec<(&str, PathBuf)> = Vec::new();
    for p in crate::cassette::expand_paths(&args.cassettes).unwrap_or_default() {
        inputs.push(("--cassette", p));
    }
    inputs.extend(args.pair.iter().map(|p| ("A.json B.json", p.clone())));
    inputs.extend(args.rules.iter().map(|p| ("--rules", p.clone())));
    inputs.extend(args.baseline.iter().map(|p| ("--baseline", p.clone())));
    for (what, p) in inputs {
        if p.canonicalize().is_ok_and(|p| p == out) {
            anyhow::bail!(
                "--out: '{}' is one of diff's inputs ({what}); writing the report there would overwrite it. Choose another file",
                out.display()
            );
        }
    }
    Ok(())
}

/// Builds the fuzz configuration from its flags and the environment.
pub fn fuzz_config(
    args: &FuzzArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::fuzzing::FuzzConfig> {
    use crate::client::Target;
    use crate::fuzzing::{Budget, Expected, FuzzConfig};
    let client =
        |url: &str| http_client(url, args.region.as_deref(), args.timeout, args.sign, args.ca_file.as_ref(), env);
    let mut config = FuzzConfig::new(Target::http(client(&args.target)?));
    config.expected = match (&args.cassettes[..], &args.against) {
        ([_, ..], _) => {
            let learned = crate::fuzzing::Learned::from_cassettes(&args.cassettes)
                .map_err(|e| anyhow::anyhow!("--cassette: {e:#}"))?;
            Expected::Recording(std::sync::Arc::new(learned))
        }
        ([], Some(url)) => {
            let c = client(url).map_err(|e| anyhow::anyhow!("--against: {e:#}"))?;
            Expected::Against(Target::http(c))
        }
        ([], None) => Expected::None,
    };
    config.budget = match (args.seconds, args.runs) {
        (Some(s), _) if !(s > 0.0 && s.is_finite()) => {
            anyhow::bail!("--seconds: expected a positive number of seconds, got {s}")
        }
        (Some(s), _) => Budget::Time(std::time::Duration::from_secs_f64(s)),
        (None, Some(0)) => anyhow::bail!("--runs: expected at least 1 case, got 0"),
        (None, Some(n)) => Budget::Runs(n),
        (None, None) => Budget::Runs(1000),
    };
    if args.concurrency == 0 {
        anyhow::bail!("--concurrency: expected at least 1 case at a time, got 0");
    }
    config.seed = args.seed;
    config.concurrency = args.concurrency;
    config.protocol = args.protocol;
    config.shrink_runs = args.shrink_runs;
    config.stop_after = args.stop_after;
    config.rechecks = args.rechecks;
    config.bytes = args.bytes.budget();
    config.judge.timeout = std::time::Duration::from_secs_f64(args.timeout);
    if !args.oracle.is_empty() {
        config.judge.enabled = args.oracle.iter().copied().collect();
    }
    for o in &args.skip_oracle {
        config.judge.enabled.remove(o);
    }
    if let Expected::Recording(l) = &config.expected {
        config.judge.semantics = l.semantics();
    }
    config.rules = match &args.rules {
        Some(path) => crate::diff::Rules::load(path)?,
        None => crate::diff::Rules::defaults(),
    };
    config.progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    Ok(config)
}

async fn run_fuzz(args: FuzzArgs) -> anyhow::Result<ExitCode> {
    let config = fuzz_config(&args, &|k| std::env::var(k).ok())?;
    let outcome = crate::fuzzing::run(&config).await?;
    let commands: Vec<Option<_>> = match &args.out {
        Some(out) => crate::fuzzing::save(&outcome, out, config.target.name())?.into_iter().map(Some).collect(),
        None => vec![None; outcome.findings.len()],
    };
    print!("{}", crate::fuzzing::report::render(&outcome, config.target.name(), &commands, args.format));
    Ok(if outcome.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
