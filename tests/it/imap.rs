//! The bounce mailbox over IMAP against a real Dovecot (Debian's
//! dovecot-imapd): each test starts its own instance from a temporary
//! directory (its own dovecot.conf on free loopback ports, a CA and a server
//! certificate made there with the openssl command, one user with a plain
//! password in a passwd-file, Maildir storage), delivers messages by
//! writing files into the user's Maildir, and reads them with
//! `read_mailbox`, configured through the real configuration layers. It
//! checks what was handed over, and the Maildir on disk for what was
//! flagged or moved. Without /usr/sbin/dovecot (seen at build time, see
//! build.rs) the tests are reported as ignored, with the reason.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald::bounce::imap::{Limits, ReadSummary, read_mailbox};
use herald::config::ImapConfig;
use tempfile::TempDir;

use crate::support::{Settings, TestEnv, block_on, stderr_of, wait_until};

const DOVECOT: &str = "/usr/sbin/dovecot";
const USER: &str = "bounces";
const PASSWORD: &str = "Imap-Test-Passw0rd";

/// One Dovecot of the test's own, stopped (SIGTERM, then SIGKILL) on drop.
struct Dovecot {
    dir: TempDir,
    child: Child,
    imaps_port: u16,
    imap_port: u16,
}

impl Dovecot {
    fn start() -> Dovecot {
        Dovecot::start_with("")
    }

    /// `extra` is appended to dovecot.conf (e.g. an `imap_capability`).
    fn start_with(extra: &str) -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Dovecot's unprivileged processes (dovenull, dovecot) must reach
        // the sockets, the passwd-file and the certificates in here.
        set_mode(root, 0o755);
        for sub in ["run", "state", "home"] {
            std::fs::create_dir(root.join(sub)).unwrap();
        }
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(root.join("mail").join(USER).join(sub)).unwrap();
        }
        // Dovecot refuses to access mail as root: as root (CI), the mail
        // belongs to `nobody`; as anyone else, to that user.
        let owner = mail_owner(root);
        if let Some((uid, gid)) = owner.filter(|_| is_root(root)) {
            for d in [
                "mail",
                "mail/bounces",
                "mail/bounces/cur",
                "mail/bounces/new",
                "mail/bounces/tmp",
            ] {
                std::os::unix::fs::chown(root.join(d), Some(uid), Some(gid)).unwrap();
            }
        }
        make_certificates(root);
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();

        let (imap_port, imaps_port) = (free_port(), free_port());
        let (uid, gid) = owner.expect("the mail owner");
        std::fs::write(
            root.join("dovecot.conf"),
            config(root, (uid, gid), imap_port, imaps_port, extra),
        )
        .unwrap();
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {DOVECOT}: {e}"));
        let mut dovecot = Dovecot {
            dir,
            child,
            imaps_port,
            imap_port,
        };
        dovecot.wait_ready();
        dovecot
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("dovecot exited ({status}) at start: {}", self.log());
            }
            let up = |port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            if up(self.imaps_port) && up(self.imap_port) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "dovecot did not listen within 15s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The settings for `scheme` (`imaps`: TLS on its own port, `imap`:
    /// STARTTLS), trusting the test CA.
    fn settings(&self, scheme: &str) -> Settings {
        Settings::default()
            .set("HERALD_BOUNCES__IMAP_URL", self.url(scheme))
            .set("HERALD_BOUNCES__IMAP_PASSWORD", PASSWORD)
            .set("HERALD_BOUNCES__IMAP_CA_FILE", self.ca_file().to_str().unwrap())
    }

    fn url(&self, scheme: &str) -> String {
        let port = if scheme == "imaps" {
            self.imaps_port
        } else {
            self.imap_port
        };
        format!("{scheme}://{USER}@127.0.0.1:{port}")
    }

    /// Writes `message` into the user's Maildir, as a local delivery would.
    fn deliver(&self, message: &str) {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("1770000000.M{n}P{}.herald-test", std::process::id());
        let inbox = self.maildir(None);
        std::fs::write(inbox.join("tmp").join(&name), message).unwrap();
        std::fs::rename(inbox.join("tmp").join(&name), inbox.join("new").join(&name)).unwrap();
    }

    /// INBOX (`None`) or a folder (Maildir++: `.Name`).
    fn maildir(&self, folder: Option<&str>) -> PathBuf {
        let inbox = self.dir.path().join("mail").join(USER);
        match folder {
            None => inbox,
            Some(f) => inbox.join(format!(".{f}")),
        }
    }

    /// The Maildir info (`2,FLAGS`) of every message in `folder`, sorted.
    fn flags_in(&self, folder: Option<&str>) -> Vec<String> {
        let dir = self.maildir(folder);
        let mut flags = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
                continue;
            };
            for e in entries {
                let name = e.unwrap().file_name().into_string().unwrap();
                flags.push(
                    name.split_once(":2,")
                        .map(|(_, f)| f.to_owned())
                        .unwrap_or_default(),
                );
            }
        }
        flags.sort();
        flags
    }

    /// The Maildir letter Dovecot gave the keyword `$HeraldProcessed`.
    fn keyword_letter(&self) -> Option<char> {
        let keywords = std::fs::read_to_string(self.maildir(None).join("dovecot-keywords")).ok()?;
        keywords.lines().find_map(|l| {
            let (n, word) = l.split_once(' ')?;
            let n: u8 = n.parse().ok()?;
            (word == "$HeraldProcessed").then_some((b'a' + n) as char)
        })
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("dovecot.log of the failed test:\n{}", self.log());
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) {
            if start.elapsed() > Duration::from_secs(5) {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
    }
}

