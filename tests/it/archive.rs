//! The public archive through `app(state).oneshot(…)`: off by default; the
//! list, an edition and the Atom feed (parsed back with feed-rs) after one
//! edition went out; no name, address or token on any of them; ETag,
//! Last-Modified and 304 answers; unknown and malformed editions; the
//! generic digests kept in memory.

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::pages::{EDITION, call, get, router_state, seed, send};
use crate::support::{Settings, TestEnv};

fn enabled() -> Settings {
    Settings::default()
        .set("HERALD_ARCHIVE__ENABLED", "true")
        .set("HERALD_SITE__PUBLIC_URL", "https://news.example.com")
}

#[tokio::test]
async fn the_archive_is_off_unless_enabled() {
    let env = TestEnv::sqlite();
    seed(&env);
    send(&env).await;
    let (_, state) = router_state(&env, &Settings::default()).await;
    for path in ["/archive", "/archive/feed.xml", &format!("/archive/{EDITION}")] {
        let (status, _, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains("Council approves"), "{path}: {body}");
    }
}

both_backends! {
    async fn the_archive_lists_shows_and_feeds_editions_without_personal_data(env: &TestEnv) {
        seed(env);
        let (store, state) = router_state(env, &enabled()).await;
        let (status, _, body) = get(&state, "/archive").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("No digest has gone out yet"), "{body}");

        send(env).await;
        let (status, headers, list) = get(&state, "/archive").await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains(r#"<a href="https://news.example.com/archive/daily-2026-03-10"><time datetime="2026-03-10">10 March 2026</time></a>"#), "{list}");
        assert!(list.contains(r#"<li dir="auto">Council approves night buses</li>"#), "lead headlines: {list}");
        assert!(list.contains(r#"type="application/atom+xml""#));
        assert!(headers["cache-control"].to_str().unwrap().starts_with("public"));
        assert!(headers.get("x-robots-tag").is_none(), "public pages may be indexed");

        let (status, _, page) = get(&state, &format!("/archive/{EDITION}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(r#"<h1><time datetime="2026-03-10">Daily digest, 10 March 2026</time></h1>"#), "{page}");
        // The generic digest: every section, though Bruno only reads transport.
        assert!(page.contains("Council approves night buses") && page.contains("Notes from the night shift"), "{page}");
        assert!(page.contains("Harbour &lt;ferry&gt; &amp; &quot;tram&quot; plan"), "escaped: {page}");
        assert!(page.contains("<h2>From the blogs</h2>"));

        let (status, headers, feed) = get(&state, "/archive/feed.xml").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/atom+xml; charset=utf-8");
        let parsed = feed_rs::parser::parse(feed.as_bytes()).expect("a feed feed-rs reads");
        assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
        assert_eq!(parsed.entries.len(), 1, "{feed}");
        let entry = &parsed.entries[0];
        assert_eq!(entry.title.as_ref().unwrap().content, "Daily digest, 10 March 2026");
        assert_eq!(entry.links[0].href, "https://news.example.com/archive/daily-2026-03-10");
        assert!(entry.updated.is_some(), "RFC 4287: every entry has atom:updated");
        let content = entry.content.as_ref().and_then(|c| c.body.clone()).unwrap();
        assert!(content.contains(r#"<a href="https://news.example.com/buses">Council approves night buses</a>"#), "{content}");
        assert!(content.contains("Harbour &lt;ferry&gt; &amp; \"tram\" plan"), "escaped once inside the HTML: {content}");
        assert_eq!(parsed.id, "https://news.example.com/archive");
        assert!(parsed.updated.is_some() && !parsed.authors.is_empty(), "RFC 4287: feed updated and author");

        // No reader's name, address or token anywhere.
        let mut secrets = Vec::new();
        for email in ["ana@example.com", "bruno@example.com"] {
            let s = store
                .find_subscriber(&herald::domain::SubscriberEmail::parse(email).unwrap())
                .await
                .unwrap()
                .unwrap();
            secrets.extend([s.email.as_str().to_owned(), s.name.clone(), s.token.to_string()]);
        }
        secrets.extend(["Ana".to_owned(), "Bruno".to_owned(), "@example.com".to_owned()]);
        for (what, body) in [("list", &list), ("edition", &page), ("feed", &feed)] {
            for secret in &secrets {
                assert!(!body.contains(secret.as_str()), "the {what} shows {secret:?}");
            }
        }
    }
}

#[tokio::test]
async fn archive_answers_are_cacheable() {
    let env = TestEnv::sqlite();
    seed(&env);
    send(&env).await;
    let (_, state) = router_state(&env, &enabled()).await;
    for path in ["/archive", "/archive/feed.xml", &format!("/archive/{EDITION}")] {
        let (status, headers, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let modified = headers["last-modified"].to_str().unwrap().to_owned();
        assert!(
            etag.starts_with('"') && modified.ends_with(" GMT"),
            "{etag} {modified}"
        );

        let again = |name: &'static str, value: String| {
            Request::get(path)
                .header(name, value)
                .body(Body::empty())
                .unwrap()
        };
        let (status, headers, body304) = call(&state, again("if-none-match", etag.clone())).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(body304.is_empty());
        assert_eq!(headers["etag"], etag.as_str());
        let (status, _, _) = call(&state, again("if-none-match", format!("W/\"other\", {etag}"))).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "one of a list, {path}");
        let (status, _, again_body) = call(&state, again("if-none-match", "\"stale\"".into())).await;
        assert_eq!((status, again_body.len()), (StatusCode::OK, body.len()), "{path}");
        let (status, _, _) = call(&state, again("if-modified-since", modified.clone())).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        let (status, _, _) = call(
            &state,
            again("if-modified-since", "Mon, 01 Jan 2024 00:00:00 GMT".into()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn unknown_and_malformed_editions_are_not_found() {
    let env = TestEnv::sqlite();
    seed(&env);
    send(&env).await;
    let (_, state) = router_state(&env, &enabled()).await;
    for path in [
        "/archive/daily-2026-03-09",
        "/archive/weekly-2026-03-10",
        "/archive/latest",
        "/archive/daily-2026-13-01",
    ] {
        let (status, _, body) = get(&state, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body.contains("There is no such page here"), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_generic_digest_is_selected_once_and_served_from_memory_for_a_while() {
    let env = TestEnv::sqlite();
    seed(&env);
    send(&env).await;
    let (_, state) = router_state(&env, &enabled()).await;
    let path = format!("/archive/{EDITION}");
    let (_, _, before) = get(&state, &path).await;
    assert!(before.contains("Council approves night buses"), "{before}");

    let retitled = env.write(
        "retitled.jsonl",
        "{\"title\": \"Council approves night trams\", \"url\": \"https://news.example.com/buses\", \"section\": \"city\", \"published_at\": \"2026-03-10T06:00:00Z\", \"votes\": 30}\n",
    );
    env.herald(&["stories", "import", retitled.to_str().unwrap()])
        .assert()
        .success();
    // This state selected the edition a moment ago: the list and the page
    // come from its memory, unchanged (a cache may keep them for minutes
    // anyway).
    let (_, _, page) = get(&state, &path).await;
    assert_eq!(page, before);
    let (_, _, list) = get(&state, "/archive").await;
    assert!(list.contains("Council approves night buses"), "{list}");
    // A state that has not selected it yet reads the store.
    let (_, fresh) = router_state(&env, &enabled()).await;
    let (_, _, page) = get(&fresh, &path).await;
    assert!(page.contains("Council approves night trams"), "{page}");
}
