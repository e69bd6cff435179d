//! A blocking HTTP client for tests that talk to a real server on a real
//! port (the daemon as a child process): reqwest, the crate Herald itself
//! fetches feeds with, on a runtime of the client's own so that a plain
//! `#[test]` can use it. Redirects are not followed, so a test sees the
//! status the server gave.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

/// What came back: the status code and the body as text.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// A client for `http://127.0.0.1:port`.
pub struct Http {
    base: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Http {
    pub fn new(port: u16) -> Http {
        // reqwest is built with rustls but without a crypto provider (the
        // crate picks ring, as lettre and sqlx do); the client's TLS setup
        // needs one even for plain http://.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the HTTP client");
        Http {
            base: format!("http://127.0.0.1:{port}"),
            client,
            runtime,
        }
    }

    pub fn get(&self, path: &str) -> Response {
        self.send(self.client.get(self.url(path)))
    }

    /// A POST of an `application/x-www-form-urlencoded` body.
    pub fn post_form(&self, path: &str, body: &str) -> Response {
        let request = self.client.post(self.url(path));
        self.send(
            request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.to_owned()),
        )
    }

    /// A POST of a JSON body, with `Authorization: Bearer TOKEN` if given.
    pub fn post_json(&self, path: &str, bearer: Option<&str>, body: &str) -> Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        if let Some(token) = bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Response {
        self.runtime.block_on(async {
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            let body = response.text().await.expect("a readable body");
            Response { status, body }
        })
    }
}
