-- Consecutive permanent delivery failures; reset by a successful delivery.
ALTER TABLE subscribers ADD COLUMN bounce_count INTEGER NOT NULL DEFAULT 0;
