-- Histories are looked up by subscriber only. Indexing sent_at as well made
-- every recorded delivery move an index entry (sent_at is written when the
-- row is sent); an index on subscriber_id alone never changes after the
-- insert. Measured: 6% faster delivery on SQLite (bench/delivery.sh).
DROP INDEX deliveries_history;
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id);
