/**
 * The audit log: who did which operator action, from where, on which jobs
 * (migration 0009). {@link record} runs inside the action's own transaction
 * (pass the transaction's `tx`), so an action and its entry commit together.
 */
import type { Sql, TxSql } from "../db.ts";
import { at } from "./clock.ts";

/** Who acted: an API token's name, the dashboard session's user, or `anonymous` on an open install. */
export interface Actor {
  name: string;
  via: "token" | "session" | "open";
  /** The request's remote address; null when there is none (in-process). */
  address: string | null;
}

/** Every action the log records. */
export const AUDIT_ACTIONS = [
  "job.create",
  "job.cancel",
  "job.retry",
  "job.edit",
  "job.delete",
  "bulk.retry",
  "bulk.cancel",
  "bulk.delete",
  "bulk.undo",
  "queue.pause",
  "queue.resume",
  "queue.limit",
  "schedule.create",
  "schedule.update",
  "schedule.delete",
  "schedule.run",
  "alert.create",
  "alert.update",
  "alert.delete",
] as const;
export type AuditAction = typeof AUDIT_ACTIONS[number];

/** What {@link record} writes. */
export interface AuditInput {
  actor: Actor;
  action: AuditAction;
  /** The jobs, when they were named one by one. */
  jobIds?: string[] | null;
  /** The list filter, for an action by filter. */
  filter?: Record<string, unknown> | null;
  /** Jobs changed. */
  count?: number | null;
  /** The queue, schedule or alert acted on. */
  target?: string | null;
  details?: Record<string, unknown>;
  /** The action's clock (tests); else the database's. */
  now?: Date | null;
}

/** One audit row. */
export interface AuditEntry {
  id: string;
  at: Date;
  actor: string;
  via: Actor["via"];
  address: string | null;
  action: AuditAction;
  job_ids: string[] | null;
  filter: Record<string, unknown> | null;
  count: number | null;
  target: string | null;
  details: Record<string, unknown>;
}

/** Writes one entry; call it with the action's transaction. */
export async function record(tx: Sql | TxSql, input: AuditInput): Promise<AuditEntry> {
  const [row] = await tx<AuditEntry[]>`
    INSERT INTO audit (at, actor, via, address, action, job_ids, filter, count, target, details)
    VALUES (${at(tx as Sql, input.now)}, ${input.actor.name}, ${input.actor.via},
      ${input.actor.address}, ${input.action}, ${input.jobIds ?? null}::uuid[],
      ${input.filter ? tx.json(input.filter as never) : null}, ${input.count ?? null},
      ${input.target ?? null}, ${tx.json((input.details ?? {}) as never)})
    RETURNING *`;
  return row;
}

/**
 * The words for an actor in a job's timeline: "by ci (token) from 10.0.0.7",
 * "by admin (dashboard)", "by anonymous".
 */
export function byline(actor: Actor): string {
  const how = actor.via === "token" ? " (token)" : actor.via === "session" ? " (dashboard)" : "";
  return `by ${actor.name}${how}${actor.address ? ` from ${actor.address}` : ""}`;
}

/** Filters and page of {@link list}. */
export interface AuditQuery {
  action?: string[];
  actor?: string;
  /** Entries naming this job. */
  job?: string;
  since?: Date;
  until?: Date;
  limit?: number;
  offset?: number;
}

/** A page of entries, newest first, and the number of all matching. */
export async function list(
  sql: Sql,
  q: AuditQuery = {},
): Promise<{ items: AuditEntry[]; total: number; limit: number; offset: number }> {
  const limit = Math.min(100, Math.max(1, q.limit ?? 50));
  const offset = Math.max(0, q.offset ?? 0);
  const parts = [];
  if (q.action?.length) parts.push(sql`action = ANY(${q.action}::text[])`);
  if (q.actor) parts.push(sql`actor = ${q.actor}`);
  if (q.job) parts.push(sql`job_ids @> ARRAY[${q.job}::uuid]`);
  if (q.since) parts.push(sql`at >= ${q.since}`);
  if (q.until) parts.push(sql`at < ${q.until}`);
  let where = sql``;
  parts.forEach((p, i) => where = i === 0 ? sql`WHERE ${p}` : sql`${where} AND ${p}`);
  const [items, [{ total }]] = await Promise.all([
    sql<AuditEntry[]>`SELECT * FROM audit ${where}
      ORDER BY at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
    sql<{ total: number }[]>`SELECT count(*)::int AS total FROM audit ${where}`,
  ]);
  return { items, total, limit, offset };
}

/** Deletes entries older than `olderThanMs` (retention, RETAIN_AUDIT); returns how many. */
export async function prune(
  sql: Sql,
  opts: { olderThanMs: number; now?: Date | null; batch?: number },
): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    WITH gone AS (
      DELETE FROM audit WHERE id IN (
        SELECT id FROM audit
        WHERE at < ${at(sql, opts.now)} - make_interval(secs => ${opts.olderThanMs / 1000})
        LIMIT ${opts.batch ?? 10_000})
      RETURNING 1)
    SELECT count(*)::int AS n FROM gone`;
  return n;
}
