-- The search table (0013) filled off the enqueue path. Writing each new
-- job's `job_search` row and its trigram entries inside the enqueue doubled
-- the WAL of a batch enqueue (897 -> 1,750 bytes per job) and cut its rate
-- by a third. Now an enqueue only notes which jobs it added; the worker's
-- search indexer (`lib/queue/search_index.ts`, `worker/services/search_indexer.ts`)
-- writes their search rows a moment later, and the search reads the jobs
-- not yet indexed directly, so its answers are exact from the commit on.
--
-- job_search_tail   the jobs not yet in job_search: one row per inserting
--                   statement and 1,000 jobs, with their ids (an array:
--                   1,000 jobs cost one small row, not 1,000). Written by
--                   the statement-level insert trigger, in the enqueue's own
--                   transaction, so a committed job is always either here
--                   or in job_search. No watermark: a row committed late
--                   (a long transaction) is simply taken by a later pass.
--                   Ids whose job is gone by then are skipped.
-- indexing          one pass (`search_index.ts`) takes the oldest tail rows,
--                   deletes them and inserts their jobs' search rows in one
--                   statement, under the transaction-level advisory lock
--                   7245042 (taken without waiting: one indexer at a time
--                   across processes; a crash rolls the pass back whole).
-- edits             the update trigger upserts: an edit of a job not yet
--                   indexed writes its row, and the indexer's insert then
--                   does nothing (ON CONFLICT DO NOTHING), whichever commits
--                   first, so the row holds the edited payload.
-- deletions         the delete trigger takes the same lock shared: a pass
--                   that read a job before its deletion commits its row
--                   before the delete removes it, so no search row outlives
--                   its job.
--
-- Rows already in job_search stay; at migration time there is no tail (the
-- 0013 trigger indexed every job until now).
CREATE TABLE job_search_tail (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_ids uuid[] NOT NULL
);

CREATE OR REPLACE FUNCTION job_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_search_tail (job_ids)
  SELECT array_agg(id) FROM (SELECT id, row_number() OVER () - 1 AS n FROM new_rows) AS r
  GROUP BY n / 1000;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_search (job_id, queue, body)
  VALUES (NEW.id, NEW.queue, jobq_search_text(NEW.payload))
  ON CONFLICT (job_id) DO UPDATE SET queue = EXCLUDED.queue, body = EXCLUDED.body;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_search_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7245042);
  DELETE FROM job_search s USING old_rows o WHERE s.job_id = o.id;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_search_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM job_search;
  DELETE FROM job_search_tail;
  RETURN NULL;
END $$;
