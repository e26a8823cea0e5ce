/**
 * Worker: handlers that hang, block, throw, crash or return what JSON cannot
 * hold each fail their attempt with a clear message, and the pool goes on.
 */
import * as jobs from "../lib/queue/jobs.ts";
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { collect, enqueue, settled, TEST_HANDLERS, testSupervisor } from "./_helpers/worker_sup.ts";

Deno.test("worker: failing handlers fail their attempt with a clear message and the pool keeps working", async (t) => {
  const db = await createTestDb();
  const { sup } = await testSupervisor(db.url, { handlersModule: TEST_HANDLERS, concurrency: 2 });
  const wake = () => db.sql`SELECT pg_notify('jobq_new', '')`;
  /** Runs one job to its end and returns the stored row. */
  const runToEnd = async (type: string, payload: unknown = {}, maxAttempts = 1) => {
    const job = await enqueue(db.sql, type, payload, { max_attempts: maxAttempts });
    const done = settled(sup, job.id, 60_000);
    await wake();
    await done;
    return (await jobs.getWithEvents(db.sql, { id: job.id }))!;
  };
  /** A no-op job still completes afterwards: the pool kept working. */
  const poolStillWorks = async () => {
    const row = await runToEnd("noop", { n: 7 });
    assertEquals(row.status, "completed");
    assertEquals(row.result, { ok: true, n: 7 });
  };
  try {
    await t.step(
      "a handler that honours the abort signal times out without a replacement",
      async () => {
        const before = sup.runners().map((r) => r.worker).sort();
        const row = await runToEnd("patient");
        assertEquals(row.status, "failed");
        assertEquals(row.error, "timed out after 1 s");
        assertEquals(sup.runners().map((r) => r.worker).sort(), before);
        await poolStillWorks();
      },
    );

    await t.step(
      "a handler that ignores the abort is failed and its Web Worker replaced",
      async () => {
        const replaced = sup.waitFor("replaced", (e) => e.reason === "timeout", 60_000);
        const row = await runToEnd("hang");
        assertEquals(row.status, "failed");
        assertStringIncludes(row.error!, "timed out after 1 s");
        assertStringIncludes(row.error!, "ignored the abort signal");
        const e = await replaced;
        assert(!sup.runners().some((r) => r.worker === e.worker), "the old runner is gone");
        assert(sup.runners().some((r) => r.worker === e.next), "a fresh runner took its place");
        await poolStillWorks();
      },
    );

    await t.step(
      "a handler that blocks its thread is terminated, failed and replaced",
      async () => {
        const replaced = sup.waitFor("replaced", (e) => e.reason === "timeout", 60_000);
        const row = await runToEnd("block");
        assertEquals(row.status, "failed");
        assertStringIncludes(row.error!, "timed out after 1 s");
        assertStringIncludes(row.error!, "terminated and replaced");
        await replaced;
        assertEquals(sup.runners().length, 2);
        await poolStillWorks();
      },
    );

    await t.step("a thrown error is kept for every attempt, retried, then final", async () => {
      const row = await runToEnd("throw", {}, 3);
      assertEquals(row.status, "failed");
      assertEquals(row.attempts, 3);
      const failed = row.events.filter((e) => e.kind === "failed");
      assertEquals(failed.map((e) => e.attempt), [1, 2, 3]);
      for (const e of failed) assertStringIncludes(e.message!, "handler exploded on purpose");
      assertStringIncludes(failed[0].message!, "retry scheduled");
      await poolStillWorks();
    });

    await t.step("a PermanentError skips the retries", async () => {
      const row = await runToEnd("permanent", {}, 3);
      assertEquals([row.status, row.attempts], ["failed", 1]);
      assertStringIncludes(row.error!, "this can never work");
    });

    await t.step(
      "a result JSON cannot hold fails the attempt and names what is wrong",
      async () => {
        const fn = await runToEnd("unserialisable", { kind: "function" });
        assertEquals(fn.status, "failed");
        assertStringIncludes(fn.error!, "not JSON-serialisable: result.callback is a function");
        const big = await runToEnd("unserialisable", { kind: "bigint" });
        assertStringIncludes(big.error!, "result.count is a bigint");
        const cyc = await runToEnd("unserialisable", { kind: "cycle" });
        assertStringIncludes(cyc.error!, "result.self is a circular reference");
        await poolStillWorks();
      },
    );

    await t.step(
      "a Web Worker that crashes fails its job, is replaced, and the pool goes on",
      async () => {
        const replaced = sup.waitFor("replaced", (e) => e.reason === "crashed", 60_000);
        const row = await runToEnd("crash", {}, 2);
        // The crash counts as an attempt: a job that kills its runner cannot loop forever.
        assertEquals([row.status, row.attempts], ["failed", 2]);
        assertStringIncludes(row.error!, "Web Worker crashed while running the job");
        assertStringIncludes(row.error!, "uncaught crash in the Web Worker");
        await replaced;
        await poolStillWorks();
      },
    );

    await t.step("many jobs at once still all complete after the replacements", async () => {
      const batch = await jobs.enqueueBatch(db.sql, {
        jobs: Array.from({ length: 50 }, (_, n) => ({ type: "noop", payload: { n } })),
      });
      const ids = new Set(batch.map((j) => j.id));
      const done = collect(
        sup,
        ["completed"],
        (es) => es.filter((e) => e.kind === "completed" && ids.has(e.job.id)).length === ids.size,
        20_000,
      );
      await wake();
      await done;
      const [{ n }] = await db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM job WHERE id = ANY(${[
        ...ids,
      ]}::uuid[]) AND status = 'completed'`;
      assertEquals(n, 50);
    });
  } finally {
    await sup.stop();
    await db.drop();
  }
});
