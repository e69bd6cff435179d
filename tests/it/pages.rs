//! The reader-facing pages through `app(state).oneshot(…)`: the signup page
//! and its time zone (the browser's hidden field, the picker, the default,
//! a bad zone), topics and frequency from the form; the confirmation page's
//! zone and hour; the preferences picker; "view in browser" (the stories of
//! the ledger row, the headers, unknown tokens and editions, an edition not
//! sent to the reader, one the retention pass folded); `herald form`.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::Duration;
use herald::domain::{SubscriberEmail, SubscriberStatus};
use herald::http::{AppState, app};
use herald::metrics::Metrics;
use herald::store::Store;
use herald::testing::{at, daily};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::support::smtp::SmtpSink;
use crate::support::{Settings, TestEnv, stdout_of};

pub(crate) const NOW: &str = "2026-03-10T07:00:00Z";
pub(crate) const DATE: &str = "2026-03-10";
pub(crate) const EDITION: &str = "daily-2026-03-10";

/// The router over `env`'s store, configured with `settings`.
pub(crate) async fn router_state(env: &TestEnv, settings: &Settings) -> (Store, AppState) {
    let config = env.config(settings);
    let store = Store::open(&config.database).await.unwrap();
    let state = AppState::new(store.clone(), std::sync::Arc::new(Metrics::new()), &config).unwrap();
    (store, state)
}

/// The answer, its body as a reader reads it: without the invisible
/// isolates (FSI, PDI) the catalogs put around each argument, as
/// characters or as the references a digest writes them as
/// (`page_languages` checks them).
pub(crate) async fn call(state: &AppState, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let (status, headers, body) = call_raw(state, req).await;
    let body = body.replace(['\u{2068}', '\u{2069}'], "");
    (
        status,
        headers,
        body.replace("&#8296;", "").replace("&#8297;", ""),
    )
}

/// The answer as it came.
pub(crate) async fn call_raw(state: &AppState, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 1 << 22).await.unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

pub(crate) async fn get(state: &AppState, path: &str) -> (StatusCode, HeaderMap, String) {
    call(state, Request::get(path).body(Body::empty()).unwrap()).await
}

async fn post_form(state: &AppState, path: &str, body: &str) -> (StatusCode, HeaderMap, String) {
    let req = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    call(state, req).await
}

/// Three stories (two news stories in two sections, one blog post),
/// published an hour before [`NOW`], and two active readers, Ana and Bruno.
pub(crate) fn seed(env: &TestEnv) {
    let stories = env.write(
        "stories.jsonl",
        concat!(
            "{\"title\": \"Council approves night buses\", \"url\": \"https://news.example.com/buses\", \"section\": \"city\", \"published_at\": \"2026-03-10T06:00:00Z\", \"votes\": 30}\n",
            "{\"title\": \"Harbour <ferry> & \\\"tram\\\" plan\", \"url\": \"https://news.example.com/ferry\", \"section\": \"transport\", \"published_at\": \"2026-03-10T06:00:00Z\", \"votes\": 20}\n",
            "{\"title\": \"Notes from the night shift\", \"url\": \"https://blog.example.com/notes\", \"kind\": \"blog\", \"published_at\": \"2026-03-10T06:00:00Z\", \"votes\": 5}\n",
        ),
    );
    env.herald(&["stories", "import", stories.to_str().unwrap()])
        .assert()
        .success();
    let readers = env.write(
        "readers.csv",
        "email,name,topics\nana@example.com,Ana Lima,\nbruno@example.com,Bruno Sousa,transport\n",
    );
    env.herald(&["subscribers", "import", readers.to_str().unwrap()])
        .assert()
        .success();
}

/// Sends the daily edition of [`DATE`] to the seeded readers.
pub(crate) async fn send(env: &TestEnv) -> SmtpSink {
    let sink = SmtpSink::start();
    let summary = env
        .engine(&Settings::smtp(&sink))
        .await
        .run_edition(daily(DATE), at(NOW), None, &CancellationToken::new())
        .await
        .expect("the edition runs");
    assert_eq!(summary.sent, 2, "{summary:?}");
    sink
}

async fn token_of(store: &Store, email: &str) -> String {
    let email = SubscriberEmail::parse(email).unwrap();
    store
        .find_subscriber(&email)
        .await
        .unwrap()
        .unwrap()
        .token
        .to_string()
}

