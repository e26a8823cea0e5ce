/** Named queues over the JSON API: create with a queue, list filters, /api/queues and PATCH. */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { openApp } from "./_helpers/app.ts";

const EMAIL = { to: "ada@example.com", subject: "Hello", body: "Hi Ada" };
const REPORT = {
  report_type: "job_summary",
  format: "csv",
  date_range: { from: "2026-11-01", to: "2026-11-30" },
};
type Json = Record<string, unknown>;
type Issues = { error: { code: string; issues?: { path: string; message: string }[] } };

Deno.test("queues API: create, filter, list, patch, strict validation", async (t) => {
  const app = await openApp();
  const patch = (name: string, body: unknown) =>
    app.call(`/api/queues/${name}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  try {
    await t.step("create: queue given, type default, default; batch too", async () => {
      const a = await app.post("/api/jobs", { type: "email", payload: EMAIL, queue: "mail-fast" });
      assertEquals(a.status, 201);
      assertEquals(((await a.json()) as Json).queue, "mail-fast");
      const r = await app.post("/api/jobs", { type: "report", payload: REPORT });
      assertEquals(((await r.json()) as Json).queue, "reports");
      const e = await app.post("/api/jobs", { type: "email", payload: EMAIL });
      assertEquals(((await e.json()) as Json).queue, "default");
      const b = await app.post("/api/jobs/batch", {
        jobs: [
          { type: "email", payload: EMAIL, queue: "bulk_1" },
          { type: "report", payload: REPORT },
        ],
      });
      assertEquals(b.status, 201);
      const items = ((await b.json()) as { items: Json[] }).items;
      assertEquals(items.map((j) => j.queue), ["bulk_1", "reports"]);
    });

    await t.step("create: a bad queue is a 422 naming the field, nothing stored", async () => {
      for (const queue of ["Upper", "1abc", "", "a".repeat(64), 7, null, "a b"]) {
        const res = await app.post("/api/jobs", { type: "email", payload: EMAIL, queue });
        assertEquals(res.status, 422, JSON.stringify(queue));
        const body = (await res.json()) as Issues;
        assertEquals(body.error.issues?.map((i) => i.path), ["queue"]);
      }
      const res = await app.post("/api/jobs/batch", {
        jobs: [{ type: "email", payload: EMAIL }, { type: "email", payload: EMAIL, queue: "X" }],
      });
      assertEquals(res.status, 422);
      assertEquals(((await res.json()) as Issues).error.issues?.map((i) => i.path), [
        "jobs.1.queue",
      ]);
      const list = (await (await app.call("/api/jobs?limit=100")).json()) as { total: number };
      assertEquals(list.total, 5);
    });

    await t.step(
      "list: queue filter (repeatable), sort by queue, q matches the queue",
      async () => {
        const get = async (qs: string) =>
          (await (await app.call(`/api/jobs?${qs}`)).json()) as { items: Json[]; total: number };
        const one = await get("queue=reports");
        assertEquals(one.total, 2);
        assert(one.items.every((j) => j.queue === "reports"));
        const two = await get("queue=reports&queue=mail-fast");
        assertEquals(two.total, 3);
        assertEquals((await get("queue=reports,bulk_1")).total, 3);
        const sorted = await get("sort=queue&order=asc");
        assertEquals(sorted.items.map((j) => j.queue), [
          "bulk_1",
          "default",
          "mail-fast",
          "reports",
          "reports",
        ]);
        assertEquals((await get("q=mail-f")).items.map((j) => j.queue), ["mail-fast"]);
        const bad = await app.call("/api/jobs?queue=NOPE");
        assertEquals(bad.status, 422);
        assertEquals(((await bad.json()) as Issues).error.issues?.[0].path, "queue.0");
      },
    );

    await t.step("GET /api/queues: every queue with counts", async () => {
      const res = await app.call("/api/queues");
      assertEquals(res.status, 200);
      const { items } = (await res.json()) as { items: Json[] };
      assertEquals(items.map((q) => q.name), ["bulk_1", "default", "mail-fast", "reports"]);
      const reports = items.find((q) => q.name === "reports")!;
      assertEquals(reports.counts, {
        pending: 2,
        processing: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
      });
      assertEquals(reports.concurrency, null);
      assertEquals(reports.paused, false);
      assertEquals((await app.call("/api/queues?x=1")).status, 422);
    });

    await t.step(
      "PATCH: pause, limit, clear; unknown 404; bad values 422 change nothing",
      async () => {
        let res = await patch("reports", { paused: true, concurrency: 2 });
        assertEquals(res.status, 200);
        let q = (await res.json()) as Json;
        assertEquals([q.paused, q.concurrency], [true, 2]);
        res = await patch("reports", { concurrency: null });
        q = (await res.json()) as Json;
        assertEquals([q.paused, q.concurrency], [true, null]);
        res = await patch("reports", { paused: false });
        q = (await res.json()) as Json;
        assertEquals([q.paused, q.concurrency], [false, null]);

        const refused: [unknown, string[]][] = [
          [{ concurrency: 0 }, ["concurrency"]],
          [{ concurrency: -1 }, ["concurrency"]],
          [{ concurrency: 1.5 }, ["concurrency"]],
          [{ concurrency: "2" }, ["concurrency"]],
          [{ paused: "true" }, ["paused"]],
          [{ paused: true, extra: 1 }, [""]],
          [{}, [""]],
          [{ paused: 1, concurrency: 0 }, ["paused", "concurrency"]],
        ];
        for (const [body, paths] of refused) {
          res = await patch("reports", body);
          assertEquals(res.status, 422, JSON.stringify(body));
          const issues = ((await res.json()) as Issues).error.issues ?? [];
          assertEquals(issues.map((i) => i.path), paths, JSON.stringify(body));
        }
        assertEquals((await patch("nope", { paused: true })).status, 404);
        assertEquals(
          ((await (await patch("BAD!", { paused: true })).json()) as Issues).error.code,
          "queue_not_found",
        );
        const after = (await (await app.call("/api/queues/reports")).json()) as Json;
        assertEquals([after.paused, after.concurrency], [false, null]);
        assertEquals((await app.call("/api/queues/nope")).status, 404);
        const names = ((await (await app.call("/api/queues")).json()) as { items: Json[] }).items
          .map((x) => x.name);
        assert(!names.includes("nope"));
      },
    );

    await t.step("/metrics: jobs per queue and status, paused and limit per queue", async () => {
      await patch("reports", { concurrency: 3 });
      const text = await (await app.call("/metrics")).text();
      assert(text.includes('jobq_queue_jobs{queue="reports",status="pending"} 2'), text);
      assert(text.includes('jobq_queue_paused{queue="reports"} 0'));
      assert(text.includes('jobq_queue_concurrency_limit{queue="reports"} 3'));
      assert(!text.includes('jobq_queue_concurrency_limit{queue="default"}'));
      await patch("reports", { concurrency: null });
    });

    await t.step("POST /api/process honours a paused queue and `queues`", async () => {
      await patch("default", { paused: true });
      await patch("reports", { paused: true });
      await patch("bulk_1", { paused: true });
      let res = await app.post("/api/process", { queues: ["default"] });
      assertEquals(res.status, 204);
      res = await app.post("/api/process", { queues: ["mail-fast"] });
      assertEquals(((await res.json()) as Json).queue, "mail-fast");
      res = await app.post("/api/process", {});
      assertEquals(res.status, 204);
      res = await app.post("/api/process", { queues: ["Bad"] });
      assertEquals(res.status, 422);
    });
  } finally {
    await app.close();
  }
});
