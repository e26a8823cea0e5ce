/** Named queues: their settings (`queue` table) and their job counts. */
import type { Sql, TxSql } from "../db.ts";
import { type Actor, record } from "./audit.ts";
import { at } from "./clock.ts";
import { JOB_STATUSES, type JobStatus, NotFoundError } from "./types.ts";

/** A queue's settings and its jobs per status. */
export interface QueueRow {
  name: string;
  /** Most jobs of this queue running at once across all worker processes; null = unlimited. */
  concurrency: number | null;
  /** Claims skip a paused queue; its running jobs finish. */
  paused: boolean;
  created_at: Date;
  updated_at: Date;
  counts: Record<JobStatus, number>;
}

/** The error for a queue name with no row. */
export function queueNotFound(name: string): NotFoundError {
  return new NotFoundError("queue_not_found", `no queue named ${JSON.stringify(name)}`);
}

type Row = Omit<QueueRow, "counts"> & { status: JobStatus | null; n: number | null };

function gather(rows: Row[]): QueueRow[] {
  const out = new Map<string, QueueRow>();
  for (const { status, n, ...q } of rows) {
    let row = out.get(q.name);
    if (!row) {
      const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as QueueRow["counts"];
      row = { ...q, counts };
      out.set(q.name, row);
    }
    if (status) row.counts[status] = n ?? 0;
  }
  return [...out.values()];
}

/**
 * Every queue (by name), or only `name`, with its jobs per status (every
 * status present, 0 when none). Exact and cheap at any table size: the
 * counts are the maintained per-(status, type, queue) rows of
 * `job_status_count` plus the not yet compacted deltas (migrations 0002 and
 * 0006), read in one snapshot with the settings; `job` is never counted.
 */
export async function list(sql: Sql, opts: { name?: string } = {}): Promise<QueueRow[]> {
  const name = opts.name ?? null;
  // Seq scans of the small `queue`, `job_status_count` and `job_status_delta` tables.
  const rows = await sql<Row[]>`
    WITH c AS (
      SELECT queue, status, sum(n)::int8 AS n FROM (
        SELECT queue, status, n FROM job_status_count
        UNION ALL
        SELECT queue, status, n FROM job_status_delta
      ) AS u
      WHERE ${name}::text IS NULL OR queue = ${name}::text
      GROUP BY queue, status
    )
    SELECT q.name, q.concurrency, q.paused, q.created_at, q.updated_at, c.status, c.n
    FROM queue q LEFT JOIN c ON c.queue = q.name
    WHERE ${name}::text IS NULL OR q.name = ${name}::text
    ORDER BY q.name, c.status`;
  return gather(rows);
}

/** One queue with its counts, or null. */
export async function get(sql: Sql, opts: { name: string }): Promise<QueueRow | null> {
  const [row] = await list(sql, opts);
  return row ?? null;
}

/** What {@link update} may change; an absent field stays as it is. */
export interface QueueChange {
  paused?: boolean;
  /** A whole number ≥ 1, or null to clear the limit. */
  concurrency?: number | null;
}

/**
 * Changes a queue's settings and returns it with its counts. Throws
 * {@link queueNotFound} when no queue has that name (nothing changes).
 * Locks the queue's row (primary key) for the change; claims read the
 * settings without waiting for it and use the new ones from their next
 * statement on. With an `actor`, each setting asked for is an audit entry
 * (`queue.pause` or `queue.resume`, `queue.limit`; details: before and
 * after), written in the change's transaction.
 */
export async function update(
  sql: Sql,
  opts: { name: string; change: QueueChange; now?: Date | null; actor?: Actor | null },
): Promise<QueueRow> {
  const actor = opts.actor;
  if (!actor) {
    await change(sql, opts);
    return (await get(sql, { name: opts.name }))!;
  }
  return await sql.begin(async (tx: TxSql) => {
    const { before, after } = await change(tx, opts);
    const c = opts.change;
    const base = { actor, target: opts.name, now: opts.now };
    if (c.paused !== undefined) {
      await record(tx, {
        ...base,
        action: c.paused ? "queue.pause" : "queue.resume",
        details: { before: { paused: before.paused }, after: { paused: after.paused } },
      });
    }
    if (c.concurrency !== undefined) {
      await record(tx, {
        ...base,
        action: "queue.limit",
        details: {
          before: { concurrency: before.concurrency },
          after: { concurrency: after.concurrency },
        },
      });
    }
    return (await get(tx as unknown as Sql, { name: opts.name }))!;
  }) as QueueRow;
}

type Settings = { paused: boolean; concurrency: number | null };

/** The UPDATE of {@link update}: the settings before and after (the row locked by the UPDATE). */
async function change(
  sql: Sql | TxSql,
  opts: { name: string; change: QueueChange; now?: Date | null },
): Promise<{ before: Settings; after: Settings }> {
  const t = at(sql, opts.now);
  const c = opts.change;
  const setPaused = c.paused !== undefined;
  const setLimit = c.concurrency !== undefined;
  // Primary key; `prev` reads the row as it was before the UPDATE (same snapshot, row locked by it).
  const [hit] = await sql<(Settings & { was_paused: boolean; was_concurrency: number | null })[]>`
    WITH prev AS (SELECT name, paused, concurrency FROM queue WHERE name = ${opts.name} FOR UPDATE)
    UPDATE queue q SET
      paused = CASE WHEN ${setPaused} THEN ${c.paused ?? false} ELSE q.paused END,
      concurrency = CASE WHEN ${setLimit} THEN ${c.concurrency ?? null}::int ELSE q.concurrency END,
      updated_at = ${t}
    FROM prev WHERE q.name = prev.name
    RETURNING q.paused, q.concurrency, prev.paused AS was_paused,
      prev.concurrency AS was_concurrency`;
  if (!hit) throw queueNotFound(opts.name);
  return {
    before: { paused: hit.was_paused, concurrency: hit.was_concurrency },
    after: { paused: hit.paused, concurrency: hit.concurrency },
  };
}

/** Names of every queue, sorted (for filters and the create form). */
export async function names(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`SELECT name FROM queue ORDER BY name`;
  return rows.map((r) => r.name);
}

/** Names of the paused queues (the job list marks their due pending jobs "paused"). */
export async function pausedNames(sql: Sql): Promise<Set<string>> {
  const rows = await sql<{ name: string }[]>`SELECT name FROM queue WHERE paused`;
  return new Set(rows.map((r) => r.name));
}
