//! The runners of the subcommands that serve or report: each builds its configuration ([`super::config`]),
//! runs, and says what the exit code is.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::args::{DiffArgs, FuzzArgs, RecordArgs, ReferenceArgs, ReplayArgs};
use super::config::{diff_config, fuzz_config, record_config, reference_config, replay_config};
use super::process;
use crate::reference::Reference;
use crate::server::{self, ServerConfig};

pub(super) async fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let config = replay_config(&args)?;
    let watch = config.watch;
    let replayer = Arc::new(crate::replay::Replayer::new(config)?);
    let listener = server::bind(&args.addr.addr).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let shutdown = process::shutdown_signal();
    process::announce(addr);
    let library = replayer.playback().library();
    if args.latency == "recorded" && !library.has_timings() {
        eprintln!(
            "replay: --latency recorded: the cassettes hold no timings (recorded with --reproducible, or by hand); answering at once"
        );
    }
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
    let status = {
        let replayer = replayer.clone();
        process::StatusLine::start(move || format!("replay: {}", replayer.summary()))
    };
    server::serve(listener, replayer.clone(), ServerConfig::default(), shutdown).await;
    drop(status);
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
        eprintln!("replay: {}", report.summary());
    }
    Ok(ExitCode::SUCCESS)
}

/// The most of `--stop-timeout` that `record`'s in-flight requests may take to finish after SIGTERM.
const RECORD_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

pub(super) async fn record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    if args.recover {
        let journal = crate::cassette::journal::journal_path(&args.cassette);
        if !journal.exists() {
            anyhow::bail!("--recover: no journal at '{}' (nothing to recover)", journal.display());
        }
        let outcome = crate::cassette::store::fold(&args.cassette, None)?;
        eprintln!("{outcome}");
        return Ok(ExitCode::SUCCESS);
    }
    let config = record_config(&args, &|k| std::env::var(k).ok()).await?;
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
    let signal = process::shutdown_signal();
    let signalled = Arc::new(std::sync::OnceLock::new());
    let stopped = signalled.clone();
    let shutdown = async move {
        signal.await;
        let _ = stopped.set(std::time::Instant::now());
    };
    process::announce(addr);
    tracing::info!(%addr, %upstream, cassette = %args.cassette.display(), "recording proxy up");
    let status = {
        let recorder = recorder.clone();
        process::StatusLine::start(move || {
            format!("record: {} so far", crate::reporting::count(recorder.recorded(), "interaction", "interactions"))
        })
    };
    server::serve(listener, recorder.clone(), server_config, shutdown).await;
    drop(status);
    let deadline = signalled.get().copied().unwrap_or_else(std::time::Instant::now) + stop_timeout;
    let outcome = recorder.finish_by(Some(deadline))?;
    eprintln!("{outcome}");
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn reference(args: ReferenceArgs) -> anyhow::Result<ExitCode> {
    let config = reference_config(&args)?;
    let jobs = config.jobs.len();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls_acceptor(cert, key)?),
        _ => None,
    };
    let listener = server::bind(&args.addr.addr).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let shutdown = process::shutdown_signal();
    process::announce_scheme(if tls.is_some() { "https" } else { "http" }, addr);
    tracing::info!(%addr, jobs, sigv4 = config.require_sigv4.is_some(), "reference service up");
    if let Some(d) = config.defect {
        eprintln!("reference: serving with the planted defect '{d}'");
    }
    let reference = Arc::new(Reference::new(config));
    server::serve_with_tls(listener, tls, reference, ServerConfig::default(), shutdown).await;
    tracing::info!("reference service stopped");
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
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
    let config = diff_config(&args, &|k| std::env::var(k).ok()).await?;
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

pub(super) async fn fuzz(args: FuzzArgs) -> anyhow::Result<ExitCode> {
    let family = fuzz_config(&args, &|k| std::env::var(k).ok()).await?;
    let outcome = family.run().await?;
    let config = &family.config;
    let commands: Vec<Option<_>> = match &args.out {
        Some(out) => crate::fuzzing::save(&outcome, out, config.target.name())?.into_iter().map(Some).collect(),
        None => vec![None; outcome.findings.len()],
    };
    print!("{}", crate::fuzzing::report::render(&outcome, config.target.name(), &commands, args.format));
    Ok(if outcome.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
