//! Languages through the real binary: a subscriber's locale set by `add
//! --locale`, an import's `locale` column (a bad tag rejected with its line
//! and field, an empty cell keeping what is stored), shown by `show`,
//! exported and imported back unchanged, on SQLite and PostgreSQL;
//! `site.locale` checked at load; `herald locales check` passing on the
//! shipped catalogs and naming the key a broken copy lacks.

use std::path::Path;

use predicates::prelude::*;

use crate::support::{TestEnv, bare_herald, stderr_of, stdout_of};

both_backends! {
    fn locale_round_trips_through_add_import_export_and_the_store(env: &TestEnv) {
        env.herald(&["subscribers", "add", "zoe@example.com", "--locale", "fr_ca"]).assert().success();
        env.herald(&["subscribers", "add", "sam@example.com"]).assert().success();
        assert_eq!(env.show("zoe@example.com")["locale"], "fr-CA", "stored in canonical form");
        assert!(env.show("sam@example.com")["locale"].is_null(), "none chosen: the site's");
        env.herald(&["subscribers", "show", "zoe@example.com"])
            .assert()
            .success()
            .stdout(predicate::str::contains("locale:          fr-CA"));
        env.herald(&["subscribers", "show", "sam@example.com"])
            .assert()
            .success()
            .stdout(predicate::str::contains("locale:          (the site's, site.locale)"));
        env.herald(&["subscribers", "add", "x@example.com", "--locale", "english!"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("BCP 47"));

        let csv = env.write(
            "subs.csv",
            "email,name,locale\nrana@example.com,رنا الصباغ,ar-jo\nbad@example.com,Bad,xx-!!\nsam@example.com,Sam,\nzoe@example.com,Zoë,ar\n",
        );
        let out = env.herald(&["subscribers", "import", csv.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout_of(&out).contains("imported 1, updated 2, rejected 1"), "{}", stdout_of(&out));
        assert!(stderr_of(&out).contains("line 3: field locale: \"xx-!!\" is not a language tag"), "{}", stderr_of(&out));
        assert_eq!(env.show("rana@example.com")["locale"], "ar-JO");
        assert_eq!(env.show("zoe@example.com")["locale"], "ar", "a given locale replaces the stored one");
        assert!(env.show("sam@example.com")["locale"].is_null(), "an empty cell keeps what is stored");

        let export = env.path("export.csv");
        env.herald(&["subscribers", "export", "--out", export.to_str().unwrap()]).assert().success();
        let first = std::fs::read_to_string(&export).unwrap();
        assert!(first.starts_with("email,name,timezone,frequency,send_hour,topics,status,locale\n"), "{first}");
        assert!(first.contains("rana@example.com,رنا الصباغ,UTC,daily,7,,active,ar-JO\n"), "{first}");
        assert!(first.contains("sam@example.com,Sam,UTC,daily,7,,active,\n"), "{first}");

        let other = TestEnv::sqlite();
        other.herald(&["subscribers", "import", export.to_str().unwrap()])
            .assert()
            .success()
            .stdout(predicate::str::contains("imported 3, updated 0, rejected 0"));
        let out = other.herald(&["subscribers", "export"]).output().unwrap();
        assert_eq!(stdout_of(&out), first, "export, import, export: identical");
        let list: Vec<serde_json::Value> = env.json(&["subscribers", "export", "--format", "json"]);
        let locales: Vec<&serde_json::Value> = list.iter().map(|s| &s["locale"]).collect();
        assert_eq!(locales, [&serde_json::json!("ar"), &serde_json::Value::Null, &serde_json::json!("ar-JO")]);
    }
}

#[test]
fn site_locale_is_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    bare_herald(dir.path())
        .args(["config", "check"])
        .env("HERALD_SITE__LOCALE", "es")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("site.locale"))
        .stderr(predicate::str::contains(
            "no catalog for es; Herald has catalogs for en, ar, fr",
        ));
    bare_herald(dir.path())
        .args(["config", "check"])
        .env("HERALD_SITE__LOCALE", "not a tag")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("site.locale"));
    bare_herald(dir.path())
        .args(["config", "check"])
        .env("HERALD_SITE__LOCALE", "ar-JO")
        .assert()
        .success()
        .stdout(predicate::str::contains("locale = \"ar-JO\""));
}

#[test]
fn locales_check_passes_on_the_shipped_catalogs_and_names_a_broken_key() {
    let dir = tempfile::tempdir().unwrap();
    bare_herald(dir.path())
        .args(["locales", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("3 catalog(s) (en, ar, fr)"))
        .stdout(predicate::str::contains(", 0 problem(s)"));

    // A copy of locales/ with one French message removed and one English
    // message that nothing uses.
    let copy = dir.path().join("locales");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    for tag in ["en", "ar", "fr"] {
        std::fs::create_dir_all(copy.join(tag)).unwrap();
        for file in ["digest.ftl", "pages.ftl", "mail.ftl"] {
            let mut text = std::fs::read_to_string(shipped.join(tag).join(file)).unwrap();
            if tag == "fr" && file == "pages.ftl" {
                text = text
                    .lines()
                    .filter(|l| !l.starts_with("page-internal-title"))
                    .map(|l| format!("{l}\n"))
                    .collect();
            }
            if tag == "en" && file == "digest.ftl" {
                text.push_str("digest-leftover = Nobody asks for this\n");
            }
            std::fs::write(copy.join(tag).join(file), text).unwrap();
        }
    }
    let out = bare_herald(dir.path())
        .args(["locales", "check", "--dir", copy.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("missing: fr: page-internal-title (used by Herald)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("unused: en: digest-leftover\n"), "{stdout}");
    assert!(stdout.contains(", 2 problem(s)"), "{stdout}");

    // A template of the site's that calls a key no catalog has.
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    for (name, text) in herald::templates::TemplateSources::builtin().files {
        std::fs::write(templates.join(name), text).unwrap();
    }
    std::fs::write(
        templates.join("subject.txt"),
        "{{ t(key=\"digest-subject\", frequency=frequency, date=date_label) }}\n{{ t(key=\"digest-special\") }}",
    )
    .unwrap();
    let out = bare_herald(dir.path())
        .args(["locales", "check", "--templates", templates.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("missing: ar: digest-special (used by subject.txt ("),
        "{stdout}"
    );
    assert!(stdout.contains(" line 2)"), "{stdout}");
}