fn is_root(root: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(root).unwrap().uid() == 0
}

/// Who the mail belongs to: `nobody` when the test runs as root, else the
/// test's own user (the owner of its temporary directory).
fn mail_owner(root: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    if !is_root(root) {
        let m = std::fs::metadata(root).unwrap();
        return Some((m.uid(), m.gid()));
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "nobody"]).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

fn config(root: &Path, (uid, gid): (u32, u32), imap_port: u16, imaps_port: u16, extra: &str) -> String {
    let r = root.display();
    // As root (CI), Dovecot drops to its own system users, which the
    // package creates; as anyone else, it runs as that user throughout.
    let users = if is_root(root) {
        "default_login_user = dovenull\ndefault_internal_user = dovecot\n".to_owned()
    } else {
        let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
        let me = me.trim();
        format!(
            "default_login_user = {me}\ndefault_internal_user = {me}\nservice imap-login {{\n  chroot =\n}}\n"
        )
    };
    format!(
        r#"protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
instance_name = herald-test-{imaps_port}
log_path = {r}/dovecot.log
{users}
ssl = required
ssl_cert = <{r}/server.pem
ssl_key = <{r}/server.key
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = {r}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={r}/home/%u
}}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{r}/mail/%u
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
{extra}
"#
    )
}

