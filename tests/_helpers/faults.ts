/**
 * Fault injection for the reliability suite: worker and web processes as
 * children (JSON log lines parsed and awaitable, RSS readable), a TCP proxy in
 * front of Postgres that can play "database down", polling waits with
 * timeouts, and the audit that checks a run's database afterwards.
 */
import { fileURLToPath } from "node:url";
import type { Sql } from "../../lib/db.ts";
import * as jobs from "../../lib/queue/jobs.ts";

/** One parsed log line of a child process. */
export type LogLine = Record<string, unknown> & { msg: string; at: string };

/** A running child process (worker or web). */
export interface Proc {
  child: Deno.ChildProcess;
  pid: number;
  lines: LogLine[];
  /** Resolves with the first line (seen or future) that passes `pred`; rejects on timeout or exit. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  /** Resolves once `pred` holds over all lines seen so far (checked on every new line). */
  waitUntil(pred: (lines: LogLine[]) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Exit status, once it ends. */
  status: Promise<Deno.CommandStatus>;
  /** True once the process has ended. */
  exited(): boolean;
  /** Resident set size in bytes (from /proc), or NaN after exit. */
  rss(): Promise<number>;
  /** Sends a signal unless the process has already ended. */
  kill(sig: Deno.Signal): void;
}

/** Absolute path of a repository file. */
export function repoPath(rel: string): string {
  return fileURLToPath(new URL("../../" + rel, import.meta.url));
}

/** Handlers module of the fault suite (see fault_handlers.ts). */
export const FAULT_HANDLERS = repoPath("tests/_helpers/fault_handlers.ts");

/** Starts `deno run -A <entry> ...args` with `env`; stderr JSON lines are collected. */
export function spawnProc(entry: string, env: Record<string, string>, args: string[] = []): Proc {
  return spawnCommand(Deno.execPath(), ["run", "-A", "--no-check", entry, ...args], { env });
}

/**
 * Starts any command (e.g. `setsid deno task worker`) as {@link spawnProc}
 * does: `env` added to this process's, stderr JSON lines collected.
 */
export function spawnCommand(
  file: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; clearEnv?: boolean } = {},
): Proc {
  const child = new Deno.Command(file, {
    args,
    cwd: opts.cwd,
    clearEnv: opts.clearEnv,
    env: { LOG_LEVEL: "info", NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: LogLine[] = [];
  const checks = new Set<() => void>();
  const echo = Deno.env.get("TEST_WORKER_ECHO") === "1";
  let exited = false;
  (async () => {
    let buf = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (echo) console.error(`[${child.pid}] ${text}`);
        try {
          const parsed = JSON.parse(text);
          if (parsed && typeof parsed.msg === "string") lines.push(parsed);
        } catch {
          lines.push({ msg: "(text)", at: new Date().toISOString(), text });
        }
      }
      for (const c of [...checks]) c();
    }
  })().catch(() => {});
  const status = child.status;
  status.then(() => {
    exited = true;
    for (const c of [...checks]) c();
  });
  function waitUntil(
    pred: (ls: LogLine[]) => boolean,
    timeoutMs = 60_000,
    what = "a condition",
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pred(lines)) {
          done();
          resolve();
        } else if (exited) {
          done();
          reject(new Error(`process ${child.pid} exited while waiting for ${what}\n${tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${tail()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        checks.delete(check);
      };
      checks.add(check);
      check();
    });
  }
  const tail = () => lines.slice(-15).map((l) => JSON.stringify(l)).join("\n");
  return {
    child,
    pid: child.pid,
    lines,
    status,
    exited: () => exited,
    waitUntil,
    async waitForLog(pred, timeoutMs = 60_000, what = "a log line") {
      await waitUntil((ls) => ls.some(pred), timeoutMs, what);
      return lines.find(pred)!;
    },
    async rss() {
      try {
        const text = await Deno.readTextFile(`/proc/${child.pid}/status`);
        return Number(/VmRSS:\s+(\d+)\s+kB/.exec(text)?.[1] ?? NaN) * 1024;
      } catch {
        return NaN;
      }
    },
    kill(sig) {
      if (exited) return;
      try {
        child.kill(sig);
      } catch (err) {
        if (!(err instanceof TypeError)) throw err;
      }
    },
  };
}

/** Options of {@link spawnWorker}. */
export interface WorkerSpawn {
  /** Run on a clock shifted by this many ms (main thread and Web Workers). */
  skewMs?: number;
  /** More environment (WORKER_CONCURRENCY, JOB_LEASE_SECONDS, …). */
  env?: Record<string, string>;
  /** More flags of the worker (e.g. `--mark-lead 32`). */
  args?: string[];
}

/**
 * Starts a worker process on `databaseUrl` with the fault handlers and waits
 * for `worker.started`. Returns the process and its worker id.
 */
export async function spawnWorker(
  databaseUrl: string,
  dataDir: string,
  opts: WorkerSpawn = {},
): Promise<Proc & { id: string }> {
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    WORKER_CONCURRENCY: "4",
    JOB_LEASE_SECONDS: "3",
    SHUTDOWN_GRACE_SECONDS: "10",
    RETRY_BASE_MS: "50",
    ...opts.env,
  };
  if (opts.skewMs) env.JOBQ_TEST_CLOCK_SKEW_MS = String(opts.skewMs);
  const entry = opts.skewMs
    ? repoPath("tests/_helpers/skewed_worker.ts")
    : repoPath("worker/main.ts");
  const p = spawnProc(entry, env, [`--handlers=${FAULT_HANDLERS}`, ...(opts.args ?? [])]);
  const line = await p.waitForLog((l) => l.msg === "worker.started", 180_000, "worker.started");
  return Object.assign(p, { id: String(line.worker) });
}

/** Starts the web process (`main.ts`) on a free port and waits until it listens. */
export async function spawnWeb(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<Proc & { url: string }> {
  const p = spawnProc(repoPath("main.ts"), {
    DATABASE_URL: databaseUrl,
    PORT: "0",
    HOST: "127.0.0.1",
    ...env,
  });
  const line = await p.waitForLog((l) => l.msg === "web.listening", 180_000, "web.listening");
  return Object.assign(p, { url: String(line.url).replace(/\/$/, "") });
}

/**
 * Polls `fn` until it returns a truthy value (returned) or `timeoutMs`
 * passes (throws naming `what` and the last value seen).
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; what?: string; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = performance.now() + (opts.timeoutMs ?? 60_000);
  let last: unknown;
  while (true) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) {
      throw new Error(
        `timed out after ${opts.timeoutMs ?? 60_000} ms waiting for ${opts.what ?? "a condition"}` +
          ` (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

/** Enqueues `count` `work` jobs of `ms` each, in batches, and wakes the workers. */
export async function enqueueWork(
  sql: Sql,
  opts: { count: number; ms?: number; batch?: number; type?: string; maxAttempts?: number },
): Promise<void> {
  const batch = opts.batch ?? 1000;
  for (let i = 0; i < opts.count; i += batch) {
    const n = Math.min(batch, opts.count - i);
    await jobs.enqueueBatch(sql, {
      jobs: Array.from({ length: n }, (_, k) => ({
        type: opts.type ?? "work",
        payload: { ms: opts.ms ?? 10, n: i + k },
        max_attempts: opts.maxAttempts ?? 3,
      })),
    });
    await sql`SELECT pg_notify('jobq_new', '')`;
  }
}

/** Job counts by status. */
export async function statusCounts(sql: Sql): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`
    SELECT status, count(*)::int AS n FROM job GROUP BY status`;
  const out: Record<string, number> = {
    pending: 0,
    processing: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
  };
  for (const r of rows) out[r.status] = r.n;
  return out;
}

/** What the database says about a run. */
export interface Audit {
  total: number;
  status: Record<string, number>;
  /** Jobs not completed (when every job should be). */
  notCompleted: number;
  /** Jobs with more than one `completed` event or outcome recorded twice. */
  duplicateCompletions: number;
  /** Jobs claimed more than once. */
  rerun: number;
  /** Re-claims not preceded by a rescued, released or failed event. */
  unexplainedReruns: number;
  /** `rescued` events, by the pid in the worker id they were rescued from. */
  rescuedByPid: Record<string, number>;
  /** `failed` events (attempts counted as failures). */
  failedEvents: number;
  /** `released` events (graceful give-backs). */
  releasedEvents: number;
  /** Jobs still processing whose lease ended (by the DB clock) more than 1 s ago. */
  staleLeases: number;
}

/** Audits the job tables after a run. */
export async function audit(sql: Sql): Promise<Audit> {
  const status = await statusCounts(sql);
  const total = Object.values(status).reduce((a, b) => a + b, 0);
  const [r] = await sql<
    {
      dup: number;
      rerun: number;
      unexplained: number;
      failed: number;
      released: number;
      stale: number;
    }[]
  >`
    WITH per AS (
      SELECT job_id,
        count(*) FILTER (WHERE kind = 'claimed') AS claimed,
        count(*) FILTER (WHERE kind = 'completed') AS completed,
        count(*) FILTER (WHERE kind IN ('rescued', 'released', 'failed', 'retried')) AS returned
      FROM job_event GROUP BY job_id
    )
    SELECT
      (SELECT count(*) FROM per WHERE completed > 1)::int AS dup,
      (SELECT count(*) FROM per WHERE claimed > 1)::int AS rerun,
      (SELECT count(*) FROM per WHERE claimed - 1 > returned)::int AS unexplained,
      (SELECT count(*) FROM job_event WHERE kind = 'failed')::int AS failed,
      (SELECT count(*) FROM job_event WHERE kind = 'released')::int AS released,
      (SELECT count(*) FROM job WHERE status = 'processing'
         AND locked_until < now() - interval '1 second')::int AS stale`;
  const rescued = await sql<{ worker: string; n: number }[]>`
    SELECT worker, count(*)::int AS n FROM job_event WHERE kind = 'rescued' GROUP BY worker`;
  const rescuedByPid: Record<string, number> = {};
  for (const x of rescued) {
    const pid = String(x.worker ?? "").split(":")[1] ?? "?";
    rescuedByPid[pid] = (rescuedByPid[pid] ?? 0) + x.n;
  }
  return {
    total,
    status,
    notCompleted: total - status.completed,
    duplicateCompletions: r.dup,
    rerun: r.rerun,
    unexplainedReruns: r.unexplained,
    rescuedByPid,
    failedEvents: r.failed,
    releasedEvents: r.released,
    staleLeases: r.stale,
  };
}

/** A digest of every stored row of the job tables (to prove a run changed nothing). */
export async function snapshot(sql: Sql): Promise<string> {
  const [r] = await sql<{ job: string; ev: string; art: string; w: string; qs: string }[]>`
    SELECT
      (SELECT coalesce(md5(string_agg(j::text, '|' ORDER BY j.id)), '') FROM job j) AS job,
      (SELECT coalesce(md5(string_agg(e::text, '|' ORDER BY e.id)), '') FROM job_event e) AS ev,
      (SELECT coalesce(md5(string_agg(a::text, '|' ORDER BY a::text)), '') FROM job_artifact a) AS art,
      (SELECT count(*)::text FROM worker) AS w,
      (SELECT coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '')
         FROM (SELECT q::text FROM queue q UNION ALL SELECT s::text FROM schedule s
               UNION ALL SELECT a::text FROM alert a) x) AS qs`;
  return `${r.job}/${r.ev}/${r.art}/${r.w}/${r.qs}`;
}

/** A TCP proxy in front of Postgres that can drop every connection and refuse, or never answer, new ones. */
export interface PgProxy {
  port: number;
  /** `databaseUrl` with host and port replaced by the proxy's. */
  urlFor(databaseUrl: string): string;
  /** Closes every proxied connection and stops listening (clients see ECONNREFUSED). */
  down(): void;
  /**
   * Closes every proxied connection and keeps listening, but holds new ones
   * without ever answering (a database host that does not respond).
   */
  stall(): void;
  /** Listens again on the same port and forwards again (held connections are closed). */
  up(): void;
  /** Connections open now. */
  open(): number;
  close(): void;
}

/** Starts a proxy on 127.0.0.1 (free port) forwarding to `target`. */
export function startPgProxy(target: { hostname: string; port: number }): PgProxy {
  const conns = new Set<Deno.Conn>();
  const held = new Set<Deno.Conn>();
  let stalled = false;
  let listener: Deno.TcpListener | null = null;
  let port = 0;
  const closeQuietly = (c: Deno.Conn) => {
    try {
      c.close();
    } catch { /* already closed */ }
  };
  const dropAll = () => {
    for (const c of [...conns]) closeQuietly(c);
    conns.clear();
  };
  const serve = (l: Deno.TcpListener) => {
    (async () => {
      for await (const client of l) {
        if (stalled) {
          held.add(client);
          continue;
        }
        let upstream: Deno.Conn;
        try {
          upstream = await Deno.connect(target);
        } catch {
          closeQuietly(client);
          continue;
        }
        conns.add(client);
        conns.add(upstream);
        const end = () => {
          conns.delete(client);
          conns.delete(upstream);
          closeQuietly(client);
          closeQuietly(upstream);
        };
        client.readable.pipeTo(upstream.writable, { preventClose: true }).catch(() => {}).finally(
          end,
        );
        upstream.readable.pipeTo(client.writable, { preventClose: true }).catch(() => {}).finally(
          end,
        );
      }
    })().catch(() => {});
  };
  const listen = () => {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    port = (listener.addr as Deno.NetAddr).port;
    serve(listener);
  };
  listen();
  return {
    get port() {
      return port;
    },
    urlFor(databaseUrl) {
      const u = new URL(databaseUrl);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    down() {
      try {
        listener?.close();
      } catch { /* closed */ }
      listener = null;
      dropAll();
    },
    stall() {
      stalled = true;
      dropAll();
      if (!listener) listen();
    },
    up() {
      stalled = false;
      for (const c of [...held]) closeQuietly(c);
      held.clear();
      if (!listener) listen();
    },
    open: () => conns.size,
    close() {
      this.down();
      for (const c of [...held]) closeQuietly(c);
      held.clear();
    },
  };
}

/** Host and port of a postgres URL. */
export function hostPort(databaseUrl: string): { hostname: string; port: number } {
  const u = new URL(databaseUrl);
  return { hostname: u.hostname || "127.0.0.1", port: Number(u.port || 5432) };
}

/** The p-th percentile (0–100) of `xs` (NaN when empty). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Appends one scenario's figures (JSON line) to `$FAULT_REPORT` when set. */
export async function report(scenario: string, figures: Record<string, unknown>): Promise<void> {
  const line = JSON.stringify({ scenario, at: new Date().toISOString(), ...figures });
  console.log(`FIGURES ${line}`);
  const file = Deno.env.get("FAULT_REPORT");
  if (file) await Deno.writeTextFile(file, line + "\n", { append: true });
}

/** Stops every process of `procs` that still runs: SIGTERM, then SIGKILL after `ms`. */
export async function stopAll(procs: Proc[], ms = 15_000): Promise<void> {
  for (const p of procs) p.kill("SIGTERM");
  const t = setTimeout(() => procs.forEach((p) => p.kill("SIGKILL")), ms);
  await Promise.all(procs.map((p) => p.status.catch(() => {})));
  clearTimeout(t);
}
