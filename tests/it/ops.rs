//! Operating Herald: where the configuration file and the store are looked
//! for (a missing store is an error, never created by accident), `herald
//! init`, output to a reader that went away, `--version`, the metrics.

use std::io::Read;
use std::process::Stdio;

use predicates::prelude::*;

use crate::support::{TestEnv, bare_herald, stderr_of, stdout_of};

#[test]
fn a_command_never_creates_a_missing_store_and_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let out = bare_herald(dir.path())
        .args(["subscribers", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    let db = std::path::absolute(dir.path().join("herald.db")).unwrap();
    assert!(
        err.contains(&format!("no store at {}", db.display()))
            && err.contains("database.url is sqlite://herald.db")
            && err.contains("no configuration file (looked for --config, $HERALD_CONFIG, ./config/herald.toml, /etc/herald/herald.toml)")
            && err.contains("`herald migrate`")
            && err.contains("`herald init`"),
        "{err}"
    );
    assert!(!db.exists(), "the store was created");
    for args in [
        &["stories", "list"][..],
        &["send", "--dry-run"],
        &["feeds", "list"],
    ] {
        bare_herald(dir.path())
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("no store at"));
    }
    assert!(!db.exists(), "the store was created");

    // A store named by a configuration file: the message names the file.
    std::fs::write(
        dir.path().join("site.toml"),
        "[database]\nurl = \"sqlite://elsewhere/site.db\"\n",
    )
    .unwrap();
    bare_herald(dir.path())
        .args(["--config", "site.toml", "subscribers", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "database.url is sqlite://elsewhere/site.db",
        ))
        .stderr(predicate::str::contains(
            "configuration file site.toml (named by --config)",
        ));

    // migrate creates it; then the command works.
    bare_herald(dir.path()).arg("migrate").assert().success();
    assert!(db.exists());
    bare_herald(dir.path())
        .args(["subscribers", "list", "--format", "json"])
        .assert()
        .success()
        .stdout("[]\n");
}

#[test]
fn init_writes_a_commented_config_and_creates_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = bare_herald(dir.path())
        .args(["init", "--dir", "site"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let site = dir.path().join("site");
    let config = std::fs::read_to_string(site.join("config/herald.toml")).unwrap();
    assert!(config.starts_with("# Written by `herald init`"), "{config}");
    assert!(
        config.contains("[database]\n") && config.contains("# Size of the connection pool."),
        "the commented defaults: {config}"
    );
    assert!(site.join("herald.db").is_file(), "{}", stdout_of(&out));
    assert!(
        stdout_of(&out).contains("store sqlite://herald.db ready"),
        "{}",
        stdout_of(&out)
    );

    // Run from there, Herald finds the file and the store.
    bare_herald(&site)
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "# read config/herald.toml (found in the working directory)",
        ))
        .stdout(predicate::str::contains("# store: sqlite://herald.db"));
    bare_herald(&site)
        .args(["subscribers", "add", "ada@example.com"])
        .assert()
        .success();

    // A second init leaves the file alone.
    bare_herald(dir.path())
        .args(["init", "--dir", "site"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists and is left as it is"));
    assert_eq!(
        std::fs::read_to_string(site.join("config/herald.toml")).unwrap(),
        config
    );
}

#[test]
fn config_check_says_which_file_it_read() {
    let dir = tempfile::tempdir().unwrap();
    bare_herald(dir.path())
        .args(["config", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "# no configuration file: looked for --config, $HERALD_CONFIG, ./config/herald.toml, /etc/herald/herald.toml",
        ))
        .stdout(predicate::str::contains(format!(
            "# store: {} does not exist yet",
            std::path::absolute(dir.path().join("herald.db")).unwrap().display()
        )));
    std::fs::write(dir.path().join("a.toml"), "[site]\nname = \"From A\"\n").unwrap();
    bare_herald(dir.path())
        .args(["config", "check"])
        .env("HERALD_CONFIG", "a.toml")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "# read a.toml (named by $HERALD_CONFIG)",
        ))
        .stdout(predicate::str::contains("name = \"From A\""));
}

