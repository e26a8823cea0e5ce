-- The audit log (DESIGN.md "Operator console"): one row per operator action,
-- written in the transaction of the action it records, never updated.
--
-- at        when (the database clock, or the clock the action ran with)
-- actor     who: the API token's name, or the dashboard session's user, or 'anonymous'
--           when neither API_TOKEN nor DASHBOARD_PASSWORD is set
-- via       how: 'token', 'session' or 'open'
-- address   the remote address of the request (NULL when there is none, e.g. in-process)
-- action    what, dotted: job.create, job.cancel, job.retry, job.edit, job.delete,
--           bulk.retry, bulk.cancel, bulk.delete, bulk.undo, queue.pause, queue.resume,
--           queue.limit, schedule.create, schedule.update, schedule.delete, schedule.run,
--           alert.create, alert.update, alert.delete
-- job_ids   the jobs it touched, when they were named one by one (else NULL)
-- filter    the list filter of an action by filter (else NULL)
-- count     how many jobs it changed (NULL for actions that are not on jobs)
-- target    the queue, schedule or alert it was on (else NULL)
-- details   anything else worth keeping: the change asked for, the previous values
CREATE TABLE audit (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  actor     text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  via       text NOT NULL CHECK (via IN ('token', 'session', 'open')),
  address   text CHECK (length(address) <= 200),
  action    text NOT NULL CHECK (action ~ '^[a-z]+\.[a-z_]+$'),
  job_ids   uuid[],
  filter    jsonb,
  count     integer CHECK (count >= 0),
  target    text CHECK (length(target) <= 200),
  details   jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- Newest first, and the filters of GET /api/audit.
CREATE INDEX audit_at_idx ON audit (at DESC, id DESC);
CREATE INDEX audit_action_at_idx ON audit (action, at DESC);
CREATE INDEX audit_actor_at_idx ON audit (actor, at DESC);
CREATE INDEX audit_job_ids_idx ON audit USING gin (job_ids);

-- Rows are never changed: an UPDATE is refused (retention deletes whole old rows).
CREATE FUNCTION audit_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit rows are never updated' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_update();
