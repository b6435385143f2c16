//! The clap definitions: the top-level [`Cli`], one struct per subcommand, and the flags they share.

use std::path::PathBuf;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

use crate::reference::population;
use crate::reporting::Format;

#[derive(Debug, Parser)]
#[command(
    name = "snomed-vcr",
    version,
    about = "Record, replay, diff and fuzz AWS Comprehend Medical ListSNOMEDCTInferenceJobs traffic"
)]
pub(crate) struct Cli {
    /// More logging on stderr: -v a line per request (record, replay, reference), -vv debug. RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Defaults for each subcommand's flags from this TOML file (else SNOMED_VCR_CONFIG, else ./snomed-vcr.toml);
    /// flags on the command line win.
    #[arg(long, global = true, value_name = "FILE")]
    #[allow(dead_code)] // taken off the command line by `file::apply` before clap reads it; here for --help
    pub(crate) config: Option<std::path::PathBuf>,
    /// Print the config file found and the flags it adds to this command, and exit.
    #[arg(long, global = true)]
    #[allow(dead_code)] // as `config`
    pub(crate) print_config: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the reference implementation of the operation (both protocols).
    Reference(ReferenceArgs),
    /// Print a generated job population as JSON (the format `reference --jobs` reads).
    #[command(
        after_help = "Examples:\n  snomed-vcr jobs --generate 20 --seed 7 > my-jobs.json\n  snomed-vcr reference --jobs my-jobs.json"
    )]
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  snomed-vcr completions bash > ~/.local/share/bash-completion/completions/snomed-vcr\n  \
snomed-vcr completions zsh > \"${fpath[1]}/_snomed-vcr\"\n  source <(snomed-vcr completions bash)"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `snomed-vcr man | man -l -`.
    #[command(
        after_help = "Examples:\n  snomed-vcr man | man -l -\n  snomed-vcr man > ~/.local/share/man/man1/snomed-vcr.1"
    )]
    Man,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Oracles (name: basis): validation, output-shape, page-size, robustness: model; filter, documented-order, \
pagination, token-safety: documentation; narrower-subset, intersection, page-size-invariance, status-partition: \
metamorphic; recording (with --cassette); against (with --against).\n\
Exit status: 0 no findings, 1 findings, 2 usage or runtime error.\n\
Examples:\n  snomed-vcr fuzz --target http://127.0.0.1:4566 --seconds 60 --out findings\n  \
snomed-vcr fuzz --target URL --cassette cassettes/boto3-bounds.json --runs 2000 --seed 7\n  \
snomed-vcr fuzz --target URL --against http://127.0.0.1:4567 --format junit > fuzz.xml\n  \
snomed-vcr fuzz --target URL --operation list-rx-norm-inference-jobs --runs 500"
)]
pub(crate) struct FuzzArgs {
    /// The implementation under test: an http(s):// URL, or `aws` for the AWS endpoint of --region.
    #[arg(long, value_name = "URL|aws")]
    pub(crate) target: String,
    /// Recordings of the service to hold the target to (files or directories, repeatable): the population
    /// and the behaviours they show (bound inclusivity, name matching, order without time bounds, token
    /// errors) are learned and asserted.
    #[arg(long = "cassette", value_name = "PATH", conflicts_with = "against")]
    pub(crate) cassettes: Vec<PathBuf>,
    /// A second implementation: every input goes to both and the answers are compared as diff compares.
    #[arg(long, value_name = "URL")]
    pub(crate) against: Option<String>,
    /// Run for this many seconds (default: 1000 cases).
    #[arg(long, value_name = "N", conflicts_with = "runs")]
    pub(crate) seconds: Option<f64>,
    /// Run this many cases.
    #[arg(long, value_name = "N")]
    pub(crate) runs: Option<u64>,
    /// The seed: the same seed sends the same inputs.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub(crate) seed: u64,
    /// Cases run at once (the findings do not depend on it).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Save each finding's reproducer (cassettes diff replays, and a curl line) under DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// The protocol cases speak.
    #[arg(long, value_enum, default_value_t = crate::fuzzing::CaseProtocol::Alternate)]
    pub(crate) protocol: crate::fuzzing::CaseProtocol,
    /// The list operation cases call (ListRxNormInferenceJobs, list-rx-norm-inference-jobs, rxnorm, …), or
    /// `all`: every one of the five the target answers (found by asking each once), the budget shared.
    #[arg(long, value_name = "NAME|all", default_value = "all")]
    pub(crate) operation: String,
    /// Seconds an answer may take before it is a robustness finding (and the request gives up).
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub(crate) timeout: f64,
    /// Only these oracles (repeatable or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME", conflicts_with = "skip_oracle")]
    pub(crate) oracle: Vec<crate::model::oracle::Oracle>,
    /// Every oracle but these (repeatable or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME")]
    pub(crate) skip_oracle: Vec<crate::model::oracle::Oracle>,
    /// Comparison rules (TOML, as diff takes them) for --against and --cassette.
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: Option<PathBuf>,
    /// Report format.
    #[arg(long, default_value = "text", value_parser = Format::parser(&[Format::Text, Format::Json, Format::Junit]))]
    pub(crate) format: Format,
    #[command(flatten)]
    pub(crate) reach: ReachArgs,
    /// Runs of the target each finding's shrinking may take.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub(crate) shrink_runs: usize,
    /// Stop starting cases once N distinct findings are in (cases under way finish).
    #[arg(long, value_name = "N")]
    pub(crate) stop_after: Option<usize>,
    /// Re-runs of a finding whose oracle depends on the population (relations, recording, against,
    /// pagination, token-safety) before it is reported; one that does not reproduce, or whose target's
    /// population moved meanwhile, is listed apart as unstable and does not fail the run.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) rechecks: usize,
    #[command(flatten)]
    pub(crate) bytes: ByteArgs,
}

