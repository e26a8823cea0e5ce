-- A job's `created` step is read from its own row, not written as a
-- `job_event` row (lib/queue/enqueue.ts, lib/queue/events.ts).
--
-- Every enqueue wrote a `created` event whose every field the job row already
-- holds: `at` is the job's `created_at`, `attempt` 0, no worker, no message.
-- That row and its index entry were about a fifth of the WAL and an eighth of
-- the database's time of a batch enqueue. A producer's enqueue now writes
-- none; an enqueue that has something to say (an operator's create from the
-- form, a schedule's run: the `message`) still writes its `created` event,
-- as do the jobs of earlier versions, and the sample data.
--
-- `job_timeline` is a job's timeline as every reader sees it: the stored
-- events, and for each job without a stored `created` event one made from
-- its row (id 0, so it sorts first among the job's events, as the stored
-- one did: it is the first step of every job). Read by `job_id`, the
-- planner pushes the condition into both parts: the job's events by
-- job_event_job_idx, the job by its primary key.
CREATE VIEW job_timeline AS
  SELECT e.id, e.job_id, e.at, e.kind, e.attempt, e.worker, e.message, e.data
  FROM job_event e
  UNION ALL
  SELECT 0::bigint, j.id, j.created_at, 'created'::text, 0, NULL::text, NULL::text, NULL::jsonb
  FROM job j
  WHERE NOT EXISTS (SELECT FROM job_event c WHERE c.job_id = j.id AND c.kind = 'created');
