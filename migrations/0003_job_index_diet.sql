-- Fewer index entries per state change on the hot table.
--
-- A claim (pending → processing) and a completion (processing → completed)
-- change `status`, which is indexed, so neither can be a HOT update: every
-- non-partial index of `job` gets a new entry on each of them, and so does
-- every partial index whose predicate the new row version satisfies. With
-- the indexes of 0001 that was 7 index entries per claim and 7 per completion.
--
-- Replaced here:
-- * job_status_created_idx (status, created_at DESC), non-partial, touched by
--   every update → partial indexes for the statuses a person filters on and
--   that are a small part of history: pending, failed, cancelled. Processing
--   jobs are few and found through job_lease_idx (partial on processing);
--   completed jobs are most of history and are found by walking
--   job_created_idx with the status as a filter.
-- * job_type_created_idx and job_priority_created_idx, non-partial, touched
--   by every update: three types and five priorities are not selective, so a
--   first page filtered on them walks job_created_idx and stops at the LIMIT;
--   totals of status/type filters come from job_status_count (0002).
--
-- Now a claim writes 4 index entries (primary key, created, updated, lease)
-- and a completion 4 (primary key, created, updated, completed_at).
CREATE INDEX job_pending_created_idx ON job (created_at DESC) WHERE status = 'pending';
CREATE INDEX job_failed_created_idx ON job (created_at DESC) WHERE status = 'failed';
CREATE INDEX job_cancelled_created_idx ON job (created_at DESC) WHERE status = 'cancelled';
DROP INDEX job_status_created_idx;
DROP INDEX job_type_created_idx;
DROP INDEX job_priority_created_idx;

-- Vacuum the hot table after 2% of it changed (default 20%), so the claim
-- index's dead entries from claimed jobs are cleaned soon at any table size.
ALTER TABLE job SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
