-- Editions (one digest round: a frequency and a date) and the delivery
-- ledger: one row per (edition, subscriber), whatever happens to it.

CREATE TABLE editions (
    id           INTEGER PRIMARY KEY,
    frequency    TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    edition_date TEXT NOT NULL,  -- YYYY-MM-DD
    created_at   TEXT NOT NULL,
    UNIQUE (frequency, edition_date)
);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    edition_id      INTEGER NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'skipped')),
    message_id      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until     TEXT,
    next_attempt_at TEXT,
    story_ids       TEXT    NOT NULL DEFAULT '',
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    sent_at         TEXT,
    UNIQUE (edition_id, subscriber_id)
);

CREATE INDEX deliveries_work ON deliveries (edition_id, status, id);
CREATE INDEX deliveries_history ON deliveries (subscriber_id, sent_at);
