//! Turns on the PostgreSQL variants of the integration tests when
//! HERALD_TEST_POSTGRES_URL is set at build time, the IMAP tests when
//! Dovecot is installed (/usr/sbin/dovecot, Debian's dovecot-imapd) and the
//! Postfix end-to-end test when Postfix is (/usr/sbin/postfix, Debian's
//! postfix), and the second DKIM verifier when python3 can import dkimpy
//! and PyNaCl (`pip install dkimpy pynacl`), and the feedparser comparison
//! of the feed fixtures when it can import feedparser and chardet (`pip
//! install feedparser chardet`); both checked when this script runs, so
//! `touch build.rs` after installing them; without them they are
//! compiled as ignored tests, so `cargo test` lists them as skipped, with
//! the reason.

use std::path::Path;

const DOVECOT: &str = "/usr/sbin/dovecot";
const POSTFIX: &str = "/usr/sbin/postfix";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(herald_postgres_tests)");
    println!("cargo::rustc-check-cfg=cfg(herald_dovecot_tests)");
    println!("cargo::rustc-check-cfg=cfg(herald_postfix_tests)");
    println!("cargo::rustc-check-cfg=cfg(herald_dkimpy_tests)");
    println!("cargo::rustc-check-cfg=cfg(herald_feedparser_tests)");
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
