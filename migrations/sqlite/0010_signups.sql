-- Two changes of issue #14.
--
-- 1. An address is unique case-insensitively in its local part too:
-- `email_key` is the address with ASCII letters lower-cased (the domain is
-- lower-cased already), computed by SubscriberEmail::key for new rows.
-- Copies of one address that differ only in case are merged into one row:
-- the survivor is the copy whose state is the most cautious (bounced, then
-- unsubscribed, then active, then pending: an opt-out on any copy wins),
-- the oldest among equals. The other copies' delivery rows move to the
-- survivor (unless it has one for that edition), their bounce events too,
-- and the copies are deleted.
ALTER TABLE subscribers ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
UPDATE subscribers SET email_key = lower(email);

CREATE TABLE subscriber_merge AS
SELECT id, survivor FROM (
    SELECT id, first_value(id) OVER (
        PARTITION BY email_key
        ORDER BY CASE status WHEN 'bounced' THEN 0 WHEN 'unsubscribed' THEN 1 WHEN 'active' THEN 2 ELSE 3 END, id
    ) AS survivor
    FROM subscribers
) AS ranked
WHERE id <> survivor;

UPDATE deliveries SET subscriber_id = (SELECT m.survivor FROM subscriber_merge m WHERE m.id = deliveries.subscriber_id)
WHERE id IN (
    SELECT min(d.id) FROM deliveries d JOIN subscriber_merge m ON m.id = d.subscriber_id
    WHERE NOT EXISTS (SELECT 1 FROM deliveries s WHERE s.subscriber_id = m.survivor AND s.edition_id = d.edition_id)
    GROUP BY m.survivor, d.edition_id
);
UPDATE bounce_events SET subscriber_id = (SELECT m.survivor FROM subscriber_merge m WHERE m.id = bounce_events.subscriber_id)
WHERE subscriber_id IN (SELECT id FROM subscriber_merge);
DELETE FROM subscribers WHERE id IN (SELECT id FROM subscriber_merge);
DROP TABLE subscriber_merge;

-- (Not "subscribers_email_key": PostgreSQL named the email column's own
-- unique index so.)
CREATE UNIQUE INDEX subscribers_by_email_key ON subscribers (email_key);

-- 2. A web signup is a record of its own until its link is confirmed, so a
-- stranger's signup never changes a subscriber's row. At most one per
-- address; `confirm_sent_at` is when its last mail went out (one an hour;
-- the link is valid 48 hours from then).
CREATE TABLE signups (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL,
    email_key       TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL DEFAULT '',
    timezone        TEXT    NOT NULL,
    frequency       TEXT    NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    send_hour       INTEGER NOT NULL CHECK (send_hour BETWEEN 0 AND 23),
    topics          TEXT    NOT NULL DEFAULT '',
    token           TEXT    NOT NULL UNIQUE,
    created_at      TEXT    NOT NULL,
    confirm_sent_at TEXT    NOT NULL
);
CREATE INDEX signups_confirm_sent_at ON signups (confirm_sent_at);

-- Web signups waiting for confirmation move here with their token, so the
-- links already mailed keep working. A pending row that was confirmed once
-- can only have been an unsubscribed reader whom a signup made pending
-- again (the bug this fixes): it goes back to unsubscribed, and its signup
-- waits here like any other. Rows made pending by an import or by
-- `subscribers add --pending` (no confirmation mail) stay as they are.
INSERT INTO signups (email, email_key, name, timezone, frequency, send_hour, topics, token, created_at, confirm_sent_at)
SELECT email, email_key, name, timezone, frequency, send_hour, topics, token, updated_at, confirm_sent_at
FROM subscribers WHERE status = 'pending' AND confirm_sent_at IS NOT NULL;
UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = updated_at
WHERE status = 'pending' AND confirm_sent_at IS NOT NULL AND confirmed_at IS NOT NULL;
DELETE FROM subscribers WHERE status = 'pending' AND confirm_sent_at IS NOT NULL AND confirmed_at IS NULL;
