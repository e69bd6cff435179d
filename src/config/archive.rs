//! The `archive` section: whether `herald run` serves the public archive
//! (`/archive`, `/archive/{edition}`, `/archive/feed.xml`) and how many
//! editions its list and feed show. Reads nothing but its keys.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::check::Check;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArchive {
    pub enabled: bool,
    pub editions: i64,
}

/// The public archive's settings.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveConfig {
    /// Off by default: the archive is public, a site turns it on.
    pub enabled: bool,
    /// Editions on the archive page and in its feed, newest first.
    pub editions: usize,
}

impl ArchiveConfig {
    pub(super) fn from_raw(raw: &RawArchive, c: &Check) -> Result<Self, ConfigError> {
        Ok(ArchiveConfig {
            enabled: raw.enabled,
            editions: c.count("archive.editions", raw.editions, 1000)?,
        })
    }
}