/// `herald config check | head -2`, deterministically: the reader is gone
/// before Herald prints its first line.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let env = TestEnv::sqlite();
    env.herald(&["subscribers", "add", "ada@example.com"])
        .assert()
        .success();
    for args in [
        &["config", "check"][..],
        &["subscribers", "list"],
        &["subscribers", "export"],
        &["subscribers", "list", "--format", "json"],
    ] {
        let mut child = env
            .herald_std(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}");
    }
}

#[test]
fn version_names_the_build_the_tz_database_and_the_backends() {
    let dir = tempfile::tempdir().unwrap();
    let out = bare_herald(dir.path()).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    assert!(
        text.starts_with(&format!("herald {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    // The build may be older than HEAD (a commit since): only its shape then.
    let line = text
        .lines()
        .find(|l| l.starts_with("commit:"))
        .expect("a commit line");
    let hash = line.trim_start_matches("commit:").trim();
    assert!(
        hash == "unknown" && commit.is_none()
            || hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
    assert!(
        text.contains(&format!("tzdata:   {} (IANA", chrono_tz::IANA_TZDB_VERSION)),
        "{text}"
    );
    assert!(text.contains("stores:   sqlite, postgres"), "{text}");
    let built = text
        .lines()
        .find_map(|l| l.strip_prefix("built:    "))
        .expect("a build date");
    assert!(
        chrono::NaiveDate::parse_from_str(built, "%Y-%m-%d").is_ok(),
        "{text}"
    );
}

/// A cron run's metrics, in the textfile collector's format; counters add
/// up across runs.
#[test]
fn metrics_file_is_written_after_a_command_and_counters_add_up() {
    let env = TestEnv::sqlite();
    env.seed_readers(2);
    let file = env.path("herald.prom");
    let file_arg = file.to_str().unwrap();
    env.herald(&[
        "--metrics-file",
        file_arg,
        "send",
        "--date",
        "2026-03-10",
        "--now",
        "2026-03-10T08:00:00Z",
    ])
    .assert()
    .success();
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(
        first.contains("# TYPE herald_deliveries_total counter\n"),
        "{first}"
    );
    assert!(
        first.contains("herald_deliveries_total{outcome=\"sent\"} 2\n"),
        "{first}"
    );
    assert!(!first.contains("# EOF"), "{first}");
    env.herald(&[
        "--metrics-file",
        file_arg,
        "send",
        "--date",
        "2026-03-11",
        "--now",
        "2026-03-11T08:00:00Z",
    ])
    .assert()
    .success();
    let second = std::fs::read_to_string(&file).unwrap();
    assert!(
        second.contains("herald_deliveries_total{outcome=\"sent\"} 2\n"),
        "{second}"
    );
    assert!(
        second.contains("herald_deliveries_total{outcome=\"skipped\"} 2\n"),
        "{second}"
    );
}

/// `herald run` under a stand-in for systemd's notify socket: READY once
/// it serves, WATCHDOG while ticks keep time, STOPPING on SIGTERM; and the
/// metrics on their own listener, /readyz on the public one.
#[test]
fn the_daemon_notifies_systemd_and_feeds_the_watchdog() {
    use std::os::unix::net::UnixDatagram;
    use std::time::{Duration, Instant};

    let env = TestEnv::sqlite();
    let socket_path = env.path("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let port = free_port();
    let metrics_port = free_port();
    let mut child = env
        .herald_std(&["run"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "3000000")
        .env("HERALD_SCHEDULE__TICK", "*/2 * * * * *")
        .env("HERALD_HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .env("HERALD_METRICS__LISTEN", format!("127.0.0.1:{metrics_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut received = Vec::new();
    let mut next = |what: &str| -> String {
        let mut buf = [0u8; 512];
        let n = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("waiting for {what}: {e}; got {received:?}"));
        let message = String::from_utf8_lossy(&buf[..n]).into_owned();
        received.push(message.clone());
        message
    };
    assert_eq!(next("READY"), "READY=1\n");
    // Ready means both listeners answer.
    let http = crate::support::http::Http::new(port);
    assert_eq!(http.get("/readyz").status, 200);
    assert_eq!(http.get("/metrics").status, 404);
    let metrics = crate::support::http::Http::new(metrics_port).get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("herald_build_info{"), "{}", metrics.body);
    let started = Instant::now();
    assert_eq!(next("a watchdog ping"), "WATCHDOG=1\n");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "pinged within WatchdogSec"
    );
    // WatchdogSec=3 s: a ping every second (a third of it), each within
    // WatchdogSec of the last, and not a burst.
    let first = Instant::now();
    let mut last = first;
    for _ in 0..3 {
        assert_eq!(next("the next watchdog ping"), "WATCHDOG=1\n");
        assert!(
            last.elapsed() < Duration::from_secs(3),
            "a gap of {:?}",
            last.elapsed()
        );
        last = Instant::now();
    }
    let three = first.elapsed();
    assert!(
        three >= Duration::from_millis(1500),
        "three pings in {three:?}: the watchdog is fed every second"
    );

    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let stopping = loop {
        let m = next("STOPPING");
        if m != "WATCHDOG=1\n" {
            break m;
        }
    };
    assert!(stopping.starts_with("STOPPING=1\n"), "{stopping:?}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `herald send` on a terminal (a pseudo-terminal from util-linux's
/// `script`): the progress bar is drawn, and a log line written while it
/// is up (the relay's policy refusal, in the middle of the edition) prints
/// whole on its own line, never glued to a frame of the bar.
#[test]
fn log_lines_print_above_the_progress_bar_on_a_terminal() {
    use crate::support::smtp::{Policy, Reply, SmtpSink};
    use std::time::Duration;

    let env = TestEnv::sqlite();
    env.seed_readers(12);
    // One message at a time, each answered after 40 ms: the bar is drawn
    // (at most 20 times a second) before and after the refusal.
    let sink = SmtpSink::start_with(
        Policy::new()
            .on_rcpt(
                "reader5@example.com",
                Reply::Text(550, "5.7.1 Message rejected by policy"),
            )
            .delay_each(Duration::from_millis(40)),
    );
    let mut herald = env.herald_std(&["send", "--date", "2026-03-10", "--now", "2026-03-10T08:00:00Z"]);
    herald
        .envs(crate::support::Settings::smtp(&sink).vars())
        .env("HERALD_DELIVERY__CONCURRENCY", "1")
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1");
    let out = on_a_terminal(&herald);
    // 3: the edition ran, and a delivery failed (the refusal).
    assert_eq!(out.status.code(), Some(3), "{}", stdout_of(&out));
    let screen = String::from_utf8_lossy(&out.stdout);

    let bar = |line: &str| line.contains('█') || line.contains('░');
    let lines: Vec<String> = screen.split('\n').map(visible).collect();
    let refusal = lines
        .iter()
        .position(|l| l.contains("refused the message for policy reasons"))
        .unwrap_or_else(|| panic!("no log line for the refusal: {screen:?}"));
    // The test can only fail if the bar is up around the log line.
    let raw: Vec<&str> = screen.split('\n').collect();
    assert!(
        raw[..=refusal].iter().any(|l| bar(l)),
        "no bar before the log line: {screen:?}"
    );
    assert!(
        raw[refusal..].iter().any(|l| bar(l)),
        "no bar after the log line: {screen:?}"
    );
    for line in lines.iter().filter(|l| l.contains(" WARN ")) {
        assert!(
            !bar(line) && line.starts_with("20"),
            "a log line glued to the bar: {line:?} in {screen:?}"
        );
    }
}

/// Runs `cmd` under a pseudo-terminal (`script -qfec`), its stdout and
/// stderr both the terminal; the output is what the terminal was sent.
fn on_a_terminal(cmd: &std::process::Command) -> std::process::Output {
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_str().unwrap().replace('\'', r"'\''"));
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = std::process::Command::new("script");
    script.args(["-qfec", &line, "/dev/null"]).stdin(Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        script.current_dir(dir);
    }
    script.output().expect("script (util-linux) runs")
}

/// What a terminal line shows at its end: the text after its last carriage
/// return or clear-line, without escape sequences (and without the CR of
/// the terminal's CR LF).
fn visible(line: &str) -> String {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let start = [
        line.rfind('\r').map(|i| i + 1),
        line.rfind("\x1b[2K").map(|i| i + 4),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters, then one final byte in @..~.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}