/// A CA and a server certificate it signs for 127.0.0.1 and localhost.
fn make_certificates(root: &Path) {
    std::fs::write(
        root.join("server.ext"),
        "subjectAltName = DNS:localhost, IP:127.0.0.1\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        root,
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Herald test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        root,
        &[
            &["req"],
            &ec[..],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    );
    openssl(
        root,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian's openssl, which dovecot-core depends on)");
    assert!(out.status.success(), "openssl {args:?}: {}", stderr_of(&out));
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The bounce mailbox of `settings`, through the real configuration layers.
fn imap_config(settings: &Settings) -> ImapConfig {
    TestEnv::sqlite()
        .config(settings)
        .bounces
        .imap
        .expect("bounces.imap_url is set")
}

fn dsn(id: &str, recipient: &str, status: &str, diagnostic: &str) -> String {
    format!(
        "Return-Path: <>\n\
Date: Tue, 10 Mar 2026 08:00:00 +0000\n\
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n\
To: bounces+7-0123456789abcdef@bounces.example.com\n\
Subject: Undelivered Mail Returned to Sender\n\
Message-ID: <{id}>\n\
MIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"BOUNDARY\"\n\
\n\
--BOUNDARY\n\
Content-Type: text/plain; charset=us-ascii\n\
\n\
Your message could not be delivered to {recipient}.\n\
\n\
--BOUNDARY\n\
Content-Type: message/delivery-status\n\
\n\
Reporting-MTA: dns; mx.example.net\n\
\n\
Final-Recipient: rfc822; {recipient}\n\
Action: failed\n\
Status: {status}\n\
Diagnostic-Code: smtp; {diagnostic}\n\
\n\
--BOUNDARY\n\
Content-Type: text/rfc822-headers\n\
\n\
From: News <news@example.com>\n\
To: {recipient}\n\
Subject: Your daily digest\n\
Message-ID: <daily-2026-03-10.7@news.example.com>\n\
\n\
--BOUNDARY--\n"
    )
}

fn plain_message(id: &str) -> String {
    format!(
        "From: Reader <reader@example.org>\n\
To: bounces+7-0123456789abcdef@bounces.example.com\n\
Subject: Thanks for the digest\n\
Date: Tue, 10 Mar 2026 09:00:00 +0000\n\
Message-ID: <{id}>\n\
\n\
Just saying thanks.\n"
    )
}

/// A bounce for a dead mailbox, one for a full mailbox, and a normal
/// message; their Message-IDs.
fn deliver_three(dovecot: &Dovecot) -> [&'static str; 3] {
    let ids = [
        "dsn-gone@mx.example.net",
        "dsn-full@mx.example.net",
        "thanks@example.org",
    ];
    dovecot.deliver(&dsn(
        ids[0],
        "gone@example.org",
        "5.1.1",
        "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown",
    ));
    dovecot.deliver(&dsn(
        ids[1],
        "full@example.org",
        "4.2.2",
        "452 4.2.2 <full@example.org>: Mailbox full",
    ));
    dovecot.deliver(&plain_message(ids[2]));
    ids
}

/// The Message-ID of a raw message, as fetched (CRLF line ends).
fn message_id(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines()
        .find_map(|l| l.strip_prefix("Message-ID: <"))
        .map(|l| l.trim_end().trim_end_matches('>').to_owned())
        .unwrap_or_default()
}

/// Reads the mailbox, accepting everything but the messages in `refuse`;
/// the Message-IDs handed over, sorted.
fn read(config: &ImapConfig, refuse: &[&str]) -> (anyhow::Result<ReadSummary>, Vec<String>) {
    let mut got = Vec::new();
    let result = block_on(read_mailbox(config, &Limits::default(), |raw| {
        let id = message_id(&raw);
        let refused = refuse.contains(&id.as_str());
        got.push(id);
        async move {
            if refused {
                anyhow::bail!("the store is down (test)");
            }
            Ok(())
        }
    }));
    got.sort();
    (result, got)
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

fn summary(seen: usize, processed: usize, failed: usize) -> ReadSummary {
    ReadSummary {
        seen,
        processed,
        failed,
    }
}

#[test]
#[cfg_attr(
    not(herald_dovecot_tests),
    ignore = "needs Dovecot: apt-get install dovecot-imapd (/usr/sbin/dovecot was missing when the tests were built)"
)]
fn each_message_is_handed_over_once_then_flagged() {
    let dovecot = Dovecot::start();
    let ids = deliver_three(&dovecot);
    let config = imap_config(&dovecot.settings("imaps"));
    assert!(config.move_to.is_none());

    let (result, got) = read(&config, &[]);
    assert_eq!(result.unwrap(), summary(3, 3, 0));
    assert_eq!(got, sorted(&ids), "every message once, whatever it is");

    // On disk: \Seen (S) and the $HeraldProcessed keyword, on all three.
    let letter = dovecot
        .keyword_letter()
        .expect("dovecot-keywords lists $HeraldProcessed");
    let flags = dovecot.flags_in(None);
    assert_eq!(flags.len(), 3, "{flags:?}");
    for f in &flags {
        assert!(f.contains('S') && f.contains(letter), "{flags:?}");
    }

    let (result, got) = read(&config, &[]);
    assert_eq!(result.unwrap(), summary(0, 0, 0));
    assert!(got.is_empty(), "nothing is handed over twice: {got:?}");

    // A message arriving later is read next time, alone.
    dovecot.deliver(&plain_message("later@example.org"));
    let (result, got) = read(&config, &[]);
    assert_eq!(result.unwrap(), summary(1, 1, 0));
    assert_eq!(got, ["later@example.org"]);
}

#[test]
#[cfg_attr(
    not(herald_dovecot_tests),
    ignore = "needs Dovecot: apt-get install dovecot-imapd (/usr/sbin/dovecot was missing when the tests were built)"
)]
fn a_refused_message_is_left_for_the_next_read() {
    let dovecot = Dovecot::start();
    let ids = deliver_three(&dovecot);
    let config = imap_config(&dovecot.settings("imaps"));

    let (result, got) = read(&config, &[ids[1]]);
    assert_eq!(result.unwrap(), summary(3, 2, 1));
    assert_eq!(got, sorted(&ids));
    let flags = dovecot.flags_in(None);
    assert_eq!(
        flags.iter().filter(|f| f.contains('S')).count(),
        2,
        "the refused one is neither \\Seen nor flagged: {flags:?}"
    );

    let (result, got) = read(&config, &[]);
    assert_eq!(result.unwrap(), summary(1, 1, 0));
    assert_eq!(got, [ids[1]], "only the refused message comes back");

    let (result, got) = read(&config, &[]);
    assert_eq!(result.unwrap(), summary(0, 0, 0));
    assert!(got.is_empty());
}

