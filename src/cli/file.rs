//! `snomed-vcr.toml`: defaults for each subcommand's flags, one table per subcommand, keys named as the long
//! flags are (`cassette`, `target`, `region`, `redact`, `match-on` or `match_on`, …). Flags given on the command
//! line win: a key whose flag is given is left out. Read from `--config FILE`, else `SNOMED_VCR_CONFIG`, else
//! `./snomed-vcr.toml` when it exists.
//!
//! ```toml
//! [replay]
//! cassette = ["cassettes"]
//! strict = true
//!
//! [diff]
//! cassette = ["cassettes"]
//! target = "http://127.0.0.1:4566"
//! rules = "noise.toml"
//! ```
//!
//! The file becomes flags before clap reads the command line, so a value is checked exactly as the same flag
//! would be; a key no flag of that subcommand has is refused naming the file, the table and the flags it has.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::args::Cli;

/// The file looked for in the working directory.
pub(super) const DEFAULT_FILE: &str = "snomed-vcr.toml";

/// What a config file added to a command line.
pub(super) struct Applied {
    /// The file, if one was read.
    pub(super) file: Option<PathBuf>,
    /// The flags it added, as `--flag value` words.
    pub(super) added: Vec<String>,
    /// The keys it had that the command line overrode.
    pub(super) overridden: Vec<String>,
}

/// `args` (the process's, program name first) with the config file's defaults for its subcommand put in
/// before the command line's own flags; `--config FILE` and `--print-config` are taken out.
pub(super) fn apply(args: Vec<OsString>) -> Result<(Vec<OsString>, Applied, bool), String> {
    let mut args = args;
    let print = take_flag(&mut args, "--print-config");
    let explicit = take_value(&mut args, "--config")?;
    let file = explicit
        .clone()
        .or_else(|| std::env::var_os("SNOMED_VCR_CONFIG").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()));
    let mut applied = Applied { file: file.clone(), added: Vec::new(), overridden: Vec::new() };
    let Some(file) = file else { return Ok((args, applied, print)) };
    let text =
        std::fs::read_to_string(&file).map_err(|e| format!("{}: cannot read the config file: {e}", file.display()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| config_error(&file, &text, e))?;
    let command = Cli::command();
    // The subcommand is the first word that names one.
    let Some(at) = args.iter().position(|a| a.to_str().is_some_and(|s| command.find_subcommand(s).is_some())) else {
        return Ok((args, applied, print));
    };
    let name = args[at].to_string_lossy().into_owned();
    for section in table.keys() {
        if command.find_subcommand(section).is_none() {
            return Err(format!(
                "{}:{}: [{section}] is not a subcommand (expected one of: {})",
                file.display(),
                line_of(&text, &format!("[{section}]")),
                command.get_subcommands().map(|c| c.get_name().to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let Some(toml::Value::Table(section)) = table.get(&name) else { return Ok((args, applied, print)) };
    let sub = command.find_subcommand(&name).expect("found above");
    let flags: Vec<&str> = sub.get_arguments().filter_map(|a| a.get_long()).collect();
    let given: Vec<String> = args[at + 1..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut words: Vec<String> = Vec::new();
    for (key, value) in section {
        let flag = key.replace('_', "-");
        if !flags.contains(&flag.as_str()) || ["help", "config", "print-config"].contains(&flag.as_str()) {
            return Err(format!(
                "{}:{}: [{name}] has no key '{key}' (expected a flag of `{name}`: {})",
                file.display(),
                line_of(&text, key),
                flags.iter().filter(|f| **f != "help").copied().collect::<Vec<_>>().join(", ")
            ));
        }
        let long = format!("--{flag}");
        if given.iter().any(|g| *g == long || g.starts_with(&format!("{long}="))) {
            applied.overridden.push(key.clone());
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        for v in values {
            match v {
                toml::Value::Boolean(true) => words.push(long.clone()),
                toml::Value::Boolean(false) => {}
                toml::Value::String(s) => words.push(format!("{long}={s}")),
                toml::Value::Integer(n) => words.push(format!("{long}={n}")),
                toml::Value::Float(x) => words.push(format!("{long}={x}")),
                other => {
                    return Err(format!(
                        "{}:{}: [{name}] {key}: expected a string, number, boolean or a list of them, got {}",
                        file.display(),
                        line_of(&text, key),
                        other.type_str()
                    ));
                }
            }
        }
    }
    applied.added = words.clone();
    let mut out: Vec<OsString> = args[..=at].to_vec();
    out.extend(words.into_iter().map(OsString::from));
    out.extend(args[at + 1..].iter().cloned());
    Ok((out, applied, print))
}

/// What `--print-config` prints: the file, the flags it added and the keys the command line overrode.
pub(super) fn describe(applied: &Applied) -> String {
    let Some(file) = &applied.file else {
        return format!("no config file (looked for --config, SNOMED_VCR_CONFIG and ./{DEFAULT_FILE})\n");
    };
    let mut out = format!("config file: {}\n", file.display());
    if applied.added.is_empty() {
        out.push_str("adds no flags to this command\n");
    }
    for w in &applied.added {
        out.push_str(&format!("adds {w}\n"));
    }
    for k in &applied.overridden {
        out.push_str(&format!("overridden by the command line: {k}\n"));
    }
    out
}

fn take_flag(args: &mut Vec<OsString>, flag: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != flag);
    args.len() != before
}

fn take_value(args: &mut Vec<OsString>, flag: &str) -> Result<Option<PathBuf>, String> {
    let prefix = format!("{flag}=");
    if let Some(i) = args.iter().position(|a| a.to_str().is_some_and(|s| s.starts_with(&prefix))) {
        let v = args.remove(i).to_string_lossy()[prefix.len()..].to_string();
        return Ok(Some(PathBuf::from(v)));
    }
    match args.iter().position(|a| a == flag) {
        Some(i) if i + 1 < args.len() => {
            args.remove(i);
            Ok(Some(PathBuf::from(args.remove(i))))
        }
        Some(_) => Err(format!("{flag}: expected a file path")),
        None => Ok(None),
    }
}

/// The line of the first line of `text` that begins (after spaces) with `what`; 1 if none does.
fn line_of(text: &str, what: &str) -> usize {
    text.lines().position(|l| l.trim_start().starts_with(what)).map_or(1, |i| i + 1)
}

fn config_error(file: &Path, text: &str, e: toml::de::Error) -> String {
    let line = e.span().map_or(1, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    format!("{}:{line}: not a valid config file: {}", file.display(), e.message())
}
