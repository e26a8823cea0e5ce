/** Bulk by filter over the JSON API: dry run, every filter field, batches, strictness, audit, undo. */
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { openApp, type TestApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { audit, bulk, jobs } from "../lib/queue/mod.ts";
import type { Job } from "../lib/queue/types.ts";

type Json = Record<string, unknown>;
type Issues = { error: { code: string; issues?: { path: string; message: string }[] } };

const TOKEN = "s3cret-token-for-bulk";
const ENV = { API_TOKEN: `ci:${TOKEN}` };

async function statuses(app: TestApp): Promise<Record<string, string>> {
  const rows = await app.db.sql<{ id: string; status: string }[]>`SELECT id, status FROM job`;
  return Object.fromEntries(rows.map((r) => [r.id, r.status]));
}

async function job(app: TestApp, id: string): Promise<Job> {
  return (await jobs.get(app.db.sql, { id }))!;
}

Deno.test("bulk by filter: dry run, filters, delete guard, 422s, audit, undo", async (t) => {
  const app = await openApp(ENV, { token: TOKEN });
  const sql = app.db.sql;
  const reset = () => sql`TRUNCATE job, job_event, audit, bulk_undo, bulk_undo_job`;
  const bulkCall = async (body: unknown) => {
    const res = await app.post("/api/jobs/bulk", body);
    return { status: res.status, body: (await res.json()) as Json };
  };
  try {
    await t.step("dry run counts what the action would change, and changes nothing", async () => {
      await reset();
      for (let i = 0; i < 3; i++) await insertJob(sql, { status: "failed" });
      await insertJob(sql, { status: "cancelled" });
      await insertJob(sql, { status: "completed" });
      await insertJob(sql, { status: "pending" });
      const before = await statuses(app);
      const events = (await sql`SELECT count(*)::int AS n FROM job_event`)[0].n;
      const cases: [Json, number][] = [
        [{ action: "retry", filter: {} }, 4],
        [{ action: "retry", filter: { status: ["failed"] } }, 3],
        [{ action: "retry", filter: { status: ["completed"] } }, 0],
        [{ action: "cancel", filter: {} }, 1],
        [{ action: "delete", filter: { status: ["failed", "pending"] } }, 4],
        [{ action: "delete", filter: {}, all: true }, 6],
      ];
      for (const [body, count] of cases) {
        const r = await bulkCall({ ...body, dry_run: true });
        assertEquals(r.status, 200, JSON.stringify(body));
        assertEquals(r.body, { action: body.action, count, dry_run: true }, JSON.stringify(body));
      }
      assertEquals(await statuses(app), before);
      assertEquals((await sql`SELECT count(*)::int AS n FROM job_event`)[0].n, events);
      assertEquals((await sql`SELECT count(*)::int AS n FROM bulk_undo`)[0].n, 0);
    });

    await t.step(
      "every filter field narrows the match: status, type, queue, priority, q",
      async () => {
        await reset();
        const mk = (o: { type?: string; priority?: number; queue?: string; to?: string }) =>
          insertJob(sql, {
            status: "failed",
            type: o.type ?? "email",
            priority: o.priority ?? 3,
            payload: o.type === "notification"
              ? { user_id: "u", channel: "push", message: "m" }
              : { to: o.to ?? "a@example.com", subject: "s", body: "b" },
          }).then(async (j) => {
            if (o.queue) await sql`UPDATE job SET queue = ${o.queue} WHERE id = ${j.id}`;
            return j;
          });
        await mk({});
        await mk({ type: "notification" });
        await mk({ priority: 5 });
        await mk({ queue: "mail-slow" });
        const grace = await mk({ to: "grace@example.com" });
        await insertJob(sql, { status: "pending" });
        const count = async (filter: Json) =>
          (await bulkCall({ action: "retry", filter, dry_run: true })).body.count;
        assertEquals(await count({}), 5);
        assertEquals(await count({ status: ["failed"] }), 5);
        assertEquals(await count({ status: ["pending"] }), 0);
        assertEquals(await count({ type: ["notification"] }), 1);
        assertEquals(await count({ type: ["email"] }), 4);
        assertEquals(await count({ priority: [5] }), 1);
        assertEquals(await count({ priority: [1, 3] }), 4);
        assertEquals(await count({ queue: ["mail-slow"] }), 1);
        assertEquals(await count({ q: "GRACE@" }), 1);
        assertEquals(await count({ q: grace.id }), 1);
        assertEquals(await count({ type: ["email"], priority: [3], queue: ["default"] }), 2);
        // The action applies to exactly the dry run's jobs.
        const r = await bulkCall({ action: "retry", filter: { type: ["email"], priority: [3] } });
        assertEquals([r.body.count, r.body.matched, r.body.skipped], [3, 3, 0]);
        assertEquals((await job(app, grace.id)).status, "pending");
        assertEquals(await count({}), 2);
      },
    );

    await t.step(
      "delete by an empty filter needs all: true; then it deletes all but running",
      async () => {
        await reset();
        await insertJob(sql, { status: "failed" });
        await insertJob(sql, { status: "completed" });
        const running = await insertJob(sql, { status: "processing" });
        for (const body of [{ filter: {} }, { filter: {}, all: false }, { filter: { q: "  " } }]) {
          const r = await bulkCall({ action: "delete", ...body });
          assertEquals(r.status, 422, JSON.stringify(body));
          const issues = (r.body as unknown as Issues).error.issues!;
          assertEquals(issues.map((i) => i.path), ["filter"]);
          assertStringIncludes(issues[0].message, '"all": true');
        }
        assertEquals(Object.keys(await statuses(app)).length, 3);
        const ok = await bulkCall({ action: "delete", filter: {}, all: true });
        assertEquals(ok.status, 200);
        assertEquals([ok.body.count, ok.body.matched, ok.body.undo], [2, 2, undefined]);
        assertEquals(Object.keys(await statuses(app)), [running.id]);
      },
    );

    await t.step("strict: 422 naming the field, nothing changed", async () => {
      await reset();
      const failed = await insertJob(sql, { status: "failed" });
      const bad: [unknown, string][] = [
        [{ action: "retry" }, "ids"],
        [{ action: "retry", ids: [failed.id], filter: {} }, "filter"],
        [{ action: "retry", ids: [failed.id], dry_run: true }, "dry_run"],
        [{ action: "retry", ids: [failed.id], all: true }, "all"],
        [{ action: "retry", filter: { status: ["nope"] } }, "filter.status.0"],
        [{ action: "retry", filter: { status: "failed" } }, "filter.status"],
        [{ action: "retry", filter: { type: ["nope"] } }, "filter.type.0"],
        [{ action: "retry", filter: { priority: [9] } }, "filter.priority.0"],
        [{ action: "retry", filter: { queue: ["Bad Queue"] } }, "filter.queue.0"],
        [{ action: "retry", filter: { q: "x".repeat(201) } }, "filter.q"],
        [{ action: "retry", filter: { q: "a\u0000b" } }, "filter.q"],
        [{ action: "retry", filter: { sort: "id" } }, "filter"],
        [{ action: "retry", filter: [] }, "filter"],
        [{ action: "retry", filter: null }, "filter"],
        [{ action: "retry", filter: {}, dry_run: "yes" }, "dry_run"],
        [{ action: "retry", filter: {}, all: 1 }, "all"],
        [{ action: "retry", filter: {}, extra: 1 }, ""],
        [{ action: "explode", filter: {} }, "action"],
      ];
      for (const [body, path] of bad) {
        const r = await bulkCall(body);
        assertEquals(r.status, 422, JSON.stringify(body));
        const paths = (r.body as unknown as Issues).error.issues!.map((i) => i.path);
        assert(paths.includes(path), `${JSON.stringify(body)}: ${JSON.stringify(paths)}`);
      }
      for (const body of [{}, { undo_id: "nope" }, { undo_id: failed.id, x: 1 }, { undo_id: 7 }]) {
        const r = await app.post("/api/jobs/bulk/undo", body);
        assertEquals(r.status, 422, JSON.stringify(body));
        const paths = ((await r.json()) as Issues).error.issues!.map((i) => i.path);
        assert(paths.includes("undo_id") || paths.includes(""), JSON.stringify(paths));
      }
      assertEquals((await job(app, failed.id)).status, "failed");
      assertEquals((await sql`SELECT count(*)::int AS n FROM audit`)[0].n, 0);
    });

    await t.step(
      "retry by filter: batches, audit in the same transaction, events name the actor",
      async () => {
        await reset();
        const ids = [];
        for (let i = 0; i < 7; i++) ids.push((await insertJob(sql, { status: "failed" })).id);
        // Batches of 3 through the queue API (the route uses 2000): 3 transactions, one audit row.
        const r = await bulk.applyFilter(sql, {
          action: "retry",
          filter: { status: ["failed"] },
          actor: { name: "ci", via: "token", address: "10.0.0.7" },
          batch: 3,
        });
        assertEquals([r.count, r.matched, r.skipped], [7, 7, 0]);
        assert(r.undo);
        const rows = (await audit.list(sql)).items;
        assertEquals(rows.length, 1);
        assertEquals([rows[0].action, rows[0].count, rows[0].filter, rows[0].job_ids], [
          "bulk.retry",
          7,
          { status: ["failed"] },
          null,
        ]);
        assertEquals(rows[0].details.undo_id, r.undo!.id);
        const ev = await sql<{ message: string }[]>`
        SELECT message FROM job_event WHERE kind = 'retried'`;
        assertEquals(ev.length, 7);
        assertEquals(
          ev[0].message,
          "retried by hand (bulk by ci (token) from 10.0.0.7; was failed)",
        );
        // Over the API: the token's name.
        await insertJob(sql, { status: "pending" });
        const c = await bulkCall({ action: "cancel", filter: { status: ["pending"] } });
        assertEquals([c.body.count, c.body.matched], [8, 8]);
        const last = (await audit.list(sql, { action: ["bulk.cancel"] })).items[0];
        assertEquals([last.actor, last.via, last.count], ["ci", "token", 8]);
        const cancelled = await sql<{ message: string }[]>`
        SELECT message FROM job_event WHERE kind = 'cancelled'`;
        assertEquals(cancelled[0].message, "cancelled by hand (bulk) by ci (token) from 127.0.0.1");
      },
    );

    await t.step(
      "three bulks over the same jobs at once: no deadlock, each job changed once",
      async () => {
        await reset();
        await sql`INSERT INTO job (type, status, payload)
        SELECT 'email', 'pending', '{}'::jsonb FROM generate_series(1, 3000)`;
        const run = () =>
          bulk.applyFilter(sql, { action: "cancel", filter: { status: ["pending"] }, batch: 300 });
        const runs = await Promise.all([run(), run(), run()]);
        assertEquals(runs.reduce((n, r) => n + r.count, 0), 3000, JSON.stringify(runs));
        for (const r of runs) assertEquals(r.count + r.skipped, r.matched);
        const [{ n }] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM job_event WHERE kind = 'cancelled'`;
        assertEquals(n, 3000, "each job cancelled once");
      },
    );
    await t.step(
      "a bulk that matches nothing still writes one audit row, count 0, no undo",
      async () => {
        await reset();
        await insertJob(sql, { status: "completed" });
        const r = await bulkCall({ action: "retry", filter: { status: ["completed"] } });
        assertEquals(r.body, { action: "retry", count: 0, matched: 0, skipped: 0 });
        const rows = (await audit.list(sql)).items;
        assertEquals(rows.map((e) => [e.action, e.count]), [["bulk.retry", 0]]);
        assertEquals((await sql`SELECT count(*)::int AS n FROM bulk_undo`)[0].n, 0);
      },
    );

    await t.step(
      "undo: restores state and schedule; a job that moved on is left alone and counted",
      async () => {
        await reset();
        const later = new Date(Date.now() + 3_600_000);
        const a = await insertJob(sql, { status: "failed", attempts: 3, error: "smtp down" });
        const b = await insertJob(sql, { status: "cancelled", scheduled_for: later });
        const c = await insertJob(sql, { status: "failed", attempts: 2 });
        const r = await bulkCall({ action: "retry", filter: { status: ["failed", "cancelled"] } });
        assertEquals([r.body.count, r.body.matched], [3, 3]);
        const offer = r.body.undo as { id: string; expires_at: string };
        const left = Date.parse(offer.expires_at) - Date.now();
        assert(left > 50_000 && left <= 61_000, `the offer lasts a minute: ${left}`);
        assertEquals((await job(app, a.id)).attempts, 0);
        // c moves on: a worker claims it.
        const claimed = await jobs.claim(sql, { worker: "w1", limit: 10, leaseSeconds: 30 });
        assertEquals(claimed.map((j) => j.id).sort(), [a.id, c.id].sort());
        assert(await jobs.complete(sql, { id: a.id, worker: "w1", attempt: 1, result: {} }));
        // a moved on too (completed); release nothing else. b is untouched (scheduled later).
        const u = await app.post("/api/jobs/bulk/undo", { undo_id: offer.id });
        assertEquals(u.status, 200);
        assertEquals(await u.json(), { action: "retry", restored: 1, moved_on: 2 });
        const bb = await job(app, b.id);
        assertEquals(
          [bb.status, bb.attempts, bb.scheduled_for.getTime(), bb.updated_at.getTime()],
          [
            "cancelled",
            0,
            later.getTime(),
            b.updated_at.getTime(),
          ],
        );
        assertEquals((await job(app, a.id)).status, "completed");
        assertEquals((await job(app, c.id)).status, "processing");
        const ev = await sql<{ job_id: string; message: string }[]>`
        SELECT job_id, message FROM job_event WHERE kind = 'restored'`;
        assertEquals(ev.map((e) => e.job_id), [b.id]);
        assertEquals(
          ev[0].message,
          "undo of a bulk retry by ci (token) from 127.0.0.1: back to cancelled",
        );
        const entry = (await audit.list(sql, { action: ["bulk.undo"] })).items[0];
        assertEquals([entry.count, entry.details.moved_on, entry.details.of], [1, 2, "bulk.retry"]);
        // Once only.
        const again = await app.post("/api/jobs/bulk/undo", { undo_id: offer.id });
        assertEquals([again.status, ((await again.json()) as Issues).error.code], [
          410,
          "undo_expired",
        ]);
        assertEquals((await sql`SELECT count(*)::int AS n FROM bulk_undo_job`)[0].n, 0);
      },
    );

    await t.step(
      "undo of a cancel by ids puts pending jobs back (running ones are not undoable)",
      async () => {
        await reset();
        const p = await insertJob(sql, { status: "pending", attempts: 1 });
        const run = await insertJob(sql, { status: "processing" });
        const res = await app.post("/api/jobs/bulk", { action: "cancel", ids: [p.id, run.id] });
        const body = (await res.json()) as Json & { undo: { id: string } };
        assertEquals((body.summary as Json).done, 2);
        assertEquals((await job(app, p.id)).status, "cancelled");
        const u = await app.post("/api/jobs/bulk/undo", { undo_id: body.undo.id });
        assertEquals(await u.json(), { action: "cancel", restored: 1, moved_on: 0 });
        const back = await job(app, p.id);
        assertEquals([back.status, back.attempts, back.updated_at.getTime()], [
          "pending",
          1,
          p.updated_at.getTime(),
        ]);
        // delete offers no undo
        const del = (await (await app.post("/api/jobs/bulk", { action: "delete", ids: [p.id] }))
          .json()) as Json;
        assertEquals(del.undo, undefined);
      },
    );

    await t.step("undo after the minute is refused, nothing changes", async () => {
      await reset();
      const f = await insertJob(sql, { status: "failed" });
      const r = await bulkCall({ action: "retry", filter: { status: ["failed"] } });
      const id = (r.body.undo as { id: string }).id;
      assertEquals(await bulk.undo(sql, { id, now: new Date(Date.now() + 61_000) }), null);
      await sql`UPDATE bulk_undo SET expires_at = now() - interval '1 second'`;
      const u = await app.post("/api/jobs/bulk/undo", { undo_id: id });
      assertEquals([u.status, ((await u.json()) as Issues).error.code], [410, "undo_expired"]);
      assertEquals((await job(app, f.id)).status, "pending");
      const unknown = await app.post("/api/jobs/bulk/undo", { undo_id: crypto.randomUUID() });
      assertEquals(unknown.status, 410);
      // The next bulk action prunes the expired offer with its rows.
      await bulkCall({ action: "cancel", filter: { status: ["completed"] } });
      assertEquals((await sql`SELECT count(*)::int AS n FROM bulk_undo_job`)[0].n, 0);
    });
  } finally {
    await app.close();
  }
});
