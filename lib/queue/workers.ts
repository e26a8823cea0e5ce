/** SQL on `worker`: registration, heartbeats and cleanup of dead processes. */
import type { Sql } from "../db.ts";
import type { RunnerInfo, WorkerRow } from "./types.ts";

/** Registers (or re-registers) a worker process; returns its row. */
export async function register(sql: Sql, opts: {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  info?: Record<string, unknown>;
}): Promise<WorkerRow> {
  const [row] = await sql<WorkerRow[]>`
    INSERT INTO worker (id, host, pid, concurrency, info)
    VALUES (${opts.id}, ${opts.host}, ${opts.pid}, ${opts.concurrency}, ${
    sql.json((opts.info ?? {}) as never)
  })
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopping = false, info = EXCLUDED.info
    RETURNING *`;
  return row;
}

/** Records a heartbeat (and the current `info`); returns false when the row is gone. */
export async function heartbeat(sql: Sql, opts: {
  id: string;
  info?: Record<string, unknown>;
  stopping?: boolean;
}): Promise<boolean> {
  const rows = opts.info
    ? await sql`UPDATE worker SET heartbeat_at = now(), info = ${sql.json(opts.info as never)},
        stopping = ${opts.stopping ?? false} WHERE id = ${opts.id} RETURNING id`
    : await sql`UPDATE worker SET heartbeat_at = now(), stopping = ${opts.stopping ?? false}
        WHERE id = ${opts.id} RETURNING id`;
  return rows.length > 0;
}

/** Removes a worker's row (clean stop). */
export async function unregister(sql: Sql, opts: { id: string }): Promise<void> {
  await sql`DELETE FROM worker WHERE id = ${opts.id}`;
}

/** Deletes rows whose heartbeat is older than `staleSeconds`; returns their ids. */
export async function cleanupStale(sql: Sql, opts: { staleSeconds: number }): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    DELETE FROM worker WHERE heartbeat_at < now() - make_interval(secs => ${opts.staleSeconds}) RETURNING id`;
  return rows.map((r) => r.id);
}

/** Live worker processes, newest first. */
export async function list(sql: Sql): Promise<WorkerRow[]> {
  return await sql<WorkerRow[]>`SELECT * FROM worker ORDER BY started_at DESC, id`;
}

/**
 * The runners a worker row reports in `info.runners` ({@link RunnerInfo}
 * objects; bare names from older processes), else — nothing reported, or
 * not in either shape — `<id>/1` … `<id>/<concurrency>`, the names a
 * process gives its first runners.
 */
export function runnersOf(w: WorkerRow): RunnerInfo[] {
  const reported = (w.info as { runners?: unknown } | null)?.runners;
  if (Array.isArray(reported) && reported.length > 0) {
    const out = reported.map((r): RunnerInfo | null =>
      typeof r === "string"
        ? { worker: r }
        : typeof r === "object" && r !== null && typeof r.worker === "string"
        ? {
          worker: r.worker,
          state: typeof r.state === "string" ? r.state : undefined,
          job: typeof r.job === "string" ? r.job : undefined,
          running_ms: typeof r.running_ms === "number" ? r.running_ms : undefined,
        }
        : null
    );
    if (out.every((r) => r !== null)) return out as RunnerInfo[];
  }
  return Array.from({ length: w.concurrency }, (_, i) => ({ worker: `${w.id}/${i + 1}` }));
}
