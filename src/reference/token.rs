//! Opaque, tamper-evident NextTokens.
//!
//! A token is a keyset cursor (the sort key of the last job returned) bound to a digest of the filter it was
//! issued for, authenticated with HMAC-SHA256 under the server's key, and base64url-encoded. A changed byte,
//! a token from a server with another key, or a token replayed with a different filter is rejected with 400
//! `InvalidRequestException`. `MaxResults` is not bound: it may change between pages.
//!
//! The key comes from the population seed (or `--token-secret`), so the same server setup issues the same
//! tokens on every run: recordings against it are byte-for-byte reproducible.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::choices::TokenFormat;
use crate::model::{Filter, ServiceError, Timestamp};

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;
const DIGEST_LEN: usize = 8;

/// The HMAC key tokens are issued and checked with.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    /// A key derived from a secret string.
    pub fn from_secret(secret: &str) -> TokenKey {
        let mut h = Sha256::new();
        h.update(b"snomed-vcr reference token key\0");
        h.update(secret.as_bytes());
        TokenKey(h.finalize().into())
    }
    /// The key a population seed implies when no secret is given.
    pub fn from_seed(seed: u64) -> TokenKey {
        TokenKey::from_secret(&format!("seed:{seed}"))
    }

    /// The key tokens of `operation` are issued with: this one for the default operation (its tokens are
    /// what they always were), one derived from it for each other.
    pub fn for_operation(&self, operation: crate::model::Operation) -> TokenKey {
        if operation == crate::model::Operation::default() {
            return self.clone();
        }
        let mut h = Sha256::new();
        h.update(b"snomed-vcr operation token key\0");
        h.update(self.0);
        h.update(operation.name().as_bytes());
        TokenKey(h.finalize().into())
    }

    /// A number derived from the key, to seed what else the service makes up (random tokens, new jobs).
    pub fn seed_hint(&self) -> u64 {
        u64::from_be_bytes(self.0[..8].try_into().expect("8 bytes"))
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(payload);
        m
    }
}

/// Where the next page starts: after the job with this sort key.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    /// The last job's `SubmitTime`.
    pub submit_time: Timestamp,
    /// The last job's `JobId`.
    pub job_id: String,
}

/// A digest of the filter a token is valid for.
pub fn filter_digest(filter: &Filter) -> [u8; DIGEST_LEN] {
    let mut h = Sha256::new();
    let field = |h: &mut Sha256, v: Option<&[u8]>| match v {
        None => h.update([0u8]),
        Some(b) => {
            h.update([1u8]);
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        }
    };
    field(&mut h, filter.job_name.as_deref().map(str::as_bytes));
    field(&mut h, filter.job_status.as_deref().map(str::as_bytes));
    field(&mut h, filter.submit_time_before.map(|t| t.secs_f64().to_be_bytes()).as_ref().map(|b| &b[..]));
    field(&mut h, filter.submit_time_after.map(|t| t.secs_f64().to_be_bytes()).as_ref().map(|b| &b[..]));
    let full = h.finalize();
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(&full[..DIGEST_LEN]);
    out
}

/// Issues a token for the page after `cursor`, valid only with the filter whose digest is given.
pub fn issue(key: &TokenKey, format: TokenFormat, digest: [u8; DIGEST_LEN], cursor: &Cursor) -> String {
    let id = cursor.job_id.as_bytes();
    let mut payload = Vec::with_capacity(1 + DIGEST_LEN + 8 + 2 + id.len() + MAC_LEN);
    payload.push(VERSION);
    payload.extend_from_slice(&digest);
    payload.extend_from_slice(&cursor.submit_time.secs_f64().to_be_bytes());
    payload.extend_from_slice(&(id.len() as u16).to_be_bytes());
    payload.extend_from_slice(id);
    let tag = key.mac(&payload).finalize().into_bytes();
    payload.extend_from_slice(&tag[..MAC_LEN]);
    match format {
        TokenFormat::Base64Url => URL_SAFE_NO_PAD.encode(payload),
        TokenFormat::Hex => {
            let mut s = String::with_capacity(3 + 2 * payload.len());
            s.push_str(HEX_PREFIX);
            for b in payload {
                s.push_str(&format!("{b:02x}"));
            }
            s
        }
    }
}

const HEX_PREFIX: &str = "c1.";

fn decode(format: TokenFormat, token: &str) -> Option<Vec<u8>> {
    match format {
        TokenFormat::Base64Url => URL_SAFE_NO_PAD.decode(token).ok(),
        TokenFormat::Hex => {
            let hex = token.strip_prefix(HEX_PREFIX)?.as_bytes();
            if hex.len() % 2 != 0 {
                return None;
            }
            hex.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok()).collect()
        }
    }
}

