/**
 * `deno task worker` / `deno task start` as a terminal runs them: a process
 * group of its own (setsid), stopped by a signal to the whole group, as a
 * Ctrl-C, `kill -INT -- -<pgid>` or `docker stop` delivers it. In flight are
 * notification jobs whose webhook answers slowly, so a stop meets real
 * handlers mid-request.
 */
import { assert, assertEquals } from "./assert.ts";
import type { TestDb } from "./db.ts";
import { type Proc, repoPath, spawnCommand, statusCounts, waitFor } from "./faults.ts";
import * as jobs from "../../lib/queue/jobs.ts";

/** The entry tasks under test. */
export type EntryTask = "worker" | "start";

/**
 * A webhook that answers each POST after `delayMs`. `close` answers the ones
 * still waiting at once (a forced exit leaves them open until then), so that
 * the server's shutdown does not wait out their delay.
 */
export function slowWebhook(delayMs: number): { url: string; close(): Promise<void> } {
  const waiting = new Set<() => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, delayMs);
      waiting.add(done);
    });
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    close: () => {
      for (const done of [...waiting]) done();
      return server.shutdown();
    },
  };
}

/** Starts `setsid deno task <task>` (pid = process group id) and waits until it runs jobs. */
export async function spawnTaskGroup(
  task: EntryTask,
  env: Record<string, string>,
): Promise<Proc> {
  const p = spawnCommand("setsid", [Deno.execPath(), "task", task], {
    cwd: repoPath(""),
    env: { DENO_NO_UPDATE_CHECK: "1", WORKER_CONCURRENCY: "4", PORT: "0", ...env },
  });
  await p.waitForLog((l) => l.msg === "worker.started", 180_000, "worker.started");
  return p;
}

/** Sends `sig` to every process of the group led by `p`. */
export function signalGroup(p: Proc, sig: Deno.Signal): void {
  if (!p.exited()) Deno.kill(-p.pid, sig);
}

/** Enqueues `count` push notifications (each one webhook call) and wakes the workers. */
export async function enqueueNotifications(db: TestDb, count: number): Promise<void> {
  await jobs.enqueueBatch(db.sql, {
    jobs: Array.from({ length: count }, (_, i) => ({
      type: "notification",
      payload: { user_id: `user-${i}`, channel: "push", message: "hello" },
    })),
  });
  await db.sql`SELECT pg_notify('jobq_new', '')`;
}

/** Ids of jobs running for at least `minMs`; waits until there are `n`. */
export function runningJobs(db: TestDb, n: number, minMs = 100): Promise<string[]> {
  return waitFor(async () => {
    const rows = await db.sql<{ id: string }[]>`
      SELECT id FROM job WHERE status = 'processing'
        AND started_at < now() - make_interval(secs => ${minMs / 1000})`;
    return rows.length >= n ? rows.map((r) => r.id) : null;
  }, { timeoutMs: 60_000, what: `${n} jobs in flight` });
}

/** When the signal comes: mid-run, or as soon as the worker has started (the
 * process may still be starting, while its runners already hold jobs). */
export type SignalAt = "running" | "started";

/**
 * One signal to the group must be a graceful stop: exit 0, no forced exit,
 * every in-flight job completed (attempt 1) or given back (attempts 0),
 * nothing left processing, no failed attempt. Returns the figures of the try.
 */
export async function groupSignalTry(
  db: TestDb,
  task: EntryTask,
  env: Record<string, string>,
  sig: Deno.Signal,
  at: SignalAt = "running",
): Promise<Record<string, unknown>> {
  // Jobs waiting before the start are claimed before `worker.started` is logged.
  if (at === "started") await enqueueNotifications(db, 12);
  const p = await spawnTaskGroup(task, env);
  try {
    if (at === "running") await enqueueNotifications(db, 12);
    const running = at === "running" ? await runningJobs(db, 4) : [];
    const t = performance.now();
    signalGroup(p, sig);
    const inFlight = at === "running" ? running : await runningJobs(db, 1, 0);
    const st = await p.status;
    const rows = await db.sql<{ status: string; attempts: number }[]>`
      SELECT status, attempts FROM job WHERE id = ANY(${inFlight}::uuid[])`;
    const outcome = rows.map((r) => `${r.status}/${r.attempts}`);
    const forced = p.lines.filter((l) => /exit_now/.test(l.msg)).length;
    const figures = { exit: st.code, forced, stop_ms: Math.round(performance.now() - t), outcome };
    const msg = JSON.stringify(figures);
    assertEquals(forced, 0, `no forced exit: ${msg}`);
    assertEquals(st.code, 0, `graceful exit: ${msg}`);
    assert(p.lines.some((l) => l.msg === "worker.stopped"), `the worker stopped cleanly: ${msg}`);
    for (const o of outcome) assert(o === "completed/1" || o === "pending/0", msg);
    const c = await statusCounts(db.sql);
    assertEquals(c.processing, 0, "nothing left processing");
    const [{ failed }] = await db.sql<{ failed: number }[]>`
      SELECT count(*)::int AS failed FROM job_event WHERE kind = 'failed'`;
    assertEquals(failed, 0, "no attempt counted as failed");
    return figures;
  } finally {
    signalGroup(p, "SIGKILL");
    await p.status;
  }
}

/**
 * A second signal to the group well after the first (> 1 s) still forces the
 * exit at once (130, `exit_now` logged) while a long grace is running.
 */
export async function groupForceTry(
  db: TestDb,
  task: EntryTask,
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const p = await spawnTaskGroup(task, { ...env, SHUTDOWN_GRACE_SECONDS: "120" });
  try {
    await enqueueNotifications(db, 8);
    await runningJobs(db, 4);
    const t = performance.now();
    signalGroup(p, "SIGINT");
    await p.waitForLog((l) => l.msg === "worker.signal" || l.msg === "web.stopping");
    await waitFor(() => performance.now() - t > 1500, { what: "1.5 s after the first signal" });
    signalGroup(p, "SIGINT");
    const st = await p.status;
    const forced = p.lines.filter((l) => /exit_now/.test(l.msg)).length;
    const figures = { exit: st.code, forced, stop_ms: Math.round(performance.now() - t) };
    assertEquals(st.code, 130, `forced exit: ${JSON.stringify(figures)}`);
    assert(forced >= 1, `exit_now logged: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    signalGroup(p, "SIGKILL");
    await p.status;
  }
}
