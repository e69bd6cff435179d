-- The claim finds rows held by runs that are no longer live from those
-- runs: one short range of this index per dead run, so the dead index
-- entries every live run's claims and finishes leave among the edition's
-- `sending` rows are never read (src/store/deliveries.rs, Store::claim).
-- Partial: a row is in it only while it is being sent.
CREATE INDEX deliveries_held ON deliveries (edition_id, run_id, id) WHERE status = 'sending';

-- Which rows name a run: the retention pass deletes runs that no row names
-- any more, and the foreign key's check on that delete reads this index
-- (without it, a scan of the ledger per run).
CREATE INDEX deliveries_run ON deliveries (run_id);

-- Every claim and finish updates a row's status, which is in the work
-- indexes, so each leaves dead tuples and index entries behind. Vacuum the
-- ledger after 2% of it changed (the default is 20%, which on a ledger of
-- tens of millions of rows lets a whole edition's churn pile up) and let
-- that vacuum run without the cost delay.
ALTER TABLE deliveries SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.05,
    autovacuum_vacuum_cost_delay = 0
);
