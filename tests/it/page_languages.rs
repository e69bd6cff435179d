//! The pages and the confirmation mail in the reader's language, through
//! `app(state).oneshot(…)` and the real SMTP sink: snapshots of the signup,
//! confirmation, preferences, unsubscribe and archive pages in English,
//! Arabic and French (tests/it/snapshots/pages/; refresh them with
//! `UPDATE_EXPECT=1 cargo test --test it page_languages::`); a signup from
//! an Arabic browser stores Arabic and gets an Arabic mail; the form's
//! `lang` wins over Accept-Language; an unsupported language falls back
//! to `site.locale`; the preferences' language field persists; a hostile
//! Accept-Language is harmless; the reasons a form is refused are the
//! catalog's.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use herald::domain::SubscriberEmail;
use herald::http::AppState;
use herald::metrics::Metrics;
use herald::store::{AddOutcome, Store};

use crate::pages::{call_raw as call, router_state, seed, send};
use crate::support::smtp::{Received, SmtpSink};
use crate::support::{Settings, TestEnv};

const FSI: char = '\u{2068}';
const PDI: char = '\u{2069}';

/// A request with these headers and, for a POST, this form body.
fn request(method: &str, path: &str, accept_language: Option<&str>, form: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(a) = accept_language {
        b = b.header("accept-language", a);
    }
    match form {
        Some(f) => b
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(f.to_owned()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// The page without what changes from run to run (tokens) and with the
/// zone list cut to its groups and the chosen zone, so a snapshot reads.
fn normalize(body: &str, tokens: &[&str]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut in_zones = false;
    for line in body.lines() {
        if line.contains(r#"<select name="timezone">"#) {
            in_zones = true;
        } else if in_zones && line.starts_with("</select>") {
            in_zones = false;
        } else if in_zones && line.starts_with("<option") && !line.contains(" selected>") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for t in tokens {
        out = out.replace(t, "TOKEN");
    }
    out
}

/// The text without the isolates Fluent puts around each argument.
fn plain(s: &str) -> String {
    s.replace([FSI, PDI], "")
}

async fn state_with_mail(env: &TestEnv, settings: &Settings) -> (Store, AppState) {
    let config = env.config(settings);
    let engine = env.engine(settings).await;
    let store = Store::open(&config.database).await.unwrap();
    let (mailer, composer) = engine.mail();
    let state = AppState::new(store.clone(), std::sync::Arc::new(Metrics::new()), &config)
        .unwrap()
        .with_mail(mailer, composer);
    (store, state)
}

/// A reader added with `locale`; returns their token.
async fn reader(store: &Store, email: &str, locale: Option<&str>) -> String {
    let mut b = herald::testing::subscriber(email);
    if let Some(l) = locale {
        b = b.locale(l);
    }
    let AddOutcome::Added(s) = store.insert_subscriber(&b.new_subscriber()).await.unwrap() else {
        panic!("{email} was already there")
    };
    s.token.to_string()
}

fn snapshot(page: &str, lang: &str) -> expect_test::ExpectFile {
    use expect_test::expect_file;
    match (page, lang) {
        ("signup", "en") => expect_file!["snapshots/pages/signup.en.html"],
        ("signup", "ar") => expect_file!["snapshots/pages/signup.ar.html"],
        ("signup", "fr") => expect_file!["snapshots/pages/signup.fr.html"],
        ("confirm", "en") => expect_file!["snapshots/pages/confirm.en.html"],
        ("confirm", "ar") => expect_file!["snapshots/pages/confirm.ar.html"],
        ("confirm", "fr") => expect_file!["snapshots/pages/confirm.fr.html"],
        ("preferences", "en") => expect_file!["snapshots/pages/preferences.en.html"],
        ("preferences", "ar") => expect_file!["snapshots/pages/preferences.ar.html"],
        ("preferences", "fr") => expect_file!["snapshots/pages/preferences.fr.html"],
        ("unsubscribe", "en") => expect_file!["snapshots/pages/unsubscribe.en.html"],
        ("unsubscribe", "ar") => expect_file!["snapshots/pages/unsubscribe.ar.html"],
        ("unsubscribe", "fr") => expect_file!["snapshots/pages/unsubscribe.fr.html"],
        ("archive", "en") => expect_file!["snapshots/pages/archive.en.html"],
        ("archive", "ar") => expect_file!["snapshots/pages/archive.ar.html"],
        ("archive", "fr") => expect_file!["snapshots/pages/archive.fr.html"],
        _ => unreachable!("no snapshot for {page} in {lang}"),
    }
}

#[tokio::test]
async fn snapshots_of_each_page_in_english_arabic_and_french() {
    let env = TestEnv::sqlite();
    seed(&env);
    send(&env).await;
    let settings = Settings::default()
        .set("HERALD_ARCHIVE__ENABLED", "true")
        .set("HERALD_SITE__PUBLIC_URL", "https://news.example.com")
        .set("HERALD_SITE__NAME", "Example News")
        .set("HERALD_SUBSCRIBERS__DEFAULT_TIMEZONE", "Asia/Amman");
    let (store, state) = router_state(&env, &settings).await;
    for lang in ["en", "ar", "fr"] {
        // Public pages: the browser's language.
        let (status, headers, body) = call(&state, request("GET", "/subscribe", Some(lang), None)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["vary"], "Accept-Language");
        snapshot("signup", lang).assert_eq(&normalize(&body, &[]));
        let (status, _, body) = call(&state, request("GET", "/archive", Some(lang), None)).await;
        assert_eq!(status, StatusCode::OK);
        snapshot("archive", lang).assert_eq(&normalize(&body, &[]));

        // The confirmation page: the link's language, whatever the browser's.
        let email = format!("new-{lang}@example.com");
        let form = format!("email={email}&tz=Asia%2FAmman&lang={lang}");
        let (status, _, _) = call(&state, request("POST", "/subscribe", Some("de"), Some(&form))).await;
        assert_eq!(status, StatusCode::OK);
        let signup = store
            .find_signup_for(&SubscriberEmail::parse(&email).unwrap())
            .await
            .unwrap()
            .unwrap();
        let token = signup.token.to_string();
        let path = format!("/confirm/{token}?lang={lang}");
        let (status, _, body) = call(&state, request("GET", &path, Some("de"), None)).await;
        assert_eq!(status, StatusCode::OK);
        snapshot("confirm", lang).assert_eq(&normalize(&body, &[&token]));

        // A subscriber's pages: their language, whatever the browser's.
        let token = reader(&store, &format!("reader-{lang}@example.com"), Some(lang)).await;
        let other = if lang == "ar" { "fr" } else { "ar" };
        let (status, _, body) = call(
            &state,
            request("GET", &format!("/preferences/{token}"), Some(other), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        snapshot("preferences", lang).assert_eq(&normalize(&body, &[&token]));
        let (status, _, body) = call(
            &state,
            request("GET", &format!("/unsubscribe/{token}"), Some(other), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        snapshot("unsubscribe", lang).assert_eq(&normalize(&body, &[&token]));
    }
}

/// The one confirmation mail the sink got, parsed: subject, text, HTML.
fn parts(mail: &Received) -> (String, String, String) {
    let m = mail_parser::MessageParser::default()
        .parse(&mail.data)
        .expect("a MIME message");
    (
        m.subject().unwrap_or_default().to_owned(),
        m.body_text(0).unwrap_or_default().into_owned(),
        m.body_html(0).unwrap_or_default().into_owned(),
    )
}

/// The confirmation link's path and query from a mail's text part.
fn confirm_path(text: &str) -> String {
    let start = text.find("/confirm/").expect("a confirmation link");
    text[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn an_arabic_browser_signs_up_in_arabic_and_gets_an_arabic_confirmation() {
    let sink = SmtpSink::start();
    let env = TestEnv::sqlite();
    let settings = Settings::smtp(&sink).set("HERALD_SITE__NAME", "Example News");
    let (store, state) = state_with_mail(&env, &settings).await;
    let accept = "ar-JO,ar;q=0.9,en;q=0.5";
    let (status, _, body) = call(
        &state,
        request(
            "POST",
            "/subscribe",
            Some(accept),
            Some("email=rana%40example.com"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#"<html lang="ar-JO" dir="rtl">"#), "{body}");
    assert!(body.contains("تفقّد بريدك"), "{body}");

    let got = sink.wait_for_async(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].rcpt_to, ["rana@example.com"]);
    let (subject, text, html) = parts(&got[0]);
    assert_eq!(plain(&subject), "أكّد اشتراكك في نشرة Example News");
    assert!(
        plain(&text).starts_with("طلب أحدهم، وربما أنت، تلقّي نشرة Example News على هذا العنوان."),
        "{text}"
    );
    assert!(
        plain(&text).contains("للتأكيد، افتح هذا الرابط خلال 48 ساعة:"),
        "{text}"
    );
    assert!(html.contains(r#"<html lang="ar-JO" dir="rtl">"#), "{html}");
    assert!(
        plain(&html).contains("أكّد اشتراكك</a> (الرابط صالح لمدة 48 ساعة)"),
        "{html}"
    );
    let path = confirm_path(&text);
    assert!(
        path.ends_with("?lang=ar-JO"),
        "the link carries the language: {path}"
    );

    // The link's page is Arabic even in an English browser; confirming
    // stores the language.
    let (status, _, page) = call(&state, request("GET", &path, Some("en"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<html lang="ar-JO" dir="rtl">"#), "{page}");
    assert!(page.contains("?lang=ar-JO\">"), "the form posts it back: {page}");
    let (status, _, done) = call(&state, request("POST", &path, Some("en"), Some("send_hour=7"))).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(
        plain(&done).contains("ستصل نشرتنا اليومية إلى rana@example.com في الساعة 07:00"),
        "{done}"
    );
    let s = store
        .find_subscriber(&SubscriberEmail::parse("rana@example.com").unwrap())
        .await
        .unwrap()
        .expect("confirmed");
    let locale = s.locale.expect("a language is stored");
    assert_eq!((locale.tag().as_str(), locale.language()), ("ar-JO", "ar"));
}

#[tokio::test]
async fn the_form_lang_wins_over_accept_language() {
    let sink = SmtpSink::start();
    let env = TestEnv::sqlite();
    let (store, state) = state_with_mail(&env, &Settings::smtp(&sink)).await;
    // The signup page asked for in French carries it on in the form.
    let (_, _, page) = call(&state, request("GET", "/subscribe?lang=fr", Some("ar"), None)).await;
    assert!(page.contains(r#"<html lang="fr" dir="ltr">"#), "{page}");
    assert!(
        page.contains(r#"<input type="hidden" name="lang" value="fr">"#),
        "{page}"
    );
    let (_, _, page) = call(&state, request("GET", "/subscribe", Some("ar"), None)).await;
    assert!(
        !page.contains(r#"name="lang""#),
        "no lang asked for, none sent: {page}"
    );

    let (status, _, body) = call(
        &state,
        request(
            "POST",
            "/subscribe",
            Some("ar-JO,ar;q=0.9"),
            Some("email=lea%40example.com&lang=fr"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Consultez votre boîte de réception"), "{body}");
    let got = sink.wait_for_async(1, Duration::from_secs(10)).await;
    let (subject, text, _) = parts(&got[0]);
    assert!(
        plain(&subject).starts_with("Confirmez votre abonnement"),
        "{subject}"
    );
    let path = confirm_path(&text);
    assert!(path.ends_with("?lang=fr"), "{path}");
    let (status, _, _) = call(&state, request("POST", &path, Some("ar"), None)).await;
    assert_eq!(status, StatusCode::OK);
    let s = store
        .find_subscriber(&SubscriberEmail::parse("lea@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.locale.map(|l| l.tag()).as_deref(), Some("fr"));
}

#[tokio::test]
async fn an_unsupported_language_falls_back_to_the_site_locale() {
    let sink = SmtpSink::start();
    let env = TestEnv::sqlite();
    let settings = Settings::smtp(&sink).set("HERALD_SITE__LOCALE", "fr");
    let (store, state) = state_with_mail(&env, &settings).await;
    let (_, _, page) = call(
        &state,
        request("GET", "/subscribe?lang=es", Some("de-DE,es;q=0.8"), None),
    )
    .await;
    assert!(page.contains(r#"<html lang="fr" dir="ltr">"#), "{page}");
    assert!(page.contains("Recevoir la lettre"), "{page}");

    let (status, _, body) = call(
        &state,
        request(
            "POST",
            "/subscribe",
            Some("de-DE,es;q=0.8"),
            Some("email=hans%40example.com&lang=es"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"<html lang="fr" dir="ltr">"#),
        "the site's language: {body}"
    );
    let got = sink.wait_for_async(1, Duration::from_secs(10)).await;
    let (subject, text, _) = parts(&got[0]);
    assert!(
        plain(&subject).starts_with("Confirmez votre abonnement"),
        "{subject}"
    );
    let path = confirm_path(&text);
    assert!(!path.contains("lang="), "no language of their own: {path}");
    let (status, _, _) = call(&state, request("POST", &path, None, None)).await;
    assert_eq!(status, StatusCode::OK);
    let s = store
        .find_subscriber(&SubscriberEmail::parse("hans@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.locale, None, "they follow the site's language");
}

#[tokio::test]
async fn the_preferences_language_change_persists() {
    let env = TestEnv::sqlite();
    let (store, state) = router_state(&env, &Settings::default()).await;
    let token = reader(&store, "ana@example.com", None).await;
    let path = format!("/preferences/{token}");
    let stored = || async {
        store
            .find_subscriber(&SubscriberEmail::parse("ana@example.com").unwrap())
            .await
            .unwrap()
            .unwrap()
            .locale
            .map(|l| l.tag())
    };
    let (_, _, page) = call(&state, request("GET", &path, None, None)).await;
    assert!(
        page.contains(r#"<option value="" selected>The site&#39;s language"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="ar" lang="ar" dir="rtl">العربية</option>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="fr" lang="fr" dir="ltr">Français</option>"#),
        "{page}"
    );

    let fields = "frequency=daily&send_hour=7&timezone=UTC&topics=";
    let (status, _, done) = call(
        &state,
        request("POST", &path, None, Some(&format!("{fields}&locale=ar"))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(
        done.contains(r#"<html lang="ar" dir="rtl">"#),
        "the answer in the new language: {done}"
    );
    assert_eq!(stored().await.as_deref(), Some("ar"));
    let (_, _, page) = call(&state, request("GET", &path, None, None)).await;
    assert!(page.contains(r#"<html lang="ar" dir="rtl">"#), "{page}");
    assert!(
        page.contains(r#"<option value="ar" lang="ar" dir="rtl" selected>العربية</option>"#),
        "{page}"
    );

    // A value no catalog serves is refused, in the reader's language, and
    // nothing changes.
    let (status, _, refused) = call(
        &state,
        request("POST", &path, None, Some(&format!("{fields}&locale=xx-Junk"))),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        plain(&refused).contains("اللغة: اختر لغة من القائمة."),
        "{refused}"
    );
    assert_eq!(stored().await.as_deref(), Some("ar"));
    // A form without the field (a site's older page) keeps it.
    let (status, _, _) = call(&state, request("POST", &path, None, Some(fields))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored().await.as_deref(), Some("ar"));
    // Empty: back to the site's language.
    let (status, _, done) = call(
        &state,
        request("POST", &path, None, Some(&format!("{fields}&locale="))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains(r#"<html lang="en" dir="ltr">"#), "{done}");
    assert_eq!(stored().await, None);
}

#[tokio::test]
async fn a_hostile_accept_language_is_harmless() {
    let env = TestEnv::sqlite();
    let (_, state) = router_state(&env, &Settings::default()).await;
    // Too long (ignored whole), weights and tags that do not parse, many
    // tags no catalog serves, a byte no header may hold.
    let huge = format!("{},ar", "x-".repeat(4000));
    let junk = "ar;q=abc, ;;;, *;q=1, fr;q=2, ;q=0.9, ar-ZZZZZZZZZZ-x, q=1, ,,,,";
    let many = (0..100)
        .map(|i| format!("e{i},de;q=0.{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for accept in [huge.as_str(), junk, many.as_str(), "\u{0}"] {
        let Ok(value) = axum::http::HeaderValue::from_bytes(accept.as_bytes()) else {
            continue;
        };
        let mut req = request("GET", "/subscribe", None, None);
        req.headers_mut().insert("accept-language", value.clone());
        let (status, _, page) = call(&state, req).await;
        assert_eq!(status, StatusCode::OK, "{accept:.40}");
        assert!(page.contains(r#"<html lang="#), "{page}");
        let mut req = request(
            "POST",
            "/subscribe",
            None,
            Some("email=x%40example.com&lang=%00%FF%3Cscript%3E"),
        );
        req.headers_mut().insert("accept-language", value);
        let (status, _, page) = call(&state, req).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(!page.contains("<script>"), "{page}");
    }
    // The only served tags in them had weights that do not parse (so they
    // are refused) or sat past the length limit: the page is the site's.
    let (_, _, page) = call(&state, {
        let mut r = request("GET", "/subscribe", None, None);
        r.headers_mut().insert(
            "accept-language",
            axum::http::HeaderValue::from_str(junk).unwrap(),
        );
        r
    })
    .await;
    assert!(page.contains(r#"<html lang="en" dir="ltr">"#), "{page}");
}

#[tokio::test]
async fn refusals_give_the_catalogs_reasons_in_the_readers_language() {
    let env = TestEnv::sqlite();
    let (store, state) = router_state(&env, &Settings::default()).await;
    let token = reader(&store, "leila@example.com", Some("ar")).await;
    let path = format!("/preferences/{token}");
    let (status, _, page) = call(
        &state,
        request(
            "POST",
            &path,
            Some("en"),
            Some("frequency=daily&send_hour=25&timezone=UTC"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        plain(&page).contains("ساعة الإرسال: اختر ساعة بين 00:00 و23:00."),
        "{page}"
    );
    assert!(!page.contains("out of range"), "not the domain's English: {page}");
    let (status, _, page) = call(
        &state,
        request(
            "POST",
            &path,
            Some("en"),
            Some("frequency=daily&send_hour=7&timezone=Mars%2FOlympus"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        plain(&page).contains("المنطقة الزمنية: هذه ليست منطقة زمنية نعرفها"),
        "{page}"
    );

    // A body that is not a form, to a French visitor.
    let req = Request::post(format!("/unsubscribe/{token}"))
        .header("content-type", "application/json")
        .header("accept-language", "fr-FR")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, page) = call(&state, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("était attendu"), "{page}");
    // A bad address at signup, to an Arabic visitor.
    let (status, _, page) = call(
        &state,
        request("POST", "/subscribe", Some("ar"), Some("email=not-an-address")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("لا يبدو هذا عنوان بريد إلكتروني."), "{page}");
    // An unknown link, to a French visitor.
    let (status, _, page) = call(&state, request("GET", "/preferences/nope", Some("fr"), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Lien non valide"), "{page}");
}
