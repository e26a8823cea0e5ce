/**
 * A job's `created` step is read from its row (migration 0023): a producer's
 * enqueue stores no `created` event, yet every reader of the timeline (the
 * API, `events.list`, `events.countKind`) shows exactly one `created` step per
 * job, first, at the job's `created_at`: made from the row, or the stored
 * one where an enqueue had something to say (an operator's create) or the
 * job is older than the migration. Deleting the job deletes it with the rest.
 * The live feed's polled position still moves with each enqueue.
 */
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { insertJob } from "./_helpers/factory.ts";
import { events, jobs } from "../lib/queue/mod.ts";

const NOW = new Date("2026-03-01T10:00:00Z");

/** The stored `created` rows of a job (not what readers show). */
async function storedCreated(db: TestDb, id: string): Promise<number> {
  const [{ n }] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM job_event WHERE job_id = ${id} AND kind = 'created'`;
  return n;
}

/** What the timeline shows of a job: kind, attempt, time, message. */
async function shown(db: TestDb, id: string) {
  const row = await jobs.getWithEvents(db.sql, { id });
  return (row?.events ?? []).map((e) => [e.kind, e.attempt, e.at.toISOString(), e.message]);
}

Deno.test({
  name: "timeline: the created step is the job's row",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db = await createTestDb();
    try {
      await t.step("every producer path stores no created row and shows one", async () => {
        const one = await jobs.enqueue(db.sql, {
          job: { type: "email", payload: { to: "a@example.com", subject: "s", body: "b" } },
          now: NOW,
        });
        const [keyed] = await jobs.enqueueBatch(db.sql, {
          jobs: [{ type: "noop", payload: {}, unique_key: "k-1" }],
          now: NOW,
        });
        const batch = await jobs.enqueueBatch(db.sql, {
          jobs: [{ type: "noop", payload: { n: 1 } }, { type: "noop", payload: { n: 2 } }],
          now: NOW,
        });
        const ids = await jobs.enqueueMany(db.sql, {
          jobs: [{ type: "noop", payload: { n: 3 } }],
          now: NOW,
        });
        for (const id of [one.id, keyed.id, batch[0].id, batch[1].id, ids[0]]) {
          assertEquals(await storedCreated(db, id), 0, id);
          assertEquals(await shown(db, id), [["created", 0, NOW.toISOString(), null]], id);
          assertEquals(await events.countKind(db.sql, { kind: "created", jobId: id }), 1);
        }
        assertEquals(await events.countKind(db.sql, { kind: "created" }), 5);
      });

      await t.step("an enqueue with a message keeps its stored event, shown once", async () => {
        const r = await jobs.enqueueFromForm(db.sql, {
          job: { type: "noop", payload: { n: 4 } },
          actor: { name: "ops", via: "session", address: null },
          now: NOW,
        });
        assertEquals(await storedCreated(db, r.job.id), 1);
        const steps = await shown(db, r.job.id);
        assertEquals(steps.length, 1);
        assertEquals(steps[0].slice(0, 3), ["created", 0, NOW.toISOString()]);
        assert(String(steps[0][3]).startsWith("created from the form"), String(steps[0][3]));
      });

      await t.step(
        "a job stored with its created event (as before 0023) shows it once",
        async () => {
          const old = await insertJob(db.sql, { created_at: new Date("2026-02-01T00:00:00Z") });
          assertEquals(await storedCreated(db, old.id), 1);
          assertEquals(await shown(db, old.id), [["created", 0, "2026-02-01T00:00:00.000Z", null]]);
        },
      );

      await t.step("the created step comes first, before the steps stored later", async () => {
        const job = await jobs.enqueue(db.sql, { job: { type: "noop", payload: {} }, now: NOW });
        await jobs.cancel(db.sql, { id: job.id });
        const kinds = (await events.list(db.sql, { jobId: job.id })).map((e) => e.kind);
        assertEquals(kinds, ["created", "cancelled"]);
        await jobs.remove(db.sql, { id: job.id });
        assertEquals(await events.list(db.sql, { jobId: job.id }), []);
        assertEquals(await events.countKind(db.sql, { kind: "created", jobId: job.id }), 0);
      });

      await t.step("each enqueue moves the position the live feed polls", async () => {
        const before = await events.lastId(db.sql);
        await jobs.enqueue(db.sql, { job: { type: "noop", payload: {} } });
        const afterOne = await events.lastId(db.sql);
        assert(afterOne > before, `${afterOne} > ${before}`);
        await jobs.enqueueMany(db.sql, {
          jobs: [{ type: "noop", payload: {} }, { type: "noop", payload: {} }],
        });
        assert((await events.lastId(db.sql)) > afterOne);
      });

      await t.step("a keyed enqueue that stores nothing shows nothing new", async () => {
        const r = await jobs.enqueueBatchUnique(db.sql, {
          jobs: [{ type: "noop", payload: {}, unique_key: "k-1" }],
        });
        assertEquals(r.existed, [true]);
        assertEquals(await events.countKind(db.sql, { kind: "created", jobId: r.jobs[0].id }), 1);
      });
    } finally {
      await db.drop();
    }
  },
});