/// How `diff` and `fuzz` reach a target: signing, its region, the CAs to trust.
#[derive(Debug, Args)]
pub(crate) struct ReachArgs {
    /// Sign requests with SigV4, with the credentials `record` uses (environment, AWS_PROFILE).
    #[arg(long)]
    pub(crate) sign: bool,
    /// Signing region (default: the target's AWS host, AWS_REGION, else us-east-1).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// Extra CA certificates (PEM) to trust for an https target.
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_file: Option<PathBuf>,
}

/// The byte budgets of `diff` and `fuzz`.
#[derive(Debug, Args)]
pub(crate) struct ByteArgs {
    /// The most memory one listing's answers may take (an estimate of their parsed size; K, M, G suffixes):
    /// past it the listing ends, named as the budget (diff: at least 4 times what the recorded chain took).
    #[arg(long, value_name = "BYTES", default_value = "4M", value_parser = byte_size)]
    pub(crate) max_chain_bytes: usize,
    /// The most memory the answers of all listings in flight may take together.
    #[arg(long, value_name = "BYTES", default_value = "32M", value_parser = byte_size)]
    pub(crate) max_run_bytes: usize,
}

impl ByteArgs {
    pub(super) fn budget(&self) -> crate::client::ByteBudget {
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
snomed-vcr diff --cassette c.json --target URL --learn-noise=3 --rules noise.toml\n  \
snomed-vcr diff --cassette c.json --target URL --baseline known.json --format junit --out diff.xml"
)]
pub(crate) struct DiffArgs {
    /// Two cassette files to compare with each other (the same traffic recorded twice), instead of
    /// --cassette and --target.
    #[arg(value_name = "A.json B.json")]
    pub(crate) pair: Vec<PathBuf>,
    /// Cassettes whose chains are replayed: files, or directories of *.json (repeatable).
    #[arg(long = "cassette", value_name = "PATH")]
    pub(crate) cassettes: Vec<PathBuf>,
    /// The implementation to compare: an http(s):// URL, or `aws` for the AWS endpoint of --region.
    #[arg(long, value_name = "URL|aws")]
    pub(crate) target: Option<String>,
    /// strict: page by page; logical: a chain's pages joined, jobs aligned by JobId.
    #[arg(long, value_enum, default_value_t = crate::diff::View::Logical)]
    pub(crate) pages: crate::diff::View,
    /// The protocol requests go in: as recorded, json, cbor, or both (which must then agree).
    #[arg(long, value_enum, default_value_t = crate::diff::ProtocolChoice::Recorded)]
    pub(crate) protocol: crate::diff::ProtocolChoice,
    /// Comparison rules (TOML) added to the defaults; see --print-rules.
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: Option<PathBuf>,
    /// Print the rules in force (the defaults, plus --rules) as TOML, and exit.
    #[arg(long)]
    pub(crate) print_rules: bool,
    /// Run the cassettes RUNS times (default 3; `--learn-noise=5` for five) against the target, or compare the
    /// two cassettes, and add the paths that vary to the --rules file as `ignore`.
    #[arg(long, value_name = "RUNS", num_args = 0..=1, require_equals = true, default_missing_value = "3", requires = "rules")]
    pub(crate) learn_noise: Option<usize>,
    /// Accepted differences (JSON): reported as accepted, not failures; entries that no longer occur fail
    /// the run until --baseline-update drops them.
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Write this run's differences to the --baseline file.
    #[arg(long, requires = "baseline")]
    pub(crate) baseline_update: bool,
    /// Report format.
    #[arg(long, default_value = "text", value_parser = Format::parser(&Format::ALL))]
    pub(crate) format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Chains run at once (the report's order does not depend on it).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Seconds to wait for each answer's headers, and again for its body.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub(crate) timeout: f64,
    #[command(flatten)]
    pub(crate) reach: ReachArgs,
    /// The redaction rules the cassettes were recorded with (header:NAME or json:$.PATH; repeatable): the
    /// target's answers pass through them before comparison.
    #[arg(long = "redact", value_name = "RULE")]
    pub(crate) redact: Vec<String>,
    /// How many pages past the recorded end a target is followed before its chain is cut.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) extra_pages: usize,
    #[command(flatten)]
    pub(crate) bytes: ByteArgs,
}

/// What `record --keep` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Keep {
    /// Real account ids.
    Accounts,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snomed-vcr record --upstream aws --region us-east-1 --cassette cassettes/mine.json\n  \
snomed-vcr record --upstream http://127.0.0.1:4566 --cassette c.json --mode new_episodes\n  \
snomed-vcr record --recover --cassette c.json\nThen point the client at the printed URL: boto3.client(\"comprehendmedical\", endpoint_url=URL)."
)]
pub(crate) struct RecordArgs {
    #[command(flatten)]
    pub(crate) addr: AddrArgs,
    /// Where to forward: an http(s):// URL, or `aws` for `https://comprehendmedical.REGION.amazonaws.com`.
    #[arg(long, value_name = "URL|aws", required_unless_present = "recover")]
    pub(crate) upstream: Option<String>,
    /// Signing region (default: AWS_REGION, AWS_DEFAULT_REGION, the upstream's AWS host, else us-east-1).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The cassette file to write.
    #[arg(long, value_name = "PATH")]
    pub(crate) cassette: PathBuf,
    /// Record mode.
    #[arg(long, value_enum, default_value = "once")]
    pub(crate) mode: crate::record::RecordMode,
    /// Forward the client's signature untouched (the proxy is the client's HTTP proxy; absolute-form requests).
    #[arg(long)]
    pub(crate) no_resign: bool,
    /// Keep what redaction replaces by default: `accounts` keeps real account ids (in ARNs, bucket names,
    /// paths) for those who accept the risk; the cassette records it, and `lint` says so.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub(crate) keep: Vec<Keep>,
    /// An extra redaction rule: header:NAME or json:$.PATH (repeatable).
    #[arg(long = "redact", value_name = "RULE")]
    pub(crate) redact: Vec<String>,
    /// Also record the 502s answered when the upstream fails.
    #[arg(long)]
    pub(crate) record_errors: bool,
    /// Seconds to wait for the upstream.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub(crate) upstream_timeout: f64,
    /// Extra CA certificates (PEM) to trust for an https:// upstream, besides the system roots.
    #[arg(long, value_name = "PEM")]
    pub(crate) upstream_ca_file: Option<PathBuf>,
    /// Largest request or response body, in bytes; larger requests get 413.
    #[arg(long, value_name = "BYTES", default_value_t = crate::server::MAX_BODY_DEFAULT)]
    pub(crate) max_body: usize,
    /// Leave out recorded_at and elapsed_ms so re-recordings are byte-identical (also when SOURCE_DATE_EPOCH is set).
    #[arg(long)]
    pub(crate) reproducible: bool,
    /// Fold a journal left by a crash (or by a fold deferred at shutdown) into the cassette, and exit.
    #[arg(long)]
    pub(crate) recover: bool,
    /// Seconds from SIGINT/SIGTERM to exit: in-flight requests get up to 2 of them, folding the journal into
    /// the cassette the rest; a fold that needs longer is left for `--recover` (the journal keeps everything).
    #[arg(long, value_name = "SECS", default_value_t = 4.0)]
    pub(crate) stop_timeout: f64,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  snomed-vcr replay --cassette cassettes\n  \
snomed-vcr replay --cassette c.json --strict\n  \
snomed-vcr replay --cassette c.json --simulate\n  \
snomed-vcr replay --cassette c.json --latency recorded --inject throttle=0.05 --seed 7")]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    pub(crate) addr: AddrArgs,
    /// Cassette files or directories (every *.json inside).
    #[arg(long = "cassette", required = true, value_name = "PATH", num_args = 1..)]
    pub(crate) cassettes: Vec<PathBuf>,
    /// Matchers to use instead of each cassette's own, comma-separated: operation, body, filter, max_results,
    /// next_token, protocol.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) match_on: Option<Vec<String>>,
    /// After a request's recorded answers are played: repeat the last, cycle, or answer an error.
    #[arg(long, value_enum, default_value = "last")]
    pub(crate) repeat: crate::playback::Repeat,
    /// Simulated latency: recorded, none, or milliseconds.
    #[arg(long, default_value = "none", value_name = "recorded|none|MS")]
    pub(crate) latency: String,
    /// Inject faults by probability, e.g. throttle=0.05,internal=0.01 (429s and 500s), drawn by --seed.
    #[arg(long, value_name = "FAULTS")]
    pub(crate) inject: Option<String>,
    /// Seed of the fault stream.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// On shutdown, exit 1 listing unmatched requests and interactions never played.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Reload cassettes when they change; a broken edit keeps the last good version.
    #[arg(long)]
    pub(crate) watch: bool,
    /// Answer a request no recording matches from the service the cassettes show (the population, tokens and
    /// choices `reference --from-cassette` learns), marked `x-snomed-vcr-simulated: true` and counted apart,
    /// instead of `UnmatchedRequestException`.
    #[arg(long)]
    pub(crate) simulate: bool,
    /// Answer what the live service answered instead of the recording's placeholders:
    /// account=ID (the first account id's), kms=KEY (the first KMS key's), or PLACEHOLDER=VALUE, comma-separated.
    /// Also from SNOMED_VCR_RESTORE.
    #[arg(long, value_name = "LIST")]
    pub(crate) restore: Option<String>,
    /// Megabytes of JSON answers held in memory; answers past it are read back from the cassette file when
    /// served, so huge cassettes serve in bounded memory.
    #[arg(long, value_name = "MB", default_value_t = 16)]
    pub(crate) resident_answers_mb: usize,
    /// Redaction rules the cassettes were recorded with (header:NAME or json:$.PATH), applied to requests.
    #[arg(long = "redact", value_name = "RULE")]
    pub(crate) redact: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 clean, 1 findings (file:line:field: what), 2 no cassette or unreadable.\nExamples:\n  snomed-vcr lint cassettes\n  snomed-vcr lint c.json other.json"
)]
pub(crate) struct LintArgs {
    /// Cassette files, or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snomed-vcr review              # every pending NAME.json.new under cassettes/, one by one\n  \
snomed-vcr review --accept c.json\n  snomed-vcr review --reject cassettes"
)]
pub(crate) struct ReviewArgs {
    /// Cassettes, their .json.new files, or directories (default: cassettes).
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Accept every pending re-recording.
    #[arg(long, conflicts_with = "reject")]
    pub(crate) accept: bool,
    /// Reject every pending re-recording.
    #[arg(long)]
    pub(crate) reject: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AddrArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "HOST:PORT")]
    pub(crate) addr: String,
}

