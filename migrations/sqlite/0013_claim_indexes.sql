-- The claim finds rows held by runs that are no longer live from those
-- runs: one short range of this index per dead run (src/store/deliveries.rs,
-- Store::claim). Partial: a row is in it only while it is being sent.
-- (SQLite has no autovacuum settings per table: it updates its b-trees in
-- place and leaves no dead entries behind.)
CREATE INDEX deliveries_held ON deliveries (edition_id, run_id, id) WHERE status = 'sending';

-- Which rows name a run: the retention pass deletes runs that no row names
-- any more, and the foreign key's check on that delete reads this index.
CREATE INDEX deliveries_run ON deliveries (run_id);
