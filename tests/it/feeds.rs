//! Feed ingestion end to end: a real HTTP server inside the test (port 0)
//! serves fixture feeds (a Drupal-style RSS 2.0 news feed, an Atom blog, a
//! JSON Feed, invalid XML, one that never answers, one over the size limit,
//! a redirect loop) and the real `herald feeds …` commands fetch them into a
//! real store, on both backends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::Value;

use crate::support::{Settings, TestEnv, stderr_of, stdout_of};

const DRUPAL: &str = include_str!("fixtures/feeds/drupal.xml");
const ATOM: &str = include_str!("fixtures/feeds/blog.atom");
const JSON_FEED: &str = include_str!("fixtures/feeds/feed.json");
const BROKEN: &str = include_str!("fixtures/feeds/broken.xml");
const ATOM_MODIFIED: &str = "Tue, 10 Mar 2026 09:00:00 GMT";

/// A comments link before the page link, a date in the future, Go's zero
/// time as a date.
const EDGE: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Edge</title><link>https://edge.example.com/</link>
<item><title>From the future</title><comments>https://edge.example.com/future#comments</comments>
<link>https://edge.example.com/future</link><pubDate>Fri, 01 Jan 2100 00:00:00 +0000</pubDate></item>
<item><title>Zero time</title><link>https://edge.example.com/zero</link>
<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate></item>
</channel></rss>"#;

/// Atom says this title is plain text: its brackets are not tags.
const PLAIN_ATOM: &str = r#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Rust notes</title><id>tag:x,2026:f</id>
<updated>2026-03-10T09:00:00Z</updated>
<entry><title type="text">Vec&lt;T&gt; vs Box&lt;T&gt;</title><id>tag:x,2026:1</id>
<link href="https://rust.example.org/vec-box"/><updated>2026-03-10T08:00:00Z</updated></entry>
</feed>"#;

/// JSON Feed 1.1 allows numeric ids; an attachment here lacks its type.
const NUMERIC_JSON: &str = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "N",
 "items": [{"id": 42, "url": "https://n.example.net/42", "title": "Numbered",
   "date_published": "2026-03-10T05:00:00Z", "attachments": [{"url": "https://n.example.net/42.mp3"}]}]}"#;

#[derive(Default)]
struct Hits {
    /// Version of the Drupal feed served: 1, or 2 with more comments.
    drupal_version: AtomicUsize,
    not_modified: AtomicUsize,
    requests: AtomicUsize,
}

/// The fixture server, on its own runtime in a background thread.
struct FeedServer {
    base: String,
    hits: Arc<Hits>,
}

