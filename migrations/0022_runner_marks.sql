-- What a runner has not started of the jobs it claimed (lib/queue/marks.ts).
--
-- A runner of one slot claims a batch of jobs (up to `--claim-batch`, 128) and
-- runs them one after another, in claim order; each claimed job is charged
-- its attempt by the claim. When its process is killed the rescuer returns
-- every job it held once their leases expire, and the jobs it had not
-- reached yet lost an attempt they never ran. Now the claim also writes the
-- runner's mark: the batch (its claim time, which is every job's
-- `started_at`, and the runner's sequence number of its first job) and a
-- bound, one of its jobs: none from the bound on, in claim order, has
-- started, nor will start before a later bound is written (NULL: any may
-- have). As the runner works through the batch its process's supervisor
-- moves the bound ahead of it, for all its runners in one statement. The
-- rescuer gives the jobs from the bound on back uncharged, as a graceful
-- stop does (attempts − 1, a `released` event); the others keep the
-- attempt the claim counted.
--
-- One row per runner (its `locked_by`), replaced by the runner's next claim
-- in the claim's own statement. No row: every held job keeps its attempt,
-- as before.
--
-- UNLOGGED: a row matters only while its runner's process is gone and its
-- jobs are not yet rescued, it is rewritten many times a second, and a
-- server crash (which empties an unlogged table) loses nothing but the
-- refunds: the jobs are then charged, as they were before this table.
CREATE UNLOGGED TABLE runner_mark (
  runner     text PRIMARY KEY,
  seq        integer NOT NULL,
  claimed_at timestamptz NOT NULL,
  bound      uuid,
  at         timestamptz NOT NULL DEFAULT now()
);
