//! Stories in the reader's language: the `lang` field of story imports (a
//! bad tag is one rejected row naming its line and field), `stories list`
//! showing it, and `digest.story_languages = "theirs_first"`: from one
//! edition, an Arabic subscriber's digest leads with the Arabic stories and
//! an English one's with the English stories, each filled up with the other
//! languages in rank order, while the default keeps rank order for all.
//! Checked on the ledger (the story ids recorded, best first), in the
//! messages received over SMTP and in `preview --explain`. On SQLite and
//! PostgreSQL.

use std::time::Duration;

use herald::store::Delivered;
use herald::testing::daily;
use mail_parser::MessageParser;
use serde_json::Value;

use crate::support::smtp::SmtpSink;
use crate::support::{Settings, TestEnv, stderr_of, stdout_of};

const NOW: &str = "2026-03-10T07:00:00Z";
const DATE: &str = "2026-03-10";

/// Six stories of one morning, ranked by their votes: English (one
/// without a lang, which counts as the site's English), then Arabic, then
/// French.
const STORIES: &str = r#"[
  {"title": "Harbour reopens after the storm", "url": "https://news.example.com/en/harbour",
   "published_at": "2026-03-10T05:00:00Z", "votes": 900, "lang": "en"},
  {"title": "Council passes the river budget", "url": "https://news.example.com/en/budget",
   "published_at": "2026-03-10T05:00:00Z", "votes": 800},
  {"title": "Night market opens on the quay", "url": "https://news.example.com/en/market",
   "published_at": "2026-03-10T05:00:00Z", "votes": 700, "lang": "en-GB"},
  {"title": "افتتاح رصيف جديد في ميناء العقبة", "url": "https://news.example.com/ar/raseef",
   "published_at": "2026-03-10T05:00:00Z", "votes": 300, "lang": "ar-JO"},
  {"title": "مهرجان جرش يعود هذا الصيف", "url": "https://news.example.com/ar/jerash",
   "published_at": "2026-03-10T05:00:00Z", "votes": 200, "lang": "ar"},
  {"title": "Le marché de nuit rouvre", "url": "https://news.example.com/fr/marche",
   "published_at": "2026-03-10T05:00:00Z", "votes": 100, "lang": "fr"}
]"#;

/// The stories' paths in rank order.
const RANKED: [&str; 6] = [
    "en/harbour",
    "en/budget",
    "en/market",
    "ar/raseef",
    "ar/jerash",
    "fr/marche",
];

