/**
 * The worker process's start-up: the supervisor starts its runners loading
 * before it LISTENs, held (they load, connect and report ready but claim
 * nothing until released); while held, the pool spawns fewer runners than
 * it loads at once later, and the rest once released. The main thread's
 * static imports leave prom-client out (loaded only to serve /metrics), and
 * a runner's leave the embedded server's code out.
 */
import { jobs } from "../lib/queue/mod.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { staticImports } from "./_helpers/module_graph.ts";
import { poolOf } from "./_helpers/runner_pool.ts";
import { setupService } from "./_helpers/worker_services.ts";

const CORES = Math.max(1, navigator.hardwareConcurrency || 1);

Deno.test("runner pool: held runners load and connect but claim only once released", async () => {
  const b = await setupService();
  const concurrency = CORES + 1;
  const { pool, close } = poolOf(b, {
    concurrency,
    pollMs: 200, // a runner that may claim finds the job soon without a wake-up
    dataDir: "/tmp/jobq-startup-test",
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
    await close();
    await starting.catch(() => {});
    await b.teardown();
  }
});

Deno.test("start-up imports: the supervisor leaves prom-client out, a runner the embedded server", async () => {
  const main = [...(await staticImports("worker/supervisor.ts")).keys()];
  assertEquals(main.filter((s) => /^npm:\/?prom-client@/.test(s)), []);
  const runner = [...(await staticImports("worker/runner.ts")).keys()];
  assertEquals(runner.filter((s) => /\/lib\/embedded_pg(_place)?\.ts$/.test(s)), []);
});
