/** Hot path: claiming due jobs for a worker. */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";
import type { Job } from "./types.ts";

/**
 * Claims up to `limit` due pending jobs for `worker`: priority 5 first, then
 * oldest. Sets them processing, attempts+1, lease until now + `leaseSeconds`,
 * and writes a `claimed` event each. Returns them in claim order; `[]` when
 * nothing is due. A job whose `expires_at` has passed is never claimed (the
 * expirer cancels it, see expire.ts). With `lean`, the rows carry only what
 * a handler needs (id, type, payload, priority, attempts, max_attempts,
 * created_at, timeout_seconds): less to send
 * and parse per job in the worker's hot path.
 *
 * The claim commits synchronously (it waits for its WAL flush): a claim the
 * caller was told of survives a database crash, so every run of a job has
 * its `claimed` event. (An asynchronous claim could be forgotten by a crash
 * while its handler ran: the job then ran twice with one claim recorded.)
 */
export async function claim(sql: Sql, opts: ClaimOptions & { lean: true }): Promise<LeanJob[]>;
export async function claim(sql: Sql, opts: ClaimOptions & { lean?: false }): Promise<Job[]>;
export async function claim(sql: Sql, opts: ClaimOptions): Promise<Job[] | LeanJob[]> {
  const t = at(sql, opts.now);
  const typeFilter = opts.types && opts.types.length ? sql`AND type = ANY(${opts.types})` : sql``;
  // Locks: the chosen rows (FOR UPDATE SKIP LOCKED: rows another claimer holds
  // are passed over, never waited for). Index: job_claim_idx (partial on
  // pending, ordered priority DESC, created_at, id), read in order, so the
  // LIMIT stops the scan early. The update finds the rows by primary key
  // through `id = ANY(ARRAY(…))`: statements are prepared, and a generic plan
  // guesses a parameter LIMIT at hundreds of rows and, with a join to `next`,
  // hashes the whole table — a sequential scan of `job` per claim.
  const columns = opts.lean
    ? sql`id, type, payload, priority, attempts, max_attempts, created_at, timeout_seconds`
    : sql`*`;
  return await sql<Job[]>`
    WITH next AS (
      SELECT id FROM job
      WHERE status = 'pending' AND scheduled_for <= ${t} AND attempts < max_attempts
        AND (expires_at IS NULL OR expires_at > ${t}) ${typeFilter}
      ORDER BY priority DESC, created_at, id
      LIMIT ${opts.limit ?? 1}
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE job j SET status = 'processing', attempts = j.attempts + 1, locked_by = ${opts.worker},
        locked_until = ${t} + make_interval(secs => ${opts.leaseSeconds}), started_at = ${t}, updated_at = ${t}
      WHERE j.id = ANY(ARRAY(SELECT id FROM next))
      RETURNING j.*
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt, worker)
      SELECT id, updated_at, 'claimed', attempts, locked_by FROM claimed
    )
    SELECT ${columns} FROM claimed ORDER BY priority DESC, created_at, id`;
}

/** What {@link claim} takes. */
export interface ClaimOptions {
  worker: string;
  limit?: number;
  leaseSeconds: number;
  types?: string[] | null;
  lean?: boolean;
  now?: Date | null;
}

/** A job as a `lean` {@link claim} returns it: what a handler needs. */
export type LeanJob = Pick<
  Job,
  | "id"
  | "type"
  | "payload"
  | "priority"
  | "attempts"
  | "max_attempts"
  | "created_at"
  | "timeout_seconds"
>;
