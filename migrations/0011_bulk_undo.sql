-- Undo of a bulk cancel or retry (DESIGN.md "Operator console"): for a minute
-- after the action, each changed job's previous state, so POST
-- /api/jobs/bulk/undo can put back the ones nobody has touched since.
--
-- bulk_undo      one per bulk cancel/retry that changed something: the action,
--                who did it, when the offer ends (expires_at) and when it was
--                taken up (used_at: an undo runs once); expired or finished
--                rows are deleted by the next bulk action or undo
-- bulk_undo_job  one per changed job: its state before the action (status,
--                attempts, scheduled_for, updated_at) and `version`, the row's
--                xmin right after the action: a job whose row changed since has
--                another xmin and is left alone ("moved on")
CREATE TABLE bulk_undo (
  id          uuid PRIMARY KEY,
  action      text NOT NULL CHECK (action IN ('cancel', 'retry')),
  actor       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX bulk_undo_expires_idx ON bulk_undo (expires_at);

CREATE TABLE bulk_undo_job (
  undo_id            uuid NOT NULL REFERENCES bulk_undo (id) ON DELETE CASCADE,
  job_id             uuid NOT NULL,
  version            bigint NOT NULL,
  prev_status        text NOT NULL,
  prev_attempts      integer NOT NULL,
  prev_scheduled_for timestamptz NOT NULL,
  prev_updated_at    timestamptz NOT NULL,
  PRIMARY KEY (undo_id, job_id)
);

-- A `restored` event: an undo put the job back as it was before a bulk action.
ALTER TABLE job_event DROP CONSTRAINT job_event_kind_check;
ALTER TABLE job_event ADD CONSTRAINT job_event_kind_check CHECK (kind IN
  ('created', 'claimed', 'completed', 'failed', 'rescued', 'cancelled', 'retried', 'released',
   'expired', 'restored')) NOT VALID;
ALTER TABLE job_event VALIDATE CONSTRAINT job_event_kind_check;
