-- Unique jobs, deadlines and retention (DESIGN.md "Engine features").
--
-- job_unique_active_idx: while a job with a key is pending or processing, no
-- second one with that key can be stored. Enqueue inserts with
-- `ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND status IN
-- ('pending', 'processing') DO NOTHING` and then reads the existing row, so
-- concurrent creates of one key are race-free. Jobs without a key are not in
-- the index: their inserts and state changes write no entry here.
CREATE UNIQUE INDEX job_unique_active_idx ON job (unique_key)
  WHERE unique_key IS NOT NULL AND status IN ('pending', 'processing');

-- The expirer: pending jobs whose expires_at passed (few, found in order).
CREATE INDEX job_expires_idx ON job (expires_at)
  WHERE status = 'pending' AND expires_at IS NOT NULL;

-- An `expired` event: a pending job not started by its expires_at is cancelled.
ALTER TABLE job_event DROP CONSTRAINT job_event_kind_check;
ALTER TABLE job_event ADD CONSTRAINT job_event_kind_check CHECK (kind IN
  ('created', 'claimed', 'completed', 'failed', 'rescued', 'cancelled', 'retried', 'released',
   'expired')) NOT VALID;
ALTER TABLE job_event VALIDATE CONSTRAINT job_event_kind_check;
