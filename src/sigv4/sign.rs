//! Signing the requests we send: aws-sigv4 in general, and a plain signer for the proxy's hot path that
//! computes exactly what aws-sigv4 computes for the requests it takes.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::SigningSettings;
use http::header::{AUTHORIZATION, HOST};

use super::{Credentials, SignError, Signable, is_unsigned, signature};
use crate::model;

/// Signs a request in place for `region`, replacing any earlier signature. Headers that proxies or SDKs
/// change (`user-agent`, `amz-sdk-*`, hop-by-hop) are left unsigned, as aws-sigv4's defaults do.
pub fn sign_request(
    req: &mut http::Request<bytes::Bytes>,
    creds: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), SignError> {
    for h in [AUTHORIZATION.as_str(), "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"] {
        req.headers_mut().remove(h);
    }
    if !req.headers().contains_key(HOST)
        && let Some(auth) = req.uri().authority()
    {
        let v = http::HeaderValue::from_str(auth.as_str()).map_err(SignError::new)?;
        req.headers_mut().insert(HOST, v);
    }
    let uri = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter(|(n, _)| !is_unsigned(n.as_str()))
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let signable = Signable { method: req.method().as_str(), uri: &uri, headers: &headers, body: req.body() };
    let add = match plain_signature(&signable, creds, region, time) {
        Some(add) => add,
        None => signature(&signable, creds, region, time, SigningSettings::default())?.0,
    };
    for (n, v) in add {
        let name = http::HeaderName::from_bytes(n.as_bytes()).map_err(SignError::new)?;
        req.headers_mut().insert(name, http::HeaderValue::from_str(&v).map_err(SignError::new)?);
    }
    Ok(())
}

/// For the differential fuzz target: the plain signer's headers and aws-sigv4's for the same request, when
/// the plain signer takes it (sorted, so they compare equal when they agree).
#[allow(clippy::type_complexity)]
pub(crate) fn both_signatures(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    creds: &Credentials,
    region: &str,
    time: SystemTime,
) -> Option<(Vec<(String, String)>, Result<Vec<(String, String)>, SignError>)> {
    let signable = Signable { method, uri, headers, body };
    let mut plain = plain_signature(&signable, creds, region, time)?;
    plain.sort();
    let aws = signature(&signable, creds, region, time, SigningSettings::default()).map(|(mut v, _)| {
        v.sort();
        v
    });
    Some((plain, aws))
}

