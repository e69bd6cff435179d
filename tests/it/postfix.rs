//! The return path through a real MTA: Postfix from Debian, run by the test
//! from a configuration of its own in a temporary directory (its own queue,
//! an smtpd on a free 127.0.0.1 port, logs to a file there), between Herald
//! and the test's SMTP server. Herald sends an edition with a VERP envelope
//! sender to Postfix, which accepts every recipient with 250 and relays them
//! to the SMTP server; that server refuses some of them as a real mailbox
//! host would (no such user, mailbox full, a spam block), so Postfix writes
//! its own DSNs to the VERP addresses, and its transport map hands those to
//! a pipe(8) transport running `herald --config FILE bounces ingest
//! --recipient ${original_recipient} -`, as an operator would. The test
//! waits for every DSN to be ingested, then checks that exactly the dead
//! addresses bounced and everyone else is untouched.
//!
//! Without /usr/sbin/postfix at build time (see build.rs) the test is
//! reported as ignored, with the reason; when it does not run as root it
//! passes without doing anything and prints why (master(8) must start as
//! root; pipe(8) then runs herald as `nobody`). Postfix is stopped, and its
//! process group killed if it lingers, however the test ends. Set
//! HERALD_TEST_POSTFIX_KEEP=DIR to keep the DSNs Postfix produced
//! (tests/fixtures/bounces/postfix/real-postfix-dsn.eml came from it).

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use herald::testing::{at, daily};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

use crate::support::smtp::{Policy, Reply, SmtpSink};
use crate::support::{Settings, TestEnv};

const POSTFIX: &str = "/usr/sbin/postfix";
/// The user pipe(8) runs herald as: it refuses root and the mail owner.
const PIPE_USER: &str = "nobody";
const RETURN_PATH: &str = "bounces+{id}@bounces.example.com";
/// A store that cannot be opened: the database is down.
const UNREACHABLE_STORE: &str = "sqlite:///nonexistent/herald.db";
const NOW: &str = "2026-03-10T07:00:00Z";
const DATE: &str = "2026-03-10";
/// How long Postfix gets to relay, bounce and pipe every DSN. Generous:
/// on a loaded machine (the whole suite in parallel, a cold page cache for
/// the first herald the pipe runs) one pass can take tens of seconds.
const PATIENCE: Duration = Duration::from_secs(120);
/// How often a wait for piped DSNs flushes Postfix's deferred queue.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Why this machine cannot run the test, if it cannot.
fn unavailable() -> Option<String> {
    if !Path::new(POSTFIX).exists() {
        return Some(format!(
            "{POSTFIX} is missing (Debian: apt-get install postfix; .ci/run installs it)"
        ));
    }
    if std::fs::metadata("/proc/self").map(|m| m.uid()).ok() != Some(0) {
        return Some("Postfix's master(8) must be started as root; the test does not run as root".into());
    }
    for user in ["postfix", PIPE_USER] {
        if account(user).is_none() {
            return Some(format!(
                "there is no user {user:?} (the postfix package creates \"postfix\")"
            ));
        }
    }
    None
}

/// Prints past the test harness's capture, so that a skip shows in a plain
/// `cargo test` run.
fn skip(reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED postfix end-to-end test: {reason}");
}

/// The uid and gid of `user`, from /etc/passwd.
fn account(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 3 && fields[0] == user)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

fn chown(path: &Path, user: &str) {
    let (uid, gid) = account(user).expect("the user exists (checked before)");
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {user} {}: {e}", path.display()));
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// Whether every user can run `path`: it and every directory above it
/// are open to others.
fn open_to_all(path: &Path) -> bool {
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode()).unwrap_or(0);
    mode(path) & 0o001 != 0
        && path
            .ancestors()
            .skip(1)
            .filter(|p| !p.as_os_str().is_empty())
            .all(|dir| mode(dir) & 0o001 != 0)
}

/// A free port on 127.0.0.1 (the OS picks it; Postfix binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// A Postfix instance of the test's own. Everything is under `dir`:
/// conf/ (main.cf, master.cf, the transport map), queue/, data/, spool/
/// (one directory per message the pipe received: the message, herald's
/// argv, output and exit status), herald.toml, the pipe's shim and the
/// log. Dropping it stops Postfix.
struct Postfix {
    dir: TempDir,
    /// The port Postfix's smtpd listens on, on 127.0.0.1.
    port: u16,
}

