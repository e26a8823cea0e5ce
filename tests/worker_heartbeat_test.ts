/** The heartbeat service alone: it owns the process's worker row. */
import type { Sql } from "../lib/db.ts";
import { workers } from "../lib/queue/mod.ts";
import type { RunnerInfo } from "../lib/queue/types.ts";
import { Heartbeat } from "../worker/services/heartbeat.ts";
import { assertEquals } from "./_helpers/assert.ts";
import { type ServiceBundle, setupService, unreachablePool } from "./_helpers/worker_services.ts";

function heartbeatOf(b: ServiceBundle, sql: Sql = b.db.sql) {
  const state = {
    runners: [{ worker: `${b.id}/1`, state: "running" }] as RunnerInfo[],
    completed: 0,
    stopping: false,
  };
  const hb = new Heartbeat({
    sql,
    id: b.id,
    concurrency: 1,
    health: b.health,
    intervalMs: 60_000,
    runners: () => state.runners,
    counts: () => ({ completed: state.completed, failed: 0, lost: 0, released: 0 }),
    stopping: () => state.stopping,
  });
  return { hb, state };
}

Deno.test("heartbeat service", async (t) => {
  await t.step("register, beat with what the runners do, unregister", async () => {
    const b = await setupService();
    try {
      const { hb, state } = heartbeatOf(b);
      await hb.register();
      let [row] = await workers.list(b.db.sql);
      assertEquals([row.id, row.pid, row.concurrency, row.stopping], [b.id, Deno.pid, 1, false]);
      assertEquals(JSON.parse(JSON.stringify(workers.runnersOf(row))), state.runners);
      state.runners = [{ worker: `${b.id}/1`, state: "running", job: "j1", running_ms: 5 }];
      state.completed = 7;
      await hb.beat();
      [row] = await workers.list(b.db.sql);
      assertEquals(JSON.parse(JSON.stringify(workers.runnersOf(row))), state.runners);
      assertEquals(row.info.completed, 7);
      hb.stopping();
      await hb.unregister();
      assertEquals(await workers.list(b.db.sql), []);
    } finally {
      await b.teardown();
    }
  });

  await t.step("a row removed as stale is registered again at the next beat", async () => {
    const b = await setupService();
    try {
      const { hb } = heartbeatOf(b);
      await hb.register();
      await b.db.sql`DELETE FROM worker`;
      await hb.beat();
      assertEquals((await workers.list(b.db.sql)).map((r) => r.id), [b.id]);
    } finally {
      await b.teardown();
    }
  });

  await t.step("a stopping process says so in its row", async () => {
    const b = await setupService();
    try {
      const { hb, state } = heartbeatOf(b);
      await hb.register();
      state.stopping = true;
      await hb.beat();
      assertEquals((await workers.list(b.db.sql))[0].stopping, true);
    } finally {
      await b.teardown();
    }
  });

  await t.step(
    "an unreachable database is an outage; unregister gives up after its bound",
    async () => {
      const b = await setupService();
      const down = unreachablePool();
      try {
        const { hb } = heartbeatOf(b, down);
        await hb.beat();
        assertEquals([b.downs.length, b.health.up], [1, false]);
        await hb.unregister(200); // resolves (logged), never rejects
      } finally {
        await b.teardown(down);
      }
    },
  );
});
