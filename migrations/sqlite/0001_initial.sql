-- Herald's initial schema on SQLite. Timestamps are RFC 3339 text in UTC
-- ("2026-03-10T07:00:00+00:00"), so they sort as text.

CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
    timezone        TEXT    NOT NULL,
    frequency       TEXT    NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    send_hour       INTEGER NOT NULL CHECK (send_hour BETWEEN 0 AND 23),
    topics          TEXT    NOT NULL DEFAULT '',
    token           TEXT    NOT NULL UNIQUE,
    created_at      TEXT    NOT NULL,
    confirmed_at    TEXT,
    unsubscribed_at TEXT,
    updated_at      TEXT    NOT NULL
);

CREATE INDEX subscribers_status ON subscribers (status, id);

CREATE TABLE stories (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('story', 'blog')),
    title        TEXT    NOT NULL,
    url          TEXT    NOT NULL UNIQUE,
    summary      TEXT    NOT NULL DEFAULT '',
    author       TEXT    NOT NULL DEFAULT '',
    section      TEXT    NOT NULL DEFAULT '',
    image_url    TEXT,
    published_at TEXT    NOT NULL,
    votes        INTEGER NOT NULL DEFAULT 0 CHECK (votes >= 0),
    comments     INTEGER NOT NULL DEFAULT 0 CHECK (comments >= 0),
    updated_at   TEXT    NOT NULL
);

CREATE INDEX stories_published_at ON stories (published_at);
