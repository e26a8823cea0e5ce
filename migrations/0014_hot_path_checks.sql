-- Less work per claim and per completion inside PostgreSQL (the drain's
-- backend CPU), with the same rules and the same counts.
--
-- 1. The name rules of `type` and `queue` move from table CHECK constraints
--    to domains. PostgreSQL evaluates every CHECK constraint of a table on
--    every UPDATE of a row, whatever the columns it sets, so each claim and
--    each completion ran the two regular expressions again on names that
--    never change: about a sixth of the backend CPU of a 20,000-job drain.
--    A domain's check runs where a value is converted to it: an INSERT, or
--    an UPDATE that sets the column (an edit that moves a job to another
--    queue); a claim or a completion copies the stored value and runs none.
--    The rules are the same (same patterns), and a bad name is refused with
--    a check_violation (23514) as before. Clients see the columns as `text`
--    (a row description names a domain's base type).
--
--    Changing a text column to a domain over text without constraints
--    rewrites no row (job_queue_claim_idx, the one index on `queue`, is
--    built again: pending jobs only); the constraints are then added NOT
--    VALID and validated by a scan each. The two row triggers that
--    name `queue` in their definition (0006, 0013) are dropped first and
--    made again exactly as they were: PostgreSQL refuses to change the type
--    of a column a trigger definition uses.
--
-- 2. The trend counts' update trigger (0004) no longer derives the
--    `created` bucket of every updated row from both transition tables: a
--    claim, a completion or a lease renewal never changes `created_at`, so
--    those contributions always cancelled out (two date_trunc calls per row
--    and per statement for nothing). An UPDATE that does change `created_at`
--    (rare: tests, data fixes) moves its rows between `created` buckets
--    through a row-level trigger with a column list, which statements that
--    do not set `created_at` never fire. The `completed` and `failed` kinds
--    are derived as before.

DROP TRIGGER job_queue_register ON job;
DROP TRIGGER job_search_update ON job;

CREATE DOMAIN job_type_name AS text;
CREATE DOMAIN queue_name AS text;
ALTER TABLE job ALTER COLUMN type TYPE job_type_name, ALTER COLUMN queue TYPE queue_name;
ALTER DOMAIN job_type_name ADD CONSTRAINT job_type_name_check
  CHECK (VALUE ~ '^[a-z][a-z0-9_]{0,62}$') NOT VALID;
ALTER DOMAIN queue_name ADD CONSTRAINT queue_name_check
  CHECK (VALUE ~ '^[a-z][a-z0-9_-]{0,62}$') NOT VALID;
ALTER DOMAIN job_type_name VALIDATE CONSTRAINT job_type_name_check;
ALTER DOMAIN queue_name VALIDATE CONSTRAINT queue_name_check;
ALTER TABLE job DROP CONSTRAINT job_type_check, DROP CONSTRAINT job_queue_name;

CREATE TRIGGER job_queue_register AFTER UPDATE OF queue ON job
  FOR EACH ROW WHEN (OLD.queue IS DISTINCT FROM NEW.queue)
  EXECUTE FUNCTION job_queue_register();
CREATE TRIGGER job_search_update AFTER UPDATE OF payload, queue ON job
  FOR EACH ROW WHEN (OLD.payload IS DISTINCT FROM NEW.payload OR OLD.queue IS DISTINCT FROM NEW.queue)
  EXECUTE FUNCTION job_search_update();

-- Same as 0004's, without the `created` branches (see 2. above).
CREATE OR REPLACE FUNCTION job_trend_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  appended bigint;
BEGIN
  INSERT INTO job_trend_delta (bucket, kind, n)
  SELECT bucket, kind, sum(d) FROM (
    SELECT date_trunc('minute', completed_at, 'UTC') AS bucket, 'completed' AS kind, 1 AS d
    FROM new_rows WHERE completed_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('minute', updated_at, 'UTC'), 'failed', 1 FROM new_rows
    WHERE status = 'failed'
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

-- A row whose created_at changed leaves its old `created` minute for its new one.
CREATE FUNCTION job_trend_created_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_trend_delta (bucket, kind, n)
  VALUES (date_trunc('minute', OLD.created_at, 'UTC'), 'created', -1),
         (date_trunc('minute', NEW.created_at, 'UTC'), 'created', 1);
  RETURN NULL;
END $$;

-- No job row changes while this migration runs: the ALTER TABLE above holds
-- its lock on `job` until the migration commits.
CREATE TRIGGER job_trend_created_moved AFTER UPDATE OF created_at ON job
  FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at)
  EXECUTE FUNCTION job_trend_created_moved();
