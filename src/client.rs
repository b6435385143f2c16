//! A minimal client of the operation in either protocol, for the demo, diff and fuzz runners: it encodes a
//! request document, optionally signs it, sends it, and parses the reply the way the SDKs do.

use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::model;
use crate::protocol::{self, Protocol, Reply};
use crate::sigv4::{self, Credentials};

/// One request and what came back.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub reply: Reply,
}

/// A client bound to one endpoint.
#[derive(Clone)]
pub struct Client {
    http: HyperClient<HttpConnector, Full<Bytes>>,
    scheme_authority: String,
    path_prefix: String,
    signing: Option<(Credentials, String)>,
    timeout: Duration,
}

impl Client {
    /// A client for `endpoint` (`http://HOST:PORT[/prefix]`).
    pub fn new(endpoint: &str) -> anyhow::Result<Client> {
        let uri: Uri =
            endpoint.parse().with_context(|| format!("'{endpoint}' is not a URL (expected http://HOST:PORT)"))?;
        if uri.scheme_str() != Some("http") {
            bail!("'{endpoint}': only http:// endpoints are supported here (expected http://HOST:PORT)");
        }
        let authority = uri.authority().with_context(|| format!("'{endpoint}' has no host"))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Ok(Client {
            http: HyperClient::builder(TokioExecutor::new()).build(connector),
            scheme_authority: format!("http://{authority}"),
            path_prefix: uri.path().trim_end_matches('/').to_string(),
            signing: None,
            timeout: Duration::from_secs(30),
        })
    }

    /// Signs every request with SigV4 for `region`.
    pub fn with_signing(mut self, creds: Credentials, region: impl Into<String>) -> Client {
        self.signing = Some((creds, region.into()));
        self
    }

    /// Sends one ListSNOMEDCTInferenceJobs request.
    pub async fn call(&self, protocol: Protocol, input: &Value) -> anyhow::Result<Exchange> {
        self.send(protocol, model::OPERATION, protocol::encode_request(protocol, input)).await
    }

    /// Sends a raw body to an operation, in a protocol's framing.
    pub async fn send(&self, protocol: Protocol, operation: &str, body: Bytes) -> anyhow::Result<Exchange> {
        let uri = format!("{}{}", self.scheme_authority, protocol.path(&self.path_prefix, operation));
        let mut builder = Request::post(&uri);
        for (k, v) in protocol::request_headers(protocol, operation) {
            builder = builder.header(k, v);
        }
        let mut req = builder.body(body).context("building the request")?;
        if let Some((creds, region)) = &self.signing {
            sigv4::sign_request(&mut req, creds, region, SystemTime::now())
                .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        }
        let req = req.map(Full::new);
        let resp = tokio::time::timeout(self.timeout, self.http.request(req))
            .await
            .with_context(|| format!("no response from {uri} within {:?}", self.timeout))?
            .with_context(|| format!("request to {uri} failed"))?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.with_context(|| format!("reading the response from {uri}"))?.to_bytes();
        let status = parts.status.as_u16();
        let reply = protocol::parse_reply(protocol, status, &body).map_err(|e| anyhow::anyhow!("{uri}: {e}"))?;
        Ok(Exchange { status, headers: parts.headers, body, reply })
    }
}
