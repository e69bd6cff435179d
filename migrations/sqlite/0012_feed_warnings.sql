-- What a fetch that worked still found wrong (no entries in a non-empty
-- document, every entry skipped), shown by `feeds list`; NULL when the
-- last fetch had nothing to say.
ALTER TABLE feeds ADD COLUMN last_warning TEXT;

-- Undated entries found by a feed's first fetch when the feed itself has
-- no date either: they may be years old, so they are not stored as
-- stories (they would be published "today"), and stay out while they have
-- no date.
CREATE TABLE feed_held_entries (
    feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    url     TEXT    NOT NULL,
    held_at TEXT    NOT NULL,
    PRIMARY KEY (feed_id, url)
);
