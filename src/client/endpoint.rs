//! [`Endpoint`]: where a client sends requests, from a URL or the word `aws`.

use http::Uri;

use crate::options::ParseError;

/// A service endpoint: scheme, host and port, and an optional path prefix.
///
/// ```
/// use snomed_vcr::Endpoint;
///
/// let aws = Endpoint::parse("aws", "eu-west-1").unwrap();
/// assert_eq!(aws.aws_region(), Some("eu-west-1"));
/// assert!(Endpoint::parse("ftp://example.com", "us-east-1").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://host[:port]` (no trailing slash).
    pub origin: String,
    /// The host name or address.
    pub host: String,
    /// `host[:port]`, as the `Host` header carries it.
    pub authority: String,
    /// Whether it is reached over TLS.
    pub https: bool,
    /// Path prefix of the URL (`""` for none); requests go below it.
    pub path_prefix: String,
}

impl Endpoint {
    /// Parses an `http://` or `https://` URL, or `aws` for the regional endpoint of `region`.
    pub fn parse(s: &str, region: &str) -> Result<Endpoint, ParseError> {
        let url = if s == "aws" { format!("https://comprehendmedical.{region}.amazonaws.com") } else { s.to_string() };
        let expected = "an endpoint (expected http://HOST[:PORT][/PREFIX], https://…, or 'aws')";
        let uri: Uri = url.parse().map_err(|_| ParseError::new(s, expected))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(ParseError::new(s, "an http:// or https:// URL, or 'aws'")),
        };
        let authority = uri.authority().ok_or_else(|| ParseError::new(s, expected))?;
        if let Some((_, host)) = authority.as_str().rsplit_once('@') {
            // Never echoed: what is before the '@' is a secret.
            let shown = url.replacen(&authority.as_str()[..authority.as_str().len() - host.len() - 1], "***", 1);
            return Err(ParseError::new(
                shown,
                "an endpoint without credentials (they would be stored with every request that names it): write \
                 it as http(s)://HOST[:PORT], and give credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or \
                 AWS_PROFILE",
            ));
        }
        Ok(Endpoint {
            origin: format!("{}://{authority}", if https { "https" } else { "http" }),
            host: authority.host().to_string(),
            authority: authority.to_string(),
            https,
            path_prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The region an AWS endpoint host names, if it is one.
    pub fn aws_region(&self) -> Option<&str> {
        let rest = self.host.strip_prefix("comprehendmedical.")?;
        rest.strip_suffix(".amazonaws.com")
    }

    /// The URL, prefix included.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin, self.path_prefix)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.origin, self.path_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls() {
        let aws = Endpoint::parse("aws", "eu-west-2").unwrap();
        assert_eq!(aws.origin, "https://comprehendmedical.eu-west-2.amazonaws.com");
        assert_eq!(aws.aws_region(), Some("eu-west-2"));
        let local = Endpoint::parse("http://127.0.0.1:8080/prefix/", "us-east-1").unwrap();
        assert_eq!(
            (local.origin.as_str(), local.path_prefix.as_str(), local.https),
            ("http://127.0.0.1:8080", "/prefix", false)
        );
        assert_eq!(local.url(), "http://127.0.0.1:8080/prefix");
        assert!(Endpoint::parse("ftp://x", "r").unwrap_err().to_string().contains("http:// or https://"));
        assert!(Endpoint::parse("not a url", "r").is_err());
        let e = Endpoint::parse("http://AKIDSECRET:s3cr3t@127.0.0.1:4566", "r").unwrap_err().to_string();
        assert!(e.starts_with("'http://***@127.0.0.1:4566' is not an endpoint without credentials"), "{e}");
        assert!(!e.contains("s3cr3t") && !e.contains("AKIDSECRET"), "{e}");
    }
}
