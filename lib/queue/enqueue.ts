/** Producers: one job, or many in one statement (with their `created` events). */
import type { Sql } from "../db.ts";
import { at } from "./clock.ts";
import type { Job } from "./types.ts";
import { defaultQueueOf } from "../jobs/mod.ts";

/** What a producer supplies for a new job; defaults as in the schema. */
export interface NewJob {
  type: string;
  payload: unknown;
  priority?: number;
  max_attempts?: number;
  /** Not before this instant (default: now). */
  scheduled_for?: Date | string | null;
  /**
   * The job's named queue (default: its type's default queue, else
   * `default`); its `queue` row is added with the job if new.
   */
  queue?: string;
}

/**
 * `NOTIFY channel` inside the enqueue's own statement, for a producer with
 * nothing else in flight: workers wake as the row commits, one round trip
 * sooner than a NOTIFY sent after the commit. A notifying commit takes a
 * cluster-wide lock, so busy producers leave it out and poke a coalescing
 * {@link Notifier} instead (see {@link InlineNotify}).
 */
function notifying(sql: Sql, channel: string | null | undefined) {
  return channel ? sql`CROSS JOIN LATERAL (SELECT pg_notify(${channel}, '')) AS n` : sql``;
}

/**
 * Inserts one pending job and its `created` event in one statement.
 * Returns the stored row. With `notify`, the statement also sends
 * `NOTIFY <notify>` (see {@link InlineNotify}).
 */
export async function enqueue(
  sql: Sql,
  opts: { job: NewJob; now?: Date | null; notify?: string | null },
): Promise<Job> {
  const j = opts.job;
  const t = at(sql, opts.now);
  // Locks nothing beyond the new row; serves no index lookups.
  const [row] = await sql<Job[]>`
    WITH ins AS (
      INSERT INTO job (type, payload, priority, max_attempts, scheduled_for, created_at, updated_at,
                       queue)
      VALUES (${j.type}, ${sql.json(j.payload as never)}, ${j.priority ?? 3}, ${
    j.max_attempts ?? 3
  },
              coalesce(${j.scheduled_for ?? null}::timestamptz, ${t}), ${t}, ${t},
              ${j.queue ?? defaultQueueOf(j.type)})
      RETURNING *
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt) SELECT id, created_at, 'created', 0 FROM ins
    )
    SELECT ins.* FROM ins ${notifying(sql, opts.notify)}`;
  return row;
}

/**
 * Inserts many jobs (and their `created` events) in one statement: all or
 * none. Returns the rows in input order. An empty list inserts nothing.
 */
export async function enqueueBatch(
  sql: Sql,
  opts: { jobs: NewJob[]; now?: Date | null; notify?: string | null },
): Promise<Job[]> {
  if (opts.jobs.length === 0) return [];
  const t = at(sql, opts.now);
  const input = opts.jobs.map((j) => ({
    type: j.type,
    payload: j.payload,
    priority: j.priority ?? 3,
    max_attempts: j.max_attempts ?? 3,
    scheduled_for: j.scheduled_for ?? null,
    queue: j.queue ?? defaultQueueOf(j.type),
  }));
  // One statement: the array travels as one jsonb parameter.
  const rows = await sql<(Job & { ord: number })[]>`
    WITH input AS (
      SELECT ord, e->>'type' AS type, e->'payload' AS payload, (e->>'priority')::smallint AS priority,
             (e->>'max_attempts')::int AS max_attempts, (e->>'scheduled_for')::timestamptz AS scheduled_for,
             e->>'queue' AS queue
      FROM jsonb_array_elements(${sql.json(input as never)}) WITH ORDINALITY AS t(e, ord)
    ), ins AS (
      INSERT INTO job (type, payload, priority, max_attempts, scheduled_for, created_at, updated_at,
                       queue)
      SELECT type, payload, priority, max_attempts, coalesce(scheduled_for, ${t}), ${t}, ${t}, queue
      FROM input ORDER BY ord
      RETURNING *
    ), ev AS (
      INSERT INTO job_event (job_id, at, kind, attempt) SELECT id, created_at, 'created', 0 FROM ins
    )
    SELECT ins.* FROM ins ${notifying(sql, opts.notify)}`;
  return rows;
}
