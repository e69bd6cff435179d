//! The HTTP handlers through `app(state).oneshot(…)`, against a real SQLite
//! store: one-click unsubscribe in both body encodings, GET never changing
//! anything, unknown tokens, the weekly switch, body limits, security
//! headers, the health check and the story API.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use herald::config::{Config, Overrides};
use herald::domain::{Frequency, Subscriber, SubscriberEmail, SubscriberStatus};
use herald::http::{AppState, app};
use herald::metrics::Metrics;
use herald::store::{AddOutcome, Store};
use tower::ServiceExt;

use crate::support::{Settings, TestEnv};

/// A SQLite store holding one subscriber, ana@example.com, and the router's
/// state over it.
struct Fixture {
    env: TestEnv,
    store: Store,
    state: AppState,
    token: String,
}

async fn fixture() -> Fixture {
    fixture_with(Settings::default()).await
}

async fn fixture_with(settings: Settings) -> Fixture {
    let env = TestEnv::sqlite();
    let config = env.config(&settings);
    let store = Store::open(&config.database).await.unwrap();
    let ana = herald::testing::subscriber("ana@example.com").new_subscriber();
    let AddOutcome::Added(s) = store.insert_subscriber(&ana).await.unwrap() else {
        panic!("ana@example.com was already there")
    };
    let state = AppState::new(store.clone(), std::sync::Arc::new(Metrics::new()), &config).unwrap();
    Fixture {
        env,
        store,
        state,
        token: s.token.to_string(),
    }
}

impl Fixture {
    /// The stored subscriber at `email`, if any.
    async fn find(&self, email: &str) -> Option<Subscriber> {
        let email = SubscriberEmail::parse(email).unwrap();
        self.store.find_subscriber(&email).await.unwrap()
    }

    /// `/unsubscribe/TOKEN` of the fixture's subscriber.
    fn unsubscribe(&self) -> String {
        format!("/unsubscribe/{}", self.token)
    }

    async fn get(&self, path: impl AsRef<str>) -> (StatusCode, HeaderMap, String) {
        let request = Request::get(path.as_ref()).body(Body::empty()).unwrap();
        call(self, request).await
    }

    /// A POST of an `application/x-www-form-urlencoded` body.
    async fn form(&self, path: &str, body: impl Into<Body>) -> (StatusCode, HeaderMap, String) {
        call(self, post(path, "application/x-www-form-urlencoded", body)).await
    }

    /// The fixture's subscriber as stored now.
    async fn ana(&self) -> Subscriber {
        self.find("ana@example.com")
            .await
            .expect("ana@example.com is stored")
    }
}