#[derive(Debug, Args)]
pub(crate) struct PopulationArgs {
    /// Generate this many jobs (at most 1,000,000).
    #[arg(long, value_name = "N", default_value_t = population::DEFAULT_JOBS, value_parser = clap::value_parser!(u32).range(0..=1_000_000).map(|n| n as usize))]
    pub(crate) generate: usize,
    /// Seed of the generated population.
    #[arg(long, value_name = "S", default_value_t = population::DEFAULT_SEED)]
    pub(crate) seed: u64,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  snomed-vcr reference\n  \
snomed-vcr reference --addr 127.0.0.1:4566 --generate 1000 --seed 7\n  \
snomed-vcr reference --defect reversed-before\n  \
snomed-vcr reference --defect page-overflow --defect-in rxnorm\n  \
snomed-vcr reference --from-cassette cassettes")]
pub(crate) struct ReferenceArgs {
    #[command(flatten)]
    pub(crate) addr: AddrArgs,
    /// Serve the jobs in this file (a JSON array of job properties) instead of a generated population.
    #[arg(long, value_name = "FILE")]
    pub(crate) jobs: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) population: PopulationArgs,
    /// Require SigV4 signed with this key pair; others get 403 like AWS.
    #[arg(long, value_name = "ACCESS_KEY_ID:SECRET")]
    pub(crate) require_sigv4: Option<String>,
    /// Answer every Nth request with 429 TooManyRequestsException.
    #[arg(long, value_name = "N")]
    pub(crate) throttle_every: Option<u64>,
    /// Key NextTokens with this secret instead of one derived from --seed.
    #[arg(long, value_name = "SECRET")]
    pub(crate) token_secret: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Plant one bug, to see what `diff` and `fuzz` report for it.
    #[arg(long, value_name = "NAME")]
    pub(crate) defect: Option<crate::reference::Defect>,
    /// Plant --defect in one list operation only (ListRxNormInferenceJobs, rxnorm, …); the others answer
    /// correctly.
    #[arg(long, value_name = "OPERATION", requires = "defect", value_parser = parse_operation)]
    pub(crate) defect_in: Option<crate::model::Operation>,
    /// Serve the population and behaviours learned from a recording (where it shows none, the reference's
    /// own choices), so the recording answers any filter.
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with_all = ["jobs", "variant"])]
    pub(crate) from_cassette: Option<Vec<PathBuf>>,
    /// Choose differently wherever the documentation is silent (and still be correct): oldest first with no
    /// time bound, newest first with both, hex NextTokens, terse messages, ValidationException for a bad token.
    #[arg(long)]
    pub(crate) variant: bool,
    /// Pages hold from 1 to MaxResults jobs, varying page by page (MaxResults is a maximum, so this is
    /// correct).
    #[arg(long)]
    pub(crate) short_pages: bool,
    /// A page as full as it may be always carries a NextToken, so a listing may end with an empty page
    /// (correct: clients follow tokens until there is none).
    #[arg(long)]
    pub(crate) empty_last_page: bool,
    /// NextTokens are random ids the service keeps, a new one on every call, even for the same page (tokens
    /// are opaque).
    #[arg(long)]
    pub(crate) random_tokens: bool,
    /// Word error messages tersely, the service's own way (the wording is the service's).
    #[arg(long)]
    pub(crate) terse_messages: bool,
    /// The error code for a NextToken this service did not issue (any 4xx is correct).
    #[arg(long, value_name = "CODE", value_parser = ["InvalidRequestException", "ValidationException"])]
    pub(crate) bad_token_error: Option<String>,
    /// Milliseconds every answer takes.
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    pub(crate) latency: f64,
    /// Milliseconds more for each job on the page (big pages are slow, as they are on real services).
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    pub(crate) latency_per_job: f64,
    /// A live account: a new job is submitted every MS milliseconds, and jobs move through their statuses
    /// while you list them (with keyset tokens, so nothing is listed twice because of it).
    #[arg(long, value_name = "MS")]
    pub(crate) churn: Option<f64>,
}

