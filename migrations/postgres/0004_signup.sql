-- When the last double opt-in confirmation mail went out (one an hour at most;
-- the link is valid 48 hours).
ALTER TABLE subscribers ADD COLUMN confirm_sent_at TIMESTAMPTZ;

-- A subscriber may pause their digest until this instant.
ALTER TABLE subscribers ADD COLUMN paused_until TIMESTAMPTZ;
