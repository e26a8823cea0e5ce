/**
 * The list's totals at any table size: a priority filter's total comes from
 * the maintained counts (migration 0017) and stays exact through claims,
 * edits and deletes; a rare search is listed from its matches, sorted and
 * paged like any list.
 */
import * as jobs from "../lib/queue/jobs.ts";
import { SEARCH_SORT_MAX } from "../lib/queue/list.ts";
import { countMatching } from "../lib/queue/stats.ts";
import { createTestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assertEquals } from "./_helpers/assert.ts";

Deno.test("list totals (one database, a step per case)", async (t) => {
  const db = await createTestDb();
  const sql = db.sql;
  /** countMatching against a count over the rows, for every priority and status pair. */
  const assertCountsExact = async () => {
    for (const priority of [1, 2, 3, 4, 5]) {
      for (const status of [undefined, "pending", "processing", "failed"]) {
        const [{ n }] = await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM job
          WHERE priority = ${priority} AND (${status ?? null}::text IS NULL OR status = ${
          status ?? null
        })`;
        const got = await countMatching(sql, {
          priority: [priority],
          status: status ? [status] : undefined,
        });
        assertEquals(got, n, `priority ${priority}, status ${status ?? "any"}`);
      }
    }
  };
  try {
    await t.step(
      "list: a priority filter's total is exact through inserts, claims, edits and deletes",
      async () => {
        const base = new Date("2026-01-15T12:00:00Z");
        for (let i = 0; i < 30; i++) {
          await insertJob(sql, {
            priority: 1 + (i % 5),
            status: i % 7 === 0 ? "failed" : "pending",
            created_at: new Date(base.getTime() - i * 60_000),
          });
        }
        await assertCountsExact();
        const page = await jobs.list(sql, { priority: [5], limit: 2 });
        assertEquals(page.total, 6);
        assertEquals(page.items.length, 2);
        assertEquals(page.items.every((j) => j.priority === 5), true);

        // A claim moves counts between statuses, never between priorities.
        await jobs.claim(sql, { worker: "w1", limit: 4, leaseSeconds: 30 });
        await assertCountsExact();
        // An edit that changes a job's priority moves it.
        const [failed] = await sql<{ id: string; priority: number }[]>`
          SELECT id, priority FROM job WHERE status = 'failed' AND priority <> 5 LIMIT 1`;
        await jobs.retry(sql, { id: failed.id, edit: { priority: 5 } });
        await assertCountsExact();
        assertEquals((await jobs.list(sql, { priority: [5] })).total, 7);
        // Deletes take jobs out.
        await sql`DELETE FROM job WHERE priority = 5 AND status = 'pending'`;
        await assertCountsExact();
        assertEquals(
          (await jobs.list(sql, { priority: [5] })).total,
          (await sql`SELECT id FROM job WHERE priority = 5`).length,
        );
      },
    );

    await t.step(
      "list: a rare search is filtered, sorted and paged like any list, with its exact total",
      async () => {
        await sql`DELETE FROM job`;
        const base = new Date("2026-01-15T12:00:00Z");
        for (let i = 0; i < 12; i++) {
          await insertJob(sql, {
            priority: i % 2 ? 5 : 1,
            payload: { to: `needle${i}@example.com`, subject: "s", body: "b" },
            created_at: new Date(base.getTime() - i * 60_000),
          });
        }
        await insertJob(sql, { payload: { to: "other@example.com", subject: "s", body: "b" } });
        const all = await jobs.list(sql, { q: "needle", limit: 5 });
        assertEquals(all.total, 12);
        assertEquals(
          all.items.map((j) => (j.payload as { to: string }).to),
          [0, 1, 2, 3, 4].map((i) => `needle${i}@example.com`),
        );
        const page2 = await jobs.list(sql, {
          q: "NEEDLE",
          priority: [5],
          sort: "created_at",
          order: "asc",
          limit: 2,
          offset: 2,
        });
        assertEquals(page2.total, 6);
        assertEquals(
          page2.items.map((j) => (j.payload as { to: string }).to),
          ["needle7@example.com", "needle5@example.com"],
        );
        const first = all.items[0];
        const byPrefix = await jobs.list(sql, { q: first.id.slice(0, 8) });
        assertEquals(byPrefix.items.some((j) => j.id === first.id), true);
        assertEquals((await jobs.list(sql, { q: "no-such-value" })).total, 0);
      },
    );

    await t.step(
      "list: a search with more matches than are sorted in memory pages the same way",
      async () => {
        await sql`DELETE FROM job`;
        await sql`
          INSERT INTO job (type, payload, created_at)
          SELECT 'email', jsonb_build_object('to', 'many' || i || '@example.com',
                   'subject', 's', 'body', 'b'),
                 timestamptz '2026-01-15T12:00:00Z' - i * interval '1 second'
          FROM generate_series(1, ${SEARCH_SORT_MAX + 10}::int) AS i`;
        const page = await jobs.list(sql, { q: "many", limit: 3, offset: 1 });
        assertEquals(page.total, SEARCH_SORT_MAX + 10);
        assertEquals(
          page.items.map((j) => (j.payload as { to: string }).to),
          ["many2@example.com", "many3@example.com", "many4@example.com"],
        );
      },
    );
  } finally {
    await db.drop();
  }
});
