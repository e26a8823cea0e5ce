/**
 * Small helpers of the benchmark: clocks, percentiles, JSON-lines output,
 * and the settle/WAL/reset steps every timed section shares with the peers'
 * harness (shared/peers/run.mjs), so the numbers are comparable.
 */
import type { Sql } from "../lib/db.ts";
import { processCpuSeconds } from "./proc_cpu.mjs";

/**
 * The `--v8-flags=…` argument of `deno task worker` (deno.json), so every
 * benchmark and test that starts a worker process runs it as users do.
 */
export const WORKER_V8_FLAGS: string = (() => {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url))).tasks;
  const flag = String(tasks.worker).match(/--v8-flags=\S+/);
  if (!flag) throw new Error("deno.json: the worker task passes no --v8-flags");
  return flag[0];
})();

/** Parsed options, shared by every phase module. */
export interface BenchOptions {
  jobs: number;
  concurrency: number;
  inflight: number;
  batchSize: number;
  latencyJobs: number;
  latencyGapMs: number;
  drainTimeoutMs: number;
  /** Extra flags for bench/worker_process.ts (tuning experiments; none by default). */
  workerArgs: string[];
}

/** Writes one JSON line for `metric` (main.ts adds the common fields). */
export type Emit = (metric: string, value: number | null, extra?: Record<string, unknown>) => void;

/** Monotonic milliseconds (fractional) of this process. Only differences matter. */
export const now = (): number => performance.now();

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across
 * processes and Web Workers on this machine (timeOrigin + monotonic offset).
 */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sleeps until the monotonic clock reaches `at` (ms, from {@link now}). */
export async function sleepUntil(at: number): Promise<void> {
  const wait = at - now();
  if (wait > 0) await sleep(wait);
}

/** Nearest-rank percentile of an already sorted array; `null` when empty. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Median of an unsorted array; `null` when empty. */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Rounds to `digits` decimals; keeps `null`. */
export function round(x: number | null | undefined, digits = 1): number | null {
  return x == null || !Number.isFinite(x) ? null : Number(x.toFixed(digits));
}

export const jobsPerSecond = (count: number, ms: number): number => (count * 1000) / ms;

/** Refuses any database host but loopback: the benchmark generates load. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  const ok = host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!ok) throw new Error(`bench: refusing to run against non-loopback host '${host}'`);
}

/** Progress on stderr, with a timestamp. */
export function say(msg: string): void {
  console.error(`[${new Date().toISOString()}] ${msg}`);
}

/**
 * Before a timed section (as the harness does): wait up to 60 s until no
 * autovacuum worker is busy, then CHECKPOINT.
 */
export async function settle(admin: Sql): Promise<void> {
  const deadline = now() + 60_000;
  for (;;) {
    const [{ n }] = await admin<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`;
    if (n === 0) break;
    if (now() > deadline) {
      say("  autovacuum still busy after 60 s; measuring anyway");
      break;
    }
    await sleep(250);
  }
  await admin`CHECKPOINT`;
}

/** The cluster's WAL insert position. */
export async function walPosition(sql: Sql): Promise<string> {
  const [{ lsn }] = await sql<{ lsn: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS lsn`;
  return lsn;
}

/** WAL bytes written by the whole cluster since `lsn`. */
export async function walBytesSince(sql: Sql, lsn: string): Promise<number> {
  const [{ bytes }] = await sql<{ bytes: number }[]>`
    SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), ${lsn}::pg_lsn)::float8 AS bytes`;
  return bytes;
}

/**
 * Empties every table of the scratch database except the migration record,
 * so each phase starts from empty tables (the harness re-installs the
 * peer's schema for the same effect). Identities restart.
 */
export async function resetTables(sql: Sql): Promise<void> {
  const tables = await sql<{ name: string }[]>`
    SELECT tablename AS name FROM pg_tables
    WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY tablename`;
  if (tables.length === 0) return;
  await sql`TRUNCATE ${sql(tables.map((t) => t.name))} RESTART IDENTITY`;
}

/**
 * CPU seconds (user + system) of one process, from /proc; null when
 * unreadable. Live threads are read in nanoseconds (bench/proc_cpu.mjs).
 */
export function cpuSeconds(pid: number): Promise<number | null> {
  return Promise.resolve(processCpuSeconds(pid));
}

/**
 * CPU seconds of the PostgreSQL backends serving the scratch database right
 * now (the worker's connections, opened during the drain, and the bench's
 * admin connection). Background processes (WAL writer, checkpointer) and
 * other databases are not included.
 */
export async function backendCpuSeconds(db: { admin: Sql }): Promise<number> {
  const pids = await db.admin<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity WHERE datname = current_database()`;
  let total = 0;
  for (const { pid } of pids) total += (await cpuSeconds(pid)) ?? 0;
  return total;
}

/** Committed transactions of the scratch database so far (pg_stat_database). */
export async function commits(db: { admin: Sql }): Promise<number> {
  const [{ n }] = await db.admin<{ n: number }[]>`
    SELECT xact_commit::int8 AS n FROM pg_stat_database WHERE datname = current_database()`;
  return n;
}
