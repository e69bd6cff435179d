//! What a feed fetch yields: [`FeedItem`], a story as a feed presents it
//! (with what the feed did not say), and [`FetchResult`], how one fetch
//! ended. `feeds` produces them, the store keeps them; here they are plain
//! values so that the store depends on `domain` only.

use super::NewStory;

/// A story read from a feed, with what the feed did not say.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub story: NewStory,
    /// The entry carried a publication (or update) time.
    pub dated: bool,
    /// The entry carried a comment count (`slash:comments`, `thr:total`).
    pub counted: bool,
}

/// How one fetch ended, as the ledger of feeds records it.
#[derive(Debug, Clone)]
pub enum FetchResult {
    /// A 200 with a parsed body.
    Fetched {
        title: String,
        etag: Option<String>,
        last_modified: Option<String>,
        item_count: i64,
        /// What the fetch found wrong though it worked (no entries in a
        /// non-empty document, every entry skipped).
        warning: Option<String>,
    },
    /// A 304: nothing changed since the last fetch.
    NotModified,
    Failed {
        error: String,
    },
}
