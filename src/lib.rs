//! Herald: an email digest daemon for news sites. See ARCHITECTURE.md for the
//! map; data flows store → select → render → send → record.

pub mod bounce;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod domain;
pub mod feeds;
pub mod http;
pub mod i18n;
pub mod import;
pub mod mail;
pub mod metrics;
pub mod progress;
pub mod render;
pub mod schedule;
pub mod select;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod templates;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
