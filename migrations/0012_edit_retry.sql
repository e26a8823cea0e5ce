-- Edit and retry (DESIGN.md "Operator console"): a failed or cancelled job
-- may go back to pending with a new payload, priority or queue; its timeline
-- keeps what it had before in an `edited` event.
--
-- job_event.data   what an event keeps besides its message, as JSON (NULL for
--                  every kind but `edited`, whose data is
--                  {"changed": [...], "previous": {"payload", "priority", "queue"}}).
--                  A nullable column without a default: adding it rewrites
--                  nothing, and the hot paths' inserts, which do not name it,
--                  are unchanged.
ALTER TABLE job_event ADD COLUMN data jsonb;

-- The kinds: those the check allows now, plus `edited`. The list is read from
-- the constraint in place rather than written out again, so a kind another
-- migration added before this one stays allowed.
DO $$
DECLARE
  kinds text[];
BEGIN
  SELECT array_agg(DISTINCT m[1] ORDER BY m[1]) INTO kinds
  FROM pg_constraint c,
       regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') AS m
  WHERE c.conrelid = 'job_event'::regclass AND c.conname = 'job_event_kind_check';
  IF kinds IS NULL THEN
    RAISE EXCEPTION 'job_event_kind_check not found: migrations 0001 and 0007 should have made it';
  END IF;
  IF NOT 'edited' = ANY (kinds) THEN
    kinds := kinds || 'edited'::text;
  END IF;
  ALTER TABLE job_event DROP CONSTRAINT job_event_kind_check;
  EXECUTE format(
    'ALTER TABLE job_event ADD CONSTRAINT job_event_kind_check CHECK (kind IN (%s)) NOT VALID',
    (SELECT string_agg(quote_literal(k), ', ') FROM unnest(kinds) AS k));
END $$;
ALTER TABLE job_event VALIDATE CONSTRAINT job_event_kind_check;
