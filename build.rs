//! Turns on the PostgreSQL variants of the integration tests when
//! HERALD_TEST_POSTGRES_URL is set at build time, the IMAP tests when
//! Dovecot is installed (/usr/sbin/dovecot, Debian's dovecot-imapd) and the
//! Postfix end-to-end test when Postfix is (/usr/sbin/postfix, Debian's
//! postfix), and the second DKIM verifier when python3 can import dkimpy
//! and PyNaCl (`pip install dkimpy pynacl`), and the feedparser comparison
//! of the feed fixtures when it can import feedparser and chardet (`pip
//! install feedparser chardet`), and the aiosmtpd server test when it can
//! import aiosmtpd (`pip install aiosmtpd`); all checked when this script runs, so
//! `touch build.rs` after installing them; without them they are
//! compiled as ignored tests, so `cargo test` lists them as skipped, with
//! the reason.
//!
//! It also gives `herald --version` the git commit and the build date
//! (`SOURCE_DATE_EPOCH` when set, for reproducible packages, else now) as
//! HERALD_GIT_COMMIT and HERALD_BUILD_DATE; without git, "unknown".

use std::path::Path;

const DOVECOT: &str = "/usr/sbin/dovecot";
const POSTFIX: &str = "/usr/sbin/postfix";

fn main() {
    build_info();
    println!("cargo::rustc-check-cfg=cfg(herald_postgres_tests)");
    println!("cargo::rustc-check-cfg=cfg(herald_dovecot_tests)");
    println!("cargo::rustc-check-cfg=cfg(herald_postfix_tests)");
    println!("cargo::rustc-check-cfg=cfg(herald_dkimpy_tests)");
    println!("cargo::rustc-check-cfg=cfg(herald_feedparser_tests)");
    println!("cargo::rustc-check-cfg=cfg(herald_aiosmtpd_tests)");
    println!("cargo::rerun-if-env-changed=HERALD_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-changed=migrations");
    if std::env::var_os("HERALD_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=herald_postgres_tests");
    }
    // Watching the folder, not the file: a path that does not exist would
    // rerun this script, and rebuild the crate, on every build.
    let folder = Path::new(DOVECOT).parent().expect("a folder");
    if folder.is_dir() {
        println!("cargo::rerun-if-changed={}", folder.display());
    }
    if Path::new(DOVECOT).is_file() {
        println!("cargo::rustc-cfg=herald_dovecot_tests");
    }
    if Path::new(POSTFIX).is_file() {
        println!("cargo::rustc-cfg=herald_postfix_tests");
    }
    let dkimpy = std::process::Command::new("python3")
        .args(["-c", "import dkim, nacl"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if dkimpy.is_ok_and(|s| s.success()) {
        println!("cargo::rustc-cfg=herald_dkimpy_tests");
    }
    if python_imports("feedparser, chardet") {
        println!("cargo::rustc-cfg=herald_feedparser_tests");
    }
    if python_imports("aiosmtpd") {
        println!("cargo::rustc-cfg=herald_aiosmtpd_tests");
    }
}

/// Whether python3 can import the given modules.
fn python_imports(modules: &str) -> bool {
    std::process::Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// HERALD_GIT_COMMIT (the short hash of HEAD) and
/// HERALD_BUILD_DATE (UTC, YYYY-MM-DD), rebuilt when HEAD moves.
fn build_info() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    // No "-dirty" mark: edits to the tree do not rerun this script, so it
    // would go stale.
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    println!(
        "cargo::rustc-env=HERALD_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    for dir in [
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ]
    .into_iter()
    .flatten()
    {
        let dir = Path::new(&dir);
        for file in ["HEAD", "packed-refs"] {
            if dir.join(file).is_file() {
                println!("cargo::rerun-if-changed={}", dir.join(file).display());
            }
        }
    }
    if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(common) = git(&["rev-parse", "--git-common-dir"])
    {
        let reference = Path::new(&common).join(head);
        if reference.is_file() {
            println!("cargo::rerun-if-changed={}", reference.display());
        }
    }
    println!("cargo::rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    let (y, m, d) = civil_from_days(epoch.div_euclid(86400));
    println!("cargo::rustc-env=HERALD_BUILD_DATE={y:04}-{m:02}-{d:02}");
}

/// The proleptic Gregorian date of a day number since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`); build scripts have no chrono here.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
