-- Runs: one row per process that sends (a `herald send` or a daemon's
-- engine). A run renews heartbeat_at on the database's clock while it
-- lives and sets stopped_at when it exits cleanly; a ledger row in
-- `sending` names the run that claimed it, and is free for another run
-- once that run has stopped, has gone silent for longer than
-- delivery.heartbeat_timeout, or (seen from the same host) its process is
-- gone. lease_until stays only for rows claimed before this migration.

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    -- The boot id and the process's start time in clock ticks since boot:
    -- a reused pid is not mistaken for the run.
    start_marker TEXT    NOT NULL,
    started_at   TEXT    NOT NULL,
    heartbeat_at TEXT    NOT NULL,
    stopped_at   TEXT
);

CREATE INDEX runs_live ON runs (host) WHERE stopped_at IS NULL;

ALTER TABLE deliveries ADD COLUMN run_id INTEGER REFERENCES runs (id);
