/**
 * Hot path: what a runner of one slot has not started of the batch it holds
 * (migration 0022). The rescuer gives such jobs back uncharged when the
 * runner's process died (`rescueExpired` in rescue.ts).
 */
import type { Sql } from "../db.ts";

/**
 * A bound to move: `runner`'s batch whose first job has sequence number
 * `seq`; `bound`, the job from which (in claim order) none has started, or
 * `null` when any may have.
 */
export interface MarkRaise {
  runner: string;
  seq: number;
  bound: string | null;
}

/**
 * Moves the bounds of runners' marks (a worker process's supervisor, for all
 * its runners in one statement). The mark itself (the batch and its first
 * bound) is written by the claim (claim.ts, `marks`). A row is moved only
 * while it is still the batch named by `seq`. Returns the runners whose row
 * moved: the caller tells each it may start jobs up to its new bound. A
 * runner starts no job from its bound on before a later one is written:
 * the row is a promise the rescuer relies on. The caller never moves a
 * bound back.
 */
export async function raiseMarks(sql: Sql, items: MarkRaise[]): Promise<string[]> {
  if (items.length === 0) return [];
  // Locks: the rows, SKIP LOCKED. A row locked now is being replaced by its
  // runner's next claim (the runner is done with the batch this names), or
  // dropped: waiting for it would hold every other runner's bound back.
  const rows = await sql<{ runner: string }[]>`
    WITH v AS (
      SELECT * FROM unnest(${items.map((i) => i.runner)}::text[], ${items.map((i) => i.seq)}::int[],
        ${items.map((i) => i.bound ?? "")}::text[]) AS v(runner, seq, bound)
    ), mine AS (
      SELECT m.runner, v.bound FROM runner_mark m JOIN v ON v.runner = m.runner AND v.seq = m.seq
      ORDER BY m.runner
      FOR UPDATE OF m SKIP LOCKED
    )
    UPDATE runner_mark m SET bound = nullif(mine.bound, '')::uuid, at = now()
    FROM mine WHERE m.runner = mine.runner
    RETURNING m.runner`;
  return rows.map((r) => r.runner);
}

/**
 * Deletes runners' marks: their held jobs then all keep their attempts, as
 * with no mark. What a supervisor does when it cannot move a bound (the
 * database refuses the write), so that its runners may go on.
 */
export async function dropMarks(sql: Sql, runners: string[]): Promise<void> {
  if (runners.length) await sql`DELETE FROM runner_mark WHERE runner = ANY(${runners}::text[])`;
}

/**
 * Deletes the rows of runners that hold no job and were written more than
 * `staleSeconds` ago (a runner that stopped, or has been idle since). A row
 * is only read for its runner's held jobs, so one of a runner holding none
 * is of no use; one of a runner still at work is kept however old.
 */
export async function pruneMarks(sql: Sql, opts: { staleSeconds: number }): Promise<number> {
  // Index: job_lease_idx (partial on processing) for each row's held jobs.
  const rows = await sql`
    DELETE FROM runner_mark m
    WHERE m.at < now() - make_interval(secs => ${opts.staleSeconds})
      AND NOT EXISTS (SELECT FROM job j WHERE j.status = 'processing' AND j.locked_by = m.runner)
    RETURNING m.runner`;
  return rows.length;
}
