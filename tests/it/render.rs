//! Rendering with the real templates: snapshot tests (a template change
//! shows as a readable diff in tests/it/snapshots/; refresh them with
//! `UPDATE_EXPECT=1 cargo test --test it render::`), escaping of hostile story
//! fields, non-ASCII text, line lengths and the HTML size limit.

use herald::domain::{History, Story, StoryKind, Subscriber};
use herald::render::{Limits, Recipient, Renderer};
use herald::select::{self, Pool};
use herald::templates::TemplateSources;
use herald::testing::{LIMITS, NOW, RULES, at, daily, site, story, subscriber};

use crate::support::decode_references;

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
    let limits = Limits {
        max_html_bytes,
        ..LIMITS
    };
    render(stories(), limits)
}

fn limited(max_html_bytes: usize) -> Renderer {
    let limits = Limits {
        max_html_bytes,
        ..LIMITS
    };
    Renderer::new(&TemplateSources::builtin(), site(), limits).unwrap()
}

/// Leila's digest of `stories` (she follows every section they use).
fn render(stories: Vec<Story>, limits: Limits) -> herald::render::Rendered {
    render_by(
        Renderer::new(&TemplateSources::builtin(), site(), limits).unwrap(),
        stories,
    )
}

fn render_by(renderer: Renderer, stories: Vec<Story>) -> herald::render::Rendered {
    let now = at(NOW);
    let pool = Pool::rank(stories, now, &RULES);
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
                locale: s.locale.as_ref(),
            },
        )
        .unwrap()
}

/// What a reader sees of the HTML part with images off: the body's text,
/// each image's alt text in its place, the hidden preheader left out, and
/// whitespace collapsed.
fn visible_with_images_off(html: &str) -> String {
    let body = &html[html.find("<body").unwrap()..];
    let start = body.find("<div style=\"display:none").unwrap();
    let end = start + body[start..].find("</div>").unwrap() + "</div>".len();
    let body = format!("{}{}", &body[..start], &body[end..]);
    let mut out = String::new();
    let mut rest = body.as_str();
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('>').unwrap();
        let tag = &rest[open..=close];
        if tag.starts_with("<img") {
            out.push(' ');
            out.push_str(&attr(tag, "alt").expect("every image has an alt attribute"));
            out.push(' ');
        } else {
            out.push(' ');
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    let text = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&middot;", "·")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of attribute `name` in the start tag `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(tag[at..at + tag[at..].find('"')?].to_owned())
}

/// The start tag of the innermost `<tag` element open at byte `pos`.
fn enclosing<'a>(html: &'a str, pos: usize, tag: &str) -> &'a str {
    let open = html[..pos]
        .rfind(&format!("<{tag}"))
        .expect("an enclosing element");
    assert!(
        !html[open..pos].contains(&format!("</{tag}>")),
        "no <{tag}> open at {pos}"
    );
    &html[open..open + html[open..].find('>').unwrap() + 1]
}

