//! Herald's integration tests, one binary with a module per area. Each test
//! builds a [`support::TestEnv`]: a store of its own (SQLite, or a fresh
//! PostgreSQL database when built with HERALD_TEST_POSTGRES_URL), reached
//! through the real binary where a process is the point (exit codes,
//! messages, kill -9, SIGTERM, the daemon) and in process otherwise (the
//! engine, the store, the router); mail goes to the real SMTP server of
//! `support::smtp` on port 0. Stories and subscribers come from the
//! library's builders (`herald::testing`).
//!
//! - `bounce_corpus`: the corpus of bounces, complaints and non-reports in
//!   tests/fixtures/bounces, against its table of expected findings.
//! - `bounces`: VERP, DSNs and complaints through `bounces ingest`, the
//!   relay's refusals by category, suppression, the guard.
//! - `cli`: every admin command and its bad-input cases.
//! - `daemon`: `herald run` and `send --due` end to end.
//! - `delivery`: retries, bounces, timeouts, kill -9, two processes, SIGTERM.
//! - `digest`: one edition over SMTP, parsed as MIME; preview, dry run, test send.
//! - `dkim`: signatures checked by an independent verifier.
//! - `feeds`: fixture feeds served over HTTP and fetched into the store.
//! - `archive`: the public archive, its Atom feed, caching, no personal data.
//! - `http`: the router's handlers, called in process.
//! - `i18n_digest`: the digest in en, ar and fr (snapshots, plurals, one
//!   edition read in several languages, the mirrored layout, isolates
//!   through the MIME encodings).
//! - `imap`: the bounce mailbox read from a real Dovecot started by the test.
//! - `languages`: stories' `lang` (imports, `stories list`) and each
//!   reader's language first (`digest.story_languages = "theirs_first"`).
//! - `ops`: operating Herald: where the configuration and the store are
//!   looked for, `herald init`, closed pipes, `--version`, metrics.
//! - `page_languages`: the pages and the confirmation mail in en, ar and
//!   fr (snapshots), how a page and a signup pick their language.
//! - `pages`: signup with a time zone, confirmation, preferences, view in
//!   browser, `herald form`.
//! - `postfix`: a real Postfix between Herald and the SMTP server, its DSNs
//!   piped into `bounces ingest -` (skipped without Postfix or root).
//! - `render`: snapshots of the rendered digest, escaping, sizes.
//! - `retention`: the ledger's retention pass and what still reads a
//!   pruned edition.
//! - `setup_faults`: relay refusals of Herald's own setup stop the run and
//!   charge no subscriber.
//! - `smtp_sink`: the test SMTP server itself.
//! - `webhooks`: the provider webhooks, signed with keys made in the test.
//! - `wire`: Herald's SMTP client: pipelining or not, 8BITMIME or not,
//!   byte-correct delivery, RSET after a refusal, `config check --connect`.

#[macro_use]
mod support;

mod archive;
mod bounce_corpus;
mod bounces;
mod cli;
mod daemon;
mod delivery;
mod digest;
mod dkim;
mod feeds;
mod hardening;
mod http;
mod i18n_digest;
mod imap;
mod languages;
mod locales;
mod ops;
mod page_languages;
mod pages;
mod postfix;
mod recovery;
mod render;
mod retention;
mod setup_faults;
mod smtp_sink;
mod webhooks;
mod wire;
