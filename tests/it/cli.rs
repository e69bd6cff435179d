//! The admin CLI, driven through the real binary against a real store, on
//! SQLite and on PostgreSQL: adding, showing, listing, unsubscribing and
//! removing subscribers; importing and exporting them (CSV, stdin, dry run,
//! upsert by address); importing and listing stories (JSON, JSON Lines,
//! CSV, filters); migrations; `config check` (layers, redaction, exit 2
//! naming the key and its source); the demo; `--help`. Each bad input is
//! checked for its exit status and for the message that names the line,
//! field or key, which is the command's contract; what was stored is read
//! back as JSON.

use predicates::prelude::*;

use crate::support::{TestEnv, bare_herald, stderr_of, stdout_of};

const SUBSCRIBERS_CSV: &str = "\
email,name,timezone,frequency,send_hour,topics,status
 Ana.Lima@Example.COM ,Ana Lima,America/Sao_Paulo,daily,7,,active
leila@example.org,ليلى حداد,Asia/Amman,weekly,8,world;culture,
not-an-address,Bad Email,UTC,daily,7,,
tz@example.com,Bad Zone,Mars/Olympus,daily,7,,
hour@example.com,Bad Hour,UTC,daily,24,,
\"crlf@example.com\",\"Evil\r\nBcc: victim@example.com\",UTC,daily,7,,
status@example.com,Bad Status,UTC,daily,7,,sleeping
freq@example.com,Bad Frequency,UTC,monthly,7,,
kenji@example.jp,佐藤 健二,Asia/Tokyo,daily,6,science,pending
";

const STORIES_JSON: &str = r#"[
  {"kind": "story", "title": "Council approves night buses", "url": "https://news.example.com/a",
   "summary": "Night routes stay.", "author": "Marta Oliveira", "section": "world",
   "published_at": "2026-03-10T06:00:00Z", "votes": 10, "comments": 2},
  {"kind": "blog", "title": "How we verify photos", "url": "https://news.example.com/b",
   "author": "Élodie Marchand", "section": "newsroom", "image_url": "https://news.example.com/b.jpg",
   "published_at": "2026-03-09T18:00:00+01:00", "votes": 5},
  {"title": "No scheme", "url": "javascript:alert(1)", "published_at": "2026-03-10T06:00:00Z"},
  {"url": "https://news.example.com/no-title", "published_at": "2026-03-10T06:00:00Z"},
  {"title": "Negative", "url": "https://news.example.com/neg", "published_at": "2026-03-10T06:00:00Z", "votes": -3},
  {"title": "Evil\nBcc: x@example.com", "url": "https://news.example.com/crlf", "published_at": "2026-03-10T06:00:00Z"},
  {"title": "Bad date", "url": "https://news.example.com/date", "published_at": "yesterday"}
]
"#;

