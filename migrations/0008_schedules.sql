-- Recurring jobs (DESIGN.md "Engine features": scheduled and recurring jobs).
-- One row per schedule; the scheduler (worker/services/scheduler.ts) turns
-- each due tick into one job. A tick is claimed by compare-and-set on
-- next_run_at (UPDATE … WHERE name = $1 AND next_run_at = <tick>) in the
-- transaction that inserts its job, so each tick makes exactly one job.
--
-- name          the schedule's name, like a queue name
-- cron          5 fields or @hourly/@daily/@weekly/@monthly/@yearly (checked by the app, croner)
-- timezone      IANA zone the cron is read in
-- type, payload, priority, queue, max_attempts   the job each tick makes (queue NULL: the type's default)
-- enabled       a disabled schedule has no next_run_at and makes no jobs
-- next_run_at   the next tick, NULL while disabled
-- last_run_at   the tick last enqueued (by the scheduler; "run now" does not move it)
-- last_job_id   the job last enqueued (by a tick or "run now"); not a foreign key: pruning
--               or deleting jobs never touches this table, so the job may be gone
-- source        'api' (created through the API or the page) or 'file' (SCHEDULES_FILE)
CREATE TABLE schedule (
  name          text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
  cron          text NOT NULL CHECK (length(cron) BETWEEN 1 AND 200),
  timezone      text NOT NULL DEFAULT 'UTC' CHECK (length(timezone) BETWEEN 1 AND 64),
  type          text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]{0,62}$'),
  payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
  priority      smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  queue         text CHECK (queue ~ '^[a-z][a-z0-9_-]{0,62}$'),
  max_attempts  integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
  enabled       boolean NOT NULL DEFAULT true,
  last_run_at   timestamptz,
  next_run_at   timestamptz,
  last_job_id   uuid,
  source        text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'file')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT schedule_next_run_iff_enabled CHECK (enabled = (next_run_at IS NOT NULL))
);

-- The scheduler's question: which enabled schedules are due, and when is the next one.
CREATE INDEX schedule_next_run_idx ON schedule (next_run_at) WHERE enabled;
