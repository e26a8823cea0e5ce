-- The claim's read of the plain queues (lib/queue/claim.ts), in place of
-- jobq_claim_plain (0019, kept for processes started before this
-- migration). With no queue paused or limited it is 0019's read: the walk of
-- job_claim_idx in claim order, stopped by the LIMIT (PL/pgSQL keeps its plan
-- for the session, where 0019's SQL function planned it at each claim: a
-- little less database CPU per claim).
--
-- When some queue is paused or limited, 0019's walk of job_claim_idx in claim
-- order passed over the jobs of the paused or limited queues one by one
-- (`queue` is not in that index: a heap fetch each), so a paused queue's
-- backlog ahead of the others in claim order was read on every claim:
-- 200,000 pending jobs of a paused queue made each claim walk 200,000
-- entries (~60 ms), however few jobs the open queues held.
--
-- With such a backlog, the open queues (every queue in `queue` that is
-- neither paused nor limited: every queue any job names has its row, added
-- by the insert trigger and job_queue_register) are read apart, each from
-- job_queue_claim_idx in claim order, `lim` rows each (locked, as the
-- limited and WORKER_QUEUES parts lock theirs; the rows not claimed are
-- unlocked at commit), and the best `lim` of them returned. That costs a
-- probe per open queue, so it is taken only when the special queues' pending
-- jobs (the maintained counts, an upper bound of what the walk passes over)
-- outnumber what the probes could read: with a few queues almost always,
-- with thousands of open queues only when the held backlog is larger still.
-- Otherwise the walk, skipping them as jobq_claim_plain does.
--
-- Planner settings as in 0019 (no sort, no bitmap scan): with no statistics
-- every read stays an ordered index scan stopped by its LIMIT. The merge of
-- the per-queue reads must sort (a few rows), which a disabled sort prices
-- at 1e10: no JIT, or that cost has each claim compiled (~100 ms).
-- `special`: the paused or limited queues (empty when there are none).
-- `types`: NULL for every type.
CREATE FUNCTION jobq_claim_open(lim int, types text[], special text[], t timestamptz)
RETURNS TABLE (id uuid, priority smallint, created_at timestamptz)
LANGUAGE plpgsql VOLATILE
SET enable_sort = off SET enable_bitmapscan = off SET jit = off
AS $$
DECLARE
  held bigint;
  open_queues bigint;
BEGIN
  IF cardinality(special) = 0 THEN
    RETURN QUERY
      SELECT j.id, j.priority, j.created_at FROM job j
      WHERE j.status = 'pending' AND j.scheduled_for <= t AND j.attempts < j.max_attempts
        AND (j.expires_at IS NULL OR j.expires_at > t)
        AND (types IS NULL OR j.type = ANY (types))
      ORDER BY j.priority DESC, j.created_at, j.id
      LIMIT lim
      FOR UPDATE OF j SKIP LOCKED;
    RETURN;
  END IF;
  SELECT coalesce(sum(c.n), 0) INTO held FROM (
    SELECT s.n FROM job_status_count s WHERE s.status = 'pending' AND s.queue = ANY (special)
    UNION ALL
    SELECT d.n FROM job_status_delta d WHERE d.status = 'pending' AND d.queue = ANY (special)
  ) AS c;
  SELECT count(*) INTO open_queues FROM queue q WHERE q.name <> ALL (special);
  IF held <= open_queues * (lim + 4) THEN
    RETURN QUERY
      SELECT j.id, j.priority, j.created_at FROM job j
      WHERE j.status = 'pending' AND j.scheduled_for <= t AND j.attempts < j.max_attempts
        AND (j.expires_at IS NULL OR j.expires_at > t)
        AND j.queue <> ALL (special)
        AND (types IS NULL OR j.type = ANY (types))
      ORDER BY j.priority DESC, j.created_at, j.id
      LIMIT lim
      FOR UPDATE OF j SKIP LOCKED;
  ELSE
    RETURN QUERY
      SELECT c.id, c.priority, c.created_at
      FROM (SELECT q.name FROM queue q WHERE q.name <> ALL (special) ORDER BY q.name) AS q
      CROSS JOIN LATERAL (
        SELECT j.id, j.priority, j.created_at FROM job j
        WHERE j.queue = q.name AND j.status = 'pending' AND j.scheduled_for <= t
          AND j.attempts < j.max_attempts AND (j.expires_at IS NULL OR j.expires_at > t)
          AND (types IS NULL OR j.type = ANY (types))
        ORDER BY j.queue, j.priority DESC, j.created_at, j.id
        LIMIT lim
        FOR UPDATE OF j SKIP LOCKED
      ) AS c
      ORDER BY c.priority DESC, c.created_at, c.id
      LIMIT lim;
  END IF;
END $$;

-- The claim's read of one queue's due jobs (a limited queue's free slots, a
-- queue a WORKER_QUEUES worker serves), fenced as jobq_claim_plain is. With
-- statistics from before a burst (`job` analyzed while it held no pending
-- job of that queue), the planner read the queue's jobs through
-- job_pending_created_idx and sorted them all: 20,000 pending jobs of each
-- of two WORKER_QUEUES queues made a claim take ~50 ms, 50,000 of a limited
-- queue ~60 ms, where job_queue_claim_idx read in claim order and stopped at
-- the LIMIT takes well under 1 ms. Called once per queue (LATERAL), in the
-- caller's queue order; locks as the inline read did.
CREATE FUNCTION jobq_claim_queue(q text, lim int, types text[], t timestamptz)
RETURNS TABLE (id uuid, priority smallint, created_at timestamptz)
LANGUAGE sql VOLATILE
SET enable_sort = off SET enable_bitmapscan = off
AS $$
  SELECT j.id, j.priority, j.created_at FROM job j
  WHERE j.queue = q AND j.status = 'pending' AND j.scheduled_for <= t
    AND j.attempts < j.max_attempts AND (j.expires_at IS NULL OR j.expires_at > t)
    AND (types IS NULL OR j.type = ANY (types))
  ORDER BY j.queue, j.priority DESC, j.created_at, j.id
  LIMIT lim
  FOR UPDATE OF j SKIP LOCKED
$$;
