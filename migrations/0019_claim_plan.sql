-- The claim's read of the due jobs of every plain queue (lib/queue/claim.ts),
-- fenced from the planner's row estimates. Until `job` is analyzed after a
-- burst of enqueues (a new database, or a small table before autovacuum's
-- next analyze), its statistics say almost no job is pending; on that guess
-- the cheapest-looking plan read every pending job through
-- job_pending_created_idx and sorted them all, on every claim, to take a
-- few: 7 ms a claim at 5,000 pending jobs, growing with the backlog, where
-- the ordered scan of job_claim_idx takes 0.2 ms whatever the backlog.
--
-- A function can carry planner settings: here no sort and no bitmap scan,
-- so the one plan left is job_claim_idx read in claim order, stopped by the
-- LIMIT. It is planned at each claim, with these settings only inside it.
-- `special`: the paused or limited queues (claimed apart); empty when there
-- are none. `types`: NULL for every type.
CREATE FUNCTION jobq_claim_plain(lim int, types text[], special text[], t timestamptz)
RETURNS TABLE (id uuid, priority smallint, created_at timestamptz)
LANGUAGE sql VOLATILE
SET enable_sort = off SET enable_bitmapscan = off
AS $$
  SELECT j.id, j.priority, j.created_at FROM job j
  WHERE j.status = 'pending' AND j.scheduled_for <= t AND j.attempts < j.max_attempts
    AND (j.expires_at IS NULL OR j.expires_at > t)
    AND (cardinality(special) = 0 OR j.queue <> ALL (special))
    AND (types IS NULL OR j.type = ANY (types))
  ORDER BY j.priority DESC, j.created_at, j.id
  LIMIT lim
  FOR UPDATE OF j SKIP LOCKED
$$;
