//! Credentials: a key pair (never printed), and the keys to sign with, fixed or from the AWS default chain.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials as AwsCredentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
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

    /// The pair aws-config's chain gave.
    fn of(c: &AwsCredentials) -> Credentials {
        Credentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: c.session_token().map(str::to_string),
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

/// Keys to sign with: a fixed pair, or the AWS default chain's, fetched again before they expire.
///
/// ```
/// use snomed_vcr::sigv4::{Credentials, Keys};
/// let keys: Keys = Credentials::new("AKIDEXAMPLE", "secret").into();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert_eq!(keys.current().await.unwrap().access_key_id, "AKIDEXAMPLE");
/// # });
/// ```
#[derive(Clone)]
pub struct Keys(Source);

#[derive(Clone)]
enum Source {
    Fixed(Arc<Credentials>),
    Chain(Arc<Chain>),
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Source::Fixed(c) => f.debug_tuple("Keys::Fixed").field(&c.access_key_id).finish(),
            Source::Chain(_) => f.write_str("Keys::Chain"),
        }
    }
}

impl From<Credentials> for Keys {
    fn from(c: Credentials) -> Keys {
        Keys(Source::Fixed(Arc::new(c)))
    }
}

/// The credentials [`Keys::current`] gives: fixed ones, borrowed, or the chain's latest.
pub enum Current<'a> {
    /// Fixed keys.
    Fixed(&'a Credentials),
    /// The chain's, as last fetched.
    Fetched(Arc<Credentials>),
}

impl std::ops::Deref for Current<'_> {
    type Target = Credentials;
    fn deref(&self) -> &Credentials {
        match self {
            Current::Fixed(c) => c,
            Current::Fetched(c) => c,
        }
    }
}

/// How long before their expiry temporary credentials are fetched again (the SDKs' margin).
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The default chain's provider and the credentials it last gave.
struct Chain {
    provider: SharedCredentialsProvider,
    /// The last credentials and their expiry (`None`: they do not expire).
    last: std::sync::Mutex<(Arc<Credentials>, Option<SystemTime>)>,
    /// Held while fetching, so concurrent requests wait for one fetch.
    fetching: tokio::sync::Mutex<()>,
}

impl Keys {
    /// Credentials from the AWS default chain, as the SDKs and the AWS CLI find them: the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, read through `env`), then, through
    /// `aws-config`, the shared config and credentials files for `AWS_PROFILE` (static keys, SSO,
    /// assume-role, `credential_process`), web identity, the ECS container endpoint and EC2 instance metadata.
    /// Temporary credentials are fetched again five minutes before they expire. `region` is where STS and SSO
    /// are asked.
    pub async fn from_chain(
        env: &dyn Fn(&str) -> Option<String>,
        region: &str,
    ) -> Result<(Keys, CredentialSource), NoCredentials> {
        let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
        if let (Some(ak), Some(sk)) = (nonempty("AWS_ACCESS_KEY_ID"), nonempty("AWS_SECRET_ACCESS_KEY")) {
            let creds =
                Credentials { access_key_id: ak, secret_access_key: sk, session_token: nonempty("AWS_SESSION_TOKEN") };
            return Ok((creds.into(), CredentialSource("environment".into())));
        }
        let profile =
            nonempty("AWS_PROFILE").or_else(|| nonempty("AWS_DEFAULT_PROFILE")).unwrap_or_else(|| "default".into());
        let tried = vec![
            "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)".to_string(),
            format!(
                "the profile {profile} of the shared config and credentials files (keys, SSO, assume-role, \
                 credential_process), web identity, the ECS container endpoint, EC2 instance metadata"
            ),
        ];
        let provider = default_chain(region).await;
        match provider.provide_credentials().await {
            Ok(c) => {
                let expiry = c.expiry();
                let chain = Chain {
                    provider,
                    last: std::sync::Mutex::new((Arc::new(Credentials::of(&c)), expiry)),
                    fetching: tokio::sync::Mutex::new(()),
                };
                let source = CredentialSource(format!("the AWS default chain (profile {profile})"));
                Ok((Keys(Source::Chain(Arc::new(chain))), source))
            }
            Err(e) => Err(NoCredentials { tried, why: Some(error_chain(&e)) }),
        }
    }

