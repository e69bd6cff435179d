//! Rendering with the real templates: snapshot tests (a template change
//! shows as a readable diff in tests/it/snapshots/; refresh them with
//! `UPDATE_EXPECT=1 cargo test --test it render::`), escaping of hostile story
//! fields, non-ASCII text, line lengths and the HTML size limit.

use herald::domain::{History, Story, StoryKind, Subscriber};
use herald::render::{Recipient, Renderer};
use herald::select::{self, Pool};
use herald::templates::TemplateSources;
use herald::testing::{NOW, RULES, at, daily, site, story, subscriber};

/// The sample, a table of (kind, title, section, author, summary, votes,
/// image): hostile markup, right-to-left and accented text, both kinds. The
/// rest follows from the row: ids count from 1, each story is ten minutes
/// older than the one before, comments are a quarter of the votes.
fn stories() -> Vec<Story> {
    use StoryKind::{Blog, Story as News};
    let table = [
        (
            News,
            "City council approves 24-hour bus network",
            "world",
            "Marta Oliveira",
            "Council votes 31–9 to keep night routes running; fares stay unchanged until 2027, the mayor’s office said on Tuesday evening after a long debate.",
            412,
            true,
        ),
        (
            News,
            "<script>alert(1)</script>",
            "world",
            "Mallory",
            "A summary with <b>tags</b> & ampersands.",
            300,
            false,
        ),
        (
            News,
            "\"><img src=x onerror=alert(1)>",
            "world",
            "Mallory",
            "",
            250,
            false,
        ),
        (
            News,
            "مستشفى محلي يفتتح عيادة للأمومة",
            "health",
            "نور الهدى العلي",
            "تقول الإدارة إن الطلب تضاعف منذ يناير.",
            200,
            false,
        ),
        (
            News,
            "Zoë Laurent reaches her first final",
            "sport",
            "Tomás Ruiz",
            "“Remarkable”, said her coach.",
            150,
            false,
        ),
        (
            Blog,
            "How we verify a photo before we publish it",
            "newsroom",
            "Jonas Lindqvist",
            "A step-by-step look at the checks our picture desk runs on every image.",
            120,
            true,
        ),
        (
            Blog,
            "Café français : nos lecteurs se rencontrent",
            "community",
            "Élodie Marchand",
            "",
            40,
            false,
        ),
    ];
    (1..)
        .zip(table)
        .map(|(id, (kind, title, section, author, summary, votes, image))| {
            let s = story(id)
                .kind(kind)
                .title(title)
                .url(format!(
                    "https://news.example.com/{section}/2026/03/10/story-{id}"
                ))
                .summary(summary)
                .author(author)
                .section(section)
                .published(at("2026-03-10T05:00:00Z") - chrono::Duration::minutes(id * 10))
                .updated(at("2026-03-10T06:00:00Z"))
                .votes(votes)
                .comments(votes / 4);
            if image {
                s.image(format!("https://news.example.com/images/{id}.jpg"))
                    .build()
            } else {
                s.build()
            }
        })
        .collect()
}

fn leila() -> Subscriber {
    subscriber("leila@example.org")
        .id(7)
        .name("ليلى حداد")
        .timezone("Asia/Amman")
        .send_hour(8)
        .token("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .build()
}

fn render_with(max_html_bytes: usize) -> herald::render::Rendered {
    render_by(Renderer::new(&TemplateSources::builtin(), site(), max_html_bytes).unwrap())
}

fn render_by(renderer: Renderer) -> herald::render::Rendered {
    let now = at(NOW);
    let pool = Pool::rank(stories(), now, &RULES);
    let s = leila();
    let digest = select::select(&pool, &s, &History::default(), now, &RULES);
    let edition = daily("2026-03-10");
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

/// With the engine's `mail::html_fits`, the limit counts the HTML part as
/// it goes on the wire: the Arabic and accented names, written as
/// character references there, make it bigger than the rendered bytes.
#[test]
fn the_html_limit_counts_the_octets_on_the_wire() {
    let full = render_with(100_000);
    let limit = full.html.len();
    assert!(
        !herald::mail::html_fits(&full.html, limit),
        "the wire form is no bigger"
    );
    let renderer = Renderer::new(&TemplateSources::builtin(), site(), limit)
        .unwrap()
        .with_html_fits(herald::mail::html_fits);
    let cut = render_by(renderer);
    assert!(cut.dropped >= 1, "nothing dropped");
    assert!(herald::mail::html_fits(&cut.html, limit));
    assert_eq!(
        render_with(limit).dropped,
        0,
        "the rendered bytes fit as they are"
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
