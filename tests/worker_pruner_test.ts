/** The pruner service alone: optional retention of finished jobs. */
import { jobs } from "../lib/queue/mod.ts";
import { PrunerService } from "../worker/services/pruner.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { insertJob } from "./_helpers/factory.ts";
import { setupService } from "./_helpers/worker_services.ts";

Deno.test("pruner service", async (t) => {
  await t.step("with every state kept forever (or no retention) it does nothing", async () => {
    const b = await setupService();
    try {
      const svc = new PrunerService({ sql: b.db.sql, worker: b.id });
      svc.start();
      assertEquals([svc.running, await svc.runNow()], [false, null]);
      await svc.stop();
      const forever = { completed: 0, failed: 0, cancelled: 0 };
      const none = new PrunerService({ sql: b.db.sql, worker: b.id, retain: forever });
      none.start();
      assertEquals([none.running, await none.runNow()], [false, null]);
      await none.stop();
    } finally {
      await b.teardown();
    }
  });

  await t.step("deletes finished jobs past the retention period, keeps the rest", async () => {
    const b = await setupService();
    try {
      const old = new Date(Date.now() - 3 * 86_400_000);
      const gone = await insertJob(b.db.sql, { status: "completed", created_at: old });
      const kept = await insertJob(b.db.sql, { status: "completed" });
      const waiting = await insertJob(b.db.sql, { status: "pending", created_at: old });
      const day = 86_400_000;
      const retain = { completed: day, failed: day, cancelled: day };
      const svc = new PrunerService({ sql: b.db.sql, worker: b.id, retain });
      svc.start();
      assertEquals(svc.running, true);
      assertEquals((await svc.runNow())?.jobs, 1);
      await svc.stop();
      assertEquals(svc.running, false);
      assertEquals(await jobs.get(b.db.sql, { id: gone.id }), null);
      assert(await jobs.get(b.db.sql, { id: kept.id }), "a recent finished job stays");
      assert(await jobs.get(b.db.sql, { id: waiting.id }), "an unfinished job stays");
    } finally {
      await b.teardown();
    }
  });
});