both_backends! {
    fn add_show_unsubscribe_remove(env: &TestEnv) {
        env.herald(&["subscribers", "add", " Zoe@Example.COM ", "--name", "Zoë Laurent",
                     "--timezone", "Europe/Paris", "--frequency", "weekly", "--send-hour", "9",
                     "--topics", "sport,culture"])
            .assert()
            .success();
        // The same address again, domain in another case: refused, nothing changed.
        env.herald(&["subscribers", "add", "Zoe@EXAMPLE.com"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("error: Zoe@example.com is already a subscriber"));
        // The table form names what was set.
        env.herald(&["subscribers", "show", "Zoe@example.com"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Zoë Laurent"));
        let json = env.show("Zoe@example.com");
        assert_eq!(json["email"], "Zoe@example.com", "the domain is lower-cased, the local part kept");
        assert_eq!(json["name"], "Zoë Laurent");
        assert_eq!(json["frequency"], "weekly");
        assert_eq!(json["send_hour"], 9);
        assert_eq!(json["timezone"], "Europe/Paris");
        assert_eq!(json["topics"], serde_json::json!(["sport", "culture"]));
        assert_eq!(json["status"], "active");
        assert!(json["confirmed_at"].is_string());
        assert!(json.get("token").is_none(), "the token is a secret and must not be printed");

        env.herald(&["subscribers", "add", "pat@example.com", "--pending"]).assert().success();
        assert_eq!(env.show("pat@example.com")["status"], "pending");

        env.herald(&["subscribers", "unsubscribe", "Zoe@example.com"]).assert().success();
        let json = env.show("Zoe@example.com");
        assert_eq!(json["status"], "unsubscribed");
        assert!(json["unsubscribed_at"].is_string());

        let pending: Vec<serde_json::Value> = env.json(&["subscribers", "list", "--status", "pending", "--format", "json"]);
        let emails: Vec<&str> = pending.iter().map(|s| s["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["pat@example.com"]);

        env.herald(&["subscribers", "remove", "Zoe@example.com"]).assert().success();
        env.herald(&["subscribers", "show", "Zoe@example.com"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("no subscriber with address Zoe@example.com"));
        env.herald(&["subscribers", "remove", "Zoe@example.com"]).assert().code(1);
        env.herald(&["subscribers", "unsubscribe", "nobody@example.com"]).assert().code(1);
    }

    fn add_rejects_bad_arguments_as_usage_errors(env: &TestEnv) {
        for args in [
            &["subscribers", "add", "not-an-address"][..],
            &["subscribers", "add", "a@example.com", "--timezone", "Mars/Olympus"],
            &["subscribers", "add", "a@example.com", "--send-hour", "24"],
            &["subscribers", "add", "a@example.com", "--frequency", "monthly"],
            &["subscribers", "add", "a@example.com", "--name", "Evil\r\nBcc: x@example.com"],
        ] {
            env.herald(args).assert().code(2).stderr(predicate::str::contains("error:"));
        }
        let long = format!("{}@example.com", "a".repeat(250));
        env.herald(&["subscribers", "add", &long])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("254"));
    }

    fn import_reports_bad_rows_and_keeps_good_ones(env: &TestEnv) {
        let file = env.write("subs.csv", SUBSCRIBERS_CSV);
        let out = env.herald(&["subscribers", "import", file.to_str().unwrap()]).output().unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "rejected rows make the exit status 1");
        assert!(stdout_of(&out).contains("imported 3, updated 0, rejected 6"), "{}", stdout_of(&out));
        for expected in [
            "line 4: field email: \"not-an-address\" is not a valid email address",
            "line 5: field timezone: \"Mars/Olympus\" is not an IANA time zone",
            "line 6: field send_hour: 24 is out of range",
            "line 7: field name: contains a line break",
            "line 9: field status: \"sleeping\" is not a status",
            "line 10: field frequency: \"monthly\" is not a frequency",
        ] {
            assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
        }
        // The good rows are all there, normalized.
        let list: Vec<serde_json::Value> = env.json(&["subscribers", "list", "--format", "json"]);
        let emails: Vec<&str> = list.iter().map(|s| s["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["Ana.Lima@example.com", "leila@example.org", "kenji@example.jp"]);
        assert_eq!(list[1]["name"], "ليلى حداد");
        assert_eq!(list[1]["frequency"], "weekly");
        assert_eq!(list[1]["topics"], serde_json::json!(["world", "culture"]));
        assert_eq!(list[1]["status"], "active", "an import without status adds active subscribers");
        assert_eq!(list[2]["status"], "pending");
        assert_eq!(list[2]["send_hour"], 6);

        // Upsert by email: only the given fields change.
        let update = env.write("update.csv", "email,send_hour,status\nleila@example.org,9,\nnew@example.com,,\n");
        env.herald(&["subscribers", "import", update.to_str().unwrap()])
            .assert()
            .success()
            .stdout(predicate::str::contains("imported 1, updated 1, rejected 0"));
        let leila = env.show("leila@example.org");
        assert_eq!(leila["send_hour"], 9);
        assert_eq!(leila["timezone"], "Asia/Amman", "fields not in the row are kept");
        assert_eq!(leila["name"], "ليلى حداد");
        let new = env.show("new@example.com");
        assert_eq!(new["timezone"], "UTC", "defaults from subscribers.default_timezone");
        assert_eq!(new["send_hour"], 7, "defaults from subscribers.default_send_hour");
    }

    fn import_dry_run_and_stdin(env: &TestEnv) {
        let csv = "email,name\nfirst@example.com,First\nsecond@example.com,Second\nbad,Bad\n";
        env.herald(&["subscribers", "import", "-", "--dry-run"])
            .write_stdin(csv)
            .assert()
            .code(1)
            .stdout(predicate::str::contains("dry run, nothing written: would have imported 2, updated 0, rejected 1"))
            .stderr(predicate::str::contains("rejected: stdin: line 4: field email"));
        env.herald(&["subscribers", "list", "--format", "csv"])
            .assert()
            .success()
            .stdout("email,name,timezone,frequency,send_hour,topics,status,locale\n");
        env.herald(&["subscribers", "import", "-"])
            .write_stdin("email\nfirst@example.com\nfirst@example.com\n")
            .assert()
            .success()
            .stdout(predicate::str::contains("imported 1, updated 1, rejected 0"));
    }

    fn export_round_trips_through_import(env: &TestEnv) {
        let file = env.write("subs.csv", SUBSCRIBERS_CSV);
        env.herald(&["subscribers", "import", file.to_str().unwrap()]).assert().code(1);
        env.herald(&["subscribers", "unsubscribe", "kenji@example.jp"]).assert().success();
        let export = env.path("export.csv");
        env.herald(&["subscribers", "export", "--out", export.to_str().unwrap()])
            .assert()
            .success()
            .stderr(predicate::str::contains("exported 3 subscriber(s)"));
        let first = std::fs::read_to_string(&export).unwrap();
        assert!(first.contains("leila@example.org,ليلى حداد,Asia/Amman,weekly,8,world;culture,active"), "{first}");
        assert!(first.contains("kenji@example.jp,佐藤 健二,Asia/Tokyo,daily,6,science,unsubscribed"), "{first}");

        // Into a second, empty store, and out again: identical.
        let other = TestEnv::sqlite();
        other.herald(&["subscribers", "import", export.to_str().unwrap()])
            .assert()
            .success()
            .stdout(predicate::str::contains("imported 3, updated 0, rejected 0"));
        let out = other.herald(&["subscribers", "export"]).output().unwrap();
        assert_eq!(stdout_of(&out), first);

        let list: Vec<serde_json::Value> = env.json(&["subscribers", "export", "--format", "json"]);
        assert_eq!(list.len(), 3);
        let out = env.herald(&["subscribers", "list"]).output().unwrap();
        let table = stdout_of(&out);
        assert!(table.starts_with("EMAIL"), "{table}");
        assert_eq!(table.lines().count(), 4);
    }

    fn stories_import_validates_and_upserts(env: &TestEnv) {
        let file = env.write("stories.json", STORIES_JSON);
        let out = env.herald(&["stories", "import", file.to_str().unwrap()]).output().unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout_of(&out).contains("imported 2, updated 0, rejected 5"), "{}", stdout_of(&out));
        for expected in [
            "item 3 (ending on line 8): field url: \"javascript:alert(1)\" has scheme \"javascript\"",
            "item 4 (ending on line 9): field title: is missing",
            "item 5 (ending on line 10): field votes: -3 is negative",
            "item 6 (ending on line 11): field title: contains a line break",
            "item 7 (ending on line 12): field published_at: \"yesterday\" is not an RFC 3339 timestamp",
        ] {
            assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
        }

        // Re-import with new votes: updated, not duplicated; unchanged rows are untouched.
        let jsonl = env.write(
            "update.jsonl",
            "{\"title\": \"Council approves night buses\", \"url\": \"https://news.example.com/a\", \"summary\": \"Night routes stay.\", \"author\": \"Marta Oliveira\", \"section\": \"world\", \"published_at\": \"2026-03-10T06:00:00Z\", \"votes\": 99, \"comments\": 40}\n\
             \n\
             {\"kind\": \"blog\", \"title\": \"How we verify photos\", \"url\": \"https://news.example.com/b\", \"author\": \"Élodie Marchand\", \"section\": \"newsroom\", \"image_url\": \"https://news.example.com/b.jpg\", \"published_at\": \"2026-03-09T17:00:00Z\", \"votes\": 5}\n\
             {not json}\n",
        );
        let out = env.herald(&["stories", "import", jsonl.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(stdout_of(&out).contains("imported 0, updated 1, rejected 1 (1 unchanged)"), "{}", stdout_of(&out));
        assert!(stderr_of(&out).contains("line 4: invalid JSON"), "{}", stderr_of(&out));

        let list: Vec<serde_json::Value> = env.json(&["stories", "list", "--format", "json"]);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["url"], "https://news.example.com/a");
        assert_eq!(list[0]["votes"], 99);
        assert_eq!(list[0]["comments"], 40);
        assert_eq!(list[1]["author"], "Élodie Marchand");
        assert_eq!(list[1]["published_at"], "2026-03-09T17:00:00Z", "stored in UTC");
        assert_eq!(list[1]["image_url"], "https://news.example.com/b.jpg");
    }

    fn stories_csv_stdin_and_list_filters(env: &TestEnv) {
        let csv = "kind,title,url,summary,author,section,image_url,published_at,votes,comments\n\
                   story,Old story,https://news.example.com/old,,,world,,2026-03-01T00:00:00Z,1,0\n\
                   story,New story,https://news.example.com/new,\"Multi\nline summary\",Ana,world,,2026-03-10T00:00:00Z,3,1\n\
                   blog,A blog post,https://news.example.com/blog,,,data,,2026-03-10T01:00:00Z,,\n\
                   story,Bad votes,https://news.example.com/bad,,,world,,2026-03-10T01:00:00Z,many,0\n";
        env.herald(&["stories", "import", "-"])
            .write_stdin(csv)
            .assert()
            .code(1)
            .stdout(predicate::str::contains("imported 3, updated 0, rejected 1"))
            .stderr(predicate::str::contains("line 6: field votes: \"many\" is not a number"));
        let list: Vec<serde_json::Value> = env.json(&["stories", "list", "--since", "2026-03-05T00:00:00Z", "--format", "json"]);
        let titles: Vec<&str> = list.iter().map(|s| s["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["A blog post", "New story"]);
        assert_eq!(list[1]["summary"], "Multi line summary");
        let list: Vec<serde_json::Value> = env.json(&["stories", "list", "--kind", "story", "--limit", "1", "--format", "json"]);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["title"], "New story");
        env.herald(&["stories", "list"])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("PUBLISHED"))
            .stdout(predicate::str::contains("A blog post"));
        // --format overrides the extension.
        let jsonl = env.write("stories.txt", "{\"title\": \"T\", \"url\": \"https://news.example.com/t\", \"published_at\": \"2026-03-10T00:00:00Z\"}\n");
        env.herald(&["stories", "import", jsonl.to_str().unwrap()])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("pass --format json, jsonl or csv"));
        env.herald(&["stories", "import", jsonl.to_str().unwrap(), "--format", "jsonl"])
            .assert()
            .success()
            .stdout(predicate::str::contains("imported 1, updated 0, rejected 0"));
    }

    fn unreadable_or_malformed_files_fail_in_one_line(env: &TestEnv) {
        let missing = env.path("missing.csv");
        env.herald(&["subscribers", "import", missing.to_str().unwrap()])
            .assert()
            .code(1)
            .stderr(predicate::str::is_match("^error: cannot open .*missing.csv: No such file").unwrap());
        let headerless = env.write("noheader.csv", "ana@example.com,Ana\n");
        let out = env.herald(&["subscribers", "import", headerless.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = stderr_of(&out);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("noheader.csv") && stderr.contains("line 1") && stderr.contains("header row"), "{stderr}");
        let broken = env.write("broken.json", "[{\"title\": \"A\", \"url\": \"https://news.example.com/x\", \"published_at\": \"2026-03-10T00:00:00Z\"},\n {\"title\": ");
        let out = env.herald(&["stories", "import", broken.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = stderr_of(&out);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("broken.json") && stderr.contains("invalid JSON") && stderr.contains("line 2"), "{stderr}");
        // The good story before the break was kept.
        let kept: Vec<serde_json::Value> = env.json(&["stories", "list", "--format", "json"]);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0]["url"], "https://news.example.com/x");
        let not_array = env.write("object.json", "{\"title\": \"A\"}");
        env.herald(&["stories", "import", not_array.to_str().unwrap()])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("expected an array of story objects"));
    }

    fn migrate_is_idempotent(env: &TestEnv) {
        // Opening the store applied the migrations already.
        env.herald(&["subscribers", "list"]).assert().success();
        env.herald(&["migrate"]).assert().success().stdout(predicate::str::contains("applied 0 migration(s)"));
    }
}

#[test]
fn migrate_creates_a_new_sqlite_store() {
    let env = TestEnv::sqlite_without_store();
    // Every migration in the source tree, however many there are by now.
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sql"))
        .count();
    env.herald(&["migrate"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "applied {migrations} migration(s)"
        )));
    assert!(env.path("herald.db").exists());
}

#[test]
fn config_check_layers_and_redacts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/herald.toml"),
        "[site]\nname = \"Daily Planet\"\n[subscribers]\ndefault_send_hour = 6\n",
    )
    .unwrap();
    bare_herald(dir.path())
        .args(["config", "check"])
        .env("HERALD_SUBSCRIBERS__DEFAULT_TIMEZONE", "Asia/Kathmandu")
        .env("HERALD_MAIL__SMTP_PASSWORD", "hunter2")
        .args(["--database-url", "postgres://herald:s3cret@db.example.com/herald"])
        .assert()
        .success()
        .stdout(predicate::str::contains("name = \"Daily Planet\""))
        .stdout(predicate::str::contains("default_send_hour = 6"))
        .stdout(predicate::str::contains("default_timezone = \"Asia/Kathmandu\""))
        .stdout(predicate::str::contains(
            "postgres://herald:[redacted]@db.example.com/herald",
        ))
        .stdout(predicate::str::contains("smtp_password is set (value redacted)"))
        .stdout(predicate::str::contains("hunter2").not())
        .stdout(predicate::str::contains("s3cret").not());
}

#[test]
fn bad_configuration_exits_2_naming_key_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.toml");
    std::fs::write(&file, "[database]\nurl = \"sqlite://x.db\"\nmax_conections = 3\n").unwrap();
    bare_herald(dir.path())
        .args(["--config", file.to_str().unwrap(), "config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("max_conections"))
        .stderr(predicate::str::contains("custom.toml"));
    std::fs::write(&file, "[mail]\ntransport = \"pigeon\"\n").unwrap();
    bare_herald(dir.path())
        .args(["config", "check"])
        .env("HERALD_CONFIG", file.to_str().unwrap())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mail.transport"))
        .stderr(predicate::str::contains("\"pigeon\""))
        .stderr(predicate::str::contains("\"file\" or \"smtp\""));
    std::fs::write(&file, "[mail]\nsmtp_password = \"hunter2\"\n").unwrap();
    bare_herald(dir.path())
        .args(["--config", file.to_str().unwrap(), "config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("holds a secret"))
        .stderr(predicate::str::contains("hunter2").not());
    bare_herald(dir.path())
        .args(["config", "check"])
        .env("HERALD_SUBSCRIBERS__DEFAULT_SEND_HOUR", "25")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("subscribers.default_send_hour"))
        .stderr(predicate::str::contains("25 is out of range"))
        .stderr(predicate::str::contains("HERALD_SUBSCRIBERS__DEFAULT_SEND_HOUR"));
    bare_herald(dir.path())
        .args(["--config", "does-not-exist.toml", "config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read config file does-not-exist.toml",
        ));
    bare_herald(dir.path())
        .args(["--database-url", "mysql://x", "config", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("database.url"))
        .stderr(predicate::str::contains("--database-url"));
}

#[test]
fn demo_imports_and_lists_the_samples() {
    let dir = tempfile::tempdir().unwrap();
    bare_herald(dir.path())
        .args(["demo", "--dir", "out"])
        .assert()
        .success()
        .stdout(predicate::str::contains("stories imported 37"))
        .stdout(predicate::str::contains("subscribers imported 10"))
        .stdout(predicate::str::contains("sent 7, skipped 0"));
    assert!(dir.path().join("out/herald.db").exists());
    assert!(dir.path().join("out/preview.html").exists());
    let emls = std::fs::read_dir(dir.path().join("out/outbox")).unwrap().count();
    assert_eq!(emls, 7, "one .eml per active daily subscriber");
    // The same edition again: nothing new is sent.
    bare_herald(dir.path())
        .args(["demo", "--dir", "out"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sent 0, skipped 0"));
    assert_eq!(
        std::fs::read_dir(dir.path().join("out/outbox")).unwrap().count(),
        7
    );
}

#[test]
fn help_describes_every_command() {
    let dir = tempfile::tempdir().unwrap();
    bare_herald(dir.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("subscribers"))
        .stdout(predicate::str::contains("stories"))
        .stdout(predicate::str::contains("--database-url"));
    bare_herald(dir.path())
        .args(["subscribers", "import", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "email,name,timezone,frequency,send_hour,topics,status",
        ));
    bare_herald(dir.path())
        .args(["subscribers", "frobnicate"])
        .assert()
        .code(2);
}

#[test]
fn config_check_accepts_a_pkcs8_rsa_dkim_key_and_names_it() {
    use rsa::pkcs8::EncodePrivateKey;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("dkim.pem");
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA keygen");
    let pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    std::fs::write(&key_file, pem.as_bytes()).unwrap();
    let file = dir.path().join("herald.toml");
    std::fs::write(
        &file,
        format!(
            "[mail.dkim]\ndomain = \"example.com\"\nselector = \"herald\"\nkey_file = \"{}\"\n",
            key_file.display()
        ),
    )
    .unwrap();
    bare_herald(dir.path())
        .args(["--config", file.to_str().unwrap(), "config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "# mail.dkim key: RSA 2048-bit (PKCS#8) from {} (value redacted)",
            key_file.display()
        )))
        .stdout(predicate::str::contains("PRIVATE KEY").not());
}

#[test]
fn config_check_rejects_an_unknown_tls_value_naming_key_and_layer() {
    let dir = tempfile::tempdir().unwrap();
    bare_herald(dir.path())
        .args(["config", "check"])
        .env("HERALD_MAIL__SMTP_URL", "smtp://relay.example.com:587?tls=bogus")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "config key mail.smtp_url (from environment variable HERALD_MAIL__SMTP_URL)",
        ))
        .stderr(predicate::str::contains("tls=bogus is not understood"));
}
