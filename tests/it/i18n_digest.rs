//! The digest in its reader's language, with the real templates and
//! catalogs: snapshots in English, Arabic and French (tests/it/snapshots/i18n/;
//! refresh them with `UPDATE_EXPECT=1 cargo test --test it i18n_digest::`),
//! Arabic's plural forms in a rendered digest, readers of several languages
//! in one edition (each story block rendered once per language), the
//! mirrored layout of an Arabic digest, and the text part read back by an
//! independent MIME parser (mail-parser) after composition: the isolates
//! (FSI … PDI) survive quoted-printable and base64 and the 72-column
//! wrapping, balanced on every line.

use std::sync::Arc;

use herald::domain::{History, Story, StoryKind, Subscriber};
use herald::mail::{Composer, Outgoing};
use herald::render::{EditionBlocks, Recipient, Rendered, Renderer};
use herald::select::{self, Pool};
use herald::templates::TemplateSources;
use herald::testing::{LIMITS, NOW, RULES, at, daily, site, story, subscriber};
use mail_parser::MessageParser;

const FSI: char = '\u{2068}';
const PDI: char = '\u{2069}';

/// An Amman site's morning: Arabic and English stories, a French one, a
/// headline ending in "!" and a long Arabic byline (the text part must wrap
/// it). Comments are given, to see the plural forms.
fn stories() -> Vec<Story> {
    use StoryKind::{Blog, Story as News};
    let table = [
        (
            News,
            "مجلس أمانة عمّان يقرّ شبكة حافلات تعمل على مدار الساعة!",
            "محليات",
            "رنا الصباغ",
            "صوّت المجلس بأغلبية 31 مقابل 9 لإبقاء الخطوط الليلية، على أن تبقى الأجرة دون تغيير حتى عام 2027.",
            412,
            103,
            true,
        ),
        (
            News,
            "Jordan's central bank holds rates steady",
            "business",
            "Omar Khalil",
            "The decision follows the US Federal Reserve's, the bank said on Tuesday.",
            300,
            11,
            true,
        ),
        (
            News,
            "مستشفى محلي يفتتح عيادة للأمومة",
            "صحة",
            "نور الهدى عبد الرحمن العلي وفريق التحقيقات الاستقصائية في صحيفة المثال اليومية",
            "تقول الإدارة إن الطلب تضاعف منذ يناير.",
            200,
            2,
            false,
        ),
        (
            News,
            "Zoë Laurent reaches her first final",
            "sport",
            "Tomás Ruiz",
            "“Remarkable”, said her coach.",
            150,
            1,
            false,
        ),
        (
            Blog,
            "كيف نتحقق من صورة قبل نشرها",
            "غرفة الأخبار",
            "سلمى النمري",
            "نظرة خطوة بخطوة على الفحوص التي يجريها قسم الصور على كل صورة.",
            120,
            0,
            true,
        ),
        (
            Blog,
            "Café français : nos lecteurs se rencontrent",
            "community",
            "Élodie Marchand",
            "",
            40,
            3,
            false,
        ),
    ];
    (1..)
        .zip(table)
        .map(
            |(id, (kind, title, section, author, summary, votes, comments, image))| {
                let s = story(id)
                    .kind(kind)
                    .title(title)
                    .url(format!("https://news.example.com/2026/03/10/story-{id}"))
                    .summary(summary)
                    .author(author)
                    .section(section)
                    .published(at("2026-03-10T05:00:00Z") - chrono::Duration::minutes(id * 10))
                    .updated(at("2026-03-10T06:00:00Z"))
                    .votes(votes)
                    .comments(comments);
                if image {
                    s.image(format!("https://news.example.com/images/{id}.jpg"))
                        .build()
                } else {
                    s.build()
                }
            },
        )
        .collect()
}

fn reader(email: &str, name: &str, locale: Option<&str>) -> Subscriber {
    let s = subscriber(email)
        .id(7)
        .name(name)
        .timezone("Asia/Amman")
        .send_hour(8)
        .token("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    match locale {
        Some(tag) => s.locale(tag).build(),
        None => s.build(),
    }
}

fn renderer() -> Renderer {
    Renderer::new(&TemplateSources::builtin(), site(), LIMITS).unwrap()
}

/// One edition of `stories`: its pool and shared blocks.
fn edition(renderer: &Renderer, stories: Vec<Story>) -> (Arc<Pool>, EditionBlocks) {
    let pool = Arc::new(Pool::rank(stories, at(NOW), &RULES));
    let blocks = renderer.edition(pool.clone(), daily("2026-03-10"));
    (pool, blocks)
}

