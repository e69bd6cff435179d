//! Turns on the PostgreSQL variants of the integration tests when
//! HERALD_TEST_POSTGRES_URL is set at build time; without it they are
//! compiled as ignored tests, so `cargo test` lists them as skipped.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(herald_postgres_tests)");
    println!("cargo::rerun-if-env-changed=HERALD_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-changed=migrations");
    if std::env::var_os("HERALD_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=herald_postgres_tests");
    }
}
