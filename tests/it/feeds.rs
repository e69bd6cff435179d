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
<lastBuildDate>Tue, 10 Mar 2026 09:00:00 +0000</lastBuildDate>
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
        // Its second episode has no date, nor has a JSON Feed: held back.
        assert_eq!(report(&reports, "/feed.json"), "updated: 2 entries: 1 new, 0 updated, 0 unchanged, 0 skipped");
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
        assert_eq!(stories.len(), 6, "{stories:#?}");
        let river = story(&stories, "https://news.example.com/politics/river-budget?id=101");
        assert_eq!(river["title"], "Council & mayor agree on the river budget");
        assert_eq!(river["summary"], "The council voted 31 to 9 for the budget. Work starts in spring.");
        assert_eq!(river["author"], "Marta Oliveira");
        assert_eq!(river["section"], "Politics");
        assert_eq!(river["comments"], 12);
        assert_eq!(river["kind"], "story");
        assert_eq!(river["published_at"], "2026-03-10T08:30:00Z");
        assert_eq!(river["image_url"], "https://cdn.example.com/img/river.jpg");
        assert_eq!(river["lang"], "en", "the channel's <language>");
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
        assert!(tides["lang"].is_null(), "a feed that names no language: {tides}");
        let lighthouse = story(&stories, "https://blog.example.org/2026/03/lighthouse");
        assert_eq!(lighthouse["summary"], "First paragraph. Second paragraph.");
        assert_eq!(lighthouse["author"], "Tomás Novak");
        assert_eq!(lighthouse["published_at"], "2026-03-08T12:00:00Z");
        let ep1 = story(&stories, "https://notes.example.net/episodes/1?ref=home");
        assert_eq!(ep1["section"], "Podcasts");
        assert_eq!(ep1["author"], "Ingrid Okafor");
        assert_eq!(ep1["summary"], "We walk the harbour & listen.");
        assert_eq!(ep1["image_url"], "https://notes.example.net/img/ep1.png");
        assert!(stories.iter().all(|s| s["url"] != "https://notes.example.net/episodes/2"));
        assert!(stories.iter().all(|s| !s["url"].as_str().unwrap().contains("untitled")));

        // Refetching unchanged feeds: validators give 304s, the feed
        // without validators is parsed again, and no story row changes.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let before_304 = server.hits.not_modified.load(Ordering::SeqCst);
        for path in ok {
            let (code, reports) = fetch(env, Some(&server.url(path)));
            assert_eq!(code, Some(0), "{reports:#?}");
            let expected = match path {
                "/feed.json" => "updated: 2 entries: 0 new, 0 updated, 1 unchanged, 0 skipped",
                _ => "not_modified",
            };
            assert_eq!(report(&reports, path), expected);
        }
        assert_eq!(server.hits.not_modified.load(Ordering::SeqCst) - before_304, 2);
        assert_eq!(self::stories(env), stories);

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
        assert_eq!(self::stories(env).len(), 6);
        let out = herald(env, &["feeds", "remove", "999"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr_of(&out).contains("no feed with id or URL \"999\""));
    }

    fn a_redirect_within_the_limit_is_followed(env: &TestEnv) {
        let server = FeedServer::start();
        herald(env, &["feeds", "add", &server.url("/moved.json")]);
        let (code, reports) = fetch(env, None);
        assert_eq!(code, Some(0), "{reports:#?}");
        assert_eq!(report(&reports, "/moved.json"), "updated: 2 entries: 1 new, 0 updated, 0 unchanged, 0 skipped");
    }

    fn awkward_feeds_are_read_sensibly(env: &TestEnv) {
        let server = FeedServer::start();
        for path in ["/edge.xml", "/plain.atom", "/numeric.json", "/chunked.xml"] {
            herald(env, &["feeds", "add", &server.url(path)]);
        }
        let (_, reports) = fetch(env, None);
        assert_eq!(report(&reports, "/edge.xml"), "updated: 2 entries: 2 new, 0 updated, 0 unchanged, 0 skipped");
        assert_eq!(report(&reports, "/plain.atom"), "updated: 1 entries: 1 new, 0 updated, 0 unchanged, 0 skipped");
        assert_eq!(report(&reports, "/numeric.json"), "updated: 1 entries: 1 new, 0 updated, 0 unchanged, 0 skipped");
        assert!(report(&reports, "/chunked.xml").starts_with("failed: body is over feeds.max_bytes"), "{reports:#?}");

        let stories = self::stories(env);
        // The page, not the comments link that came first.
        let future = story(&stories, "https://edge.example.com/future");
        let zero = story(&stories, "https://edge.example.com/zero");
        // Neither the future nor year 1 is a date: in a first fetch both
        // take the channel's lastBuildDate.
        for s in [future, zero] {
            assert_eq!(s["published_at"], "2026-03-10T09:00:00Z", "{s}");
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

/// The fixtures of `tests/fixtures/feeds/` (one per defect once measured
/// against Python's feedparser; see the README there).
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/feeds");

/// A fixture's bytes.
fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The Content-Type a fixture is served with: no charset, so that the
/// encoding comes from the bytes.
fn content_type(name: &str) -> &'static str {
    if name.ends_with(".json") {
        "application/feed+json"
    } else {
        "application/xml"
    }
}

/// Serves `/fixtures/NAME` from the fixture folder, and `/undated.xml` as
/// `undated.xml`, or `undated-later.xml` once `later` is set.
fn fixture_server(later: Arc<AtomicUsize>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        crate::support::block_on(async move {
            let app = Router::new()
                .route(
                    "/fixtures/{name}",
                    get(
                        |axum::extract::Path(name): axum::extract::Path<String>| async move {
                            ([(header::CONTENT_TYPE, content_type(&name))], fixture(&name))
                        },
                    ),
                )
                .route(
                    "/undated.xml",
                    get(move || {
                        let later = later.load(Ordering::SeqCst) > 0;
                        async move {
                            let name = if later { "undated-later.xml" } else { "undated.xml" };
                            ([(header::CONTENT_TYPE, "application/rss+xml")], fixture(name))
                        }
                    }),
                );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// One fixture: what `feeds fetch` reports, the warning `feeds list`
/// shows, and the stories it yields as (url, title, published_at).
struct Case {
    file: &'static str,
    report: &'static str,
    warning: Option<&'static str>,
    stories: &'static [(&'static str, &'static str, &'static str)],
}

const CASES: &[Case] = &[
    // RSS 0.90 has no dates, nor does this channel: a first fetch holds
    // every entry back rather than publish years of archive "today".
    Case {
        file: "rss090.rdf",
        report: "3 entries: 0 new, 0 updated, 0 unchanged, 0 skipped, 3 held",
        warning: None,
        stories: &[],
    },
    Case {
        file: "json-version-1-url.json",
        report: "3 entries: 2 new, 0 updated, 0 unchanged, 1 skipped, 0 held",
        warning: None,
        stories: &[
            (
                "https://tides.example.net/posts/spring-tides",
                "Spring tides explained",
                "2024-02-10T07:30:00Z",
            ),
            (
                "https://tides.example.net/posts/neap-tides",
                "Neap tides",
                "2024-02-17T07:30:00Z",
            ),
        ],
    },
    Case {
        file: "json-version-1.0.json",
        report: "2 entries: 2 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: None,
        stories: &[
            (
                "https://market.example.org/stalls/noodles",
                "2024",
                "2024-03-01T18:00:00Z",
            ),
            (
                "https://market.example.org/stalls/lanterns",
                "Lanterns",
                "2024-03-02T19:15:00Z",
            ),
        ],
    },
    Case {
        file: "latin1-no-declaration.xml",
        report: "2 entries: 2 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: None,
        stories: &[
            (
                "https://cafe.example.fr/menu/creme-brulee",
                "Crème brûlée à la carte",
                "2024-03-05T09:00:00Z",
            ),
            (
                "https://cafe.example.fr/agenda/fete",
                "Fête de la musique : programme",
                "2024-03-06T17:30:00Z",
            ),
        ],
    },
    Case {
        file: "koi8r-no-declaration.xml",
        report: "2 entries: 2 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: None,
        stories: &[
            (
                "https://port.example.ru/news/parom",
                "Паром ходит по новому расписанию",
                "2024-03-11T06:00:00Z",
            ),
            (
                "https://port.example.ru/news/rynok",
                "Рыбный рынок переезжает в новое здание",
                "2024-03-12T09:30:00Z",
            ),
        ],
    },
    Case {
        file: "utf16-bom.xml",
        report: "1 entries: 1 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: None,
        stories: &[(
            "https://limani.example.gr/nea/ploio",
            "Το πλοίο φτάνει νωρίς",
            "2024-03-15T06:15:00Z",
        )],
    },
    Case {
        file: "titles.xml",
        report: "5 entries: 5 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: None,
        stories: &[
            (
                "https://notes.example.dev/vec-versus-box",
                "Vec<T> versus Box<dyn Error>",
                "2024-01-08T09:00:00Z",
            ),
            (
                "https://notes.example.dev/script-tag",
                "The <script> tag considered harmful",
                "2024-01-09T09:00:00Z",
            ),
            (
                "https://notes.example.dev/bold-moves",
                "Bold moves in CSS",
                "2024-01-10T09:00:00Z",
            ),
            (
                "https://notes.example.dev/at-and-t",
                "AT&T drops the price; Tom & Jerry return",
                "2024-01-11T09:00:00Z",
            ),
            (
                "https://notes.example.dev/comparisons",
                "Why a < b && c > d still compiles",
                "2024-01-12T09:00:00Z",
            ),
        ],
    },
    // The undated entry of a first fetch takes the channel's lastBuildDate.
    Case {
        file: "dates.xml",
        report: "4 entries: 4 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: None,
        stories: &[
            (
                "https://oldharbour.example.com/2023/12/clock",
                "Twelve-hour clock, weekday first",
                "2023-12-16T14:02:33Z",
            ),
            (
                "https://oldharbour.example.com/2018/01/iso",
                "ISO without an offset",
                "2018-01-06T08:00:00Z",
            ),
            (
                "https://oldharbour.example.com/2020/01/slashes",
                "Slashes and single digits",
                "2020-01-10T14:33:00Z",
            ),
            (
                "https://oldharbour.example.com/undated",
                "No date at all",
                "2024-01-14T10:00:00Z",
            ),
        ],
    },
    Case {
        file: "unknown-rdf.xml",
        report: "0 entries: 0 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: Some("0 entries read from 2 item or entry elements: this kind of feed is not understood"),
        stories: &[],
    },
    Case {
        file: "empty-channel.xml",
        report: "0 entries: 0 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: Some("0 entries: the feed has no items (read as UTF-8 from the XML declaration)"),
        stories: &[],
    },
    // The languages of each format: see LANGUAGES.
    Case {
        file: "language-rss.xml",
        report: "2 entries: 2 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: None,
        stories: &[
            (
                "https://mina.example.jo/news/raseef",
                "افتتاح رصيف جديد في ميناء العقبة",
                "2024-03-05T05:00:00Z",
            ),
            (
                "https://mina.example.jo/en/quay",
                "Aqaba port opens a new quay",
                "2024-03-05T06:00:00Z",
            ),
        ],
    },
    Case {
        file: "language-atom.xml",
        report: "3 entries: 3 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: None,
        stories: &[
            (
                "https://quai.example.fr/maree",
                "Marée haute ce soir",
                "2024-03-07T08:00:00Z",
            ),
            (
                "https://quai.example.fr/ar/madd",
                "المد العالي الليلة",
                "2024-03-07T08:30:00Z",
            ),
            (
                "https://quai.example.fr/en/high-tide",
                "High tide tonight",
                "2024-03-07T09:00:00Z",
            ),
        ],
    },
    Case {
        file: "language.json",
        report: "3 entries: 3 new, 0 updated, 0 unchanged, 0 skipped, 0 held",
        warning: None,
        stories: &[
            (
                "https://mareas.example.es/marzo",
                "Las mareas de marzo",
                "2024-03-08T07:00:00Z",
            ),
            (
                "https://mareas.example.es/ar/adhar",
                "مد آذار",
                "2024-03-08T08:00:00Z",
            ),
            (
                "https://mareas.example.es/odd",
                "Un idioma raro",
                "2024-03-08T09:00:00Z",
            ),
        ],
    },
];

/// The language each story of the language fixtures is stored with: the
/// entry's own (RSS `dc:language`, Atom `<entry xml:lang>`, a JSON Feed
/// item's `language`), else the feed's (RSS `<language>`, the Atom root's
/// `xml:lang`, JSON Feed's `language`), canonicalized; a value that is no
/// language tag is no language. Stories of feeds that name none have none.
const LANGUAGES: &[(&str, Option<&str>)] = &[
    ("https://mina.example.jo/news/raseef", Some("ar-JO")),
    ("https://mina.example.jo/en/quay", Some("en")),
    ("https://quai.example.fr/maree", Some("fr")),
    ("https://quai.example.fr/ar/madd", Some("ar")),
    ("https://quai.example.fr/en/high-tide", Some("en-GB")),
    ("https://mareas.example.es/marzo", Some("es")),
    ("https://mareas.example.es/ar/adhar", Some("ar")),
    ("https://mareas.example.es/odd", Some("es")),
    ("https://notes.example.dev/vec-versus-box", None),
    ("https://tides.example.net/posts/spring-tides", None),
];

/// A report as "N entries: …, N held", with "; warning: …" when it has one.
fn report_line(r: &Value) -> String {
    assert_eq!(r["status"], "updated", "{r:#}");
    let mut line = format!(
        "{} entries: {} new, {} updated, {} unchanged, {} skipped, {} held",
        r["entries"], r["inserted"], r["updated"], r["unchanged"], r["skipped"], r["held"]
    );
    if let Some(w) = r["warning"].as_str() {
        line.push_str(&format!("; warning: {w}"));
    }
    line
}

both_backends! {
    fn every_fixture_reads_as_it_should(env: &TestEnv) {
        let later = Arc::new(AtomicUsize::new(0));
        let base = fixture_server(later.clone());
        for case in CASES {
            let out = herald(env, &["feeds", "add", &format!("{base}/fixtures/{}", case.file)]);
            assert!(out.status.success(), "{}", stderr_of(&out));
        }
        let (code, reports) = fetch(env, None);
        assert_eq!(code, Some(0), "{reports:#?}");
        let stories = stories(env);
        let feeds = feeds(env);
        let mut expected_stories = 0;
        for (case, r) in CASES.iter().zip(&reports) {
            let expected = match case.warning {
                Some(w) => format!("{}; warning: {w}", case.report),
                None => case.report.to_owned(),
            };
            assert_eq!(report_line(r), expected, "{}", case.file);
            let f = feed(&feeds, r["url"].as_str().unwrap());
            assert_eq!(f["last_warning"].as_str(), case.warning, "{}", case.file);
            for (url, title, published_at) in case.stories {
                let s = story(&stories, url);
                assert_eq!((s["title"].as_str(), s["published_at"].as_str()), (Some(*title), Some(*published_at)), "{}", case.file);
            }
            expected_stories += case.stories.len();
        }
        assert_eq!(stories.len(), expected_stories, "{stories:#?}");
        for (url, lang) in LANGUAGES {
            assert_eq!(story(&stories, url)["lang"].as_str(), *lang, "language of {url}");
        }
        // Lenient JSON Feed fields: a string of tags is one tag.
        assert_eq!(story(&stories, "https://tides.example.net/posts/spring-tides")["section"], "science");
        assert_eq!(story(&stories, "https://market.example.org/stalls/noodles")["author"], "Lan Pham");
        let table = stdout_of(&herald(env, &["feeds", "list"]));
        assert!(table.contains("WARNING") && table.contains("0 entries read from 2 item"), "{table}");

        // A refetch is not a first fetch: nothing changes, and the RSS 0.90
        // entries held back stay held.
        let (_, reports) = fetch(env, None);
        assert_eq!(report_line(&reports[0]), "3 entries: 0 new, 0 updated, 0 unchanged, 0 skipped, 3 held");
        assert_eq!(report_line(&reports[7]), "4 entries: 0 new, 0 updated, 4 unchanged, 0 skipped, 0 held");
        assert_eq!(self::stories(env), stories);
    }

    fn undated_entries_never_arrive_as_todays_news(env: &TestEnv) {
        let later = Arc::new(AtomicUsize::new(0));
        let base = fixture_server(later.clone());
        herald(env, &["feeds", "add", &format!("{base}/undated.xml")]);
        // First fetch: no date on the entries or the channel, so both are
        // held back (left out of the store and so of every digest).
        let (_, reports) = fetch(env, None);
        assert_eq!(report_line(&reports[0]), "2 entries: 0 new, 0 updated, 0 unchanged, 0 skipped, 2 held");
        assert!(stories(env).is_empty());
        let out = herald(env, &["feeds", "fetch"]);
        assert!(stdout_of(&out).contains("2 undated held back"), "{}", stdout_of(&out));
        // Later, a new undated entry is dated when first seen; the two
        // archive entries stay out.
        later.store(1, Ordering::SeqCst);
        let before = chrono::Utc::now() - chrono::Duration::seconds(2);
        let (_, reports) = fetch(env, None);
        assert_eq!(report_line(&reports[0]), "3 entries: 1 new, 0 updated, 0 unchanged, 0 skipped, 2 held");
        let stories = stories(env);
        assert_eq!(stories.len(), 1, "{stories:#?}");
        let lens = story(&stories, "https://keepers.example.org/news/new-lens");
        let at: chrono::DateTime<chrono::Utc> = lens["published_at"].as_str().unwrap().parse().unwrap();
        assert!(at >= before && at <= chrono::Utc::now(), "{lens}");
    }
}

/// Reads every fixture with Python's feedparser: per file, its entries as
/// {title, link, date, lang} (HTML titles as text, dates in UTC, RFC 3339).
const FEEDPARSER: &str = r#"
import calendar, datetime, html, json, re, sys, feedparser
out = {}
for path, ctype in zip(sys.argv[1::2], sys.argv[2::2]):
    d = feedparser.parse(open(path, "rb").read(), response_headers={"content-type": ctype})
    entries = []
    for e in d.entries:
        title = e.get("title", "")
        if e.get("title_detail", {}).get("type") == "text/html":
            title = html.unescape(re.sub(r"<[^>]*>", "", title))
        when = e.get("published_parsed") or e.get("updated_parsed")
        if when:
            when = datetime.datetime.fromtimestamp(calendar.timegm(when), datetime.timezone.utc)
            when = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        # The entry's language: its own (dc:language), else the xml:lang in
        # force at its title (the entry's or the feed's), else the feed's.
        lang = e.get("language") or e.get("title_detail", {}).get("language") or d.feed.get("language")
        entries.append({"title": " ".join(title.split()), "link": e.get("link"), "date": when, "lang": lang})
    out[path.rsplit("/", 1)[-1]] = entries
print(json.dumps(out))
"#;

/// Where feedparser and Herald part, and why: (file, link or "*", field).
const FEEDPARSER_DIFFERS: &[(&str, &str, &str, &str)] = &[
    (
        "dates.xml",
        "https://oldharbour.example.com/2023/12/clock",
        "date",
        "feedparser drops the PM of `02:02:33 PM`",
    ),
    (
        "dates.xml",
        "https://oldharbour.example.com/2020/01/slashes",
        "date",
        "feedparser reads `2020/1/10` as 2020-12-01",
    ),
    (
        "unknown-rdf.xml",
        "*",
        "entries",
        "feedparser reads items in any namespace; Herald reports this feed as not understood",
    ),
];

/// An independent parser, Python's feedparser, reads the same titles,
/// links, dates and languages from every fixture, but where
/// [`FEEDPARSER_DIFFERS`] says why not (and JSON Feed, which feedparser 6.0
/// does not read). Languages are compared as tags, whatever their case.
#[test]
#[cfg_attr(
    not(herald_feedparser_tests),
    ignore = "needs python3 with feedparser and chardet (pip install feedparser chardet, then touch build.rs)"
)]
fn fixtures_read_as_feedparser_reads_them() {
    use herald::feeds::entries::{Source, item_extras, map_feed, parse};

    let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    names.sort();
    let mut args = vec!["-c".to_owned(), FEEDPARSER.to_owned()];
    for name in &names {
        args.push(format!("{FIXTURES}/{name}"));
        args.push(content_type(name).to_owned());
    }
    let out = std::process::Command::new("python3")
        .args(&args)
        .output()
        .unwrap();
    assert!(out.status.success(), "feedparser: {}", stderr_of(&out));
    let oracle: Value = serde_json::from_slice(&out.stdout).unwrap();
    let differs = |file: &str, link: &str, field: &str| {
        FEEDPARSER_DIFFERS
            .iter()
            .any(|(f, l, what, _)| *f == file && (*l == "*" || *l == link) && *what == field)
    };

    let mut compared = 0;
    let mut languages = 0;
    for name in &names {
        let theirs = oracle[name.as_str()].as_array().unwrap();
        if name.ends_with(".json") && theirs.is_empty() {
            eprintln!("{name}: feedparser reads no JSON Feed; not compared");
            continue;
        }
        if differs(name, "*", "entries") {
            continue;
        }
        let base = url::Url::parse(&format!("http://127.0.0.1/fixtures/{name}")).unwrap();
        let document =
            parse(&fixture(name), Some(content_type(name)), &base).unwrap_or_else(|e| panic!("{name}: {e}"));
        let held = std::collections::HashSet::new();
        let source = Source {
            url: &base,
            kind: herald::domain::StoryKind::Story,
            section: "",
            summary_chars: 300,
            fetched_at: chrono::Utc::now(),
            first_fetch: false,
            held: &held,
        };
        let ours = map_feed(&document.feed, &item_extras(&document.body), &source);
        assert!(ours.skipped.is_empty(), "{name}: {:?}", ours.skipped);
        assert_eq!(ours.items.len(), theirs.len(), "{name}: entries");
        for (item, them) in ours.items.iter().zip(theirs) {
            let link = item.story.url.as_str();
            assert_eq!(Some(link), them["link"].as_str(), "{name}: link");
            assert_eq!(
                Some(item.story.title.as_str()),
                them["title"].as_str(),
                "{name}: title of {link}"
            );
            if !differs(name, link, "date") {
                let date = item
                    .dated
                    .then(|| item.story.published_at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
                assert_eq!(date.as_deref(), them["date"].as_str(), "{name}: date of {link}");
            }
            let ours = item.story.lang.as_ref().map(|l| l.tag().to_ascii_lowercase());
            let theirs = them["lang"]
                .as_str()
                .map(|l| l.replace('_', "-").to_ascii_lowercase());
            assert_eq!(ours, theirs, "{name}: language of {link}");
            languages += usize::from(ours.is_some());
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} entries compared");
    assert!(languages >= 5, "only {languages} languages compared");
}