/// One message pipe(8) handed to herald.
#[derive(Debug, Clone)]
struct Piped {
    message: String,
    argv: Vec<String>,
    output: String,
    /// herald's exit status; `None` while it runs.
    status: Option<i32>,
}

impl Postfix {
    /// Starts Postfix relaying example.com to 127.0.0.1:`relay_port` and
    /// piping mail for bounces.example.com into herald, on the store that
    /// [`Postfix::herald_store`] names (none that opens, at first).
    fn start(relay_port: u16) -> Postfix {
        Postfix::start_with(relay_port, "")
    }

    /// [`Postfix::start`] with `extra` appended to main.cf.
    fn start_with(relay_port: u16, extra: &str) -> Postfix {
        let dir = tempfile::tempdir().expect("a temp dir for Postfix");
        let root = dir.path().to_path_buf();
        assert!(
            !root.to_string_lossy().contains(char::is_whitespace),
            "master.cf cannot quote the path {}",
            root.display()
        );
        chmod(&root, 0o755);
        for sub in ["conf", "queue", "data", "spool"] {
            std::fs::create_dir(root.join(sub)).expect("a Postfix directory");
        }
        // The queue stays root's (postfix-script creates its subdirectories
        // for the mail owner); the data directory is the mail owner's; the
        // spool is where the pipe, as PIPE_USER, keeps what it got.
        chown(&root.join("data"), "postfix");
        chown(&root.join("spool"), PIPE_USER);

        // pipe(8) runs herald as PIPE_USER, who must be able to reach it.
        let built = PathBuf::from(env!("CARGO_BIN_EXE_herald"));
        let herald = if open_to_all(&built) {
            built
        } else {
            let copy = root.join("herald");
            std::fs::copy(&built, &copy).expect("a copy of herald that the pipe user can run");
            chmod(&copy, 0o755);
            copy
        };
        let config = root.join("herald.toml");
        let shim = root.join("herald-pipe");
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\n\
                 # tests/it/postfix.rs: runs herald as the pipe would, keeping the\n\
                 # message, herald's argv, output and exit status for the test.\n\
                 m=$(mktemp -d {spool}/m.XXXXXX) || exit 75\n\
                 cat > \"$m/message.eml\" || exit 75\n\
                 printf '%s\\n' \"$@\" > \"$m/argv\"\n\
                 {herald} \"$@\" < \"$m/message.eml\" > \"$m/output\" 2>&1\n\
                 rc=$?\n\
                 echo \"$rc\" > \"$m/status.new\" && mv \"$m/status.new\" \"$m/status\"\n\
                 exit \"$rc\"\n",
                spool = root.join("spool").display(),
                herald = herald.display(),
            ),
        )
        .expect("the pipe's shim");
        chmod(&shim, 0o755);

        let port = free_port();
        let conf = root.join("conf");
        std::fs::write(conf.join("main.cf"), main_cf(&root) + extra).expect("main.cf");
        std::fs::write(conf.join("master.cf"), master_cf(port, &shim, &config)).expect("master.cf");
        std::fs::write(
            conf.join("transport"),
            format!("example.com smtp:[127.0.0.1]:{relay_port}\nbounces.example.com herald:\n"),
        )
        .expect("the transport map");

        let postfix = Postfix { dir, port };
        postfix.herald_store(UNREACHABLE_STORE);
        let out = Command::new(POSTFIX)
            .arg("-c")
            .arg(&conf)
            .arg("start")
            .output()
            .expect("postfix start runs");
        assert!(
            out.status.success(),
            "postfix start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            postfix.log()
        );
        postfix
    }

    /// Writes the herald.toml the pipe's herald reads, naming the store at
    /// `url`. It is what an operator writes in /etc/herald/herald.toml:
    /// pipe(8) gives herald no environment of ours and the queue as its
    /// directory, and herald reads the file afresh for each message.
    fn herald_store(&self, url: &str) {
        let config = self.root().join("herald.toml");
        std::fs::write(
            &config,
            format!("[database]\nurl = \"{url}\"\n\n[mail]\nreturn_path = \"{RETURN_PATH}\"\n"),
        )
        .expect("herald.toml for the pipe");
        chmod(&config, 0o644);
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Postfix's log (maillog_file).
    fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("maillog")).unwrap_or_default()
    }

    /// What the pipe has received so far, in no particular order.
    fn piped(&self) -> Vec<Piped> {
        let Ok(entries) = std::fs::read_dir(self.root().join("spool")) else {
            return Vec::new();
        };
        let read = |dir: &Path, name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|dir| dir.join("argv").exists())
            .map(|dir| Piped {
                message: read(&dir, "message.eml"),
                argv: read(&dir, "argv").lines().map(str::to_owned).collect(),
                output: read(&dir, "output"),
                status: read(&dir, "status").trim().parse().ok(),
            })
            .collect()
    }

    /// Waits until herald has exited with `status` for `n` messages and
    /// returns those; panics with the log and what arrived otherwise.
    ///
    /// Every few seconds it asks Postfix to flush its deferred queue, as an
    /// operator does once the store is back: in one CI run qmgr never
    /// retried one of four deferred DSNs within two minutes (the other
    /// three came back after a second, as `maximal_backoff_time` says), and
    /// a flush is what wakes a queue manager that missed its timer.
    fn wait_for_piped(&self, n: usize, status: i32) -> Vec<Piped> {
        let start = Instant::now();
        let mut flushed = Instant::now();
        loop {
            let piped = self.piped();
            let done: Vec<Piped> = piped
                .iter()
                .filter(|p| p.status == Some(status))
                .cloned()
                .collect();
            if done.len() >= n {
                return done;
            }
            if start.elapsed() >= PATIENCE {
                // What explains it first (CI shows the start of a long
                // message): each run's status, and Postfix's complaints.
                let statuses: Vec<Option<i32>> = piped.iter().map(|p| p.status).collect();
                let log = self.log();
                let complaints: Vec<&str> = log
                    .lines()
                    .filter(|l| {
                        ["warning", "fatal", "panic", "suspended", "status="]
                            .iter()
                            .any(|w| l.contains(w))
                    })
                    .collect();
                panic!(
                    "{} of {n} DSNs through herald with status {status} after {PATIENCE:?}; \
                     statuses {statuses:?}\n--- Postfix's warnings and statuses ---\n{}\n\
                     --- the pipe got ---\n{piped:#?}\n--- Postfix log ---\n{log}",
                    done.len(),
                    complaints.join("\n"),
                );
            }
            if flushed.elapsed() >= FLUSH_EVERY {
                self.flush();
                flushed = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `postfix flush`: every deferred message is tried again now.
    fn flush(&self) {
        let _ = Command::new(POSTFIX)
            .arg("-c")
            .arg(self.root().join("conf"))
            .arg("flush")
            .output();
    }

    /// master(8)'s process id, while it runs.
    fn master_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.root().join("queue/pid/master.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        // A zombie has an empty command line.
        String::from_utf8_lossy(&cmdline)
            .contains("master")
            .then_some(pid)
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        // `postfix stop` waits up to 5 s for master(8), then kills its
        // process group; if it still lives (or stop failed), kill that group.
        let _ = Command::new(POSTFIX)
            .arg("-c")
            .arg(self.root().join("conf"))
            .arg("stop")
            .output();
        if let Some(pid) = self.master_pid() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

/// main.cf: loopback only, no local delivery, no aliases, no DNS for the
/// relay (the transport map names [127.0.0.1]), fast retries, a log file.
/// `transport_retry_time` is the pause qmgr(8) takes after a delivery agent
/// it could not use (a pipe(8) that did not start in time on a loaded
/// machine): 60 s by default, as long as the test used to wait in all.
fn main_cf(root: &Path) -> String {
    let root = root.display();
    format!(
        "compatibility_level = 3.6\n\
         queue_directory = {root}/queue\n\
         data_directory = {root}/data\n\
         myhostname = mx.herald.test\n\
         mydomain = herald.test\n\
         myorigin = $myhostname\n\
         mydestination =\n\
         relay_domains =\n\
         inet_interfaces = loopback-only\n\
         inet_protocols = ipv4\n\
         mynetworks = 127.0.0.0/8\n\
         alias_maps =\n\
         alias_database =\n\
         local_recipient_maps =\n\
         transport_maps = texthash:{root}/conf/transport\n\
         smtpd_peername_lookup = no\n\
         notify_classes =\n\
         biff = no\n\
         queue_run_delay = 1s\n\
         minimal_backoff_time = 1s\n\
         maximal_backoff_time = 2s\n\
         transport_retry_time = 1s\n\
         maillog_file = {root}/maillog\n\
         maillog_file_prefixes = {root}\n"
    )
}

/// master.cf: Debian's services that a relay needs, none chrooted, an
/// smtpd on 127.0.0.1:`port`, and the operator's pipe line for herald
/// (through the shim, with herald's arguments unchanged).
fn master_cf(port: u16, shim: &Path, config: &Path) -> String {
    format!(
        "127.0.0.1:{port} inet n - n - - smtpd\n\
         pickup    unix  n - n 60    1 pickup\n\
         cleanup   unix  n - n -     0 cleanup\n\
         qmgr      unix  n - n 300   1 qmgr\n\
         rewrite   unix  - - n -     - trivial-rewrite\n\
         bounce    unix  - - n -     0 bounce\n\
         defer     unix  - - n -     0 bounce\n\
         trace     unix  - - n -     0 bounce\n\
         verify    unix  - - n -     1 verify\n\
         flush     unix  n - n 1000? 0 flush\n\
         proxymap  unix  - - n -     - proxymap\n\
         smtp      unix  - - n -     - smtp\n\
         showq     unix  n - n -     - showq\n\
         error     unix  - - n -     - error\n\
         retry     unix  - - n -     - error\n\
         discard   unix  - - n -     - discard\n\
         anvil     unix  - - n -     1 anvil\n\
         scache    unix  - - n -     1 scache\n\
         postlog   unix-dgram n - n - 1 postlogd\n\
         herald    unix  - n n -     - pipe\n  \
         flags=Rq user={PIPE_USER} argv={shim} --config {config} bounces ingest --recipient ${{original_recipient}} -\n",
        shim = shim.display(),
        config = config.display(),
    )
}

/// Lets PIPE_USER write a SQLite store (the file, its -wal and -shm, and
/// the directory they are made in); SQLite run by root keeps new -wal and
/// -shm files owned like the database. PostgreSQL needs nothing.
fn open_store_to_pipe_user(env: &TestEnv) {
    if !env.database_url().starts_with("sqlite:") {
        return;
    }
    let db = env.path("herald.db");
    let dir = db.parent().expect("the store's directory");
    chown(dir, PIPE_USER);
    for entry in std::fs::read_dir(dir).expect("the store's directory").flatten() {
        chown(&entry.path(), PIPE_USER);
    }
}

/// The address of a DSN's Final-Recipient field.
fn final_recipient(dsn: &str) -> Option<&str> {
    dsn.lines()
        .find_map(|l| l.strip_prefix("Final-Recipient: rfc822;"))
        .map(str::trim)
}

/// With HERALD_TEST_POSTFIX_KEEP=DIR, each DSN as DIR/<local part>.eml.
fn keep(piped: &[Piped]) {
    let Some(dir) = std::env::var_os("HERALD_TEST_POSTFIX_KEEP") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("HERALD_TEST_POSTFIX_KEEP is a directory");
    for p in piped {
        let rcpt = final_recipient(&p.message).unwrap_or("unknown");
        let local = rcpt.split('@').next().unwrap_or(rcpt);
        std::fs::write(dir.join(format!("{local}.eml")), &p.message).expect("keeping a DSN");
    }
}

/// The test, on both backends. Not `both_backends!`: these also need
/// Postfix at build time.
mod postfix_dsns_piped_into_herald_bounce_only_the_dead_addresses {
    use super::*;

    #[test]
    #[cfg_attr(
        not(herald_postfix_tests),
        ignore = "needs Postfix: apt-get install postfix (/usr/sbin/postfix was missing when the tests were built)"
    )]
    fn sqlite() {
        run(&TestEnv::sqlite());
    }

    #[test]
    #[cfg_attr(
        not(herald_postfix_tests),
        ignore = "needs Postfix: apt-get install postfix (/usr/sbin/postfix was missing when the tests were built)"
    )]
    #[cfg_attr(
        all(herald_postfix_tests, not(herald_postgres_tests)),
        ignore = "PostgreSQL tests need HERALD_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test"
    )]
    fn postgres() {
        run(&TestEnv::postgres());
    }

    fn run(env: &TestEnv) {
        if let Some(reason) = unavailable() {
            skip(&reason);
            return;
        }
        crate::support::block_on(body(env));
    }
}

