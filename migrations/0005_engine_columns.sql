-- The engine features' columns on `job` (DESIGN.md "Engine features"). Each
-- is added without a table rewrite (a constant default, or NULL); the
-- constraints, indexes and behaviour that use them come with each feature.
--
-- queue                 the job's named queue
-- unique_key            while a job with this key is pending or processing, no second one
-- progress              {percent, message, at} from the handler, or NULL
-- cancel_requested_at   when a cancel of the running job was asked for
-- timeout_seconds       bound of one attempt (NULL: the type's default)
-- expires_at            not started by then → cancelled (expired), never run
ALTER TABLE job
  ADD COLUMN queue text NOT NULL DEFAULT 'default',
  ADD COLUMN unique_key text,
  ADD COLUMN progress jsonb,
  ADD COLUMN cancel_requested_at timestamptz,
  ADD COLUMN timeout_seconds integer,
  ADD COLUMN expires_at timestamptz;

ALTER TABLE job
  ADD CONSTRAINT job_queue_name CHECK (queue ~ '^[a-z][a-z0-9_-]{0,62}$') NOT VALID,
  ADD CONSTRAINT job_unique_key_length CHECK (length(unique_key) BETWEEN 1 AND 255) NOT VALID,
  ADD CONSTRAINT job_timeout_seconds_range CHECK (timeout_seconds BETWEEN 1 AND 86400) NOT VALID;
ALTER TABLE job VALIDATE CONSTRAINT job_queue_name;
ALTER TABLE job VALIDATE CONSTRAINT job_unique_key_length;
ALTER TABLE job VALIDATE CONSTRAINT job_timeout_seconds_range;
