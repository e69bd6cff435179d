-- Consecutive permanent delivery failures; reset by a successful delivery.
ALTER TABLE subscribers ADD COLUMN bounce_count INTEGER NOT NULL DEFAULT 0;

-- The selection time of a sent digest: the next window starts there.
ALTER TABLE deliveries ADD COLUMN window_end TEXT;