impl ReferenceArgs {
    /// The choices the flags make, on top of the reference's own (or the variant's).
    pub(super) fn choices(&self) -> crate::reference::Choices {
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
    pub(super) fn live(&self) -> anyhow::Result<(Option<crate::reference::Delay>, Option<std::time::Duration>)> {
        let ms = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(std::time::Duration::from_secs_f64(v / 1000.0))
            } else {
                Err(anyhow::anyhow!("{name}: expected milliseconds of at least 0, got {v}"))
            }
        };
        let latency = crate::reference::Delay {
            base: ms("--latency", self.latency)?,
            per_job: ms("--latency-per-job", self.latency_per_job)?,
        };
        let latency = (latency != crate::reference::Delay::default()).then_some(latency);
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
#[command(after_help = "Examples:\n  snomed-vcr demo\n  snomed-vcr demo --generate 1000 --max-results 100")]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    pub(crate) population: PopulationArgs,
    /// Page size of the walks (1 to 500, as MaxResults).
    #[arg(long, value_name = "N", default_value_t = 37, value_parser = clap::value_parser!(i32).range(1..=500))]
    pub(crate) max_results: i32,
}

/// `--defect-in`: an operation of the list family, in any of its spellings.
fn parse_operation(s: &str) -> Result<crate::model::Operation, String> {
    crate::model::Operation::parse_loose(s)
        .ok_or_else(|| format!("'{s}' is not a list operation (expected one of {})", crate::model::Operation::names()))
}
