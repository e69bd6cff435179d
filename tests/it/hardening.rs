//! Issue #14's safety and hardening, against real SQLite stores: a signup
//! never changes an existing subscriber before its link is confirmed, the
//! purge spares whoever was ever confirmed or unsubscribed, suppressed
//! addresses get no mail, addresses are one row whatever their case (and
//! the migration merges the copies a store already has), the story API
//! answers strangers without reading their body, every response carries
//! the security headers, the client address behind trusted proxies, and
//! the listener's timeouts and connection limit on a real socket.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use herald::domain::{SubscriberEmail, SubscriberStatus};
use herald::http::{AppState, Limits, app, serve};
use herald::metrics::Metrics;
use herald::store::{AddOutcome, Store};
use tower::ServiceExt;

use crate::support::smtp::SmtpSink;
use crate::support::{Settings, TestEnv};

const API_TOKEN: &str = "an-api-token-of-some-length";

struct Fixture {
    _env: TestEnv,
    store: Store,
    state: AppState,
}

async fn fixture(settings: Settings) -> Fixture {
    let env = TestEnv::sqlite();
    let config = env.config(&settings);
    let store = Store::open(&config.database).await.unwrap();
    let state = AppState::new(store.clone(), std::sync::Arc::new(Metrics::new()), &config).unwrap();
    Fixture {
        _env: env,
        store,
        state,
    }
}

fn email(s: &str) -> SubscriberEmail {
    SubscriberEmail::parse(s).unwrap()
}

