-- Jobs, their lifecycle events, worker processes and report artifacts.

CREATE TABLE job (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type          text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]{0,62}$'),
  status        text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  priority      smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
  result        jsonb,
  error         text,
  attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts  integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  scheduled_for timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  completed_at  timestamptz,
  locked_by     text,
  locked_until  timestamptz,
  CONSTRAINT job_attempts_within_max CHECK (attempts <= max_attempts),
  CONSTRAINT job_completed_at_iff_completed CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
  CONSTRAINT job_lease_iff_processing
    CHECK ((status = 'processing') = (locked_by IS NOT NULL AND locked_until IS NOT NULL))
) WITH (fillfactor = 85);

-- Claim order: the next pending jobs, priority 5 first, then oldest.
CREATE INDEX job_claim_idx ON job (priority DESC, created_at, id) WHERE status = 'pending';
-- Rescuer: expired leases.
CREATE INDEX job_lease_idx ON job (locked_until) WHERE status = 'processing';
-- List filters and sorts.
CREATE INDEX job_status_created_idx ON job (status, created_at DESC);
CREATE INDEX job_type_created_idx ON job (type, created_at DESC);
CREATE INDEX job_priority_created_idx ON job (priority, created_at DESC);
CREATE INDEX job_created_idx ON job (created_at DESC);
CREATE INDEX job_updated_idx ON job (updated_at DESC);
-- Trend chart: completions and final failures per bucket.
CREATE INDEX job_completed_at_idx ON job (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX job_failed_at_idx ON job (updated_at) WHERE status = 'failed';

CREATE TABLE job_event (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id   uuid NOT NULL,
  at       timestamptz NOT NULL DEFAULT now(),
  kind     text NOT NULL CHECK (kind IN
             ('created', 'claimed', 'completed', 'failed', 'rescued', 'cancelled', 'retried', 'released')),
  attempt  integer NOT NULL DEFAULT 0,
  worker   text,
  message  text
);
-- A job's timeline. Events are deleted with their job (in the same statement, see lib/queue/jobs.ts).
CREATE INDEX job_event_job_idx ON job_event (job_id, id);
CREATE INDEX job_event_failed_at_idx ON job_event (at) WHERE kind = 'failed';

CREATE TABLE worker (
  id           text PRIMARY KEY,
  host         text NOT NULL,
  pid          integer NOT NULL,
  concurrency  integer NOT NULL CHECK (concurrency > 0),
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  stopping     boolean NOT NULL DEFAULT false,
  info         jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- Files made by jobs (reports), served by GET /api/jobs/:id/artifact.
CREATE TABLE job_artifact (
  job_id       uuid PRIMARY KEY,
  filename     text NOT NULL,
  content_type text NOT NULL,
  bytes        bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
