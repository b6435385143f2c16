//! The library configurations, built from the parsed flags and the environment (`env` stands for it, so the
//! tests can give their own). The region is worked out in one place, [`endpoint_and_region`].

use super::args::{DiffArgs, FuzzArgs, ReachArgs, RecordArgs, ReferenceArgs, ReplayArgs};
use crate::client::{DEFAULT_REGION, Endpoint};
use crate::reference::{ReferenceConfig, population, token::TokenKey};
use crate::sigv4::Credentials;

/// An endpoint given as `flag` (`--upstream`, `--target`: a URL or `aws`), and the region to sign for: the
/// `--region` given, else the endpoint's own AWS host's, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else
/// [`DEFAULT_REGION`]. `aws` alone stands for the regional endpoint of `--region` or the environment's.
fn endpoint_and_region(
    flag: &str,
    given: &str,
    region: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Endpoint, String)> {
    let env_region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).filter(|r| !r.is_empty());
    let hint = region.map(str::to_string).or(env_region.clone()).unwrap_or_else(|| DEFAULT_REGION.into());
    let endpoint = Endpoint::parse(given, &hint).map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
    let region = region
        .map(str::to_string)
        .or_else(|| endpoint.aws_region().map(str::to_string))
        .or(env_region)
        .unwrap_or_else(|| DEFAULT_REGION.into());
    Ok((endpoint, region))
}

/// The `--redact` rules given, parsed; the error names the option.
fn redact_rules(given: &[String]) -> anyhow::Result<Vec<crate::cassette::redact::RedactRule>> {
    given
        .iter()
        .map(|r| crate::cassette::redact::RedactRule::parse(r).map_err(|e| anyhow::anyhow!("--redact: {e}")))
        .collect()
}

/// The access key id `record` signs with for a loopback upstream when no credentials are found.
const LOOPBACK_KEY: &str = "AKIDSNOMEDVCRLOOPBACK";

/// Whether `host` is this machine: `localhost`, or a loopback address.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// How long `record` looks for credentials for a loopback upstream before signing with the placeholder key
/// (the chain's last link, EC2 instance metadata, can take seconds to answer that it is not there).
const LOOPBACK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);

/// The keys `record` re-signs with: the AWS default chain's; for a loopback upstream (a local emulator or the
/// reference, which check no signature unless told a key) a placeholder when the chain has none.
async fn resign_keys(
    host: &str,
    region: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::sigv4::Keys> {
    let chain = crate::sigv4::Keys::from_chain(env, region);
    let found = if is_loopback(host) {
        match tokio::time::timeout(LOOPBACK_PATIENCE, chain).await {
            Ok(Ok(found)) => found,
            // A local emulator or the reference: nothing secret to sign with, and most check no signature.
            Ok(Err(_)) | Err(_) => {
                eprintln!(
                    "record: no AWS credentials found; signing for the loopback upstream {host} with the placeholder key {LOOPBACK_KEY}"
                );
                return Ok(crate::sigv4::Credentials::new(LOOPBACK_KEY, "snomed-vcr-loopback-placeholder").into());
            }
        }
    } else {
        chain.await.map_err(|e| {
            anyhow::anyhow!(
                "{e}. The proxy re-signs requests for the upstream and needs credentials (or pass --no-resign)"
            )
        })?
    };
    let (keys, source) = found;
    tracing::info!(source = %source.0, "re-signing with credentials");
    Ok(keys)
}

/// The keys diff and fuzz sign with under `--sign`, found once for every client they build; the chain asks
/// STS and SSO in the region `--target` is signed for (by the one rule, [`endpoint_and_region`]).
async fn sign_keys(
    reach: &ReachArgs,
    target: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<crate::sigv4::Keys>> {
    if !reach.sign {
        return Ok(None);
    }
    let (_, region) = endpoint_and_region("--target", target, reach.region.as_deref(), env)?;
    let (keys, source) = crate::sigv4::Keys::from_chain(env, &region)
        .await
        .map_err(|e| anyhow::anyhow!("--sign: {e}. Signing needs credentials, as record's re-signing does"))?;
    tracing::info!(source = %source.0, "signing with credentials");
    Ok(Some(keys))
}

/// Builds the record configuration from its flags and the environment.
pub(super) async fn record_config(
    args: &RecordArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::record::RecordConfig> {
    if let Some(dir) = args.cassette.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
        anyhow::bail!(
            "--cassette {}: the folder {} does not exist (create it first: mkdir -p {})",
            args.cassette.display(),
            dir.display(),
            crate::program::quote(&dir.display().to_string())
        );
    }
    let given = args.upstream.as_deref().unwrap_or("aws");
    let (upstream, region) = endpoint_and_region("--upstream", given, args.region.as_deref(), env)?;
    let resign = if args.no_resign { None } else { Some(resign_keys(&upstream.host, &region, env).await?) };
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
        keep_accounts: args.keep.contains(&super::args::Keep::Accounts),
    })
}

