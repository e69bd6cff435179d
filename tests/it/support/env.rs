//! The test harness: each test gets its own working directory and its own
//! store (a fresh SQLite file, or a fresh PostgreSQL database created on the
//! server named by HERALD_TEST_POSTGRES_URL and dropped afterwards) and
//! drives the real `herald` binary against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;
use tempfile::TempDir;

pub struct TestEnv {
    pub dir: TempDir,
    pub database_url: String,
    postgres: Option<PgDatabase>,
}

/// Runs the body once per backend: `name::sqlite` always, `name::postgres`
/// when the tests were built with HERALD_TEST_POSTGRES_URL set (otherwise it
/// is reported as ignored, with the reason).
#[macro_export]
macro_rules! both_backends {
    ($(fn $name:ident($env:ident: &TestEnv) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                fn body($env: &TestEnv) $body

                #[test]
                fn sqlite() {
                    body(&TestEnv::sqlite());
                }

                #[test]
                #[cfg_attr(
                    not(herald_postgres_tests),
                    ignore = "PostgreSQL tests need HERALD_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test"
                )]
                fn postgres() {
                    body(&TestEnv::postgres());
                }
            }
        )*
    };
}

impl TestEnv {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}", dir.path().join("herald.db").display());
        TestEnv {
            dir,
            database_url,
            postgres: None,
        }
    }

    pub fn postgres() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = PgDatabase::create();
        TestEnv {
            dir,
            database_url: pg.url.clone(),
            postgres: Some(pg),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write test file");
        p
    }

    /// `herald --database-url <this env's store> ARGS…`, run in the test's
    /// directory with no HERALD_* variables inherited.
    pub fn herald(&self, args: &[&str]) -> Command {
        let mut cmd = bare_herald(self.dir.path());
        cmd.arg("--database-url").arg(&self.database_url).args(args);
        cmd
    }
}

impl TestEnv {
    /// Like [`TestEnv::herald`], as a `std::process::Command` (for children
    /// that a test kills or runs side by side).
    pub fn herald_std(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("herald"));
        for (k, _) in std::env::vars() {
            if k.starts_with("HERALD_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("RUST_LOG", "warn").current_dir(self.dir.path());
        cmd.arg("--database-url").arg(&self.database_url).args(args);
        cmd
    }
}

/// The binary with a clean environment, in `dir`.
pub fn bare_herald(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("herald").expect("herald binary");
    for (k, _) in std::env::vars() {
        if k.starts_with("HERALD_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "warn").current_dir(dir);
    cmd
}

/// A throwaway database on the test PostgreSQL server.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin_url = std::env::var("HERALD_TEST_POSTGRES_URL").expect(
            "the PostgreSQL tests were built with HERALD_TEST_POSTGRES_URL set; set it when running them too",
        );
        let name = format!(
            "herald_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        admin(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = match admin_url.rfind('/') {
            Some(i) if admin_url[..i].contains("//") && i > admin_url.find("//").unwrap() + 1 => {
                let query = admin_url[i..]
                    .find('?')
                    .map(|q| &admin_url[i + q..])
                    .unwrap_or("");
                format!("{}/{name}{query}", &admin_url[..i])
            }
            _ => format!("{admin_url}/{name}"),
        };
        PgDatabase { admin_url, name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        admin(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn admin(url: &str, sql: &str) {
    let url = url.to_owned();
    let sql = sql.to_owned();
    // A thread of its own, so this works inside or outside a runtime.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to HERALD_TEST_POSTGRES_URL: {e}"));
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .expect("admin statement");
        });
    })
    .join()
    .expect("admin thread");
}

/// Standard output of a finished command, as text.
pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub mod smtp;
