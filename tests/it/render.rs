//! Rendering with the real templates: snapshot tests (a template change
//! shows as a readable diff in tests/snapshots/; refresh them with
//! `UPDATE_EXPECT=1 cargo test --test render`), escaping of hostile story
//! fields, non-ASCII text, line lengths and the HTML size limit.

use chrono::{DateTime, NaiveDate, Utc};
use herald::domain::{
    Frequency, SendHour, Story, StoryKind, Subscriber, SubscriberEmail, SubscriberStatus, TimeZone, Token,
    Topics,
};
use herald::render::{Recipient, Renderer, Site};
use herald::select::{self, Edition, History, Pool, Rules};
use herald::templates::TemplateSources;

const RULES: Rules = Rules {
    comment_weight: 2.0,
    gravity: 1.8,
    max_stories: 10,
    max_blog_posts: 5,
    max_per_author: 3,
};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[allow(clippy::too_many_arguments)]
fn story(
    id: i64,
    kind: StoryKind,
    title: &str,
    section: &str,
    author: &str,
    summary: &str,
    votes: i64,
    image: bool,
) -> Story {
    Story {
        id,
        kind,
        title: title.into(),
        url: format!("https://news.example.com/{section}/2026/03/10/story-{id}"),
        summary: summary.into(),
        author: author.into(),
        section: section.into(),
        image_url: image.then(|| format!("https://news.example.com/images/{id}.jpg")),
        published_at: at("2026-03-10T05:00:00Z") - chrono::Duration::minutes(id * 10),
        votes,
        comments: votes / 4,
        updated_at: at("2026-03-10T06:00:00Z"),
    }
}

fn stories() -> Vec<Story> {
    vec![
        story(
            1,
            StoryKind::Story,
            "City council approves 24-hour bus network",
            "world",
            "Marta Oliveira",
            "Council votes 31–9 to keep night routes running; fares stay unchanged until 2027, the mayor’s office said on Tuesday evening after a long debate.",
            412,
            true,
        ),
        story(
            2,
            StoryKind::Story,
            "<script>alert(1)</script>",
            "world",
            "Mallory",
            "A summary with <b>tags</b> & ampersands.",
            300,
            false,
        ),
        story(
            3,
            StoryKind::Story,
            "\"><img src=x onerror=alert(1)>",
            "world",
            "Mallory",
            "",
            250,
            false,
        ),
        story(
            4,
            StoryKind::Story,
            "مستشفى محلي يفتتح عيادة للأمومة",
            "health",
            "نور الهدى العلي",
            "تقول الإدارة إن الطلب تضاعف منذ يناير.",
            200,
            false,
        ),
        story(
            5,
            StoryKind::Story,
            "Zoë Laurent reaches her first final",
            "sport",
            "Tomás Ruiz",
            "“Remarkable”, said her coach.",
            150,
            false,
        ),
        story(
            6,
            StoryKind::Blog,
            "How we verify a photo before we publish it",
            "newsroom",
            "Jonas Lindqvist",
            "A step-by-step look at the checks our picture desk runs on every image.",
            120,
            true,
        ),
        story(
            7,
            StoryKind::Blog,
            "Café français : nos lecteurs se rencontrent",
            "community",
            "Élodie Marchand",
            "",
            40,
            false,
        ),
    ]
}

fn subscriber() -> Subscriber {
    Subscriber {
        id: 7,
        email: SubscriberEmail::parse("leila@example.org").unwrap(),
        name: "ليلى حداد".into(),
        status: SubscriberStatus::Active,
        timezone: TimeZone::parse("Asia/Amman").unwrap(),
        frequency: Frequency::Daily,
        send_hour: SendHour::new(8).unwrap(),
        topics: Topics::default(),
        token: Token::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap(),
        created_at: at("2026-01-01T00:00:00Z"),
        confirmed_at: None,
        unsubscribed_at: None,
        updated_at: at("2026-01-01T00:00:00Z"),
        bounce_count: 0,
        paused_until: None,
    }
}

