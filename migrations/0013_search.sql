-- Payload search without a table scan (issue 15, lever 6): the list's `q`
-- (and the bulk action and export by filter, which share its WHERE) matches
-- a substring of a payload VALUE (case-insensitive) or of the queue name
-- through a pg_trgm GIN index, instead of `payload::text ILIKE`, which read
-- every row and matched JSON key names too (`q=channel` found every job whose
-- payload has a `channel` key).
--
-- jobq_search_text(payload)  the payload's scalar values (strings, numbers,
--                            booleans; at any depth, array elements included),
--                            as text, one per line; key names are left out.
--                            '' for a payload without any. The triggers below
--                            write the same expression inline: calling the SQL
--                            function once per row cost several times what
--                            the expression itself costs.
-- job_search                 one row per job: its id, queue and
--                            jobq_search_text(payload). Written when the job
--                            is inserted (a statement trigger) and when an
--                            edit changes its payload or queue (a row trigger
--                            with a column list, so claims and completions
--                            never fire it); deleted with the job.
-- job_search_idx             GIN over (body, queue) with trigram operators:
--                            ILIKE '%term%' on either is an index scan, both
--                            together a BitmapOr.
--
-- Why a table of its own rather than an expression index on `job`: a claim
-- and a completion are non-HOT updates, and each adds an entry for the new
-- row version to every index of `job`, a GIN index too (one entry per
-- trigram). With such an index a 20,000-job drain wrote 4.8 kB of WAL per job
-- instead of 2.0-3.3 kB and cost the database 5.2 s of CPU instead of
-- 3.1-3.5 s; here the trigrams are written once, at insert.
--
-- Terms shorter than three characters have no trigram: the index cannot
-- narrow them, the planner reads the table (still correct, slower).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE FUNCTION jobq_search_text(payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN array_to_string(ARRAY(
  SELECT v #>> '{}'
  FROM jsonb_path_query(payload, 'strict $.** ? (@.type() != "object" && @.type() != "array")') AS v
), E'\n');

CREATE TABLE job_search (
  job_id uuid PRIMARY KEY,
  queue text NOT NULL,
  body text
);

INSERT INTO job_search (job_id, queue, body)
SELECT id, queue, jobq_search_text(payload) FROM job;

CREATE INDEX job_search_idx ON job_search USING gin (body gin_trgm_ops, queue gin_trgm_ops);

CREATE FUNCTION job_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_search (job_id, queue, body)
  SELECT id, queue, array_to_string(ARRAY(  -- jobq_search_text(payload), inline
    SELECT v #>> '{}'
    FROM jsonb_path_query(payload, 'strict $.** ? (@.type() != "object" && @.type() != "array")') AS v
  ), E'\n')
  FROM new_rows;
  RETURN NULL;
END $$;

CREATE FUNCTION job_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE job_search SET queue = NEW.queue, body = jobq_search_text(NEW.payload)
  WHERE job_id = NEW.id;
  RETURN NULL;
END $$;

CREATE FUNCTION job_search_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM job_search s USING old_rows o WHERE s.job_id = o.id;
  RETURN NULL;
END $$;

-- DELETE, not TRUNCATE: a `TRUNCATE job, job_search` may be running it.
CREATE FUNCTION job_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM job_search;
  RETURN NULL;
END $$;

CREATE TRIGGER job_search_insert AFTER INSERT ON job
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION job_search_insert();
CREATE TRIGGER job_search_update AFTER UPDATE OF payload, queue ON job
  FOR EACH ROW WHEN (OLD.payload IS DISTINCT FROM NEW.payload OR OLD.queue IS DISTINCT FROM NEW.queue)
  EXECUTE FUNCTION job_search_update();
CREATE TRIGGER job_search_delete AFTER DELETE ON job
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION job_search_delete();
CREATE TRIGGER job_search_truncate AFTER TRUNCATE ON job
  FOR EACH STATEMENT EXECUTE FUNCTION job_search_truncate();
