-- Named queues (DESIGN.md "Engine features" → Queues): the `queue` table of
-- settings, the per-queue counts, the index a limited or restricted claim
-- reads, and the slot check that makes a queue's concurrency limit hold
-- across every worker process.
--
-- queue         one row per queue name any job has named (the insert trigger
--               below adds it with the statement that first names it; an
--               update that moves a job to a new queue adds it too).
--               concurrency: most jobs of the queue `processing` at once
--               across all processes, NULL = unlimited; paused: claims skip it.
--
-- Counts per queue: the status counts of 0002 gain a `queue` column, so the
-- same statement-level triggers (one small insert per statement, grouped by
-- status, type and queue instead of status and type) keep them; readers that
-- sum per status or type are unchanged. GET /api/queues reads them in one
-- snapshot, as stats.counts does, never counting `job`.
--
-- Claim (lib/queue/claim.ts): the plain path (queues neither paused nor
-- limited) is the claim it was, plus a filter `queue <> ALL(…)` on the few
-- paused or limited queue names (an init plan over the small `queue` table).
-- A limited queue is claimed apart: queue_claim_slots() takes a
-- transaction-scoped advisory lock for that queue (so claimers of one
-- limited queue take turns until their claim commits) and then counts the
-- queue's running jobs. It is VOLATILE PL/pgSQL: in READ COMMITTED its
-- statements read a fresh snapshot, taken after the lock was granted, so
-- they see the jobs the previous lock holder claimed and committed (the
-- claim statement's own snapshot, taken before it waited, would not).

CREATE TABLE queue (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
  concurrency integer CHECK (concurrency BETWEEN 1 AND 100000),
  paused      boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Pending jobs of one queue in claim order: the claim of a limited queue, a
-- worker restricted to some queues, and the queue-filtered job list. Partial
-- on pending like job_claim_idx: a claim (pending → processing) adds no entry
-- to it; an enqueue adds one.
CREATE INDEX job_queue_claim_idx ON job (queue, priority DESC, created_at, id)
  WHERE status = 'pending';

-- The counts per (status, type, queue), recounted once here under a lock
-- that keeps writers out until this migration commits.
LOCK TABLE job IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE job_status_count ADD COLUMN queue text NOT NULL DEFAULT 'default';
ALTER TABLE job_status_delta ADD COLUMN queue text NOT NULL DEFAULT 'default';
ALTER TABLE job_status_count DROP CONSTRAINT job_status_count_pkey;
DELETE FROM job_status_delta;
DELETE FROM job_status_count;
INSERT INTO job_status_count (status, type, queue, n)
SELECT status, type, queue, count(*) FROM job GROUP BY status, type, queue;
ALTER TABLE job_status_count ADD PRIMARY KEY (status, type, queue);

INSERT INTO queue (name) VALUES ('default');
INSERT INTO queue (name) SELECT DISTINCT queue FROM job_status_count ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION job_status_compact() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  folded integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7245003) THEN
    RETURN 0;
  END IF;
  WITH d AS (
    DELETE FROM job_status_delta RETURNING status, type, queue, n
  ), s AS (
    SELECT status, type, queue, sum(n) AS n, count(*) AS rows FROM d GROUP BY status, type, queue
  ), up AS (
    INSERT INTO job_status_count AS c (status, type, queue, n)
    SELECT status, type, queue, n FROM s
    ON CONFLICT (status, type, queue) DO UPDATE SET n = c.n + EXCLUDED.n
  )
  SELECT coalesce(sum(rows), 0) INTO folded FROM s;
  RETURN folded;
END $$;

CREATE OR REPLACE FUNCTION job_status_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, queue, n)
  SELECT status, type, queue, count(*) FROM new_rows GROUP BY status, type, queue;
  -- A queue row for every queue name this statement used first.
  INSERT INTO queue (name)
  SELECT DISTINCT n.queue FROM new_rows n
  WHERE NOT EXISTS (SELECT 1 FROM queue q WHERE q.name = n.queue)
  ON CONFLICT DO NOTHING;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_status_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, queue, n)
  SELECT status, type, queue, sum(d) FROM (
    SELECT status, type, queue, 1 AS d FROM new_rows
    UNION ALL
    SELECT status, type, queue, -1 AS d FROM old_rows
  ) AS changes
  GROUP BY status, type, queue HAVING sum(d) <> 0;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_status_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, queue, n)
  SELECT status, type, queue, -count(*) FROM old_rows GROUP BY status, type, queue;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;

-- An update that moves jobs to a queue no job named before (an edit) adds
-- its row. Row-level with a column list: statements that do not set `queue`
-- (claims, completions) never fire it.
CREATE FUNCTION job_queue_register() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO queue (name) VALUES (NEW.queue) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER job_queue_register AFTER UPDATE OF queue ON job
  FOR EACH ROW WHEN (OLD.queue IS DISTINCT FROM NEW.queue)
  EXECUTE FUNCTION job_queue_register();

-- How many jobs of queue `q` a claim may take now, at most `want`: 0 when the
-- queue is paused or has no pending job; else, for a limited queue, its
-- free slots. A limited queue's answer is given under its claim lock
-- (pg_advisory_xact_lock(7245020, hashtext(q)), held until the caller's
-- transaction ends), so no other claimer of that queue decides before this
-- claim has committed. Cheap refusals come first and lock nothing: no due
-- job, or already at the limit by a count without the lock (the count only
-- grows through claims, which all take the lock). `t` is the claim's clock
-- (kept for callers; the due check is the claim's own).
CREATE FUNCTION queue_claim_slots(q text, want integer, t timestamptz)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  lim integer;
  stopped boolean;
  running integer;
BEGIN
  -- No pending job at all (the maintained counts, not `job`: the planner
  -- would walk job_claim_idx past every other queue's jobs to find out).
  -- Pending jobs that are not due yet pass this check and cost a lock.
  IF NOT EXISTS (SELECT FROM (
                   SELECT n FROM job_status_count WHERE status = 'pending' AND queue = q
                   UNION ALL
                   SELECT n FROM job_status_delta WHERE status = 'pending' AND queue = q
                 ) AS c HAVING sum(n) > 0) THEN
    RETURN 0;
  END IF;
  SELECT concurrency, paused INTO lim, stopped FROM queue WHERE name = q;
  IF stopped THEN
    RETURN 0;
  END IF;
  IF lim IS NULL THEN
    RETURN want;
  END IF;
  SELECT count(*) INTO running FROM job WHERE status = 'processing' AND queue = q;
  IF running >= lim THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(7245020, hashtext(q));
  -- A fresh snapshot, taken now that the lock is held.
  SELECT concurrency, paused INTO lim, stopped FROM queue WHERE name = q;
  IF stopped THEN
    RETURN 0;
  END IF;
  IF lim IS NULL THEN
    RETURN want;
  END IF;
  SELECT count(*) INTO running FROM job WHERE status = 'processing' AND queue = q;
  RETURN greatest(0, least(want, lim - running));
END $$;

-- Statistics for the claim's planner: a table never analyzed is estimated
-- at ~1000 rows, which made the limited-queue part of every claim look
-- expensive enough to be JIT-compiled (tens of ms per claim).
ANALYZE queue;
