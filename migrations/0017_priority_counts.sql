-- The maintained job counts (0002, per queue since 0006) are kept per
-- priority too, so the list's total under a priority filter (`/jobs?priority=5`,
-- `GET /api/jobs?priority=5`) is read from them like every other filter's
-- instead of counting the matching rows: at ten million jobs that count read
-- a million rows, half a second to seconds per page view.
--
-- Every reader sums `n` over the rows it selects, so a finer key changes no
-- reader's answer. The triggers and the compaction below are those of 0006
-- with `priority` added to the key; an update that changes a job's priority
-- (an edit) moves its count like a status change does.

-- No job row changes between the recount and the triggers taking over:
-- writers wait for this lock until the migration commits (the recount reads
-- the whole table once).
LOCK TABLE job IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE job_status_count ADD COLUMN priority smallint NOT NULL DEFAULT 3;
ALTER TABLE job_status_delta ADD COLUMN priority smallint NOT NULL DEFAULT 3;
ALTER TABLE job_status_count ALTER COLUMN priority DROP DEFAULT;
ALTER TABLE job_status_delta ALTER COLUMN priority DROP DEFAULT;
ALTER TABLE job_status_count DROP CONSTRAINT job_status_count_pkey;
DELETE FROM job_status_delta;
DELETE FROM job_status_count;
INSERT INTO job_status_count (status, type, queue, priority, n)
SELECT status, type, queue, priority, count(*) FROM job GROUP BY status, type, queue, priority;
ALTER TABLE job_status_count ADD PRIMARY KEY (status, type, queue, priority);

CREATE OR REPLACE FUNCTION job_status_compact() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  folded integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7245003) THEN
    RETURN 0;
  END IF;
  WITH d AS (
    DELETE FROM job_status_delta RETURNING status, type, queue, priority, n
  ), s AS (
    SELECT status, type, queue, priority, sum(n) AS n, count(*) AS rows
    FROM d GROUP BY status, type, queue, priority
  ), up AS (
    INSERT INTO job_status_count AS c (status, type, queue, priority, n)
    SELECT status, type, queue, priority, n FROM s
    ON CONFLICT (status, type, queue, priority) DO UPDATE SET n = c.n + EXCLUDED.n
  )
  SELECT coalesce(sum(rows), 0) INTO folded FROM s;
  RETURN folded;
END $$;

CREATE OR REPLACE FUNCTION job_status_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, queue, priority, n)
  SELECT status, type, queue, priority, count(*) FROM new_rows
  GROUP BY status, type, queue, priority;
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
  INSERT INTO job_status_delta (status, type, queue, priority, n)
  SELECT status, type, queue, priority, sum(d) FROM (
    SELECT status, type, queue, priority, 1 AS d FROM new_rows
    UNION ALL
    SELECT status, type, queue, priority, -1 AS d FROM old_rows
  ) AS changes
  GROUP BY status, type, queue, priority HAVING sum(d) <> 0;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_status_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, queue, priority, n)
  SELECT status, type, queue, priority, -count(*) FROM old_rows
  GROUP BY status, type, queue, priority;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;
