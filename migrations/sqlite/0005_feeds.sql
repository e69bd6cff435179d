-- Feeds Herald pulls stories from (`herald feeds add`), with what the last
-- fetch learned: the validators for a conditional GET, and how it went.
CREATE TABLE feeds (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL CHECK (kind IN ('story', 'blog')),
    section         TEXT    NOT NULL DEFAULT '',
    title           TEXT    NOT NULL DEFAULT '',
    etag            TEXT,
    last_modified   TEXT,
    last_fetched_at TEXT,
    last_success_at TEXT,
    last_error      TEXT,
    item_count      INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