fn site() -> Site {
    Site {
        name: "Example News".into(),
        postal_address: "1 Example Street, Springfield".into(),
        url: "https://news.example.com".into(),
    }
}

fn render_with(max_html_bytes: usize) -> herald::render::Rendered {
    let now = at("2026-03-10T07:00:00Z");
    let renderer = Renderer::new(&TemplateSources::builtin(), site(), max_html_bytes).unwrap();
    let pool = Pool::rank(stories(), now, &RULES);
    let s = subscriber();
    let digest = select::select(&pool, &s, &History::default(), now, &RULES);
    let edition = Edition {
        frequency: Frequency::Daily,
        date: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
    };
    let pool = std::sync::Arc::new(pool);
    let blocks = renderer.edition(pool.clone(), edition);
    renderer
        .render(
            &blocks,
            &digest,
            Recipient {
                name: &s.name,
                email: s.email.as_str(),
                token: &s.token,
            },
        )
        .unwrap()
}

#[test]
fn snapshot_of_the_text_and_html_parts() {
    let r = render_with(100_000);
    expect_test::expect!["Your daily digest, 10 March 2026: City council approves 24-hour bus network"]
        .assert_eq(&r.subject);
    expect_test::expect_file!["snapshots/digest.txt"].assert_eq(&r.text);
    expect_test::expect_file!["snapshots/digest.html"].assert_eq(&r.html);
    assert_eq!(r.story_ids, [1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn hostile_fields_are_escaped() {
    let r = render_with(100_000);
    assert!(!r.html.contains("<script>"), "a title became markup");
    assert!(
        r.html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
            || r.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the title is shown as text"
    );
    assert!(
        !r.html.contains("<img src=x"),
        "an attribute breakout became markup"
    );
    assert!(!r.html.contains("<b>tags</b>"), "summaries are plain text");
    assert!(
        r.html.contains("&lt;b&gt;tags&lt;"),
        "summary markup shows as text"
    );
    // The text part is plain text: it carries the title as written.
    assert!(r.text.contains("<script>alert(1)</script>"));
}

#[test]
fn non_ascii_survives_everywhere() {
    let r = render_with(100_000);
    for s in [
        "مستشفى محلي يفتتح عيادة للأمومة",
        "نور الهدى العلي",
        "Zoë Laurent",
        "“Remarkable”",
        "Élodie Marchand",
        "ليلى حداد",
    ] {
        assert!(r.html.contains(s), "{s} missing from the HTML part");
        assert!(r.text.contains(s), "{s} missing from the text part");
    }
}

#[test]
fn lines_are_short() {
    let r = render_with(100_000);
    for line in r.text.lines().filter(|l| !l.starts_with("http")) {
        assert!(line.chars().count() <= 78, "text line over 78 columns: {line:?}");
    }
    for line in r.html.lines() {
        assert!(line.len() <= 998, "HTML line over 998 octets");
    }
}

#[test]
fn html_over_the_limit_drops_the_lowest_ranked_items() {
    let full = render_with(100_000);
    let limit = full.html.len() - 1;
    let cut = render_with(limit);
    assert!(cut.html.len() <= limit);
    assert!(cut.dropped >= 1);
    assert_eq!(
        cut.story_ids,
        full.story_ids[..full.story_ids.len() - cut.dropped]
    );
}

#[test]
fn the_html_is_an_email_not_a_web_page() {
    let r = render_with(100_000);
    let html = &r.html;
    assert!(html.contains(r#"role="presentation""#));
    assert!(html.contains(r#"width="600""#));
    assert!(html.contains(r#"<meta name="color-scheme" content="light dark">"#));
    assert!(html.contains("prefers-color-scheme: dark"));
    assert!(html.contains("display:none"), "hidden preheader");
    assert!(html.contains("https://news.example.com/unsubscribe/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert!(html.contains("https://news.example.com/preferences/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert!(html.contains("1 Example Street, Springfield"));
    let images = html.matches("<img ").count();
    assert_eq!(
        images,
        html.matches(" alt=\"").count(),
        "every image has alt text"
    );
    assert!(images >= 2);
}