async fn body(env: &TestEnv) {
    env.seed_readers(5);
    open_store_to_pipe_user(env);
    // The "remote" mailbox host Postfix relays example.com to: reader1
    // and reader4 do not exist, reader2's mailbox is full, reader3's
    // host blocks the message as spam, reader0 gets it.
    let sink = SmtpSink::start_with(
        Policy::new()
            .on_rcpt("reader1@example.com", Reply::Text(550, "5.1.1 <reader1@example.com>: Recipient address rejected: User unknown in virtual mailbox table"))
            .on_rcpt("reader4@example.com", Reply::Text(550, "5.1.1 <reader4@example.com>: Recipient address rejected: User unknown in local recipient table"))
            .on_data("reader2@example.com", Reply::Text(552, "5.2.2 <reader2@example.com>: Mailbox full"))
            .on_data("reader3@example.com", Reply::Text(554, "5.7.1 Message rejected as spam by content filter")),
    );
    let postfix = Postfix::start(sink.port);

    let settings = Settings::smtp_port(postfix.port).set("HERALD_MAIL__RETURN_PATH", RETURN_PATH);
    let summary = env
        .engine(&settings)
        .await
        .run_edition(daily(DATE), at(NOW), None, &CancellationToken::new())
        .await
        .expect("the edition runs");
    assert_eq!(
        (summary.sent, summary.failed),
        (5, 0),
        "Postfix takes every recipient: {summary:?}\n{}",
        postfix.log()
    );

    let delivered = sink.wait_for(1, PATIENCE);
    assert_eq!(delivered[0].rcpt_to, ["reader0@example.com"]);
    assert!(
        delivered[0].mail_from.starts_with("bounces+")
            && delivered[0].mail_from.ends_with("@bounces.example.com"),
        "Postfix relays the VERP envelope sender unchanged: {}",
        delivered[0].mail_from
    );

    // Postfix bounces reader1..4 and pipes each DSN into herald, which
    // finds no store where its configuration points (and never creates
    // one): it exits 75 and Postfix keeps the DSN.
    let failed = postfix.wait_for_piped(1, 75);
    assert!(
        failed[0].output.contains("no store at /nonexistent/herald.db"),
        "{failed:#?}"
    );
    crate::support::wait_until("Postfix to defer a DSN herald could not take", PATIENCE, || {
        postfix
            .log()
            .lines()
            .any(|l| l.contains("relay=herald") && l.contains("status=deferred"))
    });
    for i in 0..5 {
        assert_eq!(env.show(&format!("reader{i}@example.com"))["status"], "active");
    }

    // The store is back: Postfix tries again, and every DSN gets in.
    postfix.herald_store(env.database_url());
    let piped = postfix.wait_for_piped(4, 0);
    keep(&piped);
    let mut rcpts: Vec<&str> = piped.iter().filter_map(|p| final_recipient(&p.message)).collect();
    rcpts.sort_unstable();
    assert_eq!(
        rcpts,
        [
            "reader1@example.com",
            "reader2@example.com",
            "reader3@example.com",
            "reader4@example.com"
        ],
        "one DSN per refused recipient"
    );
    for p in &piped {
        assert!(
            p.message
                .contains("Content-Type: multipart/report; report-type=delivery-status"),
            "{}",
            p.message
        );
        let verp = p.argv.iter().skip_while(|a| *a != "--recipient").nth(1);
        assert!(
            verp.is_some_and(|a| a.starts_with("bounces+") && a.ends_with("@bounces.example.com")),
            "${{original_recipient}} is the VERP address: {:?}",
            p.argv
        );
    }
    let outputs: Vec<&str> = piped.iter().map(|p| p.output.as_str()).collect();

    let status = |email: &str| env.show(email)["status"].as_str().unwrap().to_owned();
    for (email, want) in [
        ("reader0@example.com", "active"),
        ("reader1@example.com", "bounced"),
        ("reader2@example.com", "active"),
        ("reader3@example.com", "active"),
        ("reader4@example.com", "bounced"),
    ] {
        assert_eq!(status(email), want, "{email}; herald said: {outputs:#?}");
    }
    let events: Vec<serde_json::Value> = env.json(&["bounces", "list", "--format", "json"]);
    let category = |email: &str| -> Vec<(String, String)> {
        events
            .iter()
            .filter(|e| e["email"] == email && e["source"] == "mail")
            .map(|e| {
                (
                    e["category"].as_str().unwrap_or("").to_owned(),
                    e["status"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let pair = |c: &str, s: &str| vec![(c.to_owned(), s.to_owned())];
    assert_eq!(category("reader0@example.com"), vec![], "{events:#?}");
    assert_eq!(
        category("reader1@example.com"),
        pair("hard", "5.1.1"),
        "{events:#?}"
    );
    assert_eq!(
        category("reader2@example.com"),
        pair("soft", "5.2.2"),
        "{events:#?}"
    );
    assert_eq!(
        category("reader3@example.com"),
        pair("policy", "5.7.1"),
        "{events:#?}"
    );
    assert_eq!(
        category("reader4@example.com"),
        pair("hard", "5.1.1"),
        "{events:#?}"
    );
}

/// What pipe(8) relies on without Postfix: `ingest -` exits 75
/// (EX_TEMPFAIL, "keep it and try again") however it fails, a store that
/// cannot be opened or a configuration that cannot be read; the same
/// failure on a file, which stays where it is anyway, exits 1 or 2.
#[test]
fn ingest_from_stdin_exits_75_when_it_cannot_take_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let dsn = dir.path().join("dsn.eml");
    std::fs::write(
        &dsn,
        "From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail\r\n\r\nx\r\n",
    )
    .unwrap();
    let run = |args: &[&str], stdin: bool| {
        let mut cmd = crate::support::bare_herald(dir.path());
        cmd.args(args);
        if stdin {
            cmd.pipe_stdin(&dsn).unwrap();
        }
        let out = cmd.output().unwrap();
        (out.status.code(), crate::support::stderr_of(&out))
    };
    let (code, err) = run(
        &["--database-url", UNREACHABLE_STORE, "bounces", "ingest", "-"],
        true,
    );
    assert_eq!(code, Some(75), "{err}");
    assert!(err.contains("no store at /nonexistent/herald.db"), "{err}");
    let (code, err) = run(
        &["--config", "/nonexistent/herald.toml", "bounces", "ingest", "-"],
        true,
    );
    assert_eq!(code, Some(75), "{err}");
    assert!(err.contains("/nonexistent/herald.toml"), "{err}");
    let file = dsn.to_str().unwrap();
    // From a file, the usual statuses: a missing store is a configuration
    // error (2).
    let (code, err) = run(
        &["--database-url", UNREACHABLE_STORE, "bounces", "ingest", file],
        false,
    );
    assert_eq!(code, Some(2), "{err}");
}

/// Herald's own SMTP client against Postfix's smtpd, with PIPELINING offered
/// and with it discarded (`smtpd_discard_ehlo_keywords`): each message
/// Postfix relays to the test server ends with the very .eml Herald
/// composed (Postfix only adds its Received header), and Postfix never
/// logs improper pipelining.
#[test]
#[cfg_attr(
    not(herald_postfix_tests),
    ignore = "needs Postfix: apt-get install postfix (/usr/sbin/postfix was missing when the tests were built)"
)]
fn herald_talks_to_postfix_smtpd_with_and_without_pipelining() {
    if let Some(reason) = unavailable() {
        skip(&reason);
        return;
    }
    crate::support::block_on(async {
        let env = TestEnv::sqlite();
        let sink = SmtpSink::start();
        let mut expected = 0;
        for (discard, pipelining) in [("", true), ("pipelining", false)] {
            let postfix =
                Postfix::start_with(sink.port, &format!("smtpd_discard_ehlo_keywords = {discard}\n"));
            let settings = Settings::smtp_port(postfix.port);
            let config = env.config(&settings);
            let mailer = herald::mail::Mailer::smtp(&config.mail, &config.delivery);
            let probe = mailer
                .probe()
                .await
                .expect("an SMTP mailer")
                .expect("Postfix answers");
            assert_eq!(probe.offers.pipelining, pipelining, "{probe:?}");
            assert!(
                probe.offers.eight_bit_mime && probe.offers.size.is_some(),
                "{probe:?}"
            );
            let emails: Vec<_> = (0..3)
                .map(|i| {
                    crate::wire::compose(
                        &env,
                        &format!("reader{i}@example.com"),
                        &crate::wire::text(i == 1, &format!("round {discard:?}\n")),
                    )
                })
                .collect();
            let mut session = mailer.session();
            for email in &emails {
                session
                    .send(email)
                    .await
                    .unwrap_or_else(|e| panic!("{e}\n{}", postfix.log()));
            }
            session.close().await;
            expected += emails.len();
            let got = sink.wait_for_async(expected, PATIENCE).await;
            for email in &emails {
                let eml = email.to_bytes();
                assert!(
                    got.iter().any(|m| m.data.ends_with(&eml)),
                    "a relayed message ends with the .eml Herald composed"
                );
            }
            let log = postfix.log();
            assert!(!log.contains("improper command pipelining"), "{log}");
        }
    });
}
