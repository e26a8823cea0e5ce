/**
 * The batch enqueue's statement sends a column as one value when every job
 * agrees and as an array otherwise, and converts each distinct type and
 * queue name to its domain once (lib/queue/enqueue.ts, `inputCte`). Each
 * job must still be stored with its own values, in input order, with its
 * `created` event; a bad name must still refuse the whole batch.
 */
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { assert, assertEquals, assertRejects } from "./_helpers/assert.ts";
import { events, jobs } from "../lib/queue/mod.ts";
import type { NewJob } from "../lib/queue/enqueue.ts";
import { defaultQueueOf } from "../lib/jobs/mod.ts";

const at = (s: string) => new Date(s);

/** What a stored job says about the columns a producer sets. */
function columns(row: object) {
  const j = row as Record<string, unknown>;
  const iso = (v: unknown) => v == null ? null : (v as Date).toISOString();
  return {
    type: j.type,
    queue: j.queue,
    priority: j.priority,
    max_attempts: j.max_attempts,
    scheduled_for: iso(j.scheduled_for),
    timeout_seconds: j.timeout_seconds,
    expires_at: iso(j.expires_at),
    payload: j.payload,
  };
}

Deno.test({
  name: "batch enqueue columns",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db: TestDb = await createTestDb();
    const sql = db.sql;
    const now = at("2026-03-01T10:00:00Z");
    try {
      await t.step("mixed values: every job stored with its own, in input order", async () => {
        const list: NewJob[] = [
          { type: "email", payload: { n: 0 }, queue: "mail", priority: 1 },
          {
            type: "report",
            payload: { n: 1 },
            max_attempts: 7,
            scheduled_for: "2026-03-01T11:00:00Z",
            timeout_seconds: 30,
          },
          {
            type: "email",
            payload: { n: 2 },
            queue: "bulk-b",
            expires_at: at("2026-03-02T00:00:00Z"),
          },
          { type: "notification", payload: { n: 3 }, queue: "mail", priority: 5 },
        ];
        const stored = await jobs.enqueueBatch(sql, { jobs: list, now });
        assertEquals(stored.map((j) => (j.payload as { n: number }).n), [0, 1, 2, 3]);
        assertEquals(stored.map(columns), [
          {
            type: "email",
            queue: "mail",
            priority: 1,
            max_attempts: 3,
            scheduled_for: now.toISOString(),
            timeout_seconds: null,
            expires_at: null,
            payload: { n: 0 },
          },
          {
            type: "report",
            queue: defaultQueueOf("report"),
            priority: 3,
            max_attempts: 7,
            scheduled_for: "2026-03-01T11:00:00.000Z",
            timeout_seconds: 30,
            expires_at: null,
            payload: { n: 1 },
          },
          {
            type: "email",
            queue: "bulk-b",
            priority: 3,
            max_attempts: 3,
            scheduled_for: now.toISOString(),
            timeout_seconds: null,
            expires_at: "2026-03-02T00:00:00.000Z",
            payload: { n: 2 },
          },
          {
            type: "notification",
            queue: "mail",
            priority: 5,
            max_attempts: 3,
            scheduled_for: now.toISOString(),
            timeout_seconds: null,
            expires_at: null,
            payload: { n: 3 },
          },
        ]);
        // The rows as read back, not only as returned.
        const again = await sql`SELECT * FROM job WHERE id = ANY(${
          stored.map((j) => j.id)
        }::uuid[])`;
        const byId = new Map(again.map((r) => [r.id as string, columns(r)]));
        assertEquals(stored.map((j) => byId.get(j.id)), stored.map(columns));
      });

      await t.step("uniform values: ids in input order, one created event each", async () => {
        const list = Array.from({ length: 50 }, (_, i) => ({
          type: "notification",
          payload: { user_id: "u", channel: "push", message: String(i) },
        }));
        const ids = await jobs.enqueueMany(sql, { jobs: list, now });
        assertEquals(ids.length, 50);
        const rows = await sql<{ id: string; message: string; queue: string; priority: number }[]>`
          SELECT id, payload->>'message' AS message, queue, priority FROM job
          WHERE id = ANY(${ids}::uuid[])`;
        const byId = new Map(rows.map((r) => [r.id, r]));
        assertEquals(ids.map((id) => byId.get(id)?.message), list.map((_, i) => String(i)));
        assert(rows.every((r) => r.queue === defaultQueueOf("notification") && r.priority === 3));
        for (const id of [ids[0], ids[49]]) {
          const evs = await events.list(sql, { jobId: id });
          assertEquals(evs.map((e) => [e.kind, e.attempt, e.at.toISOString()]), [
            ["created", 0, now.toISOString()],
          ]);
        }
      });

      await t.step("a bad type or queue name refuses the whole batch", async () => {
        const before = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
        for (
          const bad of [
            { type: "email", payload: {}, queue: "Bad Queue" },
            { type: "Email", payload: {} },
            { type: "email", payload: {}, queue: "" },
          ]
        ) {
          const err = await assertRejects(() =>
            jobs.enqueueMany(sql, {
              jobs: [{ type: "email", payload: {} }, bad, { type: "report", payload: {} }],
            })
          ) as { code?: string };
          assertEquals(err.code, "23514");
        }
        const after = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
        assertEquals(after[0].n, before[0].n);
      });
    } finally {
      await db.drop();
    }
  },
});
