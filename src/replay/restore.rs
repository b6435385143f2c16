//! `replay --restore`: answers carry the values the live service answered instead of the recording's
//! redaction placeholders (`account=111122223333` for the first account placeholder, `kms=KEY` for the
//! first KMS key's, or `PLACEHOLDER=VALUE` for any). Each value has its placeholder's length and shape, so
//! the answers' bytes are rewritten in place, in either protocol, and stay the same valid JSON or CBOR.

use bytes::Bytes;

use crate::options::ParseError;

/// The first account id placeholder a recording makes, which `account=` restores.
const FIRST_ACCOUNT: &str = "000000000001";
/// The first KMS key id placeholder a recording makes, which `kms=` restores.
const FIRST_KMS_KEY: &str = "00000000-0000-4000-8000-000000000001";

/// Placeholders and the values to answer in their place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restore(Vec<(String, String)>);

impl Restore {
    /// Parses `account=ID,kms=KEY,PLACEHOLDER=VALUE…`.
    pub fn parse(s: &str) -> Result<Restore, ParseError> {
        let mut pairs = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((name, value)) = item.split_once('=') else {
                return Err(ParseError::new(item, "NAME=VALUE (account=ID, kms=KEY, or PLACEHOLDER=VALUE)"));
            };
            let placeholder = match name {
                "account" => FIRST_ACCOUNT,
                "kms" => FIRST_KMS_KEY,
                other => other,
            };
            let account = |v: &str| v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit());
            let uuid = |v: &str| {
                v.len() == 36
                    && v.bytes()
                        .enumerate()
                        .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() })
            };
            let fits = if account(placeholder) && crate::cassette::redact::is_account_placeholder(placeholder) {
                account(value)
            } else if uuid(placeholder) && placeholder.starts_with("00000000-0000-4000-8000-") {
                uuid(value)
            } else {
                return Err(ParseError::new(
                    item,
                    "a recording's placeholder: account, kms, an account id placeholder (000000000001) or a KMS key id placeholder (00000000-0000-4000-8000-000000000001)",
                ));
            };
            if !fits {
                return Err(ParseError::new(
                    item,
                    "a value of the placeholder's shape (12 digits for an account id, a UUID for a KMS key id)",
                ));
            }
            pairs.push((placeholder.to_string(), value.to_string()));
        }
        pairs.sort_by_key(|(placeholder, _)| std::cmp::Reverse(placeholder.len()));
        Ok(Restore(pairs))
    }

    /// Whether it restores nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `body` with every placeholder replaced by its value (the same bytes when none occurs).
    pub fn apply(&self, body: &Bytes) -> Bytes {
        // All found in the body as it came, longest placeholders first: a KMS key id placeholder ends in an
        // account id placeholder's digits, and those are its own, not an account's.
        let mut writes: Vec<(usize, &str)> = Vec::new();
        for (placeholder, value) in &self.0 {
            for at in memchr::memmem::find_iter(body, placeholder.as_bytes()) {
                if !writes.iter().any(|&(w, v)| at < w + v.len() && w < at + value.len()) {
                    writes.push((at, value));
                }
            }
        }
        if writes.is_empty() {
            return body.clone();
        }
        let mut text = body.to_vec();
        for (at, value) in writes {
            text[at..at + value.len()].copy_from_slice(value.as_bytes());
        }
        Bytes::from(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_restored_in_place_and_bad_values_are_refused() {
        let r = Restore::parse("account=111122223333,kms=d62295fb-9261-4d72-acc3-7afdeb80b7f5").unwrap();
        // The second KMS key's placeholder ends in the first account's: it is not restored as an account.
        let kms2 =
            Bytes::from_static(b"key/00000000-0000-4000-8000-000000000001 key/00000000-0000-4000-8000-000000000002");
        assert_eq!(
            r.apply(&kms2),
            Bytes::from_static(b"key/d62295fb-9261-4d72-acc3-7afdeb80b7f5 key/00000000-0000-4000-8000-000000000002")
        );
        let body = Bytes::from_static(
            br#"{"Role":"arn:aws:iam::000000000001:role/R","Key":"arn:aws:kms:us-east-1:000000000001:key/00000000-0000-4000-8000-000000000001","Other":"000000000002"}"#,
        );
        let got = String::from_utf8(r.apply(&body).to_vec()).unwrap();
        assert_eq!(
            got,
            r#"{"Role":"arn:aws:iam::111122223333:role/R","Key":"arn:aws:kms:us-east-1:111122223333:key/d62295fb-9261-4d72-acc3-7afdeb80b7f5","Other":"000000000002"}"#
        );
        let two = Restore::parse("000000000002=444455556666").unwrap();
        assert!(String::from_utf8(two.apply(&body).to_vec()).unwrap().contains("\"Other\":\"444455556666\""));
        assert!(Restore::parse("account=1234").unwrap_err().to_string().contains("12 digits"));
        assert!(Restore::parse("kms=not-a-uuid").is_err());
        assert!(Restore::parse("123456789012=111122223333").unwrap_err().to_string().contains("placeholder"));
        assert!(Restore::parse("account").is_err());
    }
}
