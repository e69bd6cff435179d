//! Fetching one feed over HTTP with reqwest (rustls): a whole-request
//! timeout, a bounded number of redirects, a size limit enforced while the
//! body streams in (after decompression), and conditional GET with the
//! validators of the last fetch. It only fetches: parsing is `entries`'s
//! job, recording the store's.

use std::time::Duration;

use reqwest::header::{
    ACCEPT, CONTENT_TYPE, ETAG, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};

use crate::config::FeedsConfig;

/// A fetch that worked.
#[derive(Debug)]
pub enum Fetched {
    /// 304: unchanged since the validators were issued.
    NotModified,
    Body {
        bytes: Vec<u8>,
        /// Where the body came from, after redirects.
        url: url::Url,
        etag: Option<String>,
        last_modified: Option<String>,
        /// The `Content-Type` header, for its charset.
        content_type: Option<String>,
    },
}

pub struct Fetcher {
    client: reqwest::Client,
    config: FeedsConfig,
}

impl Fetcher {
    pub fn new(config: &FeedsConfig, user_agent: &str) -> anyhow::Result<Fetcher> {
        // reqwest is built without a bundled crypto provider; use ring, as
        // sqlx and the SMTP client do (an error means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let redirects = match config.max_redirects {
            0 => reqwest::redirect::Policy::none(),
            n => reqwest::redirect::Policy::limited(n),
        };
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(redirects)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        Ok(Fetcher {
            client,
            config: config.clone(),
        })
    }

    /// GETs `url`, conditionally when validators are given. The error is a
    /// one-line description fit for `feeds list`.
    pub async fn fetch(
        &self,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, String> {
        let mut request = self.client.get(url).header(
            ACCEPT,
            "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, \
             application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5",
        );
        if let Some(v) = etag.and_then(|v| HeaderValue::from_str(v).ok()) {
            request = request.header(IF_NONE_MATCH, v);
        }
        if let Some(v) = last_modified.and_then(|v| HeaderValue::from_str(v).ok()) {
            request = request.header(IF_MODIFIED_SINCE, v);
        }
        let mut response = request.send().await.map_err(|e| self.describe(&e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection() {
            return Err(format!(
                "HTTP {status}: redirected, and feeds.max_redirects is {}",
                self.config.max_redirects
            ));
        }
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let max = self.config.max_bytes;
        if let Some(len) = response.content_length()
            && len > max
        {
            return Err(format!("body of {len} bytes is over feeds.max_bytes ({max})"));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, last_modified, content_type) = (header(ETAG), header(LAST_MODIFIED), header(CONTENT_TYPE));
        let final_url = response.url().clone();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(&e))? {
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(format!("body is over feeds.max_bytes ({max} bytes)"));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            bytes,
            url: final_url,
            etag,
            last_modified,
            content_type,
        })
    }

    fn describe(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!("timed out after {:?} (feeds.timeout)", self.config.timeout)
        } else if e.is_redirect() {
            format!(
                "too many redirects (more than feeds.max_redirects = {})",
                self.config.max_redirects
            )
        } else if e.is_connect() {
            format!("cannot connect: {}", root_cause(e))
        } else {
            root_cause(e)
        }
    }
}

/// The innermost error message (reqwest's own are generic).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    let mut text = e.to_string();
    while let Some(next) = cause.source() {
        text = next.to_string();
        cause = next;
    }
    text
}