fn setup(env: &TestEnv) {
    let file = env.write("stories.json", STORIES);
    let out = env
        .herald(&["stories", "import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    for (email, locale) in [
        ("rana@example.com", Some("ar")),
        ("ann@example.com", Some("en-GB")),
        ("sam@example.com", None),
    ] {
        let mut args = vec!["subscribers", "add", email];
        if let Some(tag) = locale {
            args.extend(["--locale", tag]);
        }
        let out = env.herald(&args).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
}

fn theirs_first(sink: &SmtpSink) -> Settings {
    Settings::smtp(sink).set("HERALD_DIGEST__STORY_LANGUAGES", "theirs_first")
}

/// The paths of the stories `email` was sent in the edition, best first.
async fn received(env: &TestEnv, email: &str) -> Vec<String> {
    let store = env.store().await;
    let address = herald::domain::SubscriberEmail::parse(email).unwrap();
    let s = store
        .find_subscriber(&address)
        .await
        .unwrap()
        .expect("a subscriber");
    let Delivered::Sent { story_ids, .. } = store.delivered(s.id, &daily(DATE)).await.unwrap() else {
        panic!("{email} was sent nothing");
    };
    let stories = store.stories_by_id(&story_ids).await.unwrap();
    store.close().await;
    story_ids
        .iter()
        .map(|id| {
            let url = &stories.iter().find(|s| s.id == *id).expect("a stored story").url;
            url.trim_start_matches("https://news.example.com/").to_owned()
        })
        .collect()
}

/// `preview --explain` of `email`'s digest, before anything is sent.
fn explain(env: &TestEnv, settings: &Settings, email: &str) -> String {
    let out = env
        .herald(&[
            "preview",
            email,
            "--date",
            DATE,
            "--now",
            NOW,
            "--explain",
            "--format",
            "text",
        ])
        .envs(settings.vars())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    stdout_of(&out)
}

/// Where each of `titles` first appears in `text`.
fn positions(text: &str, titles: &[&str]) -> Vec<usize> {
    titles
        .iter()
        .map(|t| text.find(t).unwrap_or_else(|| panic!("{t:?} not in:\n{text}")))
        .collect()
}

both_backends! {
    async fn each_reader_gets_their_language_first_from_one_edition(env: &TestEnv) {
        setup(env);
        let sink = SmtpSink::start();
        let default = Settings::smtp(&sink);
        let mine = theirs_first(&sink);

        // The default: rank order for every reader, and no word of languages.
        let text = explain(env, &default, "rana@example.com");
        assert!(!text.contains("languages: theirs first"), "{text}");
        assert!(text.contains("LANG") && text.contains("ar-JO"), "{text}");
        let order = positions(&text, &["Harbour reopens", "افتتاح رصيف", "Le marché"]);
        assert!(order.is_sorted(), "rank order: {order:?}\n{text}");
        // Theirs first: said, with the candidates in the order considered.
        let text = explain(env, &mine, "rana@example.com");
        assert!(
            text.contains("languages: theirs first (digest.story_languages): stories in ar (a story without a lang counts as en, the site's)")
                && text.contains("this changes the digest's order"),
            "{text}"
        );
        let order = positions(&text, &["افتتاح رصيف", "مهرجان جرش", "Harbour reopens", "Le marché"]);
        assert!(order.is_sorted(), "Arabic first: {order:?}\n{text}");
        let text = explain(env, &mine, "ann@example.com");
        assert!(text.contains("stories in en") && text.contains("this digest keeps the score's order"), "{text}");

        let out = env.herald(&["send", "--date", DATE, "--now", NOW]).envs(mine.vars()).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(received(env, "rana@example.com").await, ["ar/raseef", "ar/jerash", "en/harbour", "en/budget", "en/market", "fr/marche"]);
        // English first: en, en-GB, and the story without a lang (the
        // site's English); the same for a reader without a locale.
        assert_eq!(received(env, "ann@example.com").await, RANKED);
        assert_eq!(received(env, "sam@example.com").await, RANKED);

        // The messages read in that order.
        let messages = sink.wait_for(3, Duration::from_secs(10));
        assert_eq!(messages.len(), 3);
        for m in &messages {
            let parsed = MessageParser::default().parse(&m.data).expect("parses as MIME");
            let text = parsed.body_text(0).unwrap().into_owned();
            let arabic = text.find("افتتاح رصيف").expect("the Arabic story");
            let english = text.find("Harbour reopens").expect("the English story");
            if m.rcpt_to == ["rana@example.com"] {
                assert!(arabic < english, "Arabic first for rana:\n{text}");
                assert!(parsed.subject().unwrap().contains("افتتاح رصيف"), "the lead's headline: {:?}", parsed.subject());
            } else {
                assert!(english < arabic, "English first for {:?}:\n{text}", m.rcpt_to);
            }
        }
    }

    fn imports_take_lang_and_reject_a_bad_tag_with_its_line(env: &TestEnv) {
        let csv = env.write(
            "stories.csv",
            "title,url,published_at,lang\n\
             Harbour,https://news.example.com/a,2026-03-10T05:00:00Z,AR_jo\n\
             Budget,https://news.example.com/b,2026-03-10T05:00:00Z,arabic!\n\
             Market,https://news.example.com/c,2026-03-10T05:00:00Z,\n",
        );
        let out = env.herald(&["stories", "import", csv.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "a rejected row: {}", stdout_of(&out));
        let err = stderr_of(&out);
        assert!(
            err.contains("line 3: field lang: \"arabic!\" is not a language tag; expected a BCP 47 language tag"),
            "{err}"
        );
        assert!(stdout_of(&out).contains("imported 2, updated 0, rejected 1"), "{}", stdout_of(&out));
        let jsonl = env.write(
            "stories.jsonl",
            "{\"title\": \"Quay\", \"url\": \"https://news.example.com/d\", \"published_at\": \"2026-03-10T05:00:00Z\", \"lang\": \"fr-CA\"}\n\
             {\"title\": \"Jerash\", \"url\": \"https://news.example.com/e\", \"published_at\": \"2026-03-10T05:00:00Z\", \"lang\": \"und\"}\n",
        );
        let out = env.herald(&["stories", "import", jsonl.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr_of(&out).contains("line 2: field lang: \"und\" names no language"), "{}", stderr_of(&out));

        let stories: Vec<Value> = env.json(&["stories", "list", "--format", "json"]);
        let lang = |path: &str| {
            let url = format!("https://news.example.com/{path}");
            let s = stories.iter().find(|s| s["url"] == url.as_str()).unwrap_or_else(|| panic!("{url}"));
            s["lang"].as_str().map(str::to_owned)
        };
        assert_eq!(lang("a").as_deref(), Some("ar-JO"), "canonicalized");
        assert_eq!(lang("c"), None, "an empty cell is no language");
        assert_eq!(lang("d").as_deref(), Some("fr-CA"));
        assert_eq!(stories.len(), 3, "{stories:#?}");
        let table = stdout_of(&env.herald(&["stories", "list"]).output().unwrap());
        assert!(table.contains("LANG") && table.contains("ar-JO") && table.contains("fr-CA"), "{table}");

        // A record without a lang is the whole story: it clears the tag.
        let again = env.write("again.csv", "title,url,published_at\nHarbour,https://news.example.com/a,2026-03-10T05:00:00Z\n");
        let out = env.herald(&["stories", "import", again.to_str().unwrap()]).output().unwrap();
        assert!(stdout_of(&out).contains("updated 1"), "{}", stdout_of(&out));
        let stories: Vec<Value> = env.json(&["stories", "list", "--format", "json"]);
        assert!(stories.iter().all(|s| s["url"] != "https://news.example.com/a" || s["lang"].is_null()));
    }
}