fn render_for(renderer: &Renderer, pool: &Pool, blocks: &EditionBlocks, s: &Subscriber) -> Rendered {
    let digest = select::select(pool, s, &History::default(), at(NOW), &RULES);
    renderer
        .render(
            blocks,
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

fn render(s: &Subscriber) -> Rendered {
    let r = renderer();
    let (pool, blocks) = edition(&r, stories());
    render_for(&r, &pool, &blocks, s)
}

/// What a reader sees of a string: no isolates, no-break spaces as spaces.
fn seen(s: &str) -> String {
    s.replace([FSI, PDI], "").replace('\u{a0}', " ")
}

/// Every line has as many PDI as FSI, and never a PDI before its FSI.
fn assert_balanced(text: &str) {
    for line in text.lines() {
        let mut depth = 0i32;
        for c in line.chars() {
            match c {
                FSI => depth += 1,
                PDI => {
                    depth -= 1;
                    assert!(depth >= 0, "a PDI without its FSI: {line:?}");
                }
                _ => {}
            }
        }
        assert_eq!(depth, 0, "an FSI without its PDI: {line:?}");
    }
}

#[test]
fn snapshots_in_english_arabic_and_french() {
    for (tag, name, subject) in [
        (
            "en",
            "Leila Haddad",
            "Your daily digest, 10 March 2026: مجلس أمانة عمّان يقرّ شبكة حافلات تعمل على مدار الساعة!",
        ),
        (
            "ar",
            "ليلى حداد",
            "نشرتك اليومية، 10 مارس 2026: مجلس أمانة عمّان يقرّ شبكة حافلات تعمل على مدار الساعة!",
        ),
        (
            "fr",
            "Zoë Laurent",
            "Votre lettre quotidienne du 10 mars 2026 : مجلس أمانة عمّان يقرّ شبكة حافلات تعمل على مدار الساعة!",
        ),
    ] {
        let r = render(&reader("leila@example.org", name, Some(tag)));
        // (A subject is one line of collapsed whitespace: the French
        // no-break space before the colon is a space there.)
        assert_eq!(r.subject.replace([FSI, PDI], ""), subject, "{tag}");
        // The headline of the subject is isolated: its "!" stays at its end.
        assert!(
            r.subject
                .contains("\u{2068}مجلس أمانة عمّان يقرّ شبكة حافلات تعمل على مدار الساعة!\u{2069}"),
            "{tag}: {:?}",
            r.subject
        );
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots/i18n");
        expect_test::expect_file![dir.join(format!("digest.{tag}.txt"))].assert_eq(&r.text);
        expect_test::expect_file![dir.join(format!("digest.{tag}.html"))].assert_eq(&r.html);
        assert_balanced(&r.text);
        for line in r.text.lines().filter(|l| !l.starts_with("https://")) {
            assert!(
                line.chars().filter(|c| ![FSI, PDI].contains(c)).count() <= 72,
                "{tag}: a line over 72 columns: {line:?}"
            );
        }
    }
}

#[test]
fn an_arabic_digest_has_the_six_plural_forms_in_both_parts() {
    let r = renderer();
    // One story per count: 0, 1, 2, 3, 11 and 100 comments.
    let counts = [0, 1, 2, 3, 11, 100];
    let stories: Vec<Story> = (1..)
        .zip(counts)
        .map(|(id, n)| {
            story(id)
                .title(&format!("خبر رقم {id}"))
                .url(format!("https://news.example.com/{id}"))
                .published(at(NOW) - chrono::Duration::minutes(id * 10))
                .votes(100 - id)
                .comments(n)
                .build()
        })
        .collect();
    let (pool, blocks) = edition(&r, stories);
    let out = render_for(&r, &pool, &blocks, &reader("rana@example.com", "رنا", Some("ar")));
    let forms = [
        "لا تعليقات",
        "تعليق واحد",
        "تعليقان",
        "3 تعليقات",
        "11 تعليقًا",
        "100 تعليق",
    ];
    let text = seen(&out.text);
    let html = seen(&out.html);
    for (n, form) in counts.iter().zip(forms) {
        assert_eq!(
            text.matches(&format!("· {form}\n")).count(),
            1,
            "{n} comments: {form:?} in\n{text}"
        );
        assert_eq!(
            html.matches(&format!("&middot; {form}</p>")).count(),
            1,
            "{n} comments: {form:?} in the HTML part"
        );
    }
    // The greeting counts in Arabic too: six top stories.
    assert!(
        text.contains("إليك 6 أخبار بارزة من الساعات الأربع والعشرين الماضية."),
        "{text}"
    );
    // The lone count is not written with a numeral.
    assert!(
        !text.contains("· 1 تعليق") && !text.contains("· 2 تعليق"),
        "{text}"
    );
}

#[test]
fn readers_of_one_edition_each_get_their_language_and_blocks_are_made_once_per_language() {
    let r = renderer();
    let (pool, blocks) = edition(&r, stories());
    let maya = reader("maya@example.com", "Maya", Some("en"));
    let rana = reader("rana@example.com", "رنا", Some("ar-JO"));
    let sam = reader("sam@example.com", "Sam", None);
    let zoe = reader("zoe@example.com", "Zoë", Some("fr"));

    let en = render_for(&r, &pool, &blocks, &maya);
    let after_one = blocks.rendered_blocks();
    let ar = render_for(&r, &pool, &blocks, &rana);
    let site_s = render_for(&r, &pool, &blocks, &sam);
    let fr = render_for(&r, &pool, &blocks, &zoe);
    let ar_again = render_for(&r, &pool, &blocks, &rana);

    assert!(
        en.html
            .starts_with("<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\"")
    );
    assert!(
        ar.html
            .starts_with("<!DOCTYPE html>\n<html lang=\"ar-JO\" dir=\"rtl\"")
    );
    assert!(
        fr.html
            .starts_with("<!DOCTYPE html>\n<html lang=\"fr\" dir=\"ltr\"")
    );
    assert!(seen(&en.text).contains("\nTOP STORIES\n-----------\n"));
    assert!(
        seen(&ar.text).contains("\nأبرز الأخبار\n------------\n"),
        "{}",
        ar.text
    );
    assert!(seen(&fr.text).contains("\nÀ LA UNE\n--------\n"));
    // The Levant's month names for ar-JO, and Western digits.
    assert!(
        seen(&ar.subject).starts_with("نشرتك اليومية، 10 آذار 2026: "),
        "{}",
        ar.subject
    );
    assert!(seen(&ar.text).contains("412 صوتًا · 103 تعليقات"), "{}", ar.text);
    assert!(seen(&en.text).contains("412 votes · 103 comments"));
    assert!(seen(&fr.text).contains("412 votes · 103 commentaires"));
    assert!(!seen(&en.text).contains("تعليق"), "no Arabic wording in English");
    assert_eq!(
        en.text,
        site_s
            .text
            .replace("sam@example.com", "maya@example.com")
            .replace("Sam", "Maya")
    );
    assert_eq!(ar.html, ar_again.html);

    // Four readers, three languages (Sam reads the site's English): each
    // story block was made once per language, never per reader.
    assert_eq!(blocks.languages(), ["en", "ar-JO", "fr"]);
    assert_eq!(blocks.rendered_blocks(), 3 * after_one);
    assert_eq!(
        after_one,
        en.story_ids.len() + 1,
        "each item, and the lead once more"
    );
}

#[test]
fn an_arabic_digest_is_mirrored() {
    let en = render(&reader("maya@example.com", "Maya", Some("en")));
    let ar = render(&reader("rana@example.com", "رنا", Some("ar")));
    // The card and every story's table run right to left, so the
    // thumbnail and the "view in browser" cell sit on the left.
    for (r, dir, start, end) in [(&en, "ltr", "left", "right"), (&ar, "rtl", "right", "left")] {
        let html = &r.html;
        assert!(html.contains(&format!(r#"class="card bg-card" dir="{dir}""#)));
        // The masthead follows the document; story fields align by their
        // own direction (dir="auto", no inherited alignment).
        assert!(html.contains(&format!(
            r#"<h1 dir="auto" class="c-title" style="margin:0;text-align:{start};"#
        )));
        assert_eq!(
            html.matches("text-align:").count(),
            2,
            "{dir}: masthead and view link only"
        );
        assert!(html.contains(&format!(
            r#"<td align="{end}" valign="bottom" style="padding-{start}:12px;text-align:{end};"#
        )));
        let thumbs = html.matches(r#"class="thumb""#).count();
        assert!(thumbs >= 1);
        assert_eq!(
            html.matches(&format!(
                r#"align="{end}" style="width:112px;padding-top:2px;padding-{start}:16px;""#
            ))
            .count(),
            thumbs,
            "{dir}: the thumbnail's gap is on the text's side"
        );
        assert_eq!(
            html.matches(&format!(r#"<table role="presentation" dir="{dir}""#))
                .count(),
            r.story_ids.len(),
            "every story's table"
        );
        // (The style sheet's `.pad` rule, "padding-left: 16px" with a
        // space, pads both sides alike.)
        assert_eq!(
            html.matches(&format!("padding-{end}:")).count(),
            html.matches(&format!("padding-{end}: ")).count(),
            "{dir}: no inline padding on the wrong side"
        );
    }
    // Letter-spacing would pull Arabic letters apart.
    assert!(en.html.contains("letter-spacing"));
    assert!(!ar.html.contains("letter-spacing"));
    // Story fields still carry dir="auto": an English headline in an
    // Arabic digest reads left to right.
    let pos = ar.html.rfind("Jordan&#39;s central bank").unwrap();
    let h2 = &ar.html[ar.html[..pos].rfind("<h2").unwrap()..pos];
    assert!(h2.starts_with(r#"<h2 dir="auto""#), "{h2}");
}

/// The digest composed as the engine composes it, read back by
/// mail-parser; returns the raw message and the decoded text part.
fn composed(r: &Rendered, s: &Subscriber) -> (String, String) {
    let config = herald::config::Config::load_from(
        &herald::config::Overrides {
            config_path: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/config/herald.toml").into()),
            database_url: None,
            metrics_file: None,
        },
        &[],
    )
    .unwrap();
    let composer = Composer::new(&config.mail, "Example News", &config.site.public_url).unwrap();
    let edition = daily("2026-03-10");
    let email = composer
        .compose(&Outgoing {
            to_email: s.email.as_str(),
            to_name: &s.name,
            subject: &r.subject,
            html: &r.html,
            text: &r.text,
            message_id: &composer.message_id(&edition, s.id, &s.token),
            unsubscribe_url: "https://news.example.com/unsubscribe/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            token: &s.token,
            return_path: None,
        })
        .unwrap();
    let raw = email.to_bytes();
    let parsed = MessageParser::default().parse(&raw).expect("parses as MIME");
    assert_eq!(
        parsed.subject(),
        Some(r.subject.as_str()),
        "the subject keeps its isolates"
    );
    let text = parsed.body_text(0).expect("a text part").into_owned();
    (String::from_utf8(raw).expect("7-bit safe"), text)
}

#[test]
fn isolates_survive_transfer_encoding_and_wrapping_as_a_mail_client_reads_them() {
    let maya = reader("maya@example.com", "Maya", Some("en"));
    let rana = reader("rana@example.com", "رنا الصباغ", Some("ar"));
    // English stories, one with a long byline: the text part is mostly
    // ASCII and goes quoted-printable; the Arabic digest, with its long
    // Arabic byline, goes base64.
    let english: Vec<Story> = stories()
        .into_iter()
        .filter(|s| s.title.is_ascii() || s.id == 3)
        .map(|mut s| {
            if s.id == 3 {
                s.title = "A local hospital opens a maternity clinic".into();
                s.summary = "Demand has doubled since January, the hospital says.".into();
                s.section = "health".into();
                s.author =
                    "Nour al-Huda Abd al-Rahman al-Ali and the investigations team of the Example Daily"
                        .into();
            }
            s
        })
        .collect();
    let r = renderer();
    let mut encodings = Vec::new();
    for (s, stories) in [(&maya, english), (&rana, stories())] {
        let (pool, blocks) = edition(&r, stories);
        let r = render_for(&r, &pool, &blocks, s);
        let arabic = s.email == rana.email;
        if arabic {
            // The long Arabic byline was wrapped: its isolate closed at the
            // break and reopened on the next line.
            let byline = r
                .text
                .lines()
                .position(|l| l.contains("نور الهدى"))
                .expect("the long byline");
            let next = r.text.lines().nth(byline + 1).unwrap();
            assert!(r.text.lines().nth(byline).unwrap().ends_with(PDI), "{:?}", r.text);
            assert!(next.starts_with(FSI), "{next:?}");
        } else {
            // Nothing right-to-left in an English digest of English
            // stories: no line needs an isolate, and none is sent.
            assert!(!r.text.contains(FSI) && !r.text.contains(PDI), "{:?}", r.text);
        }
        let (raw, text) = composed(&r, s);
        // What the client decodes is exactly what was rendered.
        assert_eq!(text.replace("\r\n", "\n"), r.text, "{}", s.email);
        if arabic {
            assert!(text.matches(FSI).count() >= 10, "isolates present");
        }
        assert_eq!(text.matches(FSI).count(), text.matches(PDI).count());
        assert_balanced(&text);
        // And every line on the wire is within the limits (no 8-bit, no
        // line over 76 characters in the text part).
        let part = &raw[raw.find("Content-Type: text/plain").unwrap()..];
        let header_end = part.find("\r\n\r\n").unwrap();
        let cte = part[..header_end]
            .lines()
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
            .unwrap()
            .to_owned();
        let body = &part[header_end + 4..part.find("\r\n--").unwrap()];
        assert!(body.lines().all(|l| l.len() <= 76), "{cte}: a line over 76");
        encodings.push(cte);
    }
    encodings.sort();
    assert_eq!(
        encodings,
        ["base64", "quoted-printable"],
        "the English digest goes quoted-printable, the Arabic one base64"
    );
}