/// Builds the replay configuration from its flags.
pub(super) fn replay_config(args: &ReplayArgs) -> anyhow::Result<crate::replay::ReplayConfig> {
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
        simulate: args.simulate,
        guides_to_stderr: true,
        restore: match args.restore.clone().or_else(|| std::env::var("SNOMED_VCR_RESTORE").ok()) {
            Some(s) => crate::replay::Restore::parse(&s).map_err(|e| anyhow::anyhow!("--restore: {e}"))?,
            None => crate::replay::Restore::default(),
        },
    })
}

/// Builds the reference configuration from its flags.
pub(super) fn reference_config(args: &ReferenceArgs) -> anyhow::Result<ReferenceConfig> {
    if let Some(path) = &args.from_cassette {
        let family = crate::fuzzing::Learned::family(path)?;
        if family.values().all(|l| l.jobs.is_empty()) {
            anyhow::bail!("--from-cassette: the recordings list no job to serve");
        }
        for (op, learned) in &family {
            for line in learned.describe() {
                eprintln!("reference: learned of {op}: {line}");
            }
        }
        let mut config = crate::fuzzing::Learned::family_config(&family, args.population.seed)
            .ok_or_else(|| anyhow::anyhow!("--from-cassette: the recordings call no list operation"))?;
        config.defect = args.defect;
        config.defect_in = args.defect_in;
        config.throttle_every = args.throttle_every;
        if let Some(s) = &args.token_secret {
            config.token_key = TokenKey::from_secret(s);
        }
        return Ok(config);
    }
    let (jobs, others) = match &args.jobs {
        Some(path) => population::load_family(path)?,
        None => (None, Default::default()),
    };
    let jobs = jobs.unwrap_or_else(|| population::generate(args.population.generate, args.population.seed));
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
        others,
        token_key,
        require_sigv4,
        throttle_every: args.throttle_every,
        defect: args.defect,
        defect_in: args.defect_in,
        choices: args.choices(),
        latency,
        churn,
    })
}

/// Builds the diff configuration from its flags and the environment.
pub(super) async fn diff_config(
    args: &DiffArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::diff::DiffConfig> {
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
    let keys = sign_keys(&args.reach, target, env).await?;
    let client = http_client(target, args.timeout, &args.reach, keys, env)?;
    let target = crate::client::Target::http(client);
    finish_diff_config(DiffConfig::new(args.cassettes.clone(), Subject::Service(target)), args)
}

/// A client for `--target URL|aws` with `--timeout` and how to reach it (`--region`, `--ca-file`, and the
/// keys `--sign` found), as diff and fuzz take them.
fn http_client(
    target: &str,
    timeout: f64,
    reach: &ReachArgs,
    keys: Option<crate::sigv4::Keys>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::client::Client> {
    let (endpoint, region) = endpoint_and_region("--target", target, reach.region.as_deref(), env)?;
    if !(timeout > 0.0 && timeout.is_finite()) {
        anyhow::bail!("--timeout: expected a positive number of seconds, got {timeout}");
    }
    let mut client_config = crate::client::ClientConfig::new(endpoint);
    client_config.timeout = std::time::Duration::from_secs_f64(timeout);
    client_config.ca_file.clone_from(&reach.ca_file);
    client_config.signing = keys.map(|k| (k, region));
    Ok(crate::client::Client::with_config(client_config)?)
}

/// `--concurrency` as given, which must be at least 1 (`what`: a chain, a case).
fn concurrency(n: usize, what: &str) -> anyhow::Result<usize> {
    if n == 0 {
        anyhow::bail!("--concurrency: expected at least 1 {what} at a time, got 0");
    }
    Ok(n)
}

fn finish_diff_config(mut config: crate::diff::DiffConfig, args: &DiffArgs) -> anyhow::Result<crate::diff::DiffConfig> {
    config.view = args.pages;
    config.protocol = args.protocol;
    config.concurrency = concurrency(args.concurrency, "chain")?;
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

/// Builds the fuzz run (a campaign per list operation) from its flags and the environment.
pub(super) async fn fuzz_config(
    args: &FuzzArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::fuzzing::FamilyFuzz> {
    use crate::client::Target;
    use crate::fuzzing::{Budget, Expected, FuzzConfig};
    let keys = sign_keys(&args.reach, &args.target, env).await?;
    let client = |url: &str| http_client(url, args.timeout, &args.reach, keys.clone(), env);
    let mut config = FuzzConfig::new(Target::http(client(&args.target)?));
    // Recordings are read once; each operation's campaign is held to what they show of it.
    let mut recordings = None;
    config.expected = match (&args.cassettes[..], &args.against) {
        ([_, ..], _) => {
            let family =
                crate::fuzzing::Learned::family(&args.cassettes).map_err(|e| anyhow::anyhow!("--cassette: {e:#}"))?;
            recordings = Some(family.into_iter().map(|(op, l)| (op, std::sync::Arc::new(l))).collect());
            Expected::None
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
    config.seed = args.seed;
    config.concurrency = concurrency(args.concurrency, "case")?;
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
    config.rules = match &args.rules {
        Some(path) => crate::diff::Rules::load(path)?,
        None => crate::diff::Rules::defaults(),
    };
    config.progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let operations =
        crate::fuzzing::Operations::parse(&args.operation).map_err(|e| anyhow::anyhow!("--operation: {e}"))?;
    Ok(crate::fuzzing::FamilyFuzz { config, operations, recordings })
}
