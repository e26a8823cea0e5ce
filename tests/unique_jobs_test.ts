/**
 * Unique jobs: while a job with a `unique_key` is pending or processing,
 * creating another returns it (POST /api/jobs → 200, a batch item →
 * `existed: true`), race-free under concurrent creates; once it finishes the
 * key is free again.
 */
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { openApp, type TestApp } from "./_helpers/app.ts";
import { createTestDb } from "./_helpers/db.ts";
import { jobs } from "../lib/queue/mod.ts";

type Json = Record<string, unknown>;
type JobJson = Json & { id: string; status: string; unique_key: string | null };

const note = (message: string, unique_key?: string) => ({
  type: "notification",
  payload: { user_id: "u1", channel: "push", message },
  ...(unique_key === undefined ? {} : { unique_key }),
});

async function countKey(sql: Parameters<typeof jobs.get>[0], key: string): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM job WHERE unique_key = ${key}`;
  return n;
}

async function jobCount(app: TestApp): Promise<number> {
  const [{ n }] = await app.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
  return n;
}

Deno.test("unique jobs over the API (one app, a step per case)", async (t) => {
  const app = await openApp();
  try {
    await t.step(
      "20 concurrent creates of one key: one job, one 201 and nineteen 200 naming it",
      async () => {
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) => app.post("/api/jobs", note(`m${i}`, "report:42"))),
        );
        const bodies = await Promise.all(answers.map((r) => bodyJson<JobJson>(r)));
        const statuses = answers.map((r) => r.status).sort();
        assertEquals(statuses, [...Array(19).fill(200), 201]);
        const ids = new Set(bodies.map((b) => b.id));
        assertEquals(ids.size, 1, "every answer names the same job");
        assertEquals(await countKey(app.db.sql, "report:42"), 1);
        for (const r of answers) {
          assertEquals(r.headers.get("location"), `/api/jobs/${bodies[0].id}`);
        }
        const [{ events }] = await app.db.sql<{ events: number }[]>`
        SELECT count(*)::int AS events FROM job_timeline WHERE kind = 'created' AND job_id = ${
          bodies[0].id
        }`;
        assertEquals(events, 1, "one created event");
        const created = bodies[
          answers.findIndex((r) => r.status === 201)
        ];
        assertEquals(created.unique_key, "report:42");
      },
    );

    await t.step(
      "once the job finishes the key is free: the next create makes a new job",
      async () => {
        const first = await bodyJson<JobJson>(await app.post("/api/jobs", note("a", "k")));
        // Processing still holds the key (claimed first: the highest priority).
        await app.db.sql`UPDATE job SET priority = 5 WHERE id = ${first.id}`;
        const [claimed] = await jobs.claim(app.db.sql, { worker: "w", leaseSeconds: 30 });
        assertEquals(claimed.id, first.id);
        const again = await app.post("/api/jobs", note("b", "k"));
        assertEquals([again.status, (await bodyJson<JobJson>(again)).id], [200, first.id]);
        await jobs.complete(app.db.sql, { id: first.id, attempt: 1, worker: "w", result: {} });
        const second = await app.post("/api/jobs", note("c", "k"));
        const secondJob = await bodyJson<JobJson>(second);
        assertEquals(second.status, 201);
        assert(secondJob.id !== first.id, "a new job");
        // Cancelled frees it too.
        await jobs.cancel(app.db.sql, { id: secondJob.id });
        const third = await app.post("/api/jobs", note("d", "k"));
        assertEquals(third.status, 201);
        assertEquals(await countKey(app.db.sql, "k"), 3);
        // A job without a key is never "existing".
        const plain = await Promise.all([
          app.post("/api/jobs", note("x")),
          app.post("/api/jobs", note("x")),
        ]);
        assertEquals(plain.map((r) => r.status), [201, 201]);
      },
    );

    await t.step(
      "batch: each item the existing job in its place; existed and created say which",
      async () => {
        const before = await jobCount(app);
        const held = await bodyJson<JobJson>(await app.post("/api/jobs", note("held", "b:held")));
        const res = await app.post("/api/jobs/batch", {
          jobs: [
            note("one", "b:new"),
            note("two", "b:new"),
            note("plain"),
            note("three", "b:held"),
            note("four", "b:other"),
          ],
        });
        assertEquals(res.status, 201);
        const body = await bodyJson<
          { items: JobJson[]; count: number; existed: boolean[]; created: number }
        >(
          res,
        );
        assertEquals(body.count, 5);
        assertEquals(body.existed, [false, true, false, true, false]);
        assertEquals(body.created, 3);
        assertEquals(body.items[1].id, body.items[0].id, "two items with one key: one job");
        assertEquals(body.items[3].id, held.id);
        assertEquals(body.items.map((j) => j.unique_key), [
          "b:new",
          "b:new",
          null,
          "b:held",
          "b:other",
        ]);
        assertEquals((body.items[0].payload as Json).message, "one");
        assertEquals(await jobCount(app) - before, 4, "the held job and three new ones");

        // Every item held: nothing stored, still the batch's shape.
        const again = await bodyJson<{ existed: boolean[]; created: number; items: JobJson[] }>(
          await app.post("/api/jobs/batch", { jobs: [note("x", "b:new"), note("y", "b:held")] }),
        );
        assertEquals([again.existed, again.created], [[true, true], 0]);
        assertEquals(again.items.map((j) => j.id), [body.items[0].id, held.id]);

        // A refused batch stores nothing, keyed items included.
        const bad = await app.post("/api/jobs/batch", {
          jobs: [note("ok", "b:fresh"), { ...note("bad", "b:fresh2"), priority: 9 }],
        });
        assertEquals(bad.status, 422);
        assertEquals(await countKey(app.db.sql, "b:fresh"), 0);
      },
    );

    await t.step(
      "strict validation of unique_key: 422 naming the field",
      async () => {
        const before = await jobCount(app);
        for (
          const [value, re] of [
            ["", /unique_key is required/],
            ["x".repeat(256), /unique_key must be at most 255 characters/],
            [42, /unique_key must be text/],
            ["a\u0000b", /NUL byte/],
          ] as const
        ) {
          const res = await app.post("/api/jobs", { ...note("v"), unique_key: value });
          assertEquals(res.status, 422);
          const err =
            (await bodyJson<{ error: { issues: { path: string; message: string }[] } }>(res))
              .error;
          assertEquals(err.issues[0].path, "unique_key");
          assertMatch(err.issues[0].message, re);
        }
        const ok = await app.post("/api/jobs", { ...note("v"), unique_key: "x".repeat(255) });
        assertEquals(ok.status, 201);
        const batch = await app.post("/api/jobs/batch", {
          jobs: [note("a"), { ...note("b"), unique_key: 7 }],
        });
        assertEquals(batch.status, 422);
        const issues =
          (await bodyJson<{ error: { issues: { path: string }[] } }>(batch)).error.issues;
        assertEquals(issues.map((i) => i.path), ["jobs.1.unique_key"]);
        assertEquals(await jobCount(app) - before, 1, "refused requests stored nothing");
      },
    );

    await t.step(
      "retrying a job whose key another job holds is 409 unique_key_taken",
      async () => {
        const old = await bodyJson<JobJson>(await app.post("/api/jobs", note("old", "r")));
        await jobs.cancel(app.db.sql, { id: old.id });
        const fresh = await bodyJson<JobJson>(await app.post("/api/jobs", note("new", "r")));
        const res = await app.post(`/api/jobs/${old.id}/retry`, {});
        assertEquals(res.status, 409);
        assertEquals(
          (await bodyJson<{ error: { code: string } }>(res)).error.code,
          "unique_key_taken",
        );
        assertEquals((await jobs.get(app.db.sql, { id: old.id }))?.status, "cancelled");
        await jobs.cancel(app.db.sql, { id: fresh.id });
        // A bulk retry of two jobs with one key: one goes back to pending, the other is a conflict.
        const bulk = await app.post("/api/jobs/bulk", { action: "retry", ids: [old.id, fresh.id] });
        assertEquals(bulk.status, 200);
        const outcomes = (await bodyJson<{ results: { outcome: string }[] }>(bulk)).results
          .map((r) => r.outcome).sort();
        assertEquals(outcomes, ["conflict", "done"]);
        assertEquals(await countKey(app.db.sql, "r"), 2);
        const [{ active }] = await app.db.sql<{ active: number }[]>`
          SELECT count(*)::int AS active FROM job WHERE unique_key = 'r' AND status = 'pending'`;
        assertEquals(active, 1);
      },
    );
  } finally {
    await app.close();
  }
});

Deno.test("unique jobs in the queue core", async (t) => {
  const db = await createTestDb({ max: 24 });
  try {
    await t.step(
      "20 concurrent enqueues in separate transactions: one job, one not existed",
      async () => {
        const got = await Promise.all(
          Array.from(
            { length: 20 },
            (_, i) => jobs.enqueueUnique(db.sql, { job: { ...note(`m${i}`), unique_key: "core" } }),
          ),
        );
        assertEquals(
          new Set(got.map((g) => g.job.id)).size,
          1,
        );
        assertEquals(got.filter((g) => !g.existed).length, 1);
        assertEquals(await countKey(db.sql, "core"), 1);
      },
    );

    await t.step(
      "concurrent batches with the same keys in opposite orders: one job per key",
      async () => {
        const keys = Array.from({ length: 30 }, (_, i) => `pair:${i}`);
        const batch = (order: string[]) =>
          jobs.enqueueBatchUnique(db.sql, {
            jobs: order.map((k) => ({ ...note(k), unique_key: k })),
          });
        const results = await Promise.all([
          batch(keys),
          batch([...keys].reverse()),
          batch(keys),
          batch([...keys].reverse()),
        ]);
        for (const k of keys) assertEquals(await countKey(db.sql, k), 1, k);
        const stored = results.flatMap((r) => r.existed.filter((e) => !e)).length;
        assertEquals(stored, keys.length, "each key stored once over all batches");
        const idOf = new Map<string, string>();
        for (const r of results) {
          for (const j of r.jobs) {
            const key = j.unique_key as string;
            if (idOf.has(key)) assertEquals(j.id, idOf.get(key));
            else idOf.set(key, j.id);
          }
        }
      },
    );

    await t.step("enqueue inside the caller's transaction answers with the holder", async () => {
      const first = await jobs.enqueueUnique(db.sql, { job: { ...note("t"), unique_key: "tx" } });
      const again = await db.sql.begin((tx) =>
        jobs.enqueueUnique(tx, { job: { ...note("t2"), unique_key: "tx" } })
      );
      assertEquals([again.existed, again.job.id], [true, first.job.id]);
      // The plain enqueue keeps returning the row (the holder here).
      const row = await jobs.enqueue(db.sql, { job: { ...note("t3"), unique_key: "tx" } });
      assertEquals(row.id, first.job.id);
    });
  } finally {
    await db.drop();
  }
});
