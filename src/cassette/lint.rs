//! `snomed-vcr lint`: a cassette must load (format, schema, shapes) and must hold nothing secret.
//!
//! The scan reads the file as text, line by line, so each finding carries `file:line:field`. It looks for AWS
//! access key ids (`AKIA…`, `ASIA…`), strings shaped like secret access keys (40 characters of base64 with
//! mixed classes and high entropy), STS session tokens (by their well-known prefixes), headers that must never
//! be stored, 12-digit account ids in ARNs that are not redaction placeholders, credentials in URLs
//! (`user:password@host`), security tokens and signatures in query strings, PEM private keys, and values of
//! any length under keys that name a secret (`aws_secret_access_key = …`).

use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::Cassette;
use super::redact;

/// One problem found in a cassette.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The cassette.
    pub file: PathBuf,
    /// 1-based; 0 when the problem is the whole file (or a field, for an invalid value).
    pub line: usize,
    /// The JSON member the line sets (`-` when none), or the field whose value is invalid.
    pub field: String,
    /// What was found.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.field, self.message)
    }
}

struct Patterns {
    access_key: Regex,
    secret_candidate: Regex,
    session_token: Regex,
    account: Regex,
    key: Regex,
    userinfo: Regex,
    query_token: Regex,
    pem: Regex,
    named_secret: Regex,
}

fn patterns() -> &'static Patterns {
    static P: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
    P.get_or_init(|| Patterns {
        // ASCII boundaries: a key glued to a non-ASCII letter (`AKIA…Å`) is still a key.
        access_key: Regex::new(r"(?:^|[^A-Z0-9])((?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16})(?:[^A-Z0-9]|$)").expect("valid"),
        secret_candidate: Regex::new(r"[A-Za-z0-9/+]{40,}").expect("valid"),
        session_token: Regex::new(r"(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]*").expect("valid"),
        account: Regex::new(r"arn:aws[a-zA-Z-]*:[a-zA-Z0-9-]*:[a-zA-Z0-9-]*:([0-9]{12}):").expect("valid"),
        key: Regex::new(r#"^\s*"([^"]+)"\s*:"#).expect("valid"),
        // Credentials in a URL: scheme://USER:PASSWORD@host.
        userinfo: Regex::new(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s@\x22]*:[^/\s@\x22]+@").expect("valid"),
        // A signed URL's token or signature in a query string, whatever its length.
        // (Matched against the line in lower case, as are the names of secrets below.)
        query_token: Regex::new(r"[?&](x-amz-security-token|x-amz-signature|x-amz-credential)=([^&\s\x22]+)")
            .expect("valid"),
        pem: Regex::new(r"-----BEGIN [A-Z ]*PRIVATE KEY-----").expect("valid"),
        // A value under a key that names a secret, as a credentials file or an environment would write it.
        named_secret: Regex::new(
            r#"\b(aws_secret_access_key|aws_session_token|secret_?access_?key|secretkey)\b\x22?\s*[:=]\s*\x22?([^\s\x22,}]+)"#,
        )
        .expect("valid"),
    })
}

fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts.iter().filter(|c| **c > 0).map(|c| f64::from(*c) / n).map(|p| -p * p.log2()).sum()
}

/// Whether a string looks like an AWS secret access key: exactly 40 base64 characters, upper and lower case and
/// digits, and the entropy of random data.
pub fn looks_like_secret_key(s: &str) -> bool {
    s.len() == 40
        && s.bytes().any(|b| b.is_ascii_uppercase())
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && s.bytes().any(|b| b.is_ascii_digit())
        && entropy(s) > 4.2
}

/// Scans cassette text for secrets. `file` only labels the findings; `keeps_accounts`: real account ids are
/// there by choice (`record --keep accounts`) and are not findings.
pub fn scan(file: &Path, text: &str, keeps_accounts: bool) -> Vec<Problem> {
    let p = patterns();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let field = p.key.captures(line).map(|c| c[1].to_string()).unwrap_or_else(|| "-".into());
        let mut add = |message: String| {
            out.push(Problem { file: file.to_path_buf(), line: i + 1, field: field.clone(), message })
        };
        if redact::never_stored(&field.to_ascii_lowercase()) && line.contains(':') && field != "-" {
            add(format!("header '{field}' must never be stored"));
        }
        for cap in p.access_key.captures_iter(line) {
            add(format!("AWS access key id '{}…'", &cap[1][..8]));
        }
        for m in p.session_token.find_iter(line) {
            add(format!("STS session token '{}…'", &m.as_str()[..12]));
        }
        for m in p.secret_candidate.find_iter(line) {
            let s = m.as_str();
            // Only a standalone run of exactly 40 counts; longer runs are tokens or paths.
            let bounded_end = !line[m.end()..].starts_with('=');
            if bounded_end && looks_like_secret_key(s) {
                add(format!("string shaped like a secret access key '{}…'", &s[..4]));
            }
        }
        if p.userinfo.is_match(line) {
            add("credentials in a URL (user:password@host)".into());
        }
        let lower = line.to_ascii_lowercase();
        for cap in p.query_token.captures_iter(&lower) {
            let name = &line[cap.get(1).expect("a group").range()];
            add(format!("'{name}' in a query string"));
        }
        if p.pem.is_match(line) {
            add("a PEM private key".into());
        }
        for cap in p.named_secret.captures_iter(&lower) {
            add(format!("a value for '{}' ({} characters)", &cap[1], cap[2].chars().count()));
        }
        for cap in p.account.captures_iter(line) {
            if !keeps_accounts && !redact::is_account_placeholder(&cap[1]) {
                add(format!("unredacted account id '{}' in an ARN", &cap[1]));
            }
        }
    }
    out
}