    /// The credentials to sign with now: fixed ones (borrowed: no reference count shared between threads is
    /// touched per request), or the chain's, fetched again when they are about to expire. When fetching fails,
    /// credentials that have not expired yet are still used.
    pub async fn current(&self) -> Result<Current<'_>, NoCredentials> {
        let chain = match &self.0 {
            Source::Fixed(c) => return Ok(Current::Fixed(c)),
            Source::Chain(chain) => chain,
        };
        Self::refreshed(chain).await.map(Current::Fetched)
    }

    async fn refreshed(chain: &Chain) -> Result<Arc<Credentials>, NoCredentials> {
        let fresh = |last: &(Arc<Credentials>, Option<SystemTime>), margin: Duration| match last.1 {
            None => true,
            Some(expiry) => SystemTime::now() + margin < expiry,
        };
        {
            let last = chain.last.lock().unwrap_or_else(|p| p.into_inner());
            if fresh(&last, REFRESH_MARGIN) {
                return Ok(last.0.clone());
            }
        }
        let _fetching = chain.fetching.lock().await;
        let last = chain.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if fresh(&last, REFRESH_MARGIN) {
            return Ok(last.0); // another request fetched them while this one waited
        }
        match chain.provider.provide_credentials().await {
            Ok(c) => {
                let next = (Arc::new(Credentials::of(&c)), c.expiry());
                *chain.last.lock().unwrap_or_else(|p| p.into_inner()) = next.clone();
                Ok(next.0)
            }
            Err(_) if fresh(&last, Duration::ZERO) => Ok(last.0),
            Err(e) => Err(NoCredentials {
                tried: vec!["the AWS default chain, again (the last credentials expired)".into()],
                why: Some(error_chain(&e)),
            }),
        }
    }
}

/// aws-config's default credential chain, with an HTTPS client on rustls and `ring` (for STS, SSO, ECS and
/// instance metadata).
async fn default_chain(region: &str) -> SharedCredentialsProvider {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let region = aws_config::Region::new(region.to_string());
    let config = aws_config::provider_config::ProviderConfig::without_region()
        .with_region(Some(region.clone()))
        .with_http_client(http);
    // The region given, so that building the chain asks no region provider (instance metadata among them).
    let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
        .configure(config)
        .region(region)
        .build()
        .await;
    SharedCredentialsProvider::new(chain)
}

/// An error and its sources, on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        if !out.contains(&cause_text) {
            out.push_str(": ");
            out.push_str(&cause_text);
        }
        next = cause.source();
    }
    out
}

/// No link of the chain held credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no AWS credentials found; tried {}{}", tried.join(", "), why.as_deref().map(|w| format!(" ({w})")).unwrap_or_default())]
pub struct NoCredentials {
    /// Where the chain looked, in order.
    pub tried: Vec<String>,
    /// What the last link said, when it said something.
    pub why: Option<String>,
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

    #[tokio::test]
    async fn fixed_keys_and_the_environment_come_first() {
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIDENV".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("s0".to_string()),
            "AWS_SESSION_TOKEN" => Some("t0".to_string()),
            _ => None,
        };
        let (keys, source) = Keys::from_chain(&env, "us-east-1").await.unwrap();
        assert_eq!(source.0, "environment");
        let c = keys.current().await.unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token.as_deref()), ("AKIDENV", Some("t0")));
        assert!(!format!("{keys:?}").contains("s0"));
        let fixed: Keys = Credentials::new("AKIDFIXED", "s1").into();
        assert_eq!(fixed.current().await.unwrap().access_key_id, "AKIDFIXED");
    }
}