#[test]
#[cfg_attr(
    not(herald_dovecot_tests),
    ignore = "needs Dovecot: apt-get install dovecot-imapd (/usr/sbin/dovecot was missing when the tests were built)"
)]
fn over_starttls_processed_messages_are_moved() {
    let dovecot = Dovecot::start();
    let ids = deliver_three(&dovecot);
    let config = imap_config(
        &dovecot
            .settings("imap")
            .set("HERALD_BOUNCES__IMAP_MOVE_TO", "Processed"),
    );
    assert!(!config.implicit_tls());

    // One refused: it stays in INBOX, the others move (the folder is
    // created on the way).
    let (result, got) = read(&config, &[ids[2]]);
    assert_eq!(result.unwrap(), summary(3, 2, 1));
    assert_eq!(got, sorted(&ids));
    assert_eq!(dovecot.flags_in(Some("Processed")).len(), 2);
    assert_eq!(dovecot.flags_in(None).len(), 1);

    let (result, got) = read(&config, &[]);
    assert_eq!(result.unwrap(), summary(1, 1, 0));
    assert_eq!(got, [ids[2]]);
    assert_eq!(dovecot.flags_in(Some("Processed")).len(), 3);
    assert!(dovecot.flags_in(None).is_empty(), "INBOX is empty");

    let (result, got) = read(&config, &[]);
    assert_eq!(result.unwrap(), summary(0, 0, 0));
    assert!(got.is_empty());
}

#[test]
#[cfg_attr(
    not(herald_dovecot_tests),
    ignore = "needs Dovecot: apt-get install dovecot-imapd (/usr/sbin/dovecot was missing when the tests were built)"
)]
fn without_move_the_messages_are_copied_then_expunged() {
    // With UIDPLUS (UID EXPUNGE), then without it (EXPUNGE).
    for capability in ["IMAP4rev1 LITERAL+ UIDPLUS", "IMAP4rev1 LITERAL+"] {
        let dovecot = Dovecot::start_with(&format!(
            "protocol imap {{\n  imap_capability = {capability}\n}}\n"
        ));
        let ids = deliver_three(&dovecot);
        let config = imap_config(
            &dovecot
                .settings("imaps")
                .set("HERALD_BOUNCES__IMAP_MOVE_TO", "Done"),
        );

        let (result, got) = read(&config, &[ids[0]]);
        assert_eq!(result.unwrap(), summary(3, 2, 1), "{capability}");
        assert_eq!(got, sorted(&ids));
        assert_eq!(dovecot.flags_in(Some("Done")).len(), 2, "{capability}");
        assert_eq!(
            dovecot.flags_in(None).len(),
            1,
            "{capability}: the copies left INBOX"
        );

        let (result, got) = read(&config, &[]);
        assert_eq!(result.unwrap(), summary(1, 1, 0), "{capability}");
        assert_eq!(got, [ids[0]]);
        assert_eq!(dovecot.flags_in(Some("Done")).len(), 3, "{capability}");
        assert!(dovecot.flags_in(None).is_empty(), "{capability}");
    }
}

#[test]
#[cfg_attr(
    not(herald_dovecot_tests),
    ignore = "needs Dovecot: apt-get install dovecot-imapd (/usr/sbin/dovecot was missing when the tests were built)"
)]
fn a_wrong_password_is_a_clear_error_without_the_password() {
    let dovecot = Dovecot::start();
    dovecot.deliver(&plain_message("kept@example.org"));
    let wrong = "Wrong-Passw0rd-XYZ";
    let config = imap_config(
        &dovecot
            .settings("imaps")
            .set("HERALD_BOUNCES__IMAP_PASSWORD", wrong),
    );

    let (result, got) = read(&config, &[]);
    let e = result.unwrap_err();
    let (shown, debug) = (format!("{e:#}"), format!("{e:?}"));
    assert!(
        shown.contains(&format!(
            "IMAP server 127.0.0.1:{} (bounces.imap_url): LOGIN as \"bounces\" refused",
            dovecot.imaps_port
        )),
        "{shown}"
    );
    assert!(shown.contains("HERALD_BOUNCES__IMAP_PASSWORD"), "{shown}");
    for text in [&shown, &debug] {
        assert!(!text.contains(wrong) && !text.contains(PASSWORD), "{text}");
    }
    assert!(got.is_empty());
    assert_eq!(dovecot.flags_in(None), [""], "the message is untouched");
}

