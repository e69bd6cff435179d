-- The return path: every bounce and complaint Herald hears (one row per
-- report and recipient), the suppression list (hashes of addresses that
-- bounced hard or complained, kept when the subscriber is erased), the
-- guard's pauses, and the store's own secrets (the VERP key).

CREATE TABLE bounce_events (
    id            INTEGER PRIMARY KEY,
    received_at   TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    category      TEXT    NOT NULL CHECK (category IN ('hard', 'soft', 'policy', 'complaint', 'none')),
    status        TEXT,
    reason        TEXT    NOT NULL DEFAULT '',
    diagnostic    TEXT    NOT NULL DEFAULT '',
    subscriber_id INTEGER REFERENCES subscribers (id) ON DELETE SET NULL,
    delivery_id   INTEGER REFERENCES deliveries (id) ON DELETE SET NULL,
    edition_id    INTEGER REFERENCES editions (id) ON DELETE SET NULL,
    -- The recipient's domain, for the per-domain rates.
    domain        TEXT    NOT NULL DEFAULT '',
    -- Source, report id and recipient: the same report is recorded once.
    report_key    TEXT    UNIQUE,
    -- What Herald did: '', 'counted', 'bounced', 'unsubscribed', 'paused'.
    action        TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX bounce_events_received ON bounce_events (received_at);
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, category, received_at);
CREATE INDEX bounce_events_edition ON bounce_events (edition_id, category);
CREATE INDEX bounce_events_domain ON bounce_events (edition_id, domain, id);

CREATE TABLE suppressions (
    -- SHA-256 of the lower-cased address, hex.
    address_hash TEXT PRIMARY KEY,
    reason       TEXT NOT NULL CHECK (reason IN ('hard', 'complaint')),
    created_at   TEXT NOT NULL
);

-- The guard: an edition (domain '') or one recipient domain of it paused.
-- A resumed pause keeps its row; the guard then judges only what happened
-- after resumed_at.
CREATE TABLE edition_pauses (
    edition_id INTEGER NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
    domain     TEXT    NOT NULL DEFAULT '',
    reason     TEXT    NOT NULL,
    paused_at  TEXT    NOT NULL,
    resumed_at TEXT,
    PRIMARY KEY (edition_id, domain)
);

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The recipient's domain on each delivery, so a paused domain's rows are
-- left alone by the claim.
ALTER TABLE deliveries ADD COLUMN domain TEXT NOT NULL DEFAULT '';

-- Why an unsubscribed subscriber left: NULL for their own click, else e.g.
-- 'complaint (ses)'.
ALTER TABLE subscribers ADD COLUMN unsubscribe_reason TEXT;

-- Reports and webhooks find subscribers by address, case-insensitively.
CREATE INDEX subscribers_email_lower ON subscribers (lower(email));

-- Rows still to send get their domain (later rows get it at enqueue).
UPDATE deliveries SET domain = (SELECT substr(email, instr(email, '@') + 1) FROM subscribers s WHERE s.id = deliveries.subscriber_id)
WHERE status IN ('queued', 'deferred', 'sending');
