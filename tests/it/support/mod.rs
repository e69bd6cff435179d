//! What every test area shares, and nothing an area needs alone: the
//! [`TestEnv`] (a temporary store on the backend under test, the real binary
//! and the in-process engine pointed at it), the SMTP server of `smtp`, the
//! HTTP client of `http`, the certificates of `tls`, the `both_backends!` macro, and small readers of a
//! finished process. The story and subscriber builders are the library's
//! (`herald::testing`), so that unit tests and benches share them too.

pub mod env;
pub mod http;
pub mod smtp;
pub mod tls;

use std::future::Future;
use std::time::{Duration, Instant};

pub use env::{Settings, TestEnv, bare_herald};

/// Runs the body once per backend: `name::sqlite` always, `name::postgres`
/// when the tests were built with HERALD_TEST_POSTGRES_URL set (otherwise it
/// is reported as ignored, with the reason). An `async fn` body runs on a
/// single-threaded runtime, as the binary's does.
macro_rules! both_backends {
    () => {};
    (fn $name:ident($env:ident: &TestEnv) $body:block $($rest:tt)*) => {
        both_backends!(@tests $name, fn run_test($env: &TestEnv) $body);
        both_backends!($($rest)*);
    };
    (async fn $name:ident($env:ident: &TestEnv) $body:block $($rest:tt)*) => {
        both_backends!(
            @tests $name,
            fn run_test(env: &TestEnv) {
                $crate::support::block_on(test_body(env))
            }
            async fn test_body($env: &TestEnv) $body
        );
        both_backends!($($rest)*);
    };
    (@tests $name:ident, $($item:item)+) => {
        mod $name {
            use super::*;

            $($item)+

            #[test]
            fn sqlite() {
                run_test(&TestEnv::sqlite());
            }

            #[test]
            #[cfg_attr(
                not(herald_postgres_tests),
                ignore = "PostgreSQL tests need HERALD_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test"
            )]
            fn postgres() {
                run_test(&TestEnv::postgres());
            }
        }
    };
}

/// Runs `future` to completion on a fresh single-threaded runtime (a thread
/// of the test's own; must not be called from inside a runtime).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the test")
        .block_on(future)
}

/// Polls `ok` every 20 ms until it holds; panics naming `what` after
/// `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Standard output of a finished command, as text.
pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error of a finished command, as text.
pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `html` with its decimal character references (`&#233;`) decoded and its
/// named entities (`&lt;`, `&amp;`) left as they are: the text a reader
/// sees wherever the renderer wrote a character outside ASCII as a
/// reference, while escaped markup still shows as escaped.
pub fn decode_references(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let c = (digits > 0 && after[digits..].starts_with(';'))
            .then(|| after[..digits].parse().ok().and_then(char::from_u32))
            .flatten();
        match c {
            Some(c) => {
                out.push(c);
                rest = &after[digits + 1..];
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
