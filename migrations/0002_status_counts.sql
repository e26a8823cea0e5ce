-- Job counts per (status, type), maintained incrementally and exactly, so the
-- dashboard, /api/stats and /metrics never COUNT(*) over the job history.
--
-- Every statement that inserts, updates or deletes job rows appends its net
-- change per (status, type) to job_status_delta (statement-level triggers with
-- transition tables: one small insert per statement, not per row). Appends
-- never wait for each other, so concurrent claimers and completers are not
-- serialised on a hot counter row. job_status_compact() folds the deltas
-- into job_status_count (one row per status); it runs under a
-- transaction-scoped advisory try-lock, so at most one compaction runs at a
-- time and nobody ever waits for it. The triggers call it for about one
-- statement in 64, and readers may call it too, so the delta table stays
-- small (tens of rows plus dead ones until autovacuum, which its settings
-- make frequent). The exact count is always sum(job_status_count) + sum(job_status_delta)
-- in one snapshot: a compaction deletes deltas and adds them to the base in
-- one transaction.

CREATE TABLE job_status_count (
  status text NOT NULL,
  type   text NOT NULL,
  n      bigint NOT NULL,
  PRIMARY KEY (status, type)
);

CREATE TABLE job_status_delta (
  status text NOT NULL,
  type   text NOT NULL,
  n      bigint NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 2000);

-- The counts as of now (the one-off full count happens here, at migration time).
INSERT INTO job_status_count (status, type, n)
SELECT status, type, count(*) FROM job GROUP BY status, type;

-- Folds all committed deltas into job_status_count, unless another
-- compaction holds the lock (then it returns at once). Returns the number of
-- delta rows folded.
CREATE FUNCTION job_status_compact() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  folded integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7245003) THEN
    RETURN 0;
  END IF;
  WITH d AS (
    DELETE FROM job_status_delta RETURNING status, type, n
  ), s AS (
    SELECT status, type, sum(n) AS n, count(*) AS rows FROM d GROUP BY status, type
  ), up AS (
    INSERT INTO job_status_count AS c (status, type, n)
    SELECT status, type, n FROM s
    ON CONFLICT (status, type) DO UPDATE SET n = c.n + EXCLUDED.n
  )
  SELECT coalesce(sum(rows), 0) INTO folded FROM s;
  RETURN folded;
END $$;

CREATE FUNCTION job_status_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, n)
  SELECT status, type, count(*) FROM new_rows GROUP BY status, type;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION job_status_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, n)
  SELECT status, type, sum(d) FROM (
    SELECT status, type, 1 AS d FROM new_rows
    UNION ALL
    SELECT status, type, -1 AS d FROM old_rows
  ) AS changes
  GROUP BY status, type HAVING sum(d) <> 0;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION job_status_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_status_delta (status, type, n)
  SELECT status, type, -count(*) FROM old_rows GROUP BY status, type;
  IF random() < 1.0 / 64 THEN
    PERFORM job_status_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION job_status_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM job_status_delta;
  DELETE FROM job_status_count;
  RETURN NULL;
END $$;

CREATE TRIGGER job_status_count_insert AFTER INSERT ON job
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION job_status_count_insert();
CREATE TRIGGER job_status_count_update AFTER UPDATE ON job
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION job_status_count_update();
CREATE TRIGGER job_status_count_delete AFTER DELETE ON job
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION job_status_count_delete();
CREATE TRIGGER job_status_count_truncate AFTER TRUNCATE ON job
  FOR EACH STATEMENT EXECUTE FUNCTION job_status_count_truncate();
