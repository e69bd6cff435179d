-- Ledger retention (delivery.retention): the delivery rows of an old
-- edition are folded into per-status counts here and deleted, in batches;
-- `edition_counts` adds these counts to whatever rows are left.
CREATE TABLE edition_totals (
    edition_id BIGINT  NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
    status     TEXT    NOT NULL,
    count      BIGINT  NOT NULL CHECK (count >= 0),
    PRIMARY KEY (edition_id, status)
);

-- When the retention pass finished folding the edition: from then on its
-- rows are counts only, and nothing is queued for it again.
ALTER TABLE editions ADD COLUMN pruned_at TIMESTAMPTZ;

-- Deleting a delivery sets bounce_events.delivery_id to NULL (ON DELETE SET
-- NULL): without an index that is a scan of bounce_events per deleted row.
CREATE INDEX bounce_events_delivery ON bounce_events (delivery_id);
