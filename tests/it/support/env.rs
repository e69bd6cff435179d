//! [`TestEnv`]: each test gets its own working directory and its own store
//! (a fresh SQLite file, or a fresh PostgreSQL database created on the
//! server named by HERALD_TEST_POSTGRES_URL and dropped afterwards), and
//! reaches it two ways: the real `herald` binary run in that directory
//! (for what needs a process: exit codes, messages, kill -9, SIGTERM), or
//! in process, through the same configuration layers, the store and the
//! delivery engine (for what the ledger and the store can tell). The
//! settings both take are one [`Settings`] list, so a subprocess and an
//! in-process engine are configured alike.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;
use herald::config::{Config, Overrides};
use herald::deliver::Engine;
use herald::store::{DeliveryRow, Store};
use tempfile::TempDir;

use super::smtp::SmtpSink;

pub struct TestEnv {
    dir: TempDir,
    database_url: String,
    /// Dropped with the env: drops the database.
    _postgres: Option<PgDatabase>,
}

/// HERALD_* settings for a run, in the form of environment variables:
/// applied to a subprocess as its environment and to an in-process
/// configuration as the environment layer.
#[derive(Debug, Clone, Default)]
pub struct Settings(Vec<(String, String)>);

impl Settings {
    /// Mail goes to `sink` over plain SMTP (it offers no STARTTLS) and a
    /// run ends as soon as nothing is left to send.
    pub fn smtp(sink: &SmtpSink) -> Settings {
        Settings::smtp_port(sink.port)
    }

    /// [`Settings::smtp`] for any server on 127.0.0.1:`port`.
    pub fn smtp_port(port: u16) -> Settings {
        Settings::default()
            .set("HERALD_MAIL__TRANSPORT", "smtp")
            .set(
                "HERALD_MAIL__SMTP_URL",
                format!("smtp://127.0.0.1:{port}?tls=none"),
            )
            .set("HERALD_DELIVERY__LINGER", "0")
    }

    /// Adds (or, given again, overrides) one variable.
    pub fn set(mut self, key: &str, value: impl Into<String>) -> Settings {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.into()));
        self
    }

    /// The variables, for `Command::envs`.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl TestEnv {
    /// A SQLite store in a new directory. Herald's commands (all but
    /// `migrate`, `init` and `demo`) refuse a store that does not exist, so
    /// the file is created here, empty: SQLite takes an empty file as an
    /// empty database, and the first command migrates it.
    pub fn sqlite() -> Self {
        let env = TestEnv::sqlite_without_store();
        std::fs::File::create(env.path("herald.db")).expect("an empty store file");
        env
    }

    /// [`TestEnv::sqlite`] whose store file does not exist yet.
    pub fn sqlite_without_store() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}", dir.path().join("herald.db").display());
        TestEnv {
            dir,
            database_url,
            _postgres: None,
        }
    }

    pub fn postgres() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = PgDatabase::create();
        TestEnv {
            dir,
            database_url: pg.url.clone(),
            _postgres: Some(pg),
        }
    }

    /// The store's URL (`sqlite://…` or `postgres://…`), for a herald run
    /// that a test does not start itself (a Postfix pipe transport).
    pub fn database_url(&self) -> &str {
        &self.database_url
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
        Command::from_std(self.herald_std(args))
    }
}

impl TestEnv {
    /// Like [`TestEnv::herald`], as a `std::process::Command` (for children
    /// that a test kills or runs side by side).
    pub fn herald_std(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = bare_herald_std(self.dir.path());
        cmd.arg("--database-url").arg(&self.database_url).args(args);
        cmd
    }

    /// Imports one story of 2026-03-10 and `n` daily subscribers
    /// reader0@example.com… (the return-path tests' edition).
    pub fn seed_readers(&self, n: usize) {
        let story = self.write(
            "story.jsonl",
            "{\"title\": \"Council approves night buses\", \"url\": \"https://news.example.com/a\", \"published_at\": \"2026-03-10T06:00:00Z\", \"votes\": 10}\n",
        );
        self.herald(&["stories", "import", story.to_str().unwrap()])
            .assert()
            .success();
        let mut csv = String::from("email,name\n");
        for i in 0..n {
            csv.push_str(&format!("reader{i}@example.com,Reader {i}\n"));
        }
        let file = self.write("subscribers.csv", &csv);
        self.herald(&["subscribers", "import", file.to_str().unwrap()])
            .assert()
            .success();
    }

    /// `herald subscribers show EMAIL --format json`, parsed.
    pub fn show(&self, email: &str) -> serde_json::Value {
        self.json(&["subscribers", "show", email, "--format", "json"])
    }

    /// The JSON a successful command prints.
    pub fn json<T: serde::de::DeserializeOwned>(&self, args: &[&str]) -> T {
        let out = self.herald(args).output().expect("herald runs");
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

/// In process: the configuration, the store and the engine the binary would
/// build in this directory (its defaults: no ./config/herald.toml there).
impl TestEnv {
    pub fn config(&self, settings: &Settings) -> Config {
        let overrides = Overrides {
            config_path: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/herald.toml")),
            database_url: Some(self.database_url.clone()),
            metrics_file: None,
        };
        Config::load_from(&overrides, &settings.0).expect("the test configuration is valid")
    }

    /// The store, migrated.
    pub async fn store(&self) -> Store {
        Store::open(&self.config(&Settings::default()).database)
            .await
            .expect("the test store opens")
    }

    /// The delivery engine with `settings`, over this env's store.
    pub async fn engine(&self, settings: &Settings) -> Engine {
        let config = self.config(settings);
        let store = Store::open(&config.database).await.expect("the test store opens");
        Engine::new(&config, store).expect("the engine starts")
    }

    /// Every ledger row of the edition `key` (e.g. `daily-2026-03-10`).
    pub async fn ledger(&self, key: &str) -> Vec<DeliveryRow> {
        let edition: herald::domain::Edition = key.parse().expect("an edition key");
        let store = self.store().await;
        let rows = store
            .list_deliveries(Some(&edition), None, i64::MAX)
            .await
            .expect("reading the ledger");
        store.close().await;
        rows
    }
}

/// The binary with a clean environment, in `dir`.
pub fn bare_herald(dir: &Path) -> Command {
    Command::from_std(bare_herald_std(dir))
}

/// [`bare_herald`] as a `std::process::Command`: no HERALD_* variables of
/// the test's own environment, quiet logs.
fn bare_herald_std(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("herald"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HERALD_") {
            cmd.env_remove(k);
        }
    }
    // No metrics listener unless a test asks for one: its default port
    // would be shared by every daemon the tests run side by side.
    cmd.env("RUST_LOG", "warn")
        .env("HERALD_METRICS__LISTEN", "off")
        .current_dir(dir);
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
        super::block_on(async {
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
