-- Trend chart counts per minute and per hour, maintained incrementally and
-- exactly (like the status counts of 0002), so /api/stats/trend and the
-- dashboard read a few hundred rows at any table size instead of counting the
-- job rows in their window.
--
-- What is counted is what the trend has always reported, as a function of
-- the job rows that exist now:
--   created    a job, in the bucket of its created_at;
--   completed  a job with completed_at (status completed), in that bucket;
--   failed     a job with status failed (a final failure), in the bucket of
--              its updated_at.
-- A job counts once per kind it matches, so a manual retry of a failed job
-- takes it out of "failed", and deleting or pruning a job takes it out of
-- every bucket it was in, as a count over the rows would.
--
-- Every statement that changes job rows appends its net change per (minute,
-- kind) to job_trend_delta: its new rows' contributions minus its old rows'
-- (statement-level triggers with transition tables; a claim, a lease renewal
-- or a release nets to zero and appends nothing). Appends never wait for each
-- other, so concurrent writers do not serialise on a hot row. Buckets are
-- minutes in UTC (date_trunc's third argument), the same instants in every
-- time zone whose offset is whole minutes, i.e. every zone in use today.
--
-- job_trend_compact() folds the deltas into job_trend_count (per minute) and
-- job_trend_hour_count (per UTC hour) and deletes buckets that fell to zero;
-- it runs under a transaction-scoped advisory try-lock, so at most one runs
-- at a time and nobody waits for it. The triggers call it for about one
-- statement in 64, and after every statement that appended more than 256
-- delta rows (a batch spread over hours, a prune batch), so the delta table
-- stays small. The exact count of a bucket is always base + deltas in
-- one snapshot. Readers (stats.trend) use the hourly rows when every hour
-- bucket of their session's time zone starts on a UTC hour, else they sum
-- the minute rows.

CREATE TABLE job_trend_count (
  bucket timestamptz NOT NULL,
  kind   text NOT NULL CHECK (kind IN ('created', 'completed', 'failed')),
  n      bigint NOT NULL,
  PRIMARY KEY (bucket, kind)
);

CREATE TABLE job_trend_hour_count (
  bucket timestamptz NOT NULL,
  kind   text NOT NULL CHECK (kind IN ('created', 'completed', 'failed')),
  n      bigint NOT NULL,
  PRIMARY KEY (bucket, kind)
);

CREATE TABLE job_trend_delta (
  bucket timestamptz NOT NULL,
  kind   text NOT NULL,
  n      bigint NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 2000);

-- Folds all committed deltas into the minute and hour counts, unless another
-- compaction holds the lock (then it returns at once). Returns the number of
-- delta rows folded.
CREATE FUNCTION job_trend_compact() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  folded integer;
  zero_minutes timestamptz[];
  zero_minute_kinds text[];
  zero_hours timestamptz[];
  zero_hour_kinds text[];
BEGIN
  IF NOT pg_try_advisory_xact_lock(7245005) THEN
    RETURN 0;
  END IF;
  WITH d AS (
    DELETE FROM job_trend_delta RETURNING bucket, kind, n
  ), s AS (
    SELECT bucket, kind, sum(n) AS n, count(*) AS rows FROM d GROUP BY bucket, kind
  ), m AS (
    INSERT INTO job_trend_count AS c (bucket, kind, n)
    SELECT bucket, kind, n FROM s WHERE n <> 0
    ON CONFLICT (bucket, kind) DO UPDATE SET n = c.n + EXCLUDED.n
    RETURNING bucket, kind, n
  ), h AS (
    INSERT INTO job_trend_hour_count AS c (bucket, kind, n)
    SELECT date_trunc('hour', bucket, 'UTC'), kind, sum(n) FROM s
    GROUP BY 1, 2 HAVING sum(n) <> 0
    ON CONFLICT (bucket, kind) DO UPDATE SET n = c.n + EXCLUDED.n
    RETURNING bucket, kind, n
  )
  SELECT (SELECT coalesce(sum(rows), 0) FROM s),
         (SELECT array_agg(bucket) FROM m WHERE n = 0),
         (SELECT array_agg(kind) FROM m WHERE n = 0),
         (SELECT array_agg(bucket) FROM h WHERE n = 0),
         (SELECT array_agg(kind) FROM h WHERE n = 0)
  INTO folded, zero_minutes, zero_minute_kinds, zero_hours, zero_hour_kinds;
  -- Buckets whose jobs are all gone (deleted, pruned, retried) leave no row.
  IF zero_minutes IS NOT NULL THEN
    DELETE FROM job_trend_count c
    USING unnest(zero_minutes, zero_minute_kinds) AS z(bucket, kind)
    WHERE c.bucket = z.bucket AND c.kind = z.kind AND c.n = 0;
  END IF;
  IF zero_hours IS NOT NULL THEN
    DELETE FROM job_trend_hour_count c
    USING unnest(zero_hours, zero_hour_kinds) AS z(bucket, kind)
    WHERE c.bucket = z.bucket AND c.kind = z.kind AND c.n = 0;
  END IF;
  RETURN folded;
END $$;

-- The triggers and the backfill at the end derive a row's (minute, kind)
-- pairs with the same three-branch expression; keep them in step.
CREATE FUNCTION job_trend_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  appended bigint;
BEGIN
  INSERT INTO job_trend_delta (bucket, kind, n)
  SELECT bucket, kind, count(*) FROM (
    SELECT date_trunc('minute', created_at, 'UTC') AS bucket, 'created' AS kind FROM new_rows
    UNION ALL
    SELECT date_trunc('minute', completed_at, 'UTC'), 'completed' FROM new_rows
    WHERE completed_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('minute', updated_at, 'UTC'), 'failed' FROM new_rows
    WHERE status = 'failed'
  ) AS c
  GROUP BY bucket, kind;
  GET DIAGNOSTICS appended = ROW_COUNT;
  IF appended > 256 OR random() < 1.0 / 64 THEN
    PERFORM job_trend_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION job_trend_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  appended bigint;
BEGIN
  INSERT INTO job_trend_delta (bucket, kind, n)
  SELECT bucket, kind, sum(d) FROM (
    SELECT date_trunc('minute', created_at, 'UTC') AS bucket, 'created' AS kind, 1 AS d
    FROM new_rows
    UNION ALL
    SELECT date_trunc('minute', completed_at, 'UTC'), 'completed', 1 FROM new_rows
    WHERE completed_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('minute', updated_at, 'UTC'), 'failed', 1 FROM new_rows
    WHERE status = 'failed'
    UNION ALL
    SELECT date_trunc('minute', created_at, 'UTC'), 'created', -1 FROM old_rows
    UNION ALL
    SELECT date_trunc('minute', completed_at, 'UTC'), 'completed', -1 FROM old_rows
    WHERE completed_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('minute', updated_at, 'UTC'), 'failed', -1 FROM old_rows
    WHERE status = 'failed'
  ) AS c
  GROUP BY bucket, kind HAVING sum(d) <> 0;
  GET DIAGNOSTICS appended = ROW_COUNT;
  IF appended > 256 OR random() < 1.0 / 64 THEN
    PERFORM job_trend_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION job_trend_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  appended bigint;
BEGIN
  INSERT INTO job_trend_delta (bucket, kind, n)
  SELECT bucket, kind, -count(*) FROM (
    SELECT date_trunc('minute', created_at, 'UTC') AS bucket, 'created' AS kind FROM old_rows
    UNION ALL
    SELECT date_trunc('minute', completed_at, 'UTC'), 'completed' FROM old_rows
    WHERE completed_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('minute', updated_at, 'UTC'), 'failed' FROM old_rows
    WHERE status = 'failed'
  ) AS c
  GROUP BY bucket, kind;
  GET DIAGNOSTICS appended = ROW_COUNT;
  IF appended > 256 OR random() < 1.0 / 64 THEN
    PERFORM job_trend_compact();
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION job_trend_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM job_trend_delta;
  DELETE FROM job_trend_count;
  DELETE FROM job_trend_hour_count;
  RETURN NULL;
END $$;

-- No job row changes between the backfill and the triggers taking over:
-- writers wait for this lock until the migration commits (the backfill
-- reads the whole table once: about 2.5 s at a million jobs).
LOCK TABLE job IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER job_trend_count_insert AFTER INSERT ON job
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION job_trend_count_insert();
CREATE TRIGGER job_trend_count_update AFTER UPDATE ON job
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION job_trend_count_update();
CREATE TRIGGER job_trend_count_delete AFTER DELETE ON job
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION job_trend_count_delete();
CREATE TRIGGER job_trend_count_truncate AFTER TRUNCATE ON job
  FOR EACH STATEMENT EXECUTE FUNCTION job_trend_count_truncate();

-- The counts of the rows there are now (the one-off full count is here).
INSERT INTO job_trend_count (bucket, kind, n)
SELECT bucket, kind, count(*) FROM (
  SELECT date_trunc('minute', created_at, 'UTC') AS bucket, 'created' AS kind FROM job
  UNION ALL
  SELECT date_trunc('minute', completed_at, 'UTC'), 'completed' FROM job
  WHERE completed_at IS NOT NULL
  UNION ALL
  SELECT date_trunc('minute', updated_at, 'UTC'), 'failed' FROM job WHERE status = 'failed'
) AS c
GROUP BY bucket, kind
ORDER BY bucket, kind;
INSERT INTO job_trend_hour_count (bucket, kind, n)
SELECT date_trunc('hour', bucket, 'UTC'), kind, sum(n) FROM job_trend_count GROUP BY 1, 2
ORDER BY 1, 2;
