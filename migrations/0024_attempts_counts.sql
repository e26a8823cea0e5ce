-- The maintained job counts (0002, per queue since 0006, per priority since
-- 0017) are kept per number of attempts too. The job list sorted by a column
-- of few values (status, type, queue, priority, attempts) reads a page
-- group by group: the counts say which groups the page's rows lie in and
-- how many rows of each come before it, and only those groups are read,
-- each in created_at order (lib/queue/list.ts). Without the counts, such a
-- sort read and sorted every matching row: at a million jobs, 0.6-0.7 s per
-- page view.
--
-- Every reader sums `n` over the rows it selects, so a finer key changes no
-- reader's answer. The triggers and the compaction below are those of 0017
-- with `attempts` added to the key: a claim (attempts + 1) moves its job's
-- count from one key to another as its status change already did, so a
-- statement writes as many delta rows as before.

-- No job row changes between the recount and the triggers taking over:
-- writers wait for this lock until the migration commits (the recount reads
-- the whole table once).
LOCK TABLE job IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE job_status_count ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE job_status_delta ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE job_status_count ALTER COLUMN attempts DROP DEFAULT;
ALTER TABLE job_status_delta ALTER COLUMN attempts DROP DEFAULT;
ALTER TABLE job_status_count DROP CONSTRAINT job_status_count_pkey;
DELETE FROM job_status_delta;
DELETE FROM job_status_count;
INSERT INTO job_status_count (status, type, queue, priority, attempts, n)
SELECT status, type, queue, priority, attempts, count(*) FROM job GROUP BY status, type, queue, priority, attempts;
ALTER TABLE job_status_count ADD PRIMARY KEY (status, type, queue, priority, attempts);

CREATE OR REPLACE FUNCTION job_status_compact() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  folded integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7245003) THEN
    RETURN 0;
  END IF;
  WITH d AS (
    DELETE FROM job_status_delta RETURNING status, type, queue, priority, attempts, n
  ), s AS (
    SELECT status, type, queue, priority, attempts, sum(n) AS n, count(*) AS rows
    FROM d GROUP BY status, type, queue, priority, attempts
  ), up AS (
    INSERT INTO job_status_count AS c (status, type, queue, priority, attempts, n)
    SELECT status, type, queue, priority, attempts, n FROM s
    ON CONFLICT (status, type, queue, priority, attempts) DO UPDATE SET n = c.n + EXCLUDED.n
  )
  SELECT coalesce(sum(rows), 0) INTO folded FROM s;
  RETURN folded;
END $$;

CREATE OR REPLACE FUNCTION job_status_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, queue, priority, attempts, n)
  SELECT status, type, queue, priority, attempts, count(*) FROM new_rows
  GROUP BY status, type, queue, priority, attempts;
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
  INSERT INTO job_status_delta (status, type, queue, priority, attempts, n)
  SELECT status, type, queue, priority, attempts, sum(d) FROM (
    SELECT status, type, queue, priority, attempts, 1 AS d FROM new_rows
    UNION ALL
    SELECT status, type, queue, priority, attempts, -1 AS d FROM old_rows
  ) AS changes
  GROUP BY status, type, queue, priority, attempts HAVING sum(d) <> 0;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_status_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, queue, priority, attempts, n)
  SELECT status, type, queue, priority, attempts, -count(*) FROM old_rows
  GROUP BY status, type, queue, priority, attempts;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;