impl FeedServer {
    fn start() -> FeedServer {
        let hits = Arc::new(Hits {
            drupal_version: AtomicUsize::new(1),
            ..Hits::default()
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let state = hits.clone();
        std::thread::spawn(move || {
            crate::support::block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app(state)).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        FeedServer {
            base: format!("http://{addr}"),
            hits,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn app(hits: Arc<Hits>) -> Router {
    Router::new()
        .route("/drupal.xml", get(drupal))
        .route("/blog.atom", get(atom))
        .route("/feed.json", get(json_feed))
        .route("/broken.xml", get(|| async { xml(BROKEN.to_owned()) }))
        .route(
            "/slow.xml",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                "never"
            }),
        )
        .route(
            "/huge.xml",
            get(|| async {
                let items = "<item><title>x</title><link>https://h.example/x</link></item>".repeat(5000);
                xml(format!(
                    "<rss version=\"2.0\"><channel><title>Huge</title>{items}</channel></rss>"
                ))
            }),
        )
        .route(
            "/chunked.xml",
            get(|| async {
                // No Content-Length: the limit must hold while streaming.
                let chunk = "<item><title>x</title><link>https://c.example/x</link></item>".repeat(100);
                let chunks = std::iter::once("<rss version=\"2.0\"><channel><title>C</title>".to_owned())
                    .chain(std::iter::repeat_n(chunk, 50))
                    .map(Ok::<_, std::io::Error>);
                axum::body::Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route("/edge.xml", get(|| async { xml(EDGE.to_owned()) }))
        .route(
            "/plain.atom",
            get(|| async { ([(header::CONTENT_TYPE, "application/atom+xml")], PLAIN_ATOM) }),
        )
        .route(
            "/numeric.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/feed+json")], NUMERIC_JSON) }),
        )
        .route("/loop1", get(|| async { Redirect::temporary("/loop2") }))
        .route("/loop2", get(|| async { Redirect::temporary("/loop1") }))
        .route("/moved.json", get(|| async { Redirect::permanent("/feed.json") }))
        .layer(axum::middleware::from_fn_with_state(hits.clone(), count))
        .with_state(hits)
}

async fn count(
    State(hits): State<Arc<Hits>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    hits.requests.fetch_add(1, Ordering::SeqCst);
    let response = next.run(request).await;
    if response.status() == StatusCode::NOT_MODIFIED {
        hits.not_modified.fetch_add(1, Ordering::SeqCst);
    }
    response
}

fn xml(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// ETag validator; version 2 has more comments on the first story.
async fn drupal(State(hits): State<Arc<Hits>>, headers: HeaderMap) -> Response {
    let version = hits.drupal_version.load(Ordering::SeqCst);
    let etag = format!("\"drupal-v{version}\"");
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let body = if version == 1 {
        DRUPAL.to_owned()
    } else {
        DRUPAL.replace(
            "<slash:comments>12</slash:comments>",
            "<slash:comments>20</slash:comments>",
        )
    };
    let mut r = xml(body);
    r.headers_mut().insert(header::ETAG, etag.parse().unwrap());
    r
}

/// Last-Modified validator.
async fn atom(headers: HeaderMap) -> Response {
    if headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        == Some(ATOM_MODIFIED)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/atom+xml"),
            (header::LAST_MODIFIED, ATOM_MODIFIED),
        ],
        ATOM,
    )
        .into_response()
}

/// No validators at all: always 200.
async fn json_feed() -> Response {
    ([(header::CONTENT_TYPE, "application/feed+json")], JSON_FEED).into_response()
}

/// `herald ARGS…` with a short timeout, a small size limit and few
/// redirects, so the bad fixtures fail fast.
fn herald(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let limits = Settings::default()
        .set("HERALD_FEEDS__TIMEOUT", "1.5")
        .set("HERALD_FEEDS__MAX_BYTES", "100000")
        .set("HERALD_FEEDS__MAX_REDIRECTS", "3");
    env.herald_std(args).envs(limits.vars()).output().unwrap()
}

/// `herald feeds fetch [FEED] --format json`: the exit status and one
/// report per feed.
fn fetch(env: &TestEnv, feed: Option<&str>) -> (Option<i32>, Vec<Value>) {
    let mut args = vec!["feeds", "fetch", "--format", "json"];
    args.extend(feed);
    let out = herald(env, &args);
    let reports = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {} {}", stdout_of(&out), stderr_of(&out)));
    (out.status.code(), reports)
}

/// The report of the feed whose URL ends with `path`, as
/// (status, entries, new, updated, unchanged, skipped) or (status, error).
fn report(reports: &[Value], path: &str) -> String {
    let r = reports
        .iter()
        .find(|r| r["url"].as_str().unwrap().ends_with(path))
        .unwrap_or_else(|| panic!("no report for {path} in {reports:#?}"));
    match r["status"].as_str().unwrap() {
        "updated" => format!(
            "updated: {} entries: {} new, {} updated, {} unchanged, {} skipped",
            r["entries"], r["inserted"], r["updated"], r["unchanged"], r["skipped"]
        ),
        "failed" => format!("failed: {}", r["error"].as_str().unwrap()),
        other => other.to_owned(),
    }
}

fn stories(env: &TestEnv) -> Vec<Value> {
    env.json(&["stories", "list", "--format", "json"])
}

fn feeds(env: &TestEnv) -> Vec<Value> {
    env.json(&["feeds", "list", "--format", "json"])
}

fn story<'a>(stories: &'a [Value], url: &str) -> &'a Value {
    stories
        .iter()
        .find(|s| s["url"] == url)
        .unwrap_or_else(|| panic!("no story {url} in {stories:#?}"))
}

