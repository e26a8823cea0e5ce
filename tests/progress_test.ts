/**
 * Progress: `ctx.progress(percent, message?)` is stored on the job as
 * `{percent, message, at}`, throttled (a burst becomes a few writes, the last
 * value always written), fenced on the attempt, visible through
 * GET /api/jobs/:id while the job runs and kept after it ends; the report
 * handler reports its stages.
 */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { openApp } from "./_helpers/app.ts";
import { createTestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { enqueue, testSupervisor } from "./_helpers/worker_sup.ts";
import * as jobs from "../lib/queue/jobs.ts";
import type { Job } from "../lib/queue/types.ts";
import { progressValue, ProgressWriter } from "../worker/progress.ts";

function assertThrows(fn: () => unknown, type: new (...a: never[]) => Error): void {
  try {
    fn();
  } catch (err) {
    assert(err instanceof type, `expected a ${type.name}, got ${err}`);
    return;
  }
  throw new Error(`expected a ${type.name}`);
}

const CANCEL_HANDLERS = new URL("./_helpers/cancel_handlers.ts", import.meta.url).href;

async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("progress: stored fenced on the attempt, throttled, the last value kept", async (t) => {
  const db = await createTestDb();
  try {
    await t.step("setProgress writes only for the holder of the attempt", async () => {
      const job = await insertJob(db.sql, { status: "processing", attempts: 1, locked_by: "w/1" });
      const fence = { id: job.id, attempt: 1, worker: "w/1" };
      assert(await jobs.setProgress(db.sql, { ...fence, percent: 30, message: "a" }));
      assertEquals(
        await jobs.setProgress(db.sql, { ...fence, attempt: 2, percent: 40, message: "b" }),
        false,
      );
      assertEquals(
        await jobs.setProgress(db.sql, { ...fence, worker: "w/2", percent: 40, message: "b" }),
        false,
      );
      const row = await jobs.get(db.sql, { id: job.id });
      assertEquals([row?.progress?.percent, row?.progress?.message], [30, "a"]);
      assert(!Number.isNaN(Date.parse(row!.progress!.at)));
      assertEquals(row?.updated_at.getTime(), job.updated_at.getTime(), "not a state change");
      await jobs.complete(db.sql, { ...fence, result: null });
      assertEquals(await jobs.setProgress(db.sql, { ...fence, percent: 90, message: null }), false);
      const done = await jobs.get(db.sql, { id: job.id });
      assertEquals([done?.status, done?.progress?.percent], ["completed", 30]);
    });

    await t.step("a burst of reports is a few writes, and the last one is stored", async () => {
      const job = await insertJob(db.sql, { status: "processing", attempts: 1, locked_by: "w/1" });
      let writes = 0;
      const w = new ProgressWriter(
        db.sql,
        { id: job.id, attempt: 1, worker: "w/1" },
        () => writes++,
      );
      for (let i = 1; i <= 500; i++) w.report(i / 5, `step ${i}`);
      await w.close();
      assert(writes >= 1 && writes <= 3, `writes: ${writes}`);
      const row = await jobs.get(db.sql, { id: job.id });
      assertEquals([row?.progress?.percent, row?.progress?.message], [100, "step 500"]);
      w.report(5, "after close");
      await w.close();
      assertEquals((await jobs.get(db.sql, { id: job.id }))?.progress?.message, "step 500");
    });

    await t.step("values are checked: percent clamped to 0–100, messages cut", () => {
      assertEquals(progressValue(150), { percent: 100, message: null });
      assertEquals(progressValue(-3, "x"), { percent: 0, message: "x" });
      assertEquals(progressValue(12.345, "y".repeat(500)).message?.length, 200);
      assertThrows(() => progressValue(Number.NaN), TypeError);
      assertThrows(() => progressValue("50"), TypeError);
      assertThrows(() => progressValue(5, 7), TypeError);
    });
  } finally {
    await db.drop();
  }
});

Deno.test("progress: a running handler's progress is visible through GET /api/jobs/:id and stays after it ends", async () => {
  const db = await createTestDb();
  const { sup, dataDir } = await testSupervisor(db.url, {
    handlersModule: CANCEL_HANDLERS,
    concurrency: 1,
  });
  const app = await openApp({}, { db });
  const get = async (id: string) => await (await app.call(`/api/jobs/${id}`)).json() as Job;
  try {
    const waiting = await enqueue(db.sql, "progress_wait", { percent: 42 });
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await waitUntil("progress shows", async () => (await get(waiting.id)).progress !== null);
    const running = await get(waiting.id);
    assertEquals(running.status, "processing");
    assertEquals([running.progress?.percent, running.progress?.message], [42, "waiting"]);
    const cancelled = sup.waitFor("cancelled", (e) => e.job.id === waiting.id);
    const del = await app.call(`/api/jobs/${waiting.id}`, { method: "DELETE" });
    assertEquals(del.status, 202);
    await del.body?.cancel();
    await cancelled;
    const ended = await get(waiting.id);
    assertEquals([ended.status, ended.progress?.percent], ["cancelled", 42]);

    const burst = await enqueue(db.sql, "progress_burst", { n: 300 });
    const done = sup.waitFor("completed", (e) => e.job.id === burst.id);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await done;
    const after = await get(burst.id);
    assertEquals([after.status, after.progress?.percent, after.progress?.message], [
      "completed",
      100,
      "done",
    ]);
  } finally {
    await app.close();
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("progress: the report handler reports its stages and ends at 100 % stored", async () => {
  const db = await createTestDb();
  const { sup, dataDir } = await testSupervisor(db.url, { concurrency: 1 });
  try {
    const job = await enqueue(db.sql, "report", {
      report_type: "job_summary",
      format: "csv",
      date_range: { from: "2026-01-01", to: "2026-12-31" },
    });
    const done = sup.waitFor("completed", (e) => e.job.id === job.id);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await done;
    const row = await jobs.get(db.sql, { id: job.id });
    assertEquals([row?.progress?.percent, row?.progress?.message], [100, "stored"]);
  } finally {
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
