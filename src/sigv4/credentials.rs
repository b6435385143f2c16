//! Credentials: a key pair (never printed), and the cheap links of the standard AWS chain.

use aws_credential_types::Credentials as AwsCredentials;
use aws_smithy_runtime_api::client::identity::Identity;

/// An access key pair (and session token, for temporary credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AKIA…`.
    pub access_key_id: String,
    /// The secret, never printed.
    pub secret_access_key: String,
    /// For temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret or the token.
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

impl Credentials {
    /// A long-term key pair.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Credentials {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// Parses `ACCESS_KEY_ID:SECRET` (the `--require-sigv4` form).
    pub fn parse_pair(s: &str) -> Result<Credentials, crate::options::ParseError> {
        match s.split_once(':') {
            Some((ak, sk)) if !ak.is_empty() && !sk.is_empty() => Ok(Credentials::new(ak, sk)),
            _ => Err(crate::options::ParseError::new(redact_secret(s), "ACCESS_KEY_ID:SECRET_ACCESS_KEY")),
        }
    }

    pub(super) fn identity(&self) -> Identity {
        AwsCredentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "snomed-vcr",
        )
        .into()
    }
}

fn redact_secret(s: &str) -> String {
    match s.split_once(':') {
        Some((ak, _)) => format!("{ak}:…"),
        None => s.to_string(),
    }
}

/// Where credentials came from, for logs (never the values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialSource(pub String);

/// Credentials from the standard AWS chain, the cheap links of it: the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the shared credentials file and the config file
/// (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, defaulting to `~/.aws/…`) for the profile `AWS_PROFILE`
/// (else `default`). SSO, web identity, ECS and IMDS are not consulted: export their credentials to the
/// environment (`aws configure export-credentials --format env`) to use them.
pub fn credentials_from_chain(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Credentials, CredentialSource), NoCredentials> {
    let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
    if let (Some(ak), Some(sk)) = (nonempty("AWS_ACCESS_KEY_ID"), nonempty("AWS_SECRET_ACCESS_KEY")) {
        let creds =
            Credentials { access_key_id: ak, secret_access_key: sk, session_token: nonempty("AWS_SESSION_TOKEN") };
        return Ok((creds, CredentialSource("environment".into())));
    }
    let profile =
        nonempty("AWS_PROFILE").or_else(|| nonempty("AWS_DEFAULT_PROFILE")).unwrap_or_else(|| "default".into());
    let home = nonempty("HOME").unwrap_or_default();
    let creds_file = nonempty("AWS_SHARED_CREDENTIALS_FILE").unwrap_or_else(|| format!("{home}/.aws/credentials"));
    let config_file = nonempty("AWS_CONFIG_FILE").unwrap_or_else(|| format!("{home}/.aws/config"));
    let mut tried = vec!["environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)".to_string()];
    for (file, section) in [
        (creds_file.as_str(), profile.clone()),
        (config_file.as_str(), if profile == "default" { profile.clone() } else { format!("profile {profile}") }),
    ] {
        tried.push(format!("{file} [{section}]"));
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        let values = ini_section(&text, &section);
        let get = |k: &str| values.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
        if let (Some(ak), Some(sk)) = (get("aws_access_key_id"), get("aws_secret_access_key")) {
            let creds =
                Credentials { access_key_id: ak, secret_access_key: sk, session_token: get("aws_session_token") };
            return Ok((creds, CredentialSource(format!("{file} [{section}]"))));
        }
    }
    Err(NoCredentials { tried })
}

/// The `key = value` pairs of one `[section]` of an INI file.
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside && let Some((k, v)) = line.split_once('=') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

/// No link of the chain held credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no AWS credentials found; tried {}", tried.join(", "))]
pub struct NoCredentials {
    /// Where the chain looked, in order.
    pub tried: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_hides_the_secret() {
        let c = Credentials::parse_pair("AKID:verysecret").unwrap();
        assert!(!format!("{c:?}").contains("verysecret"));
        assert!(Credentials::parse_pair("AKID:verysecret").is_ok());
        let e = Credentials::parse_pair("nocolon").unwrap_err().to_string();
        assert!(e.contains("ACCESS_KEY_ID:SECRET_ACCESS_KEY"));
    }

    #[test]
    fn credential_chain_prefers_environment_then_files() {
        let dir = crate::scratch::dir("creds").unwrap();
        let creds = dir.join("credentials");
        std::fs::write(&creds, "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n[work]\naws_access_key_id=AKIDWORK\naws_secret_access_key=s2\naws_session_token=t2\n").unwrap();
        let config = dir.join("config");
        std::fs::write(&config, "[profile cfgonly]\naws_access_key_id = AKIDCFG\naws_secret_access_key = s3\n")
            .unwrap();
        let env_of = |pairs: Vec<(&'static str, String)>| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        };
        let files = vec![
            ("AWS_SHARED_CREDENTIALS_FILE", creds.display().to_string()),
            ("AWS_CONFIG_FILE", config.display().to_string()),
        ];

        let mut e = files.clone();
        e.extend([("AWS_ACCESS_KEY_ID", "AKIDENV".to_string()), ("AWS_SECRET_ACCESS_KEY", "s0".to_string())]);
        let (c, src) = credentials_from_chain(&env_of(e)).unwrap();
        assert_eq!((c.access_key_id.as_str(), src.0.as_str()), ("AKIDENV", "environment"));

        let (c, _) = credentials_from_chain(&env_of(files.clone())).unwrap();
        assert_eq!(c.access_key_id, "AKIDDEFAULT");
        let mut e = files.clone();
        e.push(("AWS_PROFILE", "work".to_string()));
        let (c, _) = credentials_from_chain(&env_of(e)).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token.as_deref()), ("AKIDWORK", Some("t2")));
        let mut e = files.clone();
        e.push(("AWS_PROFILE", "cfgonly".to_string()));
        let (c, src) = credentials_from_chain(&env_of(e)).unwrap();
        assert_eq!(c.access_key_id, "AKIDCFG");
        assert!(src.0.ends_with("[profile cfgonly]"));
        let mut e = files;
        e.push(("AWS_PROFILE", "missing".to_string()));
        let err = credentials_from_chain(&env_of(e)).unwrap_err().to_string();
        assert!(err.contains("[missing]") && err.contains("[profile missing]"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