#[test]
fn snapshot_of_the_text_and_html_parts() {
    let r = render_with(100_000);
    assert_eq!(
        r.subject, "Your daily digest, 10 March 2026: City council approves 24-hour bus network",
        "nothing in it is right-to-left, so the catalog's isolates are dropped"
    );
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
        // Most of these come as character references (`&#235;`), which
        // read the same.
        assert!(
            decode_references(&r.html).contains(s),
            "{s} missing from the HTML part"
        );
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
    let renderer = limited(limit).with_html_fits(herald::mail::html_fits);
    let cut = render_by(renderer, stories());
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

#[test]
fn every_story_field_is_marked_dir_auto() {
    let r = render_with(100_000);
    let html = &r.html;
    // The right-to-left story: title, summary, author, section.
    for (text, tag) in [
        ("مستشفى محلي يفتتح عيادة للأمومة", "h2"),
        ("تقول الإدارة إن الطلب تضاعف منذ يناير.", "p"),
        ("نور الهدى العلي", "span"),
        (">health<", "span"),
    ] {
        let pos = html.find(text).unwrap_or_else(|| panic!("{text} missing"));
        let tag = enclosing(html, pos, tag);
        assert!(tag.contains(r#"dir="auto""#), "{text} sits in {tag}");
    }
    // And every story's title, summary, author and section alike.
    let stories = 7;
    assert_eq!(html.matches(r#"<h2 dir="auto""#).count(), stories);
    let summaries = stories - 2; // Two stories have none.
    assert_eq!(html.matches(r#"<p dir="auto""#).count(), summaries);
    assert_eq!(
        html.matches(r#"<span dir="auto""#).count(),
        2 * stories,
        "author and section"
    );
    // The greeting's name comes through the catalog, which isolates it.
    assert!(html.contains("Hello \u{2068}ليلى حداد\u{2069},"), "{html}");
}

#[test]
fn with_images_off_no_headline_shows_twice() {
    let r = render_with(100_000);
    for tag in r.html.split("<img").skip(1) {
        let alt = attr(tag, "alt").expect("an alt attribute");
        assert!(alt.chars().count() <= 40, "alt text is short or empty: {alt:?}");
    }
    let visible = visible_with_images_off(&decode_references(&r.html));
    for story in stories() {
        let title = story.title.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(visible.matches(&title).count(), 1, "{title:?} in {visible}");
    }
}

#[test]
fn the_preheader_adds_headlines_the_subject_does_not_have() {
    let r = render_with(100_000);
    let start = r.html.find("<div style=\"display:none").unwrap();
    let end = start + r.html[start..].find("</div>").unwrap();
    let preheader = &decode_references(&r.html[start..end]).replace(['\u{2068}', '\u{2069}'], "");
    assert!(
        !preheader.contains("City council approves"),
        "the subject's headline: {preheader}"
    );
    assert!(
        preheader.contains("Also: &lt;script&gt;alert(1)&lt;/script&gt; · &quot;&gt;&lt;img src=x onerror=alert(1)&gt;, and 4 more"),
        "{preheader}"
    );
}

/// A story whose summary is long, with a URL longer than a line in it.
fn long_summary_story(summary_words: usize) -> Story {
    let url =
        "https://news.example.com/documents/2026/council-minutes-night-bus-network-final-report-annex-b.pdf";
    let words = "The council published the minutes of the debate and the final report ";
    let summary = format!(
        "{} Read them at {url} today. {}",
        words.repeat(2),
        words.repeat(summary_words)
    );
    story(1)
        .title(&"Night buses ".repeat(40))
        .url(format!(
            "https://news.example.com/world/2026/03/10/{}",
            "slug-".repeat(60)
        ))
        .summary(summary.trim())
        .author("Marta Oliveira")
        .section("world")
        .published(at("2026-03-10T05:00:00Z"))
        .votes(10)
        .build()
}

#[test]
fn summaries_are_cut_at_a_word_in_both_parts() {
    let r = render(vec![long_summary_story(20)], LIMITS);
    // 160 characters: the two sentences, then cut before the URL.
    let cut = "The council published the minutes of the debate and the final report The council \
               published the minutes of the debate and the final report Read them at…";
    assert!(cut.chars().count() <= LIMITS.summary_chars);
    let text_summary: String = r
        .text
        .lines()
        .skip_while(|l| !l.starts_with("Night buses"))
        .skip_while(|l| l.starts_with("Night buses"))
        .take_while(|l| !l.trim_start_matches('\u{2068}').starts_with("WORLD"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(text_summary, cut);
    let html: String = decode_references(&r.html)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(html.contains(&format!("> {cut}</p>")), "{html}");
    assert!(!r.html.contains("today."), "nothing past the cut");
}

/// A line that is one URL of Herald's own (it cannot break).
fn is_link(line: &str) -> bool {
    line.starts_with("https://news.example.com/") && !line.contains(' ')
}

#[test]
fn long_urls_stand_whole_on_their_own_lines_and_no_line_nears_998_octets() {
    let limits = Limits {
        summary_chars: 1000,
        ..LIMITS
    };
    let story = long_summary_story(12);
    let r = render(vec![story.clone()], limits);
    let url =
        "https://news.example.com/documents/2026/council-minutes-night-bus-network-final-report-annex-b.pdf";
    assert!(
        r.text.lines().any(|l| l == url),
        "the URL on a line of its own:\n{}",
        r.text
    );
    assert!(
        r.text.lines().any(|l| l == story.url),
        "the story's URL on a line of its own"
    );
    for line in r.text.lines() {
        assert!(
            // A link of the footer (view in browser, with the token) is a
            // URL on its own line too.
            line.chars().count() < 78 || line == url || line == story.url || is_link(line),
            "{line:?}"
        );
    }
    // HTML source lines break at spaces; only a URL, which cannot break,
    // makes one longer.
    for line in r.html.lines() {
        let rest = line.replace(&story.url, "");
        assert!(rest.len() < 300, "HTML line of {} octets: {line}", line.len());
    }
}

#[test]
fn every_link_is_in_both_parts_as_often() {
    // Filters read a multipart/alternative message whose links differ
    // between its parts as suspect (rspamd's URI_COUNT_ODD counts them all
    // and wants an even total), and a reader of either part should find
    // every link: so each link the HTML part has, the text part has too,
    // as many times.
    let r = render_with(100_000);
    let hrefs: Vec<String> = r
        .html
        .split(" href=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].replace("&amp;", "&"))
        .collect();
    assert!(hrefs.len() >= 10, "{hrefs:?}");
    for href in &hrefs {
        let in_html = hrefs.iter().filter(|h| *h == href).count();
        let in_text = r.text.lines().filter(|l| l == href).count();
        assert_eq!(
            in_html, in_text,
            "{href}: {in_html} in the HTML part, {in_text} in the text part"
        );
    }
    let text_links = r.text.lines().filter(|l| l.starts_with("https://")).count();
    assert_eq!(
        text_links,
        hrefs.len(),
        "the text part has no link the HTML part lacks"
    );
}