async fn reader(store: &Store, email: &str) -> herald::domain::Subscriber {
    store
        .find_subscriber(&SubscriberEmail::parse(email).unwrap())
        .await
        .unwrap()
        .expect("the reader is stored")
}

#[tokio::test]
async fn the_signup_page_offers_zones_sections_and_the_script_its_policy_allows() {
    let env = TestEnv::sqlite();
    seed(&env);
    let settings = Settings::default().set("HERALD_SUBSCRIBERS__DEFAULT_TIMEZONE", "Europe/Lisbon");
    let (_, state) = router_state(&env, &settings).await;
    let (status, headers, body) = get(&state, "/subscribe").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"<option value="Europe/Lisbon" selected>Lisbon</option>"#),
        "{body}"
    );
    assert_eq!(body.matches(" selected>").count(), 1, "one zone preselected");
    assert!(body.contains(r#"<optgroup label="Americas">"#));
    assert!(body.contains(r#"name="topics" value="city""#) && body.contains(r#"value="transport""#));
    assert!(body.contains(r#"name="frequency" value="weekly""#));
    assert!(body.contains(r#"<input type="hidden" name="tz" value="">"#));
    // The one inline script, allowed by its hash and nothing else.
    let script = body
        .split("<script>")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("an inline script");
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script.as_bytes()));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains(&format!("script-src 'sha256-{hash}'")), "{csp}");
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    assert!(script.contains("Intl.DateTimeFormat().resolvedOptions().timeZone"));
    assert!(body.contains(r#"<meta name="robots" content="noindex, nofollow">"#));
}

/// A signup posting `form`; returns the signup as stored (apart from the
/// subscribers until confirmed).
async fn signup(state: &AppState, store: &Store, form: &str) -> herald::store::Signup {
    let (status, _, body) = post_form(state, "/subscribe", form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Check your inbox"), "{body}");
    let email = url::form_urlencoded::parse(form.as_bytes())
        .find(|(k, _)| k == "email")
        .unwrap()
        .1
        .into_owned();
    let email = SubscriberEmail::parse(&email).unwrap();
    store
        .find_signup_for(&email)
        .await
        .unwrap()
        .expect("the signup is stored")
}

/// Whether `email` is a subscriber yet (a signup becomes one on confirming).
async fn subscribed(store: &Store, email: &str) -> bool {
    let email = SubscriberEmail::parse(email).unwrap();
    store.find_subscriber(&email).await.unwrap().is_some()
}

#[tokio::test]
async fn a_signup_stores_the_browser_zone_else_the_picked_one_else_the_default() {
    let env = TestEnv::sqlite();
    let settings = Settings::default().set("HERALD_SUBSCRIBERS__DEFAULT_TIMEZONE", "Europe/Lisbon");
    let (store, state) = router_state(&env, &settings).await;

    let s = signup(
        &state,
        &store,
        "email=amman%40example.com&tz=Asia%2FAmman&timezone=UTC",
    )
    .await;
    assert!(
        !subscribed(&store, "amman@example.com").await,
        "not before confirming"
    );
    assert_eq!(
        s.timezone.name(),
        "Asia/Amman",
        "the browser's zone wins over the untouched picker"
    );

    let s = signup(
        &state,
        &store,
        "email=la%40example.com&tz=&timezone=America%2FLos_Angeles",
    )
    .await;
    assert_eq!(s.timezone.name(), "America/Los_Angeles", "no script: the picker");

    let s = signup(
        &state,
        &store,
        "email=odd%40example.com&tz=Mars%2FOlympus&timezone=Asia%2FTokyo",
    )
    .await;
    assert_eq!(
        s.timezone.name(),
        "Asia/Tokyo",
        "a zone the browser made up falls back to the picker"
    );

    let s = signup(&state, &store, "email=plain%40example.com").await;
    assert_eq!(
        s.timezone.name(),
        "Europe/Lisbon",
        "neither: subscribers.default_timezone"
    );
    assert_eq!(s.frequency.as_str(), "daily");

    let s = signup(
        &state,
        &store,
        "email=weekly%40example.com&frequency=weekly&topics=city&topics=transport",
    )
    .await;
    assert_eq!(s.frequency.as_str(), "weekly");
    assert_eq!(s.topics.join(','), "city,transport", "one field per ticked box");

    let (status, _, body) = post_form(&state, "/subscribe", "email=bad%40example.com&timezone=Nowhere").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("Time zone: this is not a time zone we know; choose one from the list."),
        "{body}"
    );
    let (status, _, body) = post_form(&state, "/subscribe", "email=bad%40example.com&frequency=hourly").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("How often:"), "{body}");
    let none = store
        .find_subscriber(&SubscriberEmail::parse("bad@example.com").unwrap())
        .await
        .unwrap();
    assert!(none.is_none(), "a refused form stores nothing");
    let no_signup = store
        .find_signup_for(&SubscriberEmail::parse("bad@example.com").unwrap())
        .await
        .unwrap();
    assert!(no_signup.is_none(), "not even a signup");
}

#[tokio::test]
async fn the_confirmation_page_lets_the_reader_change_zone_and_hour_before_confirming() {
    let env = TestEnv::sqlite();
    let (store, state) = router_state(&env, &Settings::default()).await;
    let s = signup(&state, &store, "email=ana%40example.com&tz=Asia%2FAmman").await;
    let path = format!("/confirm/{}", s.token);

    let (status, headers, body) = get(&state, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"<option value="Asia/Amman" selected>Amman</option>"#),
        "{body}"
    );
    assert!(
        body.contains(r#"<option value="7" selected>07:00</option>"#),
        "{body}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        !subscribed(&store, "ana@example.com").await,
        "GET changes nothing"
    );

    let (status, _, body) = post_form(&state, &path, "timezone=Asia%2FAmman&send_hour=25").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Hour of delivery: choose an hour"), "{body}");
    let (status, _, body) = post_form(&state, &path, "timezone=Europe%2FAtlantis&send_hour=6").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Time zone:"), "{body}");
    let (status, _, _) = call(
        &state,
        Request::post(&path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a body that is not a form");
    assert!(
        !subscribed(&store, "ana@example.com").await,
        "a refused form confirms nothing"
    );

    let (status, _, body) = post_form(&state, &path, "timezone=Europe%2FLisbon&send_hour=6").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("will get our daily digest at 06:00 Europe/Lisbon"),
        "{body}"
    );
    let s = reader(&store, "ana@example.com").await;
    assert_eq!(s.status, SubscriberStatus::Active);
    assert_eq!((s.timezone.name(), s.send_hour.get()), ("Europe/Lisbon", 6));
}

#[tokio::test]
async fn a_bare_confirmation_keeps_the_stored_zone_and_hour() {
    let env = TestEnv::sqlite();
    let (store, state) = router_state(&env, &Settings::default()).await;
    let s = signup(&state, &store, "email=ana%40example.com&tz=Asia%2FAmman").await;
    let req = Request::post(format!("/confirm/{}", s.token))
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = call(&state, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = reader(&store, "ana@example.com").await;
    assert_eq!(
        (s.status, s.timezone.name(), s.send_hour.get()),
        (SubscriberStatus::Active, "Asia/Amman", 7)
    );
}

#[tokio::test]
async fn preferences_use_the_same_pickers() {
    let env = TestEnv::sqlite();
    seed(&env);
    let (store, state) = router_state(&env, &Settings::default()).await;
    let token = token_of(&store, "ana@example.com").await;
    let (status, _, body) = get(&state, &format!("/preferences/{token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"<select name="timezone">"#)
            && body.contains(r#"<option value="UTC" selected>UTC</option>"#),
        "{body}"
    );
    assert!(
        body.contains(r#"<select name="send_hour">"#)
            && body.contains(r#"<option value="7" selected>07:00</option>"#)
    );
    let (status, _, body) = post_form(
        &state,
        &format!("/preferences/{token}"),
        "frequency=daily&send_hour=8&timezone=Asia%2FAmman&topics=",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = reader(&store, "ana@example.com").await;
    assert_eq!((s.timezone.name(), s.send_hour.get()), ("Asia/Amman", 8));
}

/// The titles in a rendered digest, as the HTML escapes them.
fn titles_in(html: &str) -> Vec<&'static str> {
    [
        "Council approves night buses",
        "Harbour &lt;ferry&gt; &amp; &quot;tram&quot; plan",
        "Notes from the night shift",
    ]
    .into_iter()
    .filter(|t| html.contains(t))
    .collect()
}

both_backends! {
    async fn view_in_browser_shows_what_the_ledger_recorded(env: &TestEnv) {
        seed(env);
        let sink = send(env).await;
        let (store, state) = router_state(env, &Settings::default()).await;
        let ana = token_of(&store, "ana@example.com").await;
        let bruno = token_of(&store, "bruno@example.com").await;

        let (status, headers, body) = get(&state, &format!("/view/{ana}/{EDITION}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(titles_in(&body).len(), 3, "Ana reads every section: {body}");
        assert_eq!(headers["x-robots-tag"], "noindex, nofollow");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("img-src https:") && csp.contains("default-src 'none'"), "{csp}");
        assert!(body.contains("Hello Ana Lima,"), "her own digest (call drops the isolates): {body}");

        // Bruno reads only transport: his page has only what he was sent,
        // the same stories his mail had.
        let (status, _, body) = get(&state, &format!("/view/{bruno}/{EDITION}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(titles_in(&body), ["Harbour &lt;ferry&gt; &amp; &quot;tram&quot; plan"], "{body}");
        let mail = sink
            .messages()
            .into_iter()
            .find(|m| m.rcpt_to == ["bruno@example.com"])
            .expect("Bruno's digest");
        let parsed = mail_parser::MessageParser::default().parse(&mail.data).unwrap();
        let html = parsed.body_html(0).unwrap();
        assert_eq!(titles_in(&html), titles_in(&body), "the page and the mail agree");

        // Bad links.
        let unknown = "A".repeat(32);
        assert_eq!(get(&state, &format!("/view/{unknown}/{EDITION}")).await.0, StatusCode::NOT_FOUND);
        assert_eq!(get(&state, &format!("/view/short/{EDITION}")).await.0, StatusCode::NOT_FOUND);
        assert_eq!(get(&state, &format!("/view/{ana}/yesterday")).await.0, StatusCode::NOT_FOUND);
        let (status, _, body) = get(&state, &format!("/view/{ana}/daily-2026-03-09")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("We have no digest of 9 March 2026"), "{body}");

        // After the retention pass the link says so, politely.
        // The rows were written now (the wall clock), so the pass runs 100
        // days from now.
        let pass_at = chrono::Utc::now() + Duration::days(100);
        let report = store.prune_ledger(Duration::days(90), pass_at, false).await.unwrap();
        assert_eq!(report.editions.len(), 1, "{report:?}");
        let (status, headers, body) = get(&state, &format!("/view/{ana}/{EDITION}")).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(body.contains("no longer kept online") && body.contains("90 days"), "{body}");
        assert_eq!(headers["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn a_queued_row_is_not_a_digest_to_view() {
    let env = TestEnv::sqlite();
    seed(&env);
    let (store, state) = router_state(&env, &Settings::default()).await;
    let edition = store.ensure_edition(&daily(DATE)).await.unwrap();
    let queued = store
        .enqueue(edition, herald::domain::Frequency::Daily, None, at(NOW))
        .await
        .unwrap();
    assert_eq!(queued, 2);
    let ana = token_of(&store, "ana@example.com").await;
    assert_eq!(
        get(&state, &format!("/view/{ana}/{EDITION}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn herald_form_prints_a_self_contained_box() {
    let env = TestEnv::sqlite();
    seed(&env);
    let out = env
        .herald(&["form", "--topics", "--frequency"])
        .env("HERALD_SITE__PUBLIC_URL", "https://news.example.com/")
        .output()
        .unwrap();
    assert!(out.status.success());
    let html = stdout_of(&out);
    assert!(
        html.contains(
            r#"<form class="herald-signup" method="post" action="https://news.example.com/subscribe">"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"value="city""#) && html.contains(r#"value="transport""#),
        "sections from the store"
    );
    assert!(html.contains(r#"name="frequency" value="weekly""#));
    assert!(html.contains(r#"name="website""#), "the honeypot");
    assert!(html.contains(r#"<option value="UTC" selected>UTC</option>"#));
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "nothing external: {html}"
    );
    assert!(!html.contains("<html"), "a fragment, not a page");

    let out = env
        .herald(&["form", "--sections", "world,sport"])
        .output()
        .unwrap();
    let html = stdout_of(&out);
    assert!(html.contains(r#"value="world""#) && html.contains(r#"value="sport""#));
    assert!(
        !html.contains(r#"value="city""#) && !html.contains(r#"name="frequency""#),
        "{html}"
    );
    let out = env.herald(&["form"]).output().unwrap();
    assert!(
        !stdout_of(&out).contains(r#"name="topics""#),
        "no topics unless asked"
    );
}

/// Stops the daemon at the end of the test, whatever happens.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// A link on the daemon's own host in a message's text or HTML part.
fn link_in(message: &crate::support::smtp::Received, base: &str, path: &str) -> String {
    let parsed = mail_parser::MessageParser::default()
        .parse(&message.data)
        .unwrap();
    let text = parsed.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let start = text
        .find(&format!("{base}{path}"))
        .unwrap_or_else(|| panic!("no {path} link in {text}"));
    let link = text[start..].split_whitespace().next().unwrap();
    link.trim_start_matches(base).to_owned()
}

/// `herald run` end to end: a reader signs up with their browser's zone,
/// confirms with the hour it is now there, gets the digest on the next
/// tick, and its "view in browser" page shows the same stories.
#[test]
fn signup_with_a_zone_confirm_receive_at_its_hour_and_view_it() {
    use chrono::Timelike;
    let env = TestEnv::sqlite();
    let published = (chrono::Utc::now() - Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let stories = env.write(
        "stories.jsonl",
        &format!("{{\"title\": \"Ferry timetable doubles\", \"url\": \"https://news.example.com/ferry\", \"published_at\": \"{published}\", \"votes\": 10}}\n"),
    );
    env.herald(&["stories", "import", stories.to_str().unwrap()])
        .assert()
        .success();
    let sink = SmtpSink::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let settings = Settings::smtp(&sink)
        .set("HERALD_SCHEDULE__TICK", "*/2 * * * * *")
        .set("HERALD_HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .set("HERALD_SITE__PUBLIC_URL", &base);
    let _daemon = Daemon(
        env.herald_std(&["run"])
            .envs(settings.vars())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = crate::support::http::Http::new(port);
    crate::support::wait_until(
        "the daemon's HTTP port",
        std::time::Duration::from_secs(30),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );

    // Kathmandu (UTC+05:45): its hour is not the UTC one.
    let zone: chrono_tz::Tz = "Asia/Kathmandu".parse().unwrap();
    let signed = http.post_form(
        "/subscribe",
        "email=reader%40example.com&tz=Asia%2FKathmandu&timezone=UTC",
    );
    assert_eq!(signed.status, 200, "{}", signed.body);
    let confirmation = sink.wait_for(1, std::time::Duration::from_secs(30));
    let confirm = link_in(&confirmation[0], &base, "/confirm/");
    let page = http.get(&confirm);
    assert!(
        page.body
            .contains(r#"<option value="Asia/Kathmandu" selected>Kathmandu</option>"#),
        "{}",
        page.body
    );
    let hour = chrono::Utc::now().with_timezone(&zone).hour();
    let done = http.post_form(&confirm, &format!("timezone=Asia%2FKathmandu&send_hour={hour}"));
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(env.show("reader@example.com")["timezone"], "Asia/Kathmandu");

    let got = sink.wait_for(2, std::time::Duration::from_secs(30));
    assert_eq!(got[1].rcpt_to, ["reader@example.com"]);
    let rows: Vec<serde_json::Value> = env.json(&["deliveries", "list", "--format", "json"]);
    let edition = rows[0]["edition"].as_str().unwrap().to_owned();
    // The token, from the digest's own unsubscribe link.
    let unsubscribe = link_in(&got[1], &base, "/unsubscribe/");
    let token = unsubscribe.trim_start_matches("/unsubscribe/");
    let path = format!("/view/{token}/{edition}");
    assert_eq!(
        link_in(&got[1], &base, "/view/"),
        path,
        "the digest links to its own view"
    );
    let view = http.get(&path);
    assert_eq!(view.status, 200, "{}", view.body);
    let mail = mail_parser::MessageParser::default().parse(&got[1].data).unwrap();
    let html = mail.body_html(0).unwrap();
    assert!(
        html.contains("Ferry timetable doubles") && view.body.contains("Ferry timetable doubles"),
        "{}",
        view.body
    );
}