impl Fixture {
    async fn call(&self, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let res = app(self.state.clone()).oneshot(req).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    /// POST /subscribe from `peer`, with `X-Forwarded-For: xff` if given.
    async fn signup_from(&self, peer: &str, xff: Option<&str>, address: &str) -> StatusCode {
        let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
        let mut req = Request::post("/subscribe").header("content-type", "application/x-www-form-urlencoded");
        if let Some(xff) = xff {
            req = req.header("x-forwarded-for", xff);
        }
        let mut req = req
            .body(Body::from(format!("email={}", address.replace('@', "%40"))))
            .unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
        self.call(req).await.0
    }

    async fn signup(&self, address: &str) -> StatusCode {
        self.signup_from("192.0.2.1", None, address).await
    }

    async fn add(&self, address: &str, status: SubscriberStatus) -> herald::domain::Subscriber {
        let mut new = herald::testing::subscriber(address).new_subscriber();
        new.status = status;
        match self.store.insert_subscriber(&new).await.unwrap() {
            AddOutcome::Added(s) => *s,
            AddOutcome::AlreadyExists(s) => panic!("{} exists", s.email),
        }
    }

    async fn find(&self, address: &str) -> Option<herald::domain::Subscriber> {
        self.store.find_subscriber(&email(address)).await.unwrap()
    }

    async fn confirm(&self, address: &str) -> StatusCode {
        let signup = self
            .store
            .find_signup_for(&email(address))
            .await
            .unwrap()
            .expect("a signup is waiting");
        let req = Request::post(format!("/confirm/{}", signup.token.as_str()))
            .body(Body::empty())
            .unwrap();
        self.call(req).await.0
    }
}

#[tokio::test]
async fn a_signup_changes_no_existing_record_until_the_link_is_confirmed() {
    let f = fixture(Settings::default()).await;
    let ana = f.add("ana@example.com", SubscriberStatus::Active).await;
    f.store.unsubscribe(&ana.email).await.unwrap();
    let before = f.find("ana@example.com").await.unwrap();
    assert_eq!(before.status, SubscriberStatus::Unsubscribed);

    // A stranger signs her up, in another spelling: her row stays as it was.
    assert_eq!(f.signup("Ana@Example.com").await, StatusCode::OK);
    let after = f.find("ana@example.com").await.unwrap();
    assert_eq!(after.status, SubscriberStatus::Unsubscribed);
    assert_eq!(after.unsubscribed_at, before.unsubscribed_at);
    assert_eq!(after.updated_at, before.updated_at);
    // The hourly purge, even far in the future, leaves her row alone.
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    f.store.purge_unconfirmed(later).await.unwrap();
    assert!(
        f.find("ana@example.com").await.is_some(),
        "an unsubscribed row is never purged"
    );
    assert!(
        f.store.find_signup_for(&ana.email).await.unwrap().is_none(),
        "the signup was"
    );

    // Signed up again, and this time she follows the link herself.
    f.signup("ana@example.com").await;
    let signup = f.store.find_signup_for(&ana.email).await.unwrap().unwrap();
    assert_eq!(f.confirm("ana@example.com").await, StatusCode::OK);
    let back = f.find("ana@example.com").await.unwrap();
    assert_eq!(back.status, SubscriberStatus::Active);
    assert_eq!(
        (back.id, back.token.as_str()),
        (ana.id, ana.token.as_str()),
        "the same record"
    );
    assert!(back.unsubscribed_at.is_none());
    // The link is used up.
    let req = Request::get(format!("/confirm/{}", signup.token.as_str()))
        .body(Body::empty())
        .unwrap();
    assert_eq!(f.call(req).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_new_reader_exists_only_once_confirmed() {
    let f = fixture(Settings::default()).await;
    f.signup("zoe@example.com").await;
    assert!(
        f.find("zoe@example.com").await.is_none(),
        "no subscriber before the link"
    );
    assert_eq!(f.confirm("zoe@example.com").await, StatusCode::OK);
    let zoe = f.find("zoe@example.com").await.unwrap();
    assert_eq!(zoe.status, SubscriberStatus::Active);
    assert!(zoe.confirmed_at.is_some());
    // An active subscriber's signup records nothing.
    f.signup("ZOE@example.com").await;
    assert!(f.store.find_signup_for(&zoe.email).await.unwrap().is_none());
}

#[tokio::test]
async fn the_purge_removes_only_rows_never_confirmed_nor_unsubscribed() {
    let f = fixture(Settings::default()).await;
    f.add("pending@example.com", SubscriberStatus::Pending).await;
    f.add("active@example.com", SubscriberStatus::Active).await;
    f.add("gone@example.com", SubscriberStatus::Unsubscribed).await;
    // Confirmed once, then set pending by an import: kept.
    let once = f.add("once@example.com", SubscriberStatus::Active).await;
    f.store
        .set_status(once.id, SubscriberStatus::Pending)
        .await
        .unwrap();
    f.signup("new@example.com").await;
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    assert_eq!(f.store.purge_unconfirmed(later).await.unwrap(), 2);
    for (address, kept) in [
        ("pending@example.com", false),
        ("active@example.com", true),
        ("gone@example.com", true),
        ("once@example.com", true),
    ] {
        assert_eq!(f.find(address).await.is_some(), kept, "{address}");
    }
    assert!(
        f.store
            .find_signup_for(&email("new@example.com"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_suppressed_address_gets_no_confirmation_mail() {
    let sink = SmtpSink::start();
    let env = TestEnv::sqlite();
    let settings = Settings::smtp(&sink);
    let config = env.config(&settings);
    let engine = env.engine(&settings).await;
    let store = Store::open(&config.database).await.unwrap();
    let (mailer, composer) = engine.mail();
    let state = AppState::new(store.clone(), std::sync::Arc::new(Metrics::new()), &config)
        .unwrap()
        .with_mail(mailer, composer);
    let f = Fixture {
        _env: env,
        store,
        state,
    };
    suppress(&f._env, &email("Bounced@example.com").fingerprint()).await;
    assert_eq!(f.signup("bounced@example.com").await, StatusCode::OK);
    assert_eq!(f.signup("fine@example.com").await, StatusCode::OK);
    let mail = sink.wait_for_async(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to: Vec<Vec<String>> = sink.messages().into_iter().map(|m| m.rcpt_to).collect();
    assert_eq!(to, [vec!["fine@example.com".to_owned()]], "{mail:?}");
    assert!(
        f.store
            .find_signup_for(&email("bounced@example.com"))
            .await
            .unwrap()
            .is_none()
    );
}

/// Puts `fingerprint` on the suppression list, as a hard bounce would.
async fn suppress(env: &TestEnv, fingerprint: &str) {
    let pool = sqlx::SqlitePool::connect(env.database_url()).await.unwrap();
    sqlx::query("INSERT INTO suppressions (address_hash, reason, created_at) VALUES ($1, 'hard', '2026-03-01T07:00:00+00:00')")
        .bind(fingerprint)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn addresses_are_one_subscriber_whatever_their_case() {
    let f = fixture(Settings::default()).await;
    let dup = f.add("Dup@example.com", SubscriberStatus::Active).await;
    let again = herald::testing::subscriber("dup@EXAMPLE.com").new_subscriber();
    let AddOutcome::AlreadyExists(s) = f.store.insert_subscriber(&again).await.unwrap() else {
        panic!("a second row for the same address")
    };
    assert_eq!(s.id, dup.id);
    assert_eq!(
        s.email.as_str(),
        "Dup@example.com",
        "the spelling first given is kept"
    );
    assert_eq!(f.find("DUP@example.com").await.unwrap().id, dup.id);
}

/// A store at migration 0009 holding three spellings of one address (and a
/// web signup a stranger made of an unsubscribed reader), then migrated.
#[tokio::test]
async fn the_migration_merges_copies_and_restores_unsubscribes() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let env = TestEnv::sqlite();
    let options: SqliteConnectOptions = env.database_url().parse::<SqliteConnectOptions>().unwrap();
    let pool = SqlitePoolOptions::new()
        .connect_with(options.create_if_missing(true).foreign_keys(true))
        .await
        .unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let migrator = sqlx::migrate::Migrator::new(dir).await.unwrap();
    migrator.run_to(9, &pool).await.unwrap();
    let t = "2026-03-01T07:00:00+00:00";
    let rows = [
        // id, email, status, confirmed_at, unsubscribed_at, confirm_sent_at
        (1, "Dup@example.com", "active", Some(t), None, None),
        (2, "dup@example.com", "unsubscribed", Some(t), Some(t), None),
        (3, "DUP@example.com", "pending", None, None, Some(t)),
        (4, "victim@example.com", "pending", Some(t), None, Some(t)),
        (5, "fresh@example.com", "pending", None, None, Some(t)),
    ];
    for (id, address, status, confirmed, unsubscribed, sent) in rows {
        sqlx::query(
            "INSERT INTO subscribers (id, email, name, status, timezone, frequency, send_hour, topics, token, \
             created_at, confirmed_at, unsubscribed_at, updated_at, confirm_sent_at) \
             VALUES ($1, $2, '', $3, 'UTC', 'daily', 7, '', $4, $5, $6, $7, $5, $8)",
        )
        .bind(id)
        .bind(address)
        .bind(status)
        .bind(format!("{id:0>32}"))
        .bind(t)
        .bind(confirmed)
        .bind(unsubscribed)
        .bind(sent)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO editions (id, frequency, edition_date, created_at) VALUES (1, 'daily', '2026-03-01', $1), (2, 'daily', '2026-03-02', $1)")
        .bind(t)
        .execute(&pool)
        .await
        .unwrap();
    // Both copies got edition 1; only the active copy (to be merged away) got 2.
    for (id, edition, subscriber) in [(1, 1, 1), (2, 1, 2), (3, 2, 1)] {
        sqlx::query(
            "INSERT INTO deliveries (id, edition_id, subscriber_id, status, created_at, updated_at) \
             VALUES ($1, $2, $3, 'sent', $4, $4)",
        )
        .bind(id)
        .bind(edition)
        .bind(subscriber)
        .bind(t)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = env.store().await;
    let dup = store
        .find_subscriber(&email("dup@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        dup.id, 2,
        "the unsubscribed copy survives: an opt-out on any copy wins"
    );
    assert_eq!(dup.status, SubscriberStatus::Unsubscribed);
    let ledger = env.ledger("daily-2026-03-02").await;
    assert_eq!(ledger.len(), 1, "the merged copy's history moved over");
    assert_eq!(env.ledger("daily-2026-03-01").await.len(), 1);
    let victim = store
        .find_subscriber(&email("victim@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        victim.status,
        SubscriberStatus::Unsubscribed,
        "a stranger's signup is undone"
    );
    assert!(
        store.find_signup_for(&victim.email).await.unwrap().is_some(),
        "and waits as a signup"
    );
    assert!(
        store
            .find_subscriber(&email("fresh@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    let fresh = store
        .find_signup_for(&email("fresh@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fresh.token.as_str(),
        format!("{:0>32}", 5),
        "the mailed link keeps working"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let f = fixture(Settings::default().set("HERALD_HTTP__API_TOKEN", API_TOKEN)).await;
    let big = "x".repeat(64 * 1024);
    let requests = [
        (
            Request::get("/no/such/page").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            Request::delete("/subscribe").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Request::post("/preferences/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(big))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Request::post("/api/stories").body(Body::from("[]")).unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Request::get("/healthz").body(Body::empty()).unwrap(),
            StatusCode::OK,
        ),
    ];
    for (req, expected) in requests {
        let path = req.uri().to_string();
        let (status, h, _) = f.call(req).await;
        assert_eq!(status, expected, "{path}");
        for name in [
            "x-content-type-options",
            "x-frame-options",
            "referrer-policy",
            "content-security-policy",
        ] {
            assert!(h.contains_key(name), "{path} ({status}) lacks {name}: {h:?}");
        }
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
}

/// A body that sends `first` and then nothing, ever.
fn stalled_body(first: &'static [u8]) -> Body {
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from_static(first))])
        .chain(futures_util::stream::pending());
    Body::from_stream(chunks)
}

use futures_util::StreamExt as _;

#[tokio::test]
async fn the_story_api_answers_strangers_without_reading_their_body() {
    let f = fixture(Settings::default().set("HERALD_HTTP__API_TOKEN", API_TOKEN)).await;
    let req = Request::post("/api/stories")
        .header("content-type", "application/json")
        .header("content-length", (8 * 1024 * 1024 - 1).to_string())
        .body(stalled_body(b"[{\"title\":"))
        .unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(5), f.call(req)).await;
    let (status, headers, _) = answered.expect("answered without waiting for the body");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer");
    // With the token, a declared body over the limit is refused unread.
    let req = Request::post("/api/stories")
        .header("authorization", format!("Bearer {API_TOKEN}"))
        .header("content-length", (9 * 1024 * 1024).to_string())
        .body(stalled_body(b"["))
        .unwrap();
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(5), f.call(req))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

#[tokio::test]
async fn a_stalled_body_times_out() {
    let f = fixture(Settings::default().set("HERALD_HTTP__REQUEST_TIMEOUT", "1")).await;
    let req = Request::post("/subscribe")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(stalled_body(b"email=ana"))
        .unwrap();
    let started = Instant::now();
    let (status, headers, _) = tokio::time::timeout(Duration::from_secs(10), f.call(req))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn a_flood_through_a_trusted_proxy_is_limited_alone() {
    let f =
        fixture(Settings::default().set("HERALD_HTTP__TRUSTED_PROXIES", r#"["127.0.0.1", "10.0.0.0/8"]"#))
            .await;
    // One reader floods: after 20 signups in the hour, refused.
    let mut statuses = Vec::new();
    for i in 0..22 {
        let xff = "198.51.100.66, 10.1.1.1";
        statuses.push(
            f.signup_from("127.0.0.1", Some(xff), &format!("flood{i}@example.com"))
                .await,
        );
    }
    assert!(
        statuses[..20].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(statuses[20..], [StatusCode::TOO_MANY_REQUESTS; 2]);
    // Many other readers through the same proxy still get through, whatever
    // the flooder writes left of the real hop.
    for i in 0..50 {
        let xff = format!("198.51.100.66, 203.0.113.{i}");
        let status = f
            .signup_from("127.0.0.1", Some(&xff), &format!("reader{i}@example.com"))
            .await;
        assert_eq!(status, StatusCode::OK, "reader {i}");
    }
}

#[tokio::test]
async fn an_untrusted_peer_spoofing_x_forwarded_for_is_limited_as_itself() {
    let f = fixture(Settings::default().set("HERALD_HTTP__TRUSTED_PROXIES", r#"["127.0.0.1"]"#)).await;
    let mut refused = 0;
    for i in 0..25 {
        let xff = format!("203.0.113.{i}");
        let status = f
            .signup_from("198.51.100.9", Some(&xff), &format!("s{i}@example.com"))
            .await;
        refused += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(refused, 5, "20 an hour from one peer, whatever it claims");
}

#[tokio::test]
async fn a_bad_trusted_proxy_stops_the_load() {
    let env = TestEnv::sqlite();
    let out = env
        .herald(&["config", "check"])
        .env("HERALD_HTTP__TRUSTED_PROXIES", r#"["127.0.0.1", "10.0.0.300/8"]"#)
        .output()
        .unwrap();
    let err = crate::support::stderr_of(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("http.trusted_proxies[1]") && err.contains("10.0.0.300/8"),
        "{err}"
    );
}

/// The real listener on port 0 with one-second timeouts and room for two
/// connections.
async fn listener(f: &Fixture) -> (SocketAddr, tokio_util::sync::CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        header_timeout: Duration::from_secs(1),
        max_connections: 2,
        shutdown_grace: Duration::from_secs(1),
    };
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(serve(listener, app(f.state.clone()), limits, stop.clone()));
    (addr, stop)
}

/// Reads until the server closes the connection (or `within` passes);
/// returns what came and whether it closed.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true);
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_drops_slow_and_idle_clients_and_caps_connections() {
    let f = fixture(
        Settings::default()
            .set("HERALD_HTTP__REQUEST_TIMEOUT", "1")
            .set("HERALD_HTTP__API_TOKEN", API_TOKEN),
    )
    .await;
    let (addr, stop) = listener(&f).await;
    tokio::task::spawn_blocking(move || {
        // Slow headers: closed after the header timeout.
        let started = Instant::now();
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
        let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(5));
        assert!(closed, "a client that never ends its headers is dropped");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(4), "{waited:?}");

        // Idle keep-alive: one answer, then closed after the same timeout.
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let (got, closed) = read_until_closed(&mut idle, Duration::from_secs(5));
        assert!(got.starts_with("HTTP/1.1 200") && closed, "{got}");

        // A stalled body: 408 after the request timeout.
        let mut stalled = TcpStream::connect(addr).unwrap();
        stalled
            .write_all(b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=")
            .unwrap();
        let (got, _) = read_until_closed(&mut stalled, Duration::from_secs(5));
        assert!(got.starts_with("HTTP/1.1 408"), "{got}");

        // An unauthenticated upload that stalls: 401 at once.
        let started = Instant::now();
        let mut upload = TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST /api/stories HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n[",
            8 * 1024 * 1024 - 1
        );
        upload.write_all(head.as_bytes()).unwrap();
        let (got, _) = read_until_closed(&mut upload, Duration::from_secs(5));
        assert!(got.starts_with("HTTP/1.1 401"), "{got}");
        assert!(started.elapsed() < Duration::from_millis(900), "{:?}", started.elapsed());

        // Two connections hold both slots; a third is answered only once
        // the header timeout has freed one.
        let mut holders: Vec<TcpStream> = (0..2)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
                s
            })
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        let mut third = TcpStream::connect(addr).unwrap();
        third
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (got, _) = read_until_closed(&mut third, Duration::from_secs(5));
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        assert!(started.elapsed() >= Duration::from_millis(500), "served before a slot was free: {:?}", started.elapsed());
        holders.clear();
    })
    .await
    .unwrap();
    stop.cancel();
}

#[test]
fn json_on_stdin_with_a_bom_is_read_as_json() {
    let env = TestEnv::sqlite();
    let json = "\u{feff}[{\"title\": \"T\", \"url\": \"https://a.example/1\", \"published_at\": \"2026-03-10T07:00:00Z\"}]";
    let out = env
        .herald(&["stories", "import", "-"])
        .write_stdin(json)
        .output()
        .unwrap();
    let stdout = crate::support::stdout_of(&out);
    assert!(
        out.status.success(),
        "{stdout}{}",
        crate::support::stderr_of(&out)
    );
    assert!(
        stdout.starts_with("imported 1, updated 0, rejected 0"),
        "{stdout}"
    );
}

#[test]
fn the_export_guards_formula_cells_and_the_import_reads_them_back() {
    let env = TestEnv::sqlite();
    let csv = "\u{feff}email,name\n-x@example.com,\"=HYPERLINK(\"\"https://evil.example\"\",\"\"x\"\")\"\nana@example.com,@Ana\nbob@example.com,Bob\n";
    let file = env.write("in.csv", csv);
    let out = env
        .herald(&["subscribers", "import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::support::stderr_of(&out));
    let out = env
        .herald(&["subscribers", "export", "--format", "csv"])
        .output()
        .unwrap();
    let export = crate::support::stdout_of(&out);
    assert!(export.contains("'-x@example.com,\"'=HYPERLINK("), "{export}");
    assert!(
        export.contains("ana@example.com,'@Ana,") && export.contains("bob@example.com,Bob,"),
        "{export}"
    );
    // Read back, the export changes nothing.
    let again = env.write("again.csv", &export);
    let out = env
        .herald(&["subscribers", "import", again.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::support::stderr_of(&out));
    let x: serde_json::Value = env.json(&["subscribers", "show", "--format", "json", "--", "-x@example.com"]);
    assert_eq!(x["name"], "=HYPERLINK(\"https://evil.example\",\"x\")");
    assert_eq!(env.show("ana@example.com")["name"], "@Ana");
}

// The store's side of the above on both backends: signups apart from
// subscribers, confirmation, the purge and case-folded addresses (also
// within one import batch).
both_backends! {
    async fn signups_and_address_keys_in_the_store(env: &TestEnv) {
        let store = env.store().await;
        let mut gone = herald::testing::subscriber("Gone@example.com").new_subscriber();
        gone.status = SubscriberStatus::Unsubscribed;
        let AddOutcome::Added(gone) = store.insert_subscriber(&gone).await.unwrap() else { panic!() };
        let mut again = herald::testing::subscriber("gone@example.com").new_subscriber();
        again.status = SubscriberStatus::Pending;
        let signup = store.signup(&again).await.unwrap().expect("a mail goes out");
        assert!(store.signup(&again).await.unwrap().is_none(), "one mail an hour");
        let stored = store.find_subscriber(&gone.email).await.unwrap().unwrap();
        assert_eq!((stored.status, stored.updated_at), (SubscriberStatus::Unsubscribed, gone.updated_at));
        let later = chrono::Utc::now() + chrono::Duration::days(30);
        let confirmed = store.confirm_signup(&signup, None).await.unwrap();
        assert_eq!((confirmed.id, confirmed.status), (gone.id, SubscriberStatus::Active));
        assert_eq!(confirmed.email.as_str(), "Gone@example.com");
        assert!(store.find_signup(&signup.token).await.unwrap().is_none());
        store.signup(&herald::testing::subscriber("new@example.com").new_subscriber()).await.unwrap();
        assert_eq!(store.purge_unconfirmed(later).await.unwrap(), 1);
        assert!(store.find_subscriber(&gone.email).await.unwrap().is_some());

        let csv = env.write("dups.csv", "email,name\nDup@example.com,First\ndup@example.com,Second\n");
        env.herald(&["subscribers", "import", csv.to_str().unwrap()]).assert().success();
        let dup = store.find_subscriber(&email("DUP@example.com")).await.unwrap().unwrap();
        assert_eq!((dup.email.as_str(), dup.name.as_str()), ("Dup@example.com", "Second"));
        let n = store.list_subscribers(None, 0, 100).await.unwrap().len();
        assert_eq!(n, 2, "Gone@ and Dup@");
    }
}

#[tokio::test]
async fn the_story_api_takes_a_bom_and_refuses_bidi_overrides_in_titles() {
    let f = fixture(Settings::default().set("HERALD_HTTP__API_TOKEN", API_TOKEN)).await;
    let body = "\u{feff}[{\"title\": \"Fine\", \"url\": \"https://a.example/1\", \"published_at\": \"2026-03-10T07:00:00Z\"},\n {\"title\": \"Invoice \u{202E}fdp.exe\", \"url\": \"https://a.example/2\", \"published_at\": \"2026-03-10T07:00:00Z\"}]";
    let req = Request::post("/api/stories")
        .header("authorization", format!("Bearer {API_TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let (status, _, text) = f.call(req).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (answer["imported"].as_u64(), answer["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{text}"
    );
    let why = answer["rejections"][0].as_str().unwrap();
    assert!(why.contains("field title") && why.contains("U+202E"), "{why}");
}