async fn call(f: &Fixture, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let res = app(f.state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    // As a reader reads it: without the invisible isolates around arguments.
    let body = String::from_utf8_lossy(&body).replace(['\u{2068}', '\u{2069}'], "");
    (status, headers, body)
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn get_shows_choices_and_changes_nothing() {
    let f = fixture().await;
    let (status, headers, body) = f.get(format!("/unsubscribe/{}", f.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Unsubscribe ana@example.com") && body.contains("Switch to the weekly digest"));
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(f.ana().await.status, SubscriberStatus::Active);
}

#[tokio::test]
async fn one_click_urlencoded() {
    let f = fixture().await;
    let (status, headers, body) = f.form(&f.unsubscribe(), "List-Unsubscribe=One-Click").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("location").is_none(), "never a redirect");
    assert!(body.contains("You are unsubscribed"));
    assert_eq!(f.ana().await.status, SubscriberStatus::Unsubscribed);
}

#[tokio::test]
async fn one_click_multipart() {
    let f = fixture().await;
    let body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n";
    let (status, _, _) = call(
        &f,
        post(
            &format!("/unsubscribe/{}", f.token),
            "multipart/form-data; boundary=XyZ",
            body,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.ana().await.status, SubscriberStatus::Unsubscribed);
}

#[tokio::test]
async fn switch_to_weekly() {
    let f = fixture().await;
    let (status, _, body) = f.form(&f.unsubscribe(), "action=weekly").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ana = f.ana().await;
    assert_eq!(
        (ana.status, ana.frequency),
        (SubscriberStatus::Active, Frequency::Weekly)
    );
}

#[tokio::test]
async fn unknown_or_malformed_tokens_and_bodies() {
    let f = fixture().await;
    let (status, _, body) = f.get("/unsubscribe/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("not valid"));
    let (status, _, _) = f.get("/unsubscribe/%3Cscript%3E").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &f,
        post(
            &format!("/unsubscribe/{}", f.token),
            "text/plain",
            "List-Unsubscribe=One-Click",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = f.form(&f.unsubscribe(), "nothing=here").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let huge = "a=".to_owned() + &"x".repeat(100_000);
    let (status, _, _) = f.form(&f.unsubscribe(), huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(f.ana().await.status, SubscriberStatus::Active);
}

#[tokio::test]
async fn health_follows_the_store() {
    let f = fixture().await;
    let (status, _, _) = f.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    f.store.close().await;
    let (status, _, body) = f.get("/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !body.to_lowercase().contains("sqlx"),
        "no internal details: {body}"
    );
}

#[tokio::test]
async fn double_opt_in_never_reveals_known_addresses() {
    let f = fixture().await;
    // A new address and a known one get the same answer.
    let (s1, _, b1) = f
        .form("/subscribe", "email=new%40example.com&name=Zo%C3%AB")
        .await;
    let (s2, _, b2) = f.form("/subscribe", "email=ana%40example.com").await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(b1, b2, "the response does not tell whether the address was known");
    assert!(
        f.find("new@example.com").await.is_none(),
        "no subscriber before the link"
    );
    let new = f
        .store
        .find_signup_for(&SubscriberEmail::parse("new@example.com").unwrap())
        .await
        .unwrap()
        .expect("a signup waits for its link");
    assert_eq!(new.name.as_str(), "Zoë");
    assert_eq!(
        f.ana().await.status,
        SubscriberStatus::Active,
        "a known subscriber is left alone"
    );
    // The honeypot: a bot's signup is answered but not recorded.
    let (s3, _, b3) = f
        .form("/subscribe", "email=bot%40example.com&website=http%3A%2F%2Fspam")
        .await;
    assert_eq!((s3, b3), (StatusCode::OK, b1.clone()));
    assert!(f.find("bot@example.com").await.is_none());
    // Per-address limit: the fourth signup within the hour changes nothing.
    for _ in 0..3 {
        f.form("/subscribe", "email=again%40example.com").await;
    }
    let (s4, _, _) = f.form("/subscribe", "email=again%40example.com").await;
    assert_eq!(s4, StatusCode::OK);

    // Confirm: GET shows a button and changes nothing; POST activates.
    let token = new.token.to_string();
    let (status, _, body) = f.get(format!("/confirm/{token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Confirm my subscription"));
    assert!(f.find("new@example.com").await.is_none(), "a GET changes nothing");
    let (status, _, _) = f.form(&format!("/confirm/{token}"), "").await;
    assert_eq!(status, StatusCode::OK);
    let active = f.find("new@example.com").await.unwrap();
    assert_eq!(active.status, SubscriberStatus::Active);
    assert!(active.confirmed_at.is_some());
}

#[tokio::test]
async fn preferences_change_and_validate() {
    let f = fixture().await;
    let (status, _, body) = f.get(format!("/preferences/{}", f.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<option value=\"UTC\" selected>UTC</option>"),
        "{body}"
    );
    let (status, _, body) = f
        .form(
            &format!("/preferences/{}", f.token),
            "frequency=weekly&send_hour=6&timezone=Asia%2FKathmandu&topics=world%2Cscience",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = f.ana().await;
    assert_eq!(
        (s.frequency, s.send_hour.get(), s.timezone.name()),
        (Frequency::Weekly, 6, "Asia/Kathmandu")
    );
    assert_eq!(s.topics.as_slice(), ["world", "science"]);
    let (status, _, body) = f
        .form(
            &format!("/preferences/{}", f.token),
            "frequency=weekly&send_hour=25&timezone=UTC",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("Hour of delivery: choose an hour from 00:00 to 23:00."),
        "{body}"
    );
}

#[tokio::test]
async fn pause_for_two_weeks() {
    let f = fixture().await;
    // One story, so that a dry run would send Ana a digest.
    let story = serde_json::json!([{
        "title": "Harbour opens at night", "url": "https://news.example.com/harbour",
        "published_at": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
    }]);
    let mut stories = Vec::new();
    herald::import::read_stories(
        std::io::Cursor::new(story.to_string()),
        herald::import::StoryFormat::Json,
        |r| {
            stories.push(r.unwrap().1);
            true
        },
    )
    .unwrap();
    f.store.upsert_stories(&stories).await.unwrap();
    let engine = f.env.engine(&Settings::default()).await;
    let today = herald::domain::Edition {
        frequency: Frequency::Daily,
        date: chrono::Utc::now().date_naive(),
    };
    let dry = engine.dry_run(today, chrono::Utc::now()).await.unwrap();
    assert_eq!(dry.sent, 1);
    let (status, _, body) = f.get(format!("/unsubscribe/{}", f.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Pause for two weeks"));
    let (status, _, body) = f.form(&f.unsubscribe(), "action=pause").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Paused for two weeks"));
    assert_eq!(
        f.ana().await.status,
        SubscriberStatus::Active,
        "paused, not unsubscribed"
    );
    // Nobody is queued while paused.
    let id = f.store.ensure_edition(&today).await.unwrap();
    assert_eq!(
        f.store
            .enqueue(id, Frequency::Daily, None, chrono::Utc::now())
            .await
            .unwrap(),
        0
    );
    // And a dry run counts as the real run would.
    let dry = engine.dry_run(today, chrono::Utc::now()).await.unwrap();
    assert_eq!(dry.sent, 0);
}

const API_TOKEN: &str = "test-token-0123456789abcdef";

fn api(token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::post("/api/stories").header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(body.into()).unwrap()
}

#[tokio::test]
async fn story_api_needs_a_configured_token() {
    let f = fixture().await;
    let (status, _, body) = call(&f, api(Some(API_TOKEN), "[]")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let f = fixture_with(Settings::default().set("HERALD_HTTP__API_TOKEN", API_TOKEN)).await;
    for token in [None, Some("wrong"), Some("test-token-0123456789abcdeF"), Some("")] {
        let (status, headers, body) = call(&f, api(token, "[]")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {body}");
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert!(!body.contains(API_TOKEN));
    }
    let req = Request::post("/api/stories")
        .header("authorization", format!("Basic {API_TOKEN}"))
        .body(Body::from("[]"))
        .unwrap();
    assert_eq!(call(&f, req).await.0, StatusCode::UNAUTHORIZED);
    // The scheme is case-insensitive (RFC 9110).
    let req = Request::post("/api/stories")
        .header("authorization", format!("bearer {API_TOKEN}"))
        .body(Body::from("[]"))
        .unwrap();
    assert_eq!(call(&f, req).await.0, StatusCode::OK);

    let overrides = Overrides {
        config_path: Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/herald.toml")),
        database_url: Some("sqlite://unused.db".into()),
        metrics_file: None,
    };
    let short = Config::load_from(&overrides, &[("HERALD_HTTP__API_TOKEN".into(), "short".into())]);
    assert!(short.unwrap_err().to_string().contains("http.api_token"));
}

#[tokio::test]
async fn story_api_imports_and_refreshes_popularity() {
    let f = fixture_with(Settings::default().set("HERALD_HTTP__API_TOKEN", API_TOKEN)).await;
    let story = |votes: i64, comments: i64| {
        serde_json::json!({
            "title": "Harbour opens at night", "url": "https://news.example.com/harbour",
            "published_at": "2026-03-10T08:00:00Z", "votes": votes, "comments": comments,
            // Padding: a body past the 16 KiB limit of the subscriber pages.
            "summary": "x ".repeat(5000),
        })
    };
    let body = serde_json::json!([
        story(3, 1),
        {"title": "No URL", "published_at": "2026-03-10T08:00:00Z"},
        {"title": "Second", "url": "https://news.example.com/second", "published_at": "2026-03-10T09:00:00Z"},
        story(4, 2),
    ])
    .to_string();
    assert!(body.len() > 16 * 1024);
    let (status, headers, text) = call(&f, api(Some(API_TOKEN), body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["content-type"], "application/json");
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(summary["imported"], 2, "{summary}");
    assert_eq!(summary["rejected"], 1);
    assert!(
        summary["rejections"][0].as_str().unwrap().contains("item 2"),
        "{summary}"
    );
    assert!(
        summary["rejections"][0].as_str().unwrap().contains("field url"),
        "{summary}"
    );

    // A popularity update: same URL, new counts (JSON Lines works too).
    let update = serde_json::json!({
        "title": "Harbour opens at night", "url": "https://news.example.com/harbour",
        "published_at": "2026-03-10T08:00:00Z", "votes": 250, "comments": 40,
        "summary": "x ".repeat(5000),
    });
    let (status, _, text) = call(&f, api(Some(API_TOKEN), format!("{update}\n"))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (summary["imported"].as_u64(), summary["updated"].as_u64()),
        (Some(0), Some(1))
    );
    let stories = f
        .store
        .list_stories(&herald::store::StoryFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let harbour = stories
        .iter()
        .find(|s| s.url == "https://news.example.com/harbour")
        .unwrap();
    assert_eq!((harbour.votes, harbour.comments), (250, 40));

    // Not JSON at all: 400, with what was understood.
    let (status, _, text) = call(&f, api(Some(API_TOKEN), "[{\"title\": ")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("\"error\""), "{text}");
}

#[tokio::test]
async fn story_api_takes_a_language_and_rejects_a_bad_one() {
    let f = fixture_with(Settings::default().set("HERALD_HTTP__API_TOKEN", API_TOKEN)).await;
    let body = serde_json::json!([
        {"title": "افتتاح رصيف جديد", "url": "https://news.example.com/ar/raseef",
         "published_at": "2026-03-10T08:00:00Z", "lang": "ar-jo"},
        {"title": "Bad tag", "url": "https://news.example.com/bad",
         "published_at": "2026-03-10T08:00:00Z", "lang": "not a tag"},
    ])
    .to_string();
    let (status, _, text) = call(&f, api(Some(API_TOKEN), body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (summary["imported"].as_u64(), summary["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    let rejection = summary["rejections"][0].as_str().unwrap();
    assert!(
        rejection.starts_with("item 2")
            && rejection.contains("field lang: \"not a tag\" is not a language tag"),
        "{rejection}"
    );
    let stories = f
        .store
        .list_stories(&herald::store::StoryFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stories.len(), 1);
    assert_eq!(
        stories[0].lang.as_ref().map(|l| l.tag()).as_deref(),
        Some("ar-JO")
    );
}
