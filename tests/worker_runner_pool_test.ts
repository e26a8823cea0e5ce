/**
 * The runner pool alone (no listener, renewer or rescuer): Web Workers that
 * claim when woken, report what they finish, are replaced when they crash or
 * block past the hard timeout, and stop gracefully.
 */
import { jobs } from "../lib/queue/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { poolOf } from "./_helpers/runner_pool.ts";
import { setupService } from "./_helpers/worker_services.ts";

Deno.test("runner pool service", async (t) => {
  await t.step("starts its runners; a wake-up makes one claim and run a job", async () => {
    const b = await setupService();
    const { pool, metrics, close } = poolOf(b);
    try {
      await pool.start();
      assertEquals(pool.names(), [`${b.id}/1`, `${b.id}/2`]);
      assertEquals(pool.up(), 2);
      const job = await jobs.enqueue(b.db.sql, { job: { type: "noop", payload: { n: 1 } } });
      const done = b.events.waitFor("completed", (e) => e.job.id === job.id);
      pool.wakeOne();
      const e = await done;
      assert(pool.names().includes(e.worker));
      assertEquals(metrics.counts.completed, 1);
      assertEquals(pool.holdings(), [], "nothing held once completed");
      assertEquals((await jobs.get(b.db.sql, { id: job.id }))?.status, "completed");
    } finally {
      await close();
      await b.teardown();
    }
  });

  await t.step("a runner that crashes fails its job and is replaced", async () => {
    const b = await setupService();
    const { pool, close } = poolOf(b, { concurrency: 1 });
    try {
      await pool.start();
      const job = await jobs.enqueue(b.db.sql, {
        job: { type: "crash", payload: {}, max_attempts: 1 },
      });
      const replaced = b.events.waitFor("replaced");
      const failed = b.events.waitFor("failed", (e) => e.job.id === job.id);
      pool.wakeAll();
      const r = await replaced;
      assertEquals([r.worker, r.next, r.reason], [`${b.id}/1`, `${b.id}/2`, "crashed"]);
      const f = await failed;
      assertStringIncludes(f.error, "Web Worker crashed while running the job");
      assertEquals(f.final, true);
      assertEquals(pool.names(), [`${b.id}/2`]);
    } finally {
      await close();
      await b.teardown();
    }
  });

  await t.step(
    "a handler that blocks its Web Worker past the hard timeout is terminated",
    async () => {
      const b = await setupService();
      const { pool, close } = poolOf(b, { concurrency: 1 });
      try {
        await pool.start();
        const job = await jobs.enqueue(b.db.sql, { job: { type: "block", payload: {} } });
        const failed = b.events.waitFor("failed", (e) => e.job.id === job.id);
        const replaced = b.events.waitFor("replaced");
        pool.wakeAll();
        assertEquals((await replaced).reason, "timeout");
        assertStringIncludes((await failed).error, "timed out after 1 s");
      } finally {
        await close();
        await b.teardown();
      }
    },
  );

  await t.step(
    "stop(): a runner still busy after the grace period is terminated and its job given back",
    async () => {
      const b = await setupService();
      const { pool } = poolOf(b, { concurrency: 1 });
      try {
        await pool.start();
        const job = await jobs.enqueue(b.db.sql, { job: { type: "busy", payload: { ms: 3000 } } });
        const claimed = b.events.waitFor("claimed");
        pool.wakeAll();
        await claimed;
        const released = b.events.waitFor("released", (e) => e.job.id === job.id);
        await pool.stop(200);
        await released;
        pool.close();
        const row = (await jobs.get(b.db.sql, { id: job.id }))!;
        assertEquals([row.status, row.attempts], ["pending", 0]);
        assertEquals(pool.up(), 0);
      } finally {
        await b.teardown();
      }
    },
  );
});
