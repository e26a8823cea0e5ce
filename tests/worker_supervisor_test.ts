/**
 * Worker supervisor: registration and heartbeat, /healthz and /metrics,
 * NOTIFY wake-ups, lease renewal from the main thread, the rescuer (and its
 * cluster-wide lock), and start-up errors.
 */
import * as jobs from "../lib/queue/jobs.ts";
import { rescuePass } from "../lib/queue/rescue.ts";
import { RESCUER_LOCK_KEY } from "../lib/queue/lock_keys.ts";
import * as workers from "../lib/queue/workers.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { settled, TEST_HANDLERS, testSupervisor } from "./_helpers/worker_sup.ts";

Deno.test("supervisor: registers, serves /healthz and /metrics, and unregisters on stop", async () => {
  const db = await createTestDb();
  const { sup, dataDir } = await testSupervisor(db.url, {
    handlersModule: TEST_HANDLERS,
    metricsPort: 0,
  });
  try {
    const rows = await workers.list(db.sql);
    assertEquals(rows.map((r) => [r.id, r.pid, r.concurrency]), [[sup.id, Deno.pid, 2]]);
    assertEquals(sup.id.split(":").slice(0, 2), [Deno.hostname(), String(Deno.pid)]);
    assertEquals(sup.runners().map((r) => r.worker), [`${sup.id}/1`, `${sup.id}/2`]);

    const health = await fetch(`${sup.metricsUrl}/healthz`);
    assertEquals(health.status, 200);
    const body = await health.json();
    assertEquals([body.status, body.id, body.database, body.runners.length], [
      "ok",
      sup.id,
      "up",
      2,
    ]);

    const job = await jobs.enqueue(db.sql, { job: { type: "noop", payload: { n: 1 } } });
    const done = settled(sup, job.id, 60_000);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await done;
    const metrics = await (await fetch(`${sup.metricsUrl}/metrics`)).text();
    assertStringIncludes(metrics, 'jobq_worker_jobs_total{type="noop",outcome="completed"} 1');
    assertStringIncludes(metrics, 'jobq_worker_job_duration_seconds_count{type="noop"} 1');
    assertStringIncludes(metrics, "jobq_worker_runners 2");
    assertStringIncludes(metrics, "jobq_worker_database_up 1");
    assertEquals(
      await fetch(`${sup.metricsUrl}/nope`).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }),
      404,
    );
  } finally {
    await sup.stop();
  }
  assertEquals(await workers.list(db.sql), [], "unregistered");
  await db.drop();
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("supervisor: a NOTIFY wakes idle runners at once (the poll is minutes away)", async () => {
  const db = await createTestDb();
  const { sup, dataDir } = await testSupervisor(db.url, {
    handlersModule: TEST_HANDLERS,
    pollMs: 300_000,
  });
  try {
    for (let i = 0; i < 3; i++) {
      const job = await jobs.enqueue(db.sql, { job: { type: "noop", payload: { n: i } } });
      const done = settled(sup, job.id, 60_000);
      await db.sql`SELECT pg_notify('jobq_new', '')`;
      await done;
    }
  } finally {
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("supervisor: the main thread renews the lease of a job that blocks its Web Worker", async () => {
  const db = await createTestDb();
  // Lease 2 s; the handler blocks its thread for 5 s; no rescue may happen.
  const { sup, dataDir } = await testSupervisor(db.url, {
    handlersModule: TEST_HANDLERS,
    env: { JOB_LEASE_SECONDS: "2" },
  });
  const rescued: string[] = [];
  const off = sup.on((e) => {
    if (e.kind === "rescued") rescued.push(...e.jobs.map((j) => j.id));
  });
  try {
    const job = await jobs.enqueue(db.sql, { job: { type: "busy", payload: { ms: 5000 } } });
    const done = settled(sup, job.id, 30_000);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await done;
    const row = (await jobs.getWithEvents(db.sql, { id: job.id }))!;
    assertEquals([row.status, row.attempts], ["completed", 1]);
    assertEquals(row.events.map((e) => e.kind), ["created", "claimed", "completed"]);
    assertEquals(rescued, []);
  } finally {
    off();
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("supervisor: the rescuer returns a dead process's expired jobs and removes its stale row", async () => {
  const db = await createTestDb();
  const dead = "deadhost:4242:abcdef";
  await db.sql`INSERT INTO worker (id, host, pid, concurrency, started_at, heartbeat_at)
    VALUES (${dead}, 'deadhost', 4242, 4, now() - interval '1 hour', now() - interval '10 minutes')`;
  const orphan = await insertJob(db.sql, {
    type: "noop",
    status: "processing",
    payload: { n: 9 },
    locked_by: `${dead}/3`,
    locked_until: new Date(Date.now() - 60_000),
  });
  const { sup, dataDir } = await testSupervisor(db.url, { handlersModule: TEST_HANDLERS });
  try {
    const rescued = sup.waitFor("rescued", (e) => e.jobs.some((j) => j.id === orphan.id), 60_000);
    const done = settled(sup, orphan.id, 60_000);
    await rescued;
    await done;
    const row = (await jobs.getWithEvents(db.sql, { id: orphan.id }))!;
    assertEquals([row.status, row.attempts], ["completed", 2]);
    assertEquals(row.events.map((e) => [e.kind, e.attempt]), [
      ["created", 0],
      ["rescued", 1],
      ["claimed", 2],
      ["completed", 2],
    ]);
    assertEquals(row.events[1].worker, `${dead}/3`);
    assertEquals((await workers.list(db.sql)).map((w) => w.id), [sup.id], "stale row removed");
  } finally {
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("rescuer: one at a time in the cluster (the advisory lock is taken without waiting)", async () => {
  const db = await createTestDb();
  try {
    await insertJob(db.sql, {
      status: "processing",
      locked_by: "x/1",
      locked_until: new Date(Date.now() - 1000),
    });
    const holder = await db.sql.reserve();
    try {
      await holder`BEGIN`;
      await holder`SELECT pg_advisory_xact_lock(${RESCUER_LOCK_KEY})`;
      assertEquals(await rescuePass(db.sql, { staleSeconds: 60 }), {
        ran: false,
        rescued: [],
        staleWorkers: [],
      });
      await holder`COMMIT`;
    } finally {
      holder.release();
    }
    const pass = await rescuePass(db.sql, { staleSeconds: 60 });
    assert(pass.ran);
    assertEquals(pass.rescued.map((r) => [r.status, r.previous_worker]), [["pending", "x/1"]]);
  } finally {
    await db.drop();
  }
});

Deno.test("supervisor: a handlers module that cannot load stops the start with a clear error", async () => {
  const db = await createTestDb();
  try {
    const err = await assertRejects(() =>
      testSupervisor(db.url, { handlersModule: "file:///nonexistent/handlers.ts" })
    );
    assertStringIncludes(err.message, "could not start");
    assertStringIncludes(err.message, "nonexistent/handlers.ts");
    assertEquals(await workers.list(db.sql), [], "nothing left registered");
  } finally {
    await db.drop();
  }
});