/// Whether a token error says the token was malformed or modified (rather than issued for another filter).
pub fn is_malformed(e: &ServiceError) -> bool {
    e.message == invalid().message
}

/// The refusal of a token this service did not issue, or that was modified.
pub fn invalid() -> ServiceError {
    ServiceError::invalid_request("The NextToken is invalid: it was not issued by this service or has been modified.")
}

/// The refusal of a token issued for another filter.
pub fn other_filter() -> ServiceError {
    ServiceError::invalid_request(
        "The NextToken was issued for a different filter. Send the same Filter with every page of a listing.",
    )
}

/// Opens a token, checking its integrity and that it belongs to this filter.
pub fn open(
    key: &TokenKey,
    format: TokenFormat,
    token: &str,
    digest: [u8; DIGEST_LEN],
) -> Result<Cursor, ServiceError> {
    let raw = decode(format, token).ok_or_else(invalid)?;
    if raw.len() < 1 + DIGEST_LEN + 8 + 2 + MAC_LEN {
        return Err(invalid());
    }
    let (payload, tag) = raw.split_at(raw.len() - MAC_LEN);
    key.mac(payload).verify_truncated_left(tag).map_err(|_| invalid())?;
    if payload[0] != VERSION {
        return Err(invalid());
    }
    if payload[1..1 + DIGEST_LEN] != digest {
        return Err(other_filter());
    }
    let rest = &payload[1 + DIGEST_LEN..];
    let secs = f64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
    let len = u16::from_be_bytes([rest[8], rest[9]]) as usize;
    let id = rest.get(10..10 + len).filter(|_| 10 + len == rest.len()).ok_or_else(invalid)?;
    Ok(Cursor {
        submit_time: Timestamp::from_secs_f64(secs).ok_or_else(invalid)?,
        job_id: String::from_utf8(id.to_vec()).map_err(|_| invalid())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const B64: TokenFormat = TokenFormat::Base64Url;

    fn cursor() -> Cursor {
        Cursor { submit_time: Timestamp::from_secs_f64(1_704_164_645.678).unwrap(), job_id: "0123abcd".into() }
    }

    #[test]
    fn tokens_round_trip_and_are_deterministic() {
        let key = TokenKey::from_seed(1);
        let d = filter_digest(&Filter::default());
        let t = issue(&key, B64, d, &cursor());
        assert_eq!(t, issue(&TokenKey::from_seed(1), B64, d, &cursor()));
        assert_eq!(open(&key, B64, &t, d), Ok(cursor()));
    }

    #[test]
    fn tampered_foreign_and_cross_filter_tokens_are_rejected() {
        let key = TokenKey::from_seed(1);
        let d = filter_digest(&Filter::default());
        let t = issue(&key, B64, d, &cursor());
        // Every single-character change is caught.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for i in 0..t.len() {
            let mut chars: Vec<char> = t.chars().collect();
            let c = chars[i];
            chars[i] = alphabet.chars().find(|&x| x != c).unwrap();
            let bad: String = chars.into_iter().collect();
            if let Ok(c) = open(&key, B64, &bad, d) {
                panic!("tampered token at {i} accepted: {c:?}");
            }
        }
        for bad in ["", "x", "!!!!", &t[..t.len() - 2]] {
            assert_eq!(open(&key, B64, bad, d).unwrap_err().code, "InvalidRequestException");
        }
        assert_eq!(open(&TokenKey::from_seed(2), B64, &t, d).unwrap_err().code, "InvalidRequestException");
        let other = filter_digest(&Filter { job_status: Some("FAILED".into()), ..Filter::default() });
        let e = open(&key, B64, &t, other).unwrap_err();
        assert!(e.message.contains("different filter"), "{}", e.message);
    }

    #[test]
    fn digest_distinguishes_absent_from_empty_and_each_field() {
        let base = Filter::default();
        let variants = [
            Filter { job_name: Some(String::new()), ..Filter::default() },
            Filter { job_name: Some("a".into()), ..Filter::default() },
            Filter { job_status: Some("a".into()), ..Filter::default() },
            Filter { submit_time_before: Some(Timestamp::from_secs(1)), ..Filter::default() },
            Filter { submit_time_after: Some(Timestamp::from_secs(1)), ..Filter::default() },
        ];
        let mut seen = vec![filter_digest(&base)];
        for v in &variants {
            let d = filter_digest(v);
            assert!(!seen.contains(&d), "{v:?}");
            seen.push(d);
        }
    }
}
