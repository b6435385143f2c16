//! The command line: `main.rs` only calls [`main`].
//!
//! Contract (scripts depend on it): server subcommands take `--addr` (default `127.0.0.1:0`) and print exactly
//! one first stdout line, `listening on http://HOST:PORT`; logs go to stderr; SIGINT/SIGTERM shut down
//! gracefully with exit 0. Exit codes: 0 success, 1 differences or findings, 2 usage or runtime error.
//!
//! | file | owns |
//! |---|---|
//! | `args.rs` | the clap definitions: one struct per subcommand |
//! | `config.rs` | the library configurations built from them and the environment (the region worked out once) |
//! | `run.rs` | the runners: one per subcommand that serves or reports |
//! | `process.rs` | what a process needs: the listening line, signals |

mod args;
mod config;
mod demo;
mod file;
mod process;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::reference::population;
use args::{Cli, Command};

/// Parses arguments, runs, and maps the outcome to the exit code contract.
pub(crate) fn main() -> ExitCode {
    let (args, applied, print) = match file::apply(std::env::args_os().collect()) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if print {
        print!("{}", file::describe(&applied));
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse_from(args);
    init_logging(cli.verbose, cli.quiet);
    quiet_on_closed_stdout();
    let runtime = match crate::server::runtime() {
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

/// A reader that went away (`snomed-vcr demo | head`) ends the run without a panic message: printing fails,
/// the panic unwinds (removing scratch folders on its way), and nothing more is said.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<String>().map(String::as_str).unwrap_or("");
        if !(message.starts_with("failed printing to stdout") && message.contains("Broken pipe")) {
            default(info);
        }
    }));
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match verbose {
        _ if quiet => "error",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // aws-config warns about each link of the credential chain it passes over; the error a missing credential
    // gives names them all, so its own lines show from -vv on.
    let aws_config = if verbose >= 2 { default } else { "error" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("snomed_vcr={default},aws_config={aws_config},{default}"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Reference(args) => run::reference(args).await,
        Command::Fuzz(args) => run::fuzz(args).await,
        Command::Jobs(args) => {
            let jobs = population::generate(args.generate, args.seed);
            println!("{}", serde_json::to_string_pretty(&jobs)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let config = demo::DemoConfig {
                jobs: args.population.generate,
                seed: args.population.seed,
                max_results: args.max_results,
            };
            demo::run(config).await
        }
        Command::Record(args) => run::record(args).await,
        Command::Diff(args) => run::diff(args).await,
        Command::Replay(args) => run::replay(args).await,
        Command::Lint(args) => {
            let files = crate::cassette::expand_paths(&args.paths)?;
            if files.is_empty() {
                let given: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
                anyhow::bail!("no cassette (*.json) in {}: nothing to lint", given.join(", "));
            }
            let mut findings = 0;
            for f in &files {
                if let Some(notice) = crate::cassette::lint::kept_notice(f) {
                    eprintln!("{notice}");
                }
                for finding in crate::cassette::lint::lint_file(f) {
                    println!("{finding}");
                    findings += 1;
                }
            }
            eprintln!("{} cassette(s), {findings} finding(s)", files.len());
            Ok(if findings == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "snomed-vcr", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
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
