/** The rescuer service alone, against a real database (after River's job_rescuer_test). */
import { jobs, workers } from "../lib/queue/mod.ts";
import { RESCUER_LOCK_KEY } from "../lib/queue/lock_keys.ts";
import { Rescuer } from "../worker/services/rescuer.ts";
import { assertEquals } from "./_helpers/assert.ts";
import { insertJob } from "./_helpers/factory.ts";
import {
  type ServiceBundle,
  setupService,
  signal,
  unreachablePool,
} from "./_helpers/worker_services.ts";
import type { Sql } from "../lib/db.ts";

function rescuerOf(b: ServiceBundle, sql: Sql = b.db.sql) {
  const rescued: jobs.Rescued[][] = [];
  const first = signal<jobs.Rescued[]>();
  const rescuer = new Rescuer({
    sql,
    worker: b.id,
    health: b.health,
    intervalMs: 60_000,
    staleSeconds: 60,
    onRescued: (list) => {
      rescued.push(list);
      first.fire(list);
    },
  });
  return { rescuer, rescued, first: first.promise };
}

async function orphan(sql: Sql, lockedBy = "deadhost:1:aaaaaa/1") {
  return await insertJob(sql, {
    type: "noop",
    status: "processing",
    locked_by: lockedBy,
    locked_until: new Date(Date.now() - 60_000),
  });
}

Deno.test("rescuer service", async (t) => {
  await t.step("a pass returns expired leases and removes stale worker rows", async () => {
    const b = await setupService();
    try {
      await b.db.sql`INSERT INTO worker (id, host, pid, concurrency, started_at, heartbeat_at)
        VALUES ('deadhost:1:aaaaaa', 'deadhost', 1, 1, now() - interval '1 hour',
          now() - interval '10 minutes')`;
      const job = await orphan(b.db.sql);
      const live = await insertJob(b.db.sql, { type: "noop", status: "processing" });
      const { rescuer, rescued } = rescuerOf(b);
      await rescuer.runOnce();
      assertEquals(rescued.map((l) => l.map((r) => r.id)), [[job.id]]);
      assertEquals((await jobs.get(b.db.sql, { id: job.id }))?.status, "pending");
      assertEquals((await jobs.get(b.db.sql, { id: live.id }))?.status, "processing");
      assertEquals(await workers.list(b.db.sql), []);
      await rescuer.runOnce();
      assertEquals(rescued.length, 1, "a pass that finds nothing does not call onRescued");
    } finally {
      await b.teardown();
    }
  });

  await t.step("start() runs a pass at once; stop() ends the schedule", async () => {
    const b = await setupService();
    try {
      const job = await orphan(b.db.sql);
      const { rescuer, first } = rescuerOf(b);
      rescuer.start();
      assertEquals((await first).map((r) => r.id), [job.id]);
      rescuer.stop();
    } finally {
      await b.teardown();
    }
  });

  await t.step("another process holding the turn: the pass does nothing", async () => {
    const b = await setupService();
    try {
      const job = await orphan(b.db.sql);
      const holder = await b.db.sql.reserve();
      try {
        await holder`BEGIN`;
        await holder`SELECT pg_advisory_xact_lock(${RESCUER_LOCK_KEY})`;
        const { rescuer, rescued } = rescuerOf(b);
        await rescuer.runOnce();
        assertEquals(rescued, []);
        assertEquals((await jobs.get(b.db.sql, { id: job.id }))?.status, "processing");
        await holder`ROLLBACK`;
        await rescuer.runOnce();
        assertEquals(rescued.flat().map((r) => r.id), [job.id]);
      } finally {
        holder.release();
      }
    } finally {
      await b.teardown();
    }
  });

  await t.step("an unreachable database is reported as an outage, never thrown", async () => {
    const b = await setupService();
    const down = unreachablePool();
    try {
      const { rescuer, rescued } = rescuerOf(b, down);
      await rescuer.runOnce();
      assertEquals([b.downs.length, b.health.up, rescued.length], [1, false, 0]);
      const { rescuer: back } = rescuerOf(b);
      await back.runOnce();
      assertEquals([b.ups.length, b.health.up], [1, true]);
    } finally {
      await b.teardown(down);
    }
  });
});
