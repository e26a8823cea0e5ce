-- jobq_claim_plain (0019) in PL/pgSQL: the same query, the same planner
-- settings, the same result. A SQL function that carries SET options is
-- never inlined, and the SQL function executor parses and plans its body
-- again at every call: ~0.05 ms of backend CPU on every claim statement,
-- which at the runner's few jobs a statement is a few percent of a job's
-- database time. PL/pgSQL keeps the query's plan for the session (a generic
-- plan once it is no dearer than the custom ones: with sorts and bitmap
-- scans off, the one plan left is still job_claim_idx read in claim order,
-- stopped by the LIMIT).
CREATE OR REPLACE FUNCTION jobq_claim_plain(lim int, types text[], special text[], t timestamptz)
RETURNS TABLE (id uuid, priority smallint, created_at timestamptz)
LANGUAGE plpgsql VOLATILE
SET enable_sort = off SET enable_bitmapscan = off
AS $$
BEGIN
  RETURN QUERY
  SELECT j.id, j.priority, j.created_at FROM job j
  WHERE j.status = 'pending' AND j.scheduled_for <= t AND j.attempts < j.max_attempts
    AND (j.expires_at IS NULL OR j.expires_at > t)
    AND (cardinality(special) = 0 OR j.queue <> ALL (special))
    AND (types IS NULL OR j.type = ANY (types))
  ORDER BY j.priority DESC, j.created_at, j.id
  LIMIT lim
  FOR UPDATE OF j SKIP LOCKED;
END
$$;
