-- Alert rules and their state (DESIGN.md "Operator console": alerts). One row
-- per rule; the worker processes evaluate the enabled ones, one process at a
-- time (lib/queue/alerts.ts `evaluate`, under an advisory lock), store each
-- rule's value and whether it fires, and POST a notice to ALERT_WEBHOOK_URL
-- once per firing and once when it resolves (worker/services/alerts.ts).
--
-- id, name           the rule; names are unique (the audit log's target)
-- kind               failure_rate: failed / (failed + completed) jobs finished in the last
--                      window_minutes, in percent, above threshold (no finished job: not firing);
--                    backlog: pending jobs above threshold;
--                    oldest_pending: the longest a due pending job has waited (seconds since
--                      its scheduled_for) above threshold;
--                    no_worker: no live worker process serves the queue (queue NULL: a queue
--                      with pending jobs that no live worker serves); no threshold
-- queue              the queue it watches; NULL: every queue
-- type               the job type it watches (failure_rate, backlog); NULL: every type
-- threshold          percent (failure_rate, 0 ≤ x < 100), jobs (backlog, whole), seconds
--                    (oldest_pending, whole, ≥ 1); NULL for no_worker
-- window_minutes     failure_rate only
-- enabled            a disabled rule is not evaluated and never fires
-- firing_since       when the current firing began; NULL while not firing
-- last_value         the value at the last evaluation (NULL: nothing to measure)
-- last_evaluated_at  when it was last evaluated
-- resolved_at        when the last firing ended
-- Notices (at most one delivery at a time per rule, claimed by compare-and-set on notify_until):
-- notified_state     the last notice delivered: 'firing' or 'resolved' (NULL: none yet)
-- notified_since     the firing_since of the episode that notice was about
-- last_notified_at   when it was delivered
-- notify_until       a delivery in flight holds the rule until then (NULL: none)
-- notify_error       why the last delivery failed (cleared by a success)
CREATE TABLE alert (
  id                integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name              text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
  kind              text NOT NULL
                    CHECK (kind IN ('failure_rate', 'backlog', 'oldest_pending', 'no_worker')),
  queue             text CHECK (queue ~ '^[a-z][a-z0-9_-]{0,62}$'),
  type              text CHECK (type ~ '^[a-z][a-z0-9_]{0,62}$'),
  threshold         double precision,
  window_minutes    integer CHECK (window_minutes BETWEEN 1 AND 10080),
  enabled           boolean NOT NULL DEFAULT true,
  firing_since      timestamptz,
  last_value        double precision,
  last_evaluated_at timestamptz,
  resolved_at       timestamptz,
  notified_state    text CHECK (notified_state IN ('firing', 'resolved')),
  notified_since    timestamptz,
  last_notified_at  timestamptz,
  notify_until      timestamptz,
  notify_error      text CHECK (length(notify_error) <= 2000),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT alert_type_kinds CHECK (type IS NULL OR kind IN ('failure_rate', 'backlog')),
  CONSTRAINT alert_window_iff_failure_rate
    CHECK ((kind = 'failure_rate') = (window_minutes IS NOT NULL)),
  CONSTRAINT alert_threshold_per_kind CHECK (CASE kind
    WHEN 'no_worker' THEN threshold IS NULL
    WHEN 'failure_rate' THEN threshold >= 0 AND threshold < 100
    WHEN 'backlog' THEN threshold >= 0 AND threshold = trunc(threshold)
    WHEN 'oldest_pending' THEN threshold >= 1 AND threshold = trunc(threshold)
  END),
  CONSTRAINT alert_disabled_not_firing CHECK (enabled OR firing_since IS NULL)
);
