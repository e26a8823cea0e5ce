/**
 * Named queues in the queue core: the queue row appears with the first job
 * that names it, the claim skips paused queues, takes only the queues it is
 * given, and never exceeds a queue's limit with many claimers on separate
 * connections at once; per-queue counts follow every change.
 */
import { openPool } from "../lib/db.ts";
import { jobs, queues } from "../lib/queue/mod.ts";
import { createTestDb } from "./_helpers/db.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";

const payload = { to: "a@example.com", subject: "s", body: "b" };
const email = (queue?: string) => ({ type: "email", payload, ...(queue ? { queue } : {}) });

Deno.test("queues: rows, defaults, counts; claim honours pause, WORKER_QUEUES and limits", async (t) => {
  const db = await createTestDb();
  const sql = db.sql;
  try {
    await t.step(
      "a queue row appears the first time a job names it; default is backfilled",
      async () => {
        assertEquals(await queues.names(sql), ["default"]);
        await jobs.enqueueBatch(sql, { jobs: [email("alpha"), email("alpha"), email("beta")] });
        await jobs.enqueue(sql, { job: email() });
        const report = await jobs.enqueue(sql, {
          job: {
            type: "report",
            payload: {
              report_type: "job_summary",
              format: "csv",
              date_range: { from: "2026-01-01", to: "2026-01-02" },
            },
          },
        });
        assertEquals(report.queue, "reports");
        assertEquals(await queues.names(sql), ["alpha", "beta", "default", "reports"]);
        const alpha = await queues.get(sql, { name: "alpha" });
        assertEquals(alpha?.counts.pending, 2);
        assertEquals(alpha?.concurrency, null);
        assertEquals(alpha?.paused, false);
        await sql`DELETE FROM job`;
        assertEquals((await queues.get(sql, { name: "alpha" }))?.counts.pending, 0);
      },
    );

    await t.step("claim skips a paused queue; resumed, it is claimed", async () => {
      await jobs.enqueue(sql, { job: email("alpha") });
      await queues.update(sql, { name: "alpha", change: { paused: true } });
      const none = await jobs.claim(sql, { worker: "w", limit: 5, leaseSeconds: 30 });
      assertEquals(none.length, 0);
      await queues.update(sql, { name: "alpha", change: { paused: false } });
      const [job] = await jobs.claim(sql, { worker: "w", limit: 5, leaseSeconds: 30 });
      assertEquals(job?.queue, "alpha");
      assertEquals((await queues.get(sql, { name: "alpha" }))?.counts.processing, 1);
      await sql`DELETE FROM job`;
    });

    await t.step("a claimer restricted to queue a never takes b", async () => {
      await jobs.enqueueBatch(sql, { jobs: [email("beta"), email("beta"), email("alpha")] });
      const got = await jobs.claim(sql, {
        worker: "w",
        limit: 10,
        leaseSeconds: 30,
        queues: ["alpha"],
      });
      assertEquals(got.map((j) => j.queue), ["alpha"]);
      assertEquals(
        (await jobs.claim(sql, { worker: "w", limit: 10, leaseSeconds: 30, queues: ["alpha"] }))
          .length,
        0,
      );
      await sql`DELETE FROM job`;
    });

    await t.step(
      "a claimer of several queues takes claim order across them, skipping a paused one",
      async () => {
        const at = (q: string, priority: number, minutesAgo: number) => ({
          ...email(q),
          priority,
          scheduled_for: new Date(Date.now() - minutesAgo * 60_000),
        });
        await jobs.enqueueBatch(sql, {
          jobs: [at("alpha", 3, 1), at("beta", 5, 1), at("alpha", 5, 2), at("gamma", 5, 3)],
        });
        await jobs.enqueue(sql, { job: { ...email("delta"), priority: 5 } });
        await queues.update(sql, { name: "delta", change: { paused: true } });
        const got = await jobs.claim(sql, {
          worker: "w",
          limit: 10,
          leaseSeconds: 30,
          queues: ["alpha", "beta", "delta"],
        });
        // Priority 5 of alpha and beta first (one batch: equal created_at, so by id), then 3.
        const seen = got.map((j) => `${j.queue}:${j.priority}`);
        assertEquals(seen.slice(0, 2).sort(), ["alpha:5", "beta:5"]);
        assertEquals(seen.slice(2), ["alpha:3"]);
        await queues.update(sql, { name: "delta", change: { paused: false } });
        await sql`DELETE FROM job`;
      },
    );

    await t.step("a limit of 3 holds with 24 claimers on their own connections", async () => {
      await jobs.enqueueBatch(sql, { jobs: Array.from({ length: 40 }, () => email("lim")) });
      await jobs.enqueueBatch(sql, { jobs: Array.from({ length: 10 }, () => email("free")) });
      await queues.update(sql, { name: "lim", change: { concurrency: 3 } });
      const pools = Array.from({ length: 24 }, () => openPool(db.url, { max: 1 }));
      // Rounds of 24 parallel claims until a round takes nothing (SKIP LOCKED:
      // one round may pass over rows another claimer held for a moment).
      const drain = async (tag: string) => {
        const all = [];
        let maxLim = 0;
        for (let round = 0;; round++) {
          const got = (await Promise.all(pools.map((p, i) =>
            jobs.claim(p, { worker: `${tag}${round}-${i}`, limit: 4, leaseSeconds: 30 })
          ))).flat();
          if (got.length === 0) {
            return { all, maxLim };
          }
          all.push(...got);
          const [{ running }] = await sql<{ running: number }[]>`
            SELECT count(*)::int AS running FROM job WHERE queue = 'lim' AND status = 'processing'`;
          maxLim = Math.max(maxLim, running);
        }
      };
      try {
        await Promise.all(pools.map((p) => p`SELECT 1`));
        const first = await drain("c");
        assertEquals(first.maxLim, 3);
        assertEquals(first.all.filter((j) => j.queue === "lim").length, 3);
        assertEquals(first.all.filter((j) => j.queue === "free").length, 10);
        // Finishing one frees one slot: exactly one more is claimed.
        const done = first.all.find((j) => j.queue === "lim")!;
        await jobs.complete(sql, {
          id: done.id,
          worker: done.locked_by!,
          attempt: 1,
          result: null,
        });
        const more = await drain("d");
        assertEquals(more.all.length, 1);
        assertEquals(more.maxLim, 3);
        // Clearing the limit: the rest of the queue is claimable at once.
        await queues.update(sql, { name: "lim", change: { concurrency: null } });
        const rest = await jobs.claim(sql, { worker: "e", limit: 100, leaseSeconds: 30 });
        assertEquals(rest.length, 36);
      } finally {
        await Promise.all(pools.map((p) => p.end()));
      }
    });

    await t.step(
      "update of an unknown queue throws queue_not_found and changes nothing",
      async () => {
        let code = "";
        try {
          await queues.update(sql, { name: "nope", change: { paused: true } });
        } catch (err) {
          code = (err as { code: string }).code;
        }
        assertEquals(code, "queue_not_found");
        assert(!(await queues.names(sql)).includes("nope"));
      },
    );
  } finally {
    await db.drop();
  }
});