fn feed<'a>(feeds: &'a [Value], url: &str) -> &'a Value {
    feeds.iter().find(|f| f["url"] == url).unwrap()
}

both_backends! {
    fn feeds_are_fetched_mapped_and_refetched_for_free(env: &TestEnv) {
        let server = FeedServer::start();
        let ok = ["/drupal.xml", "/blog.atom", "/feed.json"];
        let bad = ["/broken.xml", "/slow.xml", "/huge.xml", "/loop1", "/nowhere.xml"];
        for path in ok.iter().chain(&bad) {
            let kind = if *path == "/blog.atom" { "blog" } else { "story" };
            let out = herald(env, &["feeds", "add", &server.url(path), "--kind", kind]);
            assert!(out.status.success(), "{}", stderr_of(&out));
        }
        assert_eq!(feeds(env).len(), 8);
        // Adding again updates instead of duplicating.
        let out = herald(env, &["feeds", "add", &server.url("/feed.json"), "--section", "Podcasts"]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        let all = feeds(env);
        assert_eq!(all.len(), 8);
        let json_feed = feed(&all, &server.url("/feed.json"));
        assert_eq!((json_feed["id"].as_i64(), json_feed["section"].as_str()), (Some(3), Some("Podcasts")));
        let out = herald(env, &["feeds", "add", "ftp://example.com/feed"]);
        assert_eq!(out.status.code(), Some(2));

        // One fetch of everything: the bad feeds fail, the others go on.
        let started = std::time::Instant::now();
        let (code, reports) = fetch(env, None);
        assert_eq!(code, Some(1), "{reports:#?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(15));
        assert_eq!(report(&reports, "/drupal.xml"), "updated: 5 entries: 3 new, 0 updated, 0 unchanged, 2 skipped");
        assert_eq!(report(&reports, "/blog.atom"), "updated: 2 entries: 2 new, 0 updated, 0 unchanged, 0 skipped");
        assert_eq!(report(&reports, "/feed.json"), "updated: 2 entries: 2 new, 0 updated, 0 unchanged, 0 skipped");
        assert_eq!(reports.iter().filter(|r| r["status"] == "failed").count(), 5, "{reports:#?}");

        let feeds = feeds(env);
        let error = |path: &str| {
            let f = feed(&feeds, &server.url(path));
            f["last_error"].as_str().map(str::to_owned).unwrap_or_else(|| format!("no error in {f}"))
        };
        assert!(error("/broken.xml").contains("not a valid RSS, Atom or JSON feed"), "{}", error("/broken.xml"));
        assert!(error("/slow.xml").contains("timed out"), "{}", error("/slow.xml"));
        assert!(error("/huge.xml").contains("feeds.max_bytes"), "{}", error("/huge.xml"));
        assert!(error("/loop1").contains("redirects"), "{}", error("/loop1"));
        assert!(error("/nowhere.xml").contains("404"), "{}", error("/nowhere.xml"));
        let drupal = feed(&feeds, &server.url("/drupal.xml"));
        assert_eq!(drupal["item_count"], 5);
        assert_eq!(drupal["title"], "Example News & Views");
        assert!(drupal["last_success_at"].is_string() && drupal["last_error"].is_null());
        assert!(feed(&feeds, &server.url("/slow.xml"))["last_success_at"].is_null());
        let table = stdout_of(&herald(env, &["feeds", "list"]));
        assert!(table.contains("LAST SUCCESS") && table.contains("timed out"), "{table}");

        // The mapping rules.
        let stories = self::stories(env);
        assert_eq!(stories.len(), 7, "{stories:#?}");
        let river = story(&stories, "https://news.example.com/politics/river-budget?id=101");
        assert_eq!(river["title"], "Council & mayor agree on the river budget");
        assert_eq!(river["summary"], "The council voted 31 to 9 for the budget. Work starts in spring.");
        assert_eq!(river["author"], "Marta Oliveira");
        assert_eq!(river["section"], "Politics");
        assert_eq!(river["comments"], 12);
        assert_eq!(river["kind"], "story");
        assert_eq!(river["published_at"], "2026-03-10T08:30:00Z");
        assert_eq!(river["image_url"], "https://cdn.example.com/img/river.jpg");
        let cafe = story(&stories, "https://news.example.com/culture/cafe-prize");
        assert_eq!(cafe["title"], "Café owner “Zoë” wins the harbour prize");
        assert_eq!(cafe["author"], "Élodie Marchand");
        let summary = cafe["summary"].as_str().unwrap();
        assert!(summary.ends_with('…') && summary.chars().count() <= 300, "{summary}");
        let head = summary.trim_end_matches('…');
        let original = "A summary that is deliberately long so that it has to be cut at a word boundary: the harbour";
        assert!(head.starts_with(original) && head.chars().count() > 250, "{summary}");
        assert!(DRUPAL.contains(&format!("{head} ")), "not cut at a word boundary: {summary}");
        let storm = story(&stories, "https://news.example.com/local/storm-bridge");
        assert_eq!(storm["title"], "Storm closes the bridge");
        assert_eq!(storm["summary"], "Traffic is diverted.");
        let tides = story(&stories, "https://blog.example.org/2026/03/tides");
        assert_eq!(tides["title"], "Why tides matter");
        assert_eq!(tides["kind"], "blog");
        assert_eq!(tides["comments"], 7);
        assert_eq!(tides["author"], "Aisha Haddad");
        assert_eq!(tides["section"], "Science");
        assert_eq!(tides["published_at"], "2026-03-09T18:00:00Z");
        let lighthouse = story(&stories, "https://blog.example.org/2026/03/lighthouse");
        assert_eq!(lighthouse["summary"], "First paragraph. Second paragraph.");
        assert_eq!(lighthouse["author"], "Tomás Novak");
        assert_eq!(lighthouse["published_at"], "2026-03-08T12:00:00Z");
        let ep1 = story(&stories, "https://notes.example.net/episodes/1?ref=home");
        assert_eq!(ep1["section"], "Podcasts");
        assert_eq!(ep1["author"], "Ingrid Okafor");
        assert_eq!(ep1["summary"], "We walk the harbour & listen.");
        assert_eq!(ep1["image_url"], "https://notes.example.net/img/ep1.png");
        let undated = story(&stories, "https://notes.example.net/episodes/2")["published_at"].clone();
        assert!(stories.iter().all(|s| !s["url"].as_str().unwrap().contains("untitled")));

        // Refetching unchanged feeds: validators give 304s, the feed
        // without validators is parsed again, and no story row changes.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let before_304 = server.hits.not_modified.load(Ordering::SeqCst);
        for path in ok {
            let (code, reports) = fetch(env, Some(&server.url(path)));
            assert_eq!(code, Some(0), "{reports:#?}");
            let expected = match path {
                "/feed.json" => "updated: 2 entries: 0 new, 0 updated, 2 unchanged, 0 skipped",
                _ => "not_modified",
            };
            assert_eq!(report(&reports, path), expected);
        }
        assert_eq!(server.hits.not_modified.load(Ordering::SeqCst) - before_304, 2);
        assert_eq!(self::stories(env), stories);
        assert_eq!(story(&stories, "https://notes.example.net/episodes/2")["published_at"], undated);

        // Popularity comes from the site; a changed feed updates what the
        // feed knows (comments) and keeps the votes.
        let import = env.write(
            "votes.json",
            &serde_json::json!([{
                "title": "Council & mayor agree on the river budget",
                "url": "https://news.example.com/politics/river-budget?id=101",
                "published_at": "2026-03-10T08:30:00Z",
                "votes": 500, "comments": 12, "author": "Marta Oliveira", "section": "Politics",
                "summary": "The council voted 31 to 9 for the budget. Work starts in spring.",
                "image_url": "https://cdn.example.com/img/river.jpg"
            }])
            .to_string(),
        );
        let out = herald(env, &["stories", "import", import.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        let river = |stories: &[Value]| {
            let r = story(stories, "https://news.example.com/politics/river-budget?id=101");
            (r["votes"].as_i64(), r["comments"].as_i64())
        };
        assert_eq!(river(&self::stories(env)), (Some(500), Some(12)));
        server.hits.drupal_version.store(2, Ordering::SeqCst);
        let (_, reports) = fetch(env, Some("1"));
        assert_eq!(report(&reports, "/drupal.xml"), "updated: 5 entries: 0 new, 1 updated, 2 unchanged, 2 skipped");
        let stories = self::stories(env);
        assert_eq!(river(&stories), (Some(500), Some(20)));

        // Removing a feed keeps its stories.
        let out = herald(env, &["feeds", "remove", &server.url("/drupal.xml")]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(self::feeds(env).iter().all(|f| f["id"] != 1));
        assert_eq!(self::feeds(env).len(), 7);
        assert_eq!(self::stories(env).len(), 7);
        let out = herald(env, &["feeds", "remove", "999"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr_of(&out).contains("no feed with id or URL \"999\""));
    }

    fn a_redirect_within_the_limit_is_followed(env: &TestEnv) {
        let server = FeedServer::start();
        herald(env, &["feeds", "add", &server.url("/moved.json")]);
        let (code, reports) = fetch(env, None);
        assert_eq!(code, Some(0), "{reports:#?}");
        assert_eq!(report(&reports, "/moved.json"), "updated: 2 entries: 2 new, 0 updated, 0 unchanged, 0 skipped");
    }

    fn awkward_feeds_are_read_sensibly(env: &TestEnv) {
        let server = FeedServer::start();
        for path in ["/edge.xml", "/plain.atom", "/numeric.json", "/chunked.xml"] {
            herald(env, &["feeds", "add", &server.url(path)]);
        }
        let before = chrono::Utc::now() - chrono::Duration::seconds(2);
        let (_, reports) = fetch(env, None);
        assert_eq!(report(&reports, "/edge.xml"), "updated: 2 entries: 2 new, 0 updated, 0 unchanged, 0 skipped");
        assert_eq!(report(&reports, "/plain.atom"), "updated: 1 entries: 1 new, 0 updated, 0 unchanged, 0 skipped");
        assert_eq!(report(&reports, "/numeric.json"), "updated: 1 entries: 1 new, 0 updated, 0 unchanged, 0 skipped");
        assert!(report(&reports, "/chunked.xml").starts_with("failed: body is over feeds.max_bytes"), "{reports:#?}");

        let stories = self::stories(env);
        // The page, not the comments link that came first.
        let future = story(&stories, "https://edge.example.com/future");
        let zero = story(&stories, "https://edge.example.com/zero");
        // Neither the future nor year 1 is a date: both keep the time they
        // were first seen.
        for s in [future, zero] {
            let at: chrono::DateTime<chrono::Utc> = s["published_at"].as_str().unwrap().parse().unwrap();
            assert!(at >= before && at <= chrono::Utc::now(), "{s}");
        }
        assert_eq!(story(&stories, "https://rust.example.org/vec-box")["title"], "Vec<T> vs Box<T>");
        story(&stories, "https://n.example.net/42");

        // No validators on these: parsed again, and nothing changes.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (_, reports) = fetch(env, Some(&server.url("/edge.xml")));
        assert_eq!(report(&reports, "/edge.xml"), "updated: 2 entries: 0 new, 0 updated, 2 unchanged, 0 skipped");
        assert_eq!(self::stories(env), stories);

        // Changing a feed's section forgets its validators, so the next
        // fetch applies it even to an unchanged feed.
        let drupal = server.url("/drupal.xml");
        herald(env, &["feeds", "add", &drupal, "--kind", "blog"]);
        fetch(env, Some(&drupal));
        assert_eq!(report(&fetch(env, Some(&drupal)).1, "/drupal.xml"), "not_modified");
        let out = herald(env, &["feeds", "add", &drupal, "--section", "Wire"]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        let wire = feed(&feeds(env), &drupal).clone();
        assert_eq!((wire["kind"].as_str(), wire["section"].as_str()), (Some("blog"), Some("Wire")));
        let (_, reports) = fetch(env, Some(&drupal));
        assert_eq!(report(&reports, "/drupal.xml"), "updated: 5 entries: 0 new, 3 updated, 0 unchanged, 2 skipped");
        let stories = self::stories(env);
        let river = story(&stories, "https://news.example.com/politics/river-budget?id=101");
        assert_eq!((river["section"].as_str(), river["kind"].as_str()), (Some("Wire"), Some("blog")));
    }
}
