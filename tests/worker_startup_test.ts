/**
 * The worker process's start-up: the supervisor starts its runners loading
 * before it LISTENs, held (they load, connect and report ready but claim
 * nothing until released); while held, the pool spawns fewer runners than
 * it loads at once later, and the rest once released. The main thread's
 * static imports leave prom-client out (loaded only to serve /metrics), and
 * a runner's leave the embedded server's code out.
 */
import { join } from "node:path";
import { CHANNEL_CHANGED, CHANNEL_NEW_JOBS, jobs, Notifier } from "../lib/queue/mod.ts";
import { ROOT } from "../lib/web/paths.ts";
import { WorkerCounts } from "../worker/services/counts.ts";
import { RunnerPool } from "../worker/services/runner_pool.ts";
import { Settler } from "../worker/services/settle.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { quietConfig, setupService } from "./_helpers/worker_services.ts";
import { TEST_HANDLERS } from "./_helpers/worker_sup.ts";

const CORES = Math.max(1, navigator.hardwareConcurrency || 1);

Deno.test("runner pool: held runners load and connect but claim only once released", async () => {
  const b = await setupService();
  const concurrency = CORES + 1;
  const config = quietConfig({ DATA_DIR: "/tmp/jobq-startup-test" });
  const changed = new Notifier(b.db.sql, CHANNEL_CHANGED);
  const newJobs = new Notifier(b.db.sql, CHANNEL_NEW_JOBS);
  const metrics = new WorkerCounts();
  const retry = { baseMs: 50, maxMs: 200 };
  const settler = new Settler({
    sql: b.db.sql,
    health: b.health,
    metrics,
    events: b.events,
    changed,
    newJobs,
    retry,
    stopping: () => pool.stopping,
  });
  const pool: RunnerPool = new RunnerPool({
    id: b.id,
    concurrency,
    abortGraceMs: 300,
    events: b.events,
    metrics,
    health: b.health,
    settler,
    changed,
    settings: (lockedBy, status) => ({
      lockedBy,
      databaseUrl: b.db.url,
      handlersModule: TEST_HANDLERS,
      types: null,
      claimBatch: 16,
      completeBatch: 16,
      completeFlushMs: 5,
      leaseSeconds: 30,
      pollMs: 200, // a runner that may claim finds the job soon without a wake-up
      abortGraceMs: 300,
      retry,
      config: { ...config },
      status: status.buffer,
    }),
  });
  let started = false;
  const starting = pool.start({ hold: true }).then(() => {
    started = true;
  });
  try {
    const job = await jobs.enqueue(b.db.sql, { job: { type: "noop", payload: { n: 1 } } });
    // The held runners come up (ready) ...
    const held = Math.max(1, CORES - 1);
    for (let i = 0; pool.up() < held; i++) {
      assert(i < 1500, "the held runners never came up");
      await new Promise((r) => setTimeout(r, 20));
    }
    // ... and no more are spawned while held; woken and polling, they claim nothing.
    assertEquals(pool.list().length, held);
    pool.wakeAll();
    await new Promise((r) => setTimeout(r, 1000));
    const [row] = await b.db.sql<{ status: string }[]>`SELECT status FROM job WHERE id = ${job.id}`;
    assertEquals(row.status, "pending");
    assertEquals(started, false);

    const done = b.events.waitFor("completed", (e) => e.job.id === job.id);
    pool.release();
    await done;
    await starting;
    assertEquals(pool.list().length, concurrency);
    assertEquals(pool.up(), concurrency);
  } finally {
    await pool.stop(2000);
    pool.close();
    await starting.catch(() => {});
    await Promise.all([changed.close(), newJobs.close()]);
    await b.teardown();
  }
});

interface Dep {
  specifier: string;
  isDynamic?: boolean;
  code?: { specifier: string };
}

/** The modules `entry` loads through static runtime imports (type-only and dynamic ones left out). */
async function staticGraph(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", join(ROOT, entry)],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: Dep[] }[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const walk = (specifier: string) => {
    const target = graph.redirects[specifier] ?? specifier;
    if (seen.has(target)) return;
    seen.add(target);
    for (const d of bySpecifier.get(target)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) walk(d.code.specifier);
    }
  };
  for (const root of graph.roots) walk(root);
  assert(seen.size > 10, `only ${seen.size} modules found: the graph was not read`);
  return seen;
}

Deno.test("start-up imports: the supervisor leaves prom-client out, a runner the embedded server", async () => {
  const main = [...await staticGraph("worker/supervisor.ts")];
  assertEquals(main.filter((s) => /^npm:\/?prom-client@/.test(s)), []);
  const runner = [...await staticGraph("worker/runner.ts")];
  assertEquals(runner.filter((s) => /\/lib\/embedded_pg(_place)?\.ts$/.test(s)), []);
});