/// Lints one file: it must load as a cassette, and the scan must find nothing.
pub fn lint_file(path: &Path) -> Vec<Problem> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return vec![Problem {
                file: path.into(),
                line: 0,
                field: "-".into(),
                message: format!("cannot read: {e}"),
            }];
        }
    };
    let mut out = Vec::new();
    let parsed = Cassette::parse(&text);
    if let Err(e) = &parsed {
        out.push(Problem {
            file: path.into(),
            line: e.line().unwrap_or(0),
            field: e.field().map_or_else(|| "-".into(), |f| f.member_path().to_string()),
            message: format!("not a valid cassette: {}", e.message()),
        });
    }
    // A cassette recorded with `--keep accounts` holds real account ids by choice: said by `kept_notice`.
    let keeps_accounts = parsed.is_ok_and(|c| c.header().keeps_accounts());
    out.extend(scan(path, &text, keeps_accounts));
    out
}

/// The line `lint` prints for a cassette that keeps real account ids by choice (`record --keep accounts`).
pub fn kept_notice(path: &Path) -> Option<String> {
    let header = crate::cassette::read_header(path).ok()?;
    header.keeps_accounts().then(|| {
        format!(
            "{}: keeps real account ids (recorded with --keep accounts); redact them before sharing it",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_secrets_are_found_with_line_and_field() {
        let clean = crate::cassette::tests::sample().to_canonical();
        assert_eq!(scan(Path::new("c.json"), &clean, false), vec![]);
        let plants = [
            ("\"JobName\": \"AKIAIOSFODNN7EXAMPLE\"", "JobName", "access key id"),
            ("\"JobName\": \"AKIAIOSFODNN7EXAMPLEÅngström\"", "JobName", "access key id"),
            ("\"Message\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"", "Message", "secret access key"),
            ("\"x-amz-security-token\": \"abc\"", "x-amz-security-token", "must never be stored"),
            ("\"Token\": \"IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ\"", "Token", "session token"),
            (
                "\"DataAccessRoleArn\": \"arn:aws:iam::123456789012:role/x\"",
                "DataAccessRoleArn",
                "unredacted account id '123456789012'",
            ),
            ("\"upstream\": \"http://admin:hunter2@10.0.0.1:4566\"", "upstream", "credentials in a URL"),
            ("\"path\": \"/?X-Amz-Security-Token=FwoX&a=1\"", "path", "'X-Amz-Security-Token' in a query string"),
            ("\"Message\": \"-----BEGIN RSA PRIVATE KEY-----\\nMIIE\"", "Message", "a PEM private key"),
            ("\"Message\": \"aws_secret_access_key = abc\"", "Message", "'aws_secret_access_key' (3 characters)"),
        ];
        for (plant, field, what) in plants {
            let text = clean.replacen("\"method\": \"POST\",", &format!("\"method\": \"POST\",\n      {plant},"), 1);
            let line = text.lines().position(|l| l.contains(plant)).unwrap() + 1;
            let found = scan(Path::new("c.json"), &text, false);
            assert_eq!(found.len(), 1, "{plant}: {found:?}");
            assert_eq!((found[0].line, found[0].field.as_str()), (line, field));
            assert!(found[0].message.contains(what), "{}", found[0]);
            assert!(found[0].to_string().starts_with(&format!("c.json:{line}:{field}: ")));
        }
    }

    #[test]
    fn ordinary_values_are_not_secrets() {
        for s in [
            "0123456789abcdef0123456789abcdef/Manifest",
            "arn:aws:iam::000000000001:role/ComprehendMedicalS3Access",
            "cm-output.example-health/results/000000000001-SCT-d10a5005b57919486b54e971270be795/Manifest",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(scan(Path::new("x"), &format!("\"F\": \"{s}\""), false).is_empty(), "{s}");
        }
        // A long NextToken is not a 40-character secret.
        let token = "Ad8_YZgEqS_bQdlnm47tbzMAIDM3N2ZiNThhMzgyMjJkOWI4N2IyYzk1ZDI5Njk0YThl_zrsFia1rwABNdeIpG9Csw";
        assert!(scan(Path::new("x"), &format!("\"NextToken\": \"{token}\""), false).is_empty());
    }

    #[test]
    fn an_invalid_cassette_is_a_finding_with_its_line_or_its_field() {
        let dir = crate::scratch::dir("lint-invalid").unwrap();
        let path = dir.join("c.json");
        let text = crate::cassette::tests::sample().to_canonical();
        std::fs::write(&path, text.replacen("\"seq\": 0", "\"seq\": 4", 1)).unwrap();
        let found = lint_file(&path);
        assert_eq!((found[0].line, found[0].field.as_str()), (0, "interactions[0].seq"), "{found:?}");
        assert!(found[0].message.starts_with("not a valid cassette: expected 0"), "{}", found[0]);
        let broken = text.replacen("\"seq\": 0", "\"seq\": 0,,", 1);
        std::fs::write(&path, &broken).unwrap();
        let line = broken.lines().position(|l| l.contains(",,")).unwrap() + 1;
        let found = lint_file(&path);
        assert_eq!((found[0].line, found[0].field.as_str()), (line, "-"), "{found:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