/// SigV4 written out for the requests the proxy forwards on its hot path: a path of unreserved characters
/// only, no query string, header names that aws-sigv4 signs as they are. It computes exactly what
/// [`signature`] (aws-sigv4) computes for them, which the tests check over many generated requests, in a few
/// microseconds instead of some twenty. `None` for any other request: aws-sigv4 signs those.
fn plain_signature(
    req: &Signable<'_>,
    creds: &Credentials,
    region: &str,
    time: SystemTime,
) -> Option<Vec<(String, String)>> {
    let Signable { method, uri, headers, body } = *req;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Digest, Sha256};
    use std::borrow::Cow;
    let plain_path = uri.starts_with('/')
        && uri.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'-' | b'_' | b'.' | b'~'))
        && !uri.contains("//")
        && !uri.split('/').any(|seg| seg == "." || seg == "..");
    // aws-sigv4 leaves these out of the signature by default, and lower-cases names (an http::HeaderMap's
    // already are; a name with capitals, found by the sigv4_plain fuzz target, goes the slow path).
    let plain_names = headers.iter().all(|(n, _)| {
        !matches!(*n, "x-amz-date" | "x-amz-security-token" | "x-amz-content-sha256")
            && !n.bytes().any(|c| c.is_ascii_uppercase())
    });
    if !plain_path || !plain_names || !matches!(method, "POST" | "GET") {
        return None;
    }
    // This runs for every proxied request, so it writes into buffers instead of formatting strings: the
    // `format!`s and small allocations of the first version were three quarters of its time.
    let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    let amz_date = crate::time::amz_date(secs);
    let date = &amz_date[..8];
    let mut signed: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(headers.len() + 2);
    for (name, value) in headers {
        // Trimmed, inner runs of spaces made one; repeated names joined with commas.
        let value = if value.starts_with(' ') || value.ends_with(' ') || value.contains("  ") {
            Cow::Owned(value.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "))
        } else {
            Cow::Borrowed(*value)
        };
        match signed.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => {
                let v = v.to_mut();
                v.push(',');
                v.push_str(&value);
            }
            None => signed.push((name, value)),
        }
    }
    signed.push(("x-amz-date", Cow::Borrowed(&amz_date)));
    if let Some(token) = &creds.session_token {
        signed.push(("x-amz-security-token", Cow::Borrowed(token)));
    }
    // Names are unique once repeats are joined.
    signed.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut names = String::with_capacity(signed.iter().map(|(n, _)| n.len() + 1).sum());
    for (i, (n, _)) in signed.iter().enumerate() {
        if i > 0 {
            names.push(';');
        }
        names.push_str(n);
    }
    let mut canonical = Sha256::new();
    for part in [method, "\n", uri, "\n\n"] {
        canonical.update(part.as_bytes());
    }
    for (n, v) in &signed {
        for part in [n, ":", v.as_ref(), "\n"] {
            canonical.update(part.as_bytes());
        }
    }
    for part in ["\n", &names, "\n"] {
        canonical.update(part.as_bytes());
    }
    canonical.update(crate::hex::hex32(&Sha256::digest(body).into()));
    let mut scope = String::with_capacity(64);
    for part in [date, "/", region, "/", model::SIGNING_NAME, "/aws4_request"] {
        scope.push_str(part);
    }

    // The signing key depends only on the secret, the day and the region: derived once a day, not per request,
    // and kept as an HMAC already keyed with it.
    struct SigningKey {
        secret: String,
        day: String,
        region: String,
        mac: Hmac<Sha256>,
    }
    static KEY: Mutex<Option<SigningKey>> = Mutex::new(None);
    let mut cached = KEY.lock().unwrap_or_else(|e| e.into_inner());
    let mut mac = match &*cached {
        Some(k) if k.secret == creds.secret_access_key && k.day == date && k.region == region => k.mac.clone(),
        _ => {
            let hmac = |key: &[u8], data: &str| -> Hmac<Sha256> {
                let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data.as_bytes());
                m
            };
            let mut key = hmac(format!("AWS4{}", creds.secret_access_key).as_bytes(), date).finalize().into_bytes();
            for part in [region, model::SIGNING_NAME, "aws4_request"] {
                key = hmac(&key, part).finalize().into_bytes();
            }
            let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes any key length");
            let (secret, day, region) = (creds.secret_access_key.clone(), date.to_string(), region.to_string());
            *cached = Some(SigningKey { secret, day, region, mac: mac.clone() });
            mac
        }
    };
    drop(cached);
    // The string to sign, fed to the HMAC piece by piece.
    for part in ["AWS4-HMAC-SHA256\n", &amz_date, "\n", &scope, "\n"] {
        mac.update(part.as_bytes());
    }
    mac.update(&crate::hex::hex32(&canonical.finalize().into()));
    let signature = crate::hex::hex32(&mac.finalize().into_bytes().into());
    let mut authorization = String::with_capacity(160 + names.len());
    for part in ["AWS4-HMAC-SHA256 Credential=", &creds.access_key_id, "/", &scope, ", SignedHeaders=", &names] {
        authorization.push_str(part);
    }
    authorization.push_str(", Signature=");
    authorization.push_str(std::str::from_utf8(&signature).expect("hex is ASCII"));
    let mut add = vec![("authorization".to_string(), authorization), ("x-amz-date".to_string(), amz_date)];
    if let Some(token) = &creds.session_token {
        add.push(("x-amz-security-token".to_string(), token.clone()));
    }
    Some(add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn the_plain_signer_signs_exactly_as_aws_sigv4_does() {
        let names = [
            "content-type",
            "x-amz-target",
            "host",
            "accept",
            "smithy-protocol",
            "x-custom",
            "content-encoding",
            "x-amz-user-agent",
            "content-length",
            "x-amz-date",
        ];
        let values = ["application/x-amz-json-1.1", "  spaced   out  value ", "a,b", "", "rpc-v2-cbor", "x  y"];
        let paths = [
            "/",
            "/service/ComprehendMedical_20181030/operation/ListSNOMEDCTInferenceJobs",
            "/a/./b",
            "/a%20b",
            "/?x=1",
            "//",
        ];
        let mut rng = crate::rng::SplitMix64::new(5);
        let mut plain = 0;
        for n in 0..3_000 {
            let mut creds = Credentials::new("AKIDPLAIN", format!("secret/{n}+KEY"));
            if rng.chance(1, 3) {
                creds.session_token = Some(format!("token{n}=="));
            }
            let region = *rng.pick(&["us-east-1", "eu-west-2", "ap-southeast-2"]);
            let at = UNIX_EPOCH + Duration::from_secs(1_600_000_000 + rng.below(400_000_000));
            let mut headers: Vec<(&str, &str)> = vec![("host", "comprehendmedical.us-east-1.amazonaws.com")];
            for _ in 0..rng.below(6) {
                headers.push((*rng.pick(&names), *rng.pick(&values)));
            }
            let path = *rng.pick(&paths);
            let body = format!("{{\"MaxResults\": {n}}}");
            let method = *rng.pick(&["POST", "GET"]);
            let signable = Signable { method, uri: path, headers: &headers, body: body.as_bytes() };
            let want = signature(&signable, &creds, region, at, SigningSettings::default()).unwrap().0;
            if let Some(got) = plain_signature(&signable, &creds, region, at) {
                plain += 1;
                let sorted = |mut v: Vec<(String, String)>| {
                    v.sort();
                    v
                };
                let want = sorted(want);
                assert_eq!(sorted(got), want, "{method} {path} {headers:?}");
                // Again, with the signing key now cached.
                let again = plain_signature(&signable, &creds, region, at).unwrap();
                assert_eq!(sorted(again), want, "cached key: {method} {path} {headers:?}");
            }
        }
        assert!(plain > 800, "the plain signer signed {plain} of the generated requests");
    }
}