#[test]
#[cfg_attr(
    not(herald_dovecot_tests),
    ignore = "needs Dovecot: apt-get install dovecot-imapd (/usr/sbin/dovecot was missing when the tests were built)"
)]
fn an_untrusted_certificate_is_refused_unless_its_ca_is_configured() {
    let dovecot = Dovecot::start();
    dovecot.deliver(&plain_message("tls@example.org"));

    for scheme in ["imaps", "imap"] {
        // No bounces.imap_ca_file: the public roots, which do not sign the
        // test CA.
        let settings = Settings::default()
            .set("HERALD_BOUNCES__IMAP_URL", dovecot.url(scheme))
            .set("HERALD_BOUNCES__IMAP_PASSWORD", PASSWORD);
        let config = imap_config(&settings);
        assert!(config.ca.is_none());
        let (result, got) = read(&config, &[]);
        let e = format!("{:#}", result.unwrap_err());
        assert!(e.contains("TLS handshake failed"), "{scheme}: {e}");
        assert!(e.contains("invalid peer certificate"), "{scheme}: {e}");
        assert!(e.contains("set bounces.imap_ca_file"), "{scheme}: {e}");
        assert!(!e.contains(PASSWORD), "{e}");
        assert!(got.is_empty());
    }

    // Another CA configured: still refused, and the message says so.
    let other = Dovecot::start();
    let settings = dovecot
        .settings("imaps")
        .set("HERALD_BOUNCES__IMAP_CA_FILE", other.ca_file().to_str().unwrap());
    let e = format!("{:#}", read(&imap_config(&settings), &[]).0.unwrap_err());
    assert!(e.contains("bounces.imap_ca_file does not sign it"), "{e}");

    // Its own CA configured: read.
    let (result, got) = read(&imap_config(&dovecot.settings("imaps")), &[]);
    assert_eq!(result.unwrap(), summary(1, 1, 0));
    assert_eq!(got, ["tls@example.org"]);
}

#[test]
fn a_server_that_never_answers_times_out() {
    // Accepts the connection and says nothing: no TLS, no greeting.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let connection = listener.accept();
        std::thread::sleep(Duration::from_secs(3));
        drop(connection);
    });
    let settings = Settings::default()
        .set(
            "HERALD_BOUNCES__IMAP_URL",
            format!("imaps://{USER}@127.0.0.1:{port}"),
        )
        .set("HERALD_BOUNCES__IMAP_PASSWORD", PASSWORD);
    let config = imap_config(&settings);
    let limits = Limits {
        connect_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let start = Instant::now();
    let e = block_on(read_mailbox(&config, &limits, |_| async { Ok(()) })).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    let e = format!("{e:#}");
    assert!(
        e.contains(&format!(
            "IMAP server 127.0.0.1:{port} (bounces.imap_url): no TLS session and greeting within 300ms"
        )),
        "{e}"
    );
}

#[test]
#[cfg_attr(
    not(herald_dovecot_tests),
    ignore = "needs Dovecot: apt-get install dovecot-imapd (/usr/sbin/dovecot was missing when the tests were built)"
)]
fn the_daemon_reads_the_mailbox_on_its_schedule() {
    let dovecot = Dovecot::start();
    deliver_three(&dovecot);
    let env = TestEnv::sqlite();
    let port = free_port();
    let settings = dovecot
        .settings("imaps")
        .set("HERALD_BOUNCES__IMAP_MOVE_TO", "Processed")
        .set("HERALD_BOUNCES__IMAP_SCHEDULE", "* * * * * *")
        .set("HERALD_HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .set("HERALD_SITE__PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .set("RUST_LOG", "info,async_imap=trace");
    let mut child = env
        .herald_std(&["run"])
        .envs(settings.vars())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The log is read as it comes: the summary line is written after the
    // messages are moved, so SIGTERM waits for it (a shutdown does not wait
    // for a mailbox read in flight; each message is recorded before it is
    // moved, so nothing is lost, but the line would be).
    let log = Arc::new(Mutex::new(String::new()));
    let reader = {
        let (log, stderr) = (log.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    wait_until("the daemon to move the messages", Duration::from_secs(30), || {
        dovecot.flags_in(Some("Processed")).len() == 3
    });
    wait_until("the mailbox read's summary line", Duration::from_secs(30), || {
        log.lock().unwrap().contains("bounce mailbox read")
    });
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert_eq!(status.code(), Some(0));
    let log = log.lock().unwrap().clone();
    assert!(log.contains("bounce mailbox read"), "{log}");
    assert!(log.contains("processed=3"), "{log}");
    assert!(
        !log.contains(PASSWORD),
        "async-imap's trace never reaches the log: {log}"
    );
    assert!(dovecot.flags_in(None).is_empty());
}
