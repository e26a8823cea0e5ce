/**
 * The search across indexing (migrations/0016_search_tail.sql): a job is
 * found from the moment its enqueue commits, before and after the search
 * indexer wrote its row, once; key names never match; indexers running
 * together index each job once; an indexer killed mid-pass loses nothing;
 * the worker's search indexer service empties the tail.
 */
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { setupService } from "./_helpers/worker_services.ts";
import { assertEquals, assertRejects } from "./_helpers/assert.ts";
import { openPool, type Sql } from "../lib/db.ts";
import { jobs } from "../lib/queue/mod.ts";
import { indexSearchPass, indexSearchTail } from "../lib/queue/search_index.ts";
import { SEARCH_INDEX_LOCK_KEY } from "../lib/queue/lock_keys.ts";
import { SearchIndexer } from "../worker/services/search_indexer.ts";

/** The ids `q` finds, sorted, checking the page's total agrees. */
async function found(sql: Sql, q: string): Promise<string[]> {
  const page = await jobs.list(sql, { q, limit: 100 });
  assertEquals(page.total, page.items.length);
  return page.items.map((j) => j.id).sort();
}

/** Search rows of `id`, and ids still waiting in the tail. */
async function state(sql: Sql, id?: string) {
  const [{ rows, tail }] = await sql<{ rows: number; tail: number }[]>`
    SELECT (SELECT count(*) FROM job_search WHERE job_id = ${id ?? null}::uuid)::int AS rows,
           (SELECT coalesce(sum(cardinality(job_ids)), 0) FROM job_search_tail)::int AS tail`;
  return { rows, tail };
}

const notification = (message: string) => ({
  type: "notification",
  payload: { user_id: "u-1", channel: "push", message },
});

Deno.test({
  name: "search tail",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db: TestDb = await createTestDb({ max: 4 });
    try {
      await t.step(
        "a job is found the moment its enqueue commits, before any indexing",
        async () => {
          const job = await jobs.enqueue(db.sql, { job: notification("Kilimanjaro ready") });
          assertEquals(await state(db.sql, job.id), { rows: 0, tail: 1 });
          assertEquals(await found(db.sql, "kilimanjaro"), [job.id]);
          assertEquals(await found(db.sql, job.id), [job.id]);
          assertEquals(await found(db.sql, job.id.slice(0, 8)), [job.id]);
          const [many] = await jobs.enqueueMany(db.sql, { jobs: [notification("Popocatepetl")] });
          assertEquals(await found(db.sql, "popocatepetl"), [many]);
        },
      );

      await t.step("key names do not match, indexed or not", async () => {
        assertEquals(await found(db.sql, "channel"), []);
        assertEquals(await found(db.sql, "user_id"), []);
        await indexSearchTail(db.sql);
        assertEquals(await found(db.sql, "channel"), []);
        assertEquals(await found(db.sql, "user_id"), []);
      });

      await t.step("the tail and the index answer alike", async () => {
        const job = await jobs.enqueue(db.sql, {
          job: {
            type: "email",
            payload: {
              to: "Zoë@Example.org",
              note: 'she said "hi" \\ bye',
              meta: { n: 31337, ok: true, tags: ["Qux-7"] },
            },
          },
        });
        const terms = ["zoË@exam", '"hi"', "\\ bye", "31337", "true", "qux-7", "gmail"];
        const keys = ["note", "meta", "tags", '"to"'];
        const ask = async () => ({
          values: await Promise.all(terms.map((q) => found(db.sql, q))),
          keys: await Promise.all(keys.map((q) => found(db.sql, q))),
        });
        const expected = {
          values: [[job.id], [job.id], [job.id], [job.id], [job.id], [job.id], []],
          keys: [[], [], [], []],
        };
        assertEquals((await state(db.sql, job.id)).rows, 0);
        assertEquals(await ask(), expected);
        await indexSearchTail(db.sql);
        assertEquals(await state(db.sql, job.id), { rows: 1, tail: 0 });
        assertEquals(await ask(), expected);
      });

      await t.step("after indexing it is found from the search table, once", async () => {
        const [job] = await jobs.enqueueBatch(db.sql, {
          jobs: [notification("Aconcagua"), notification("other")],
        });
        const pass = await indexSearchPass(db.sql);
        assertEquals(pass, { ran: true, batches: 1, indexed: 2, more: false });
        assertEquals(await state(db.sql, job.id), { rows: 1, tail: 0 });
        assertEquals(await found(db.sql, "aconcagua"), [job.id]);
        assertEquals(await indexSearchPass(db.sql), {
          ran: true,
          batches: 0,
          indexed: 0,
          more: false,
        });
      });

      await t.step("a job both indexed and in the tail is answered once", async () => {
        const job = await jobs.enqueue(db.sql, { job: notification("Elbrus") });
        // An edit before the indexer came writes the search row; the tail still names the job.
        await db.sql`UPDATE job SET payload = '{"note": "Elbrus north"}' WHERE id = ${job.id}`;
        assertEquals(await state(db.sql, job.id), { rows: 1, tail: 1 });
        assertEquals(await found(db.sql, "elbrus"), [job.id]);
        const page = await jobs.list(db.sql, { q: "elbrus" });
        assertEquals([page.total, page.items.length], [1, 1]);
        // The indexer keeps the edited text, not the payload it would have read before.
        assertEquals((await indexSearchPass(db.sql)).indexed, 0);
        assertEquals(await found(db.sql, "north"), [job.id]);
        assertEquals(await found(db.sql, "elbrus"), [job.id]);
      });

      await t.step("a job deleted before the indexer came leaves no search row", async () => {
        const job = await jobs.enqueue(db.sql, { job: notification("Denali") });
        await jobs.remove(db.sql, { id: job.id });
        assertEquals(await indexSearchPass(db.sql), {
          ran: true,
          batches: 1,
          indexed: 0,
          more: false,
        });
        assertEquals(await state(db.sql, job.id), { rows: 0, tail: 0 });
        assertEquals(await found(db.sql, "denali"), []);
      });

      await t.step("while another process indexes, a pass does nothing", async () => {
        const job = await jobs.enqueue(db.sql, { job: notification("Vinson") });
        const holder = await db.sql.reserve();
        try {
          await holder`BEGIN`;
          await holder`SELECT pg_advisory_xact_lock(${SEARCH_INDEX_LOCK_KEY})`;
          assertEquals(await indexSearchPass(db.sql), {
            ran: false,
            batches: 0,
            indexed: 0,
            more: false,
          });
          assertEquals(await found(db.sql, "vinson"), [job.id]);
        } finally {
          await holder`ROLLBACK`;
          holder.release();
        }
        assertEquals((await indexSearchPass(db.sql)).indexed, 1);
      });

      await t.step("indexers running together index each job once", async () => {
        const batches = Array.from(
          { length: 12 },
          (_, b) => Array.from({ length: 250 }, (_, i) => notification(`k2-${b}-${i}`)),
        );
        for (const list of batches) await jobs.enqueueMany(db.sql, { jobs: list });
        const pools = Array.from({ length: 4 }, () => openPool(db.url, { max: 1 }));
        try {
          const counts = await Promise.all(
            pools.map(async (p) => {
              let n = 0;
              for (let i = 0; i < 20; i++) n += (await indexSearchPass(p, { limit: 2 })).indexed;
              return n;
            }),
          );
          const rest = await indexSearchTail(db.sql);
          // Each job counted by exactly one pass (a pass counts only the rows it wrote).
          assertEquals(counts.reduce((a, b) => a + b, 0) + rest, 3000);
          const [{ rows, ids }] = await db.sql<{ rows: number; ids: number }[]>`
            SELECT count(*)::int AS rows, count(DISTINCT job_id)::int AS ids
            FROM job_search WHERE body LIKE '%k2-%'`;
          assertEquals([rows, ids], [3000, 3000]);
          assertEquals((await state(db.sql)).tail, 0);
          assertEquals((await found(db.sql, "k2-11-249")).length, 1);
        } finally {
          await Promise.all(pools.map((p) => p.end()));
        }
      });

      await t.step("an indexer killed mid-pass loses nothing", async () => {
        const list = Array.from({ length: 50 }, (_, i) => notification(`Matterhorn ${i}`));
        const ids = await jobs.enqueueMany(db.sql, { jobs: list });
        // Another transaction holds an uncommitted search row of one of those jobs: the
        // pass's insert waits on it, mid-statement, until its backend is terminated.
        const blocker = await db.sql.reserve();
        const indexer = openPool(db.url, { max: 1, name: "jobq-test-indexer" });
        try {
          await blocker`BEGIN`;
          await blocker`INSERT INTO job_search (job_id, queue, body) VALUES (${ids[7]}, 'x', 'x')`;
          const pass = indexSearchPass(indexer);
          for (;;) {
            const [{ pid }] = await db.sql<{ pid: number | null }[]>`
              SELECT max(pid) AS pid FROM pg_stat_activity
              WHERE application_name = 'jobq-test-indexer' AND wait_event_type = 'Lock'`;
            if (pid) {
              await db.sql`SELECT pg_terminate_backend(${pid})`;
              break;
            }
            await new Promise((r) => setTimeout(r, 10));
          }
          await assertRejects(() => pass);
        } finally {
          await blocker`ROLLBACK`;
          blocker.release();
          await indexer.end({ timeout: 1 });
        }
        const [{ indexed }] = await db.sql<{ indexed: number }[]>`
          SELECT count(*)::int AS indexed FROM job_search WHERE job_id = ANY(${ids}::uuid[])`;
        assertEquals(indexed, 0);
        assertEquals((await state(db.sql)).tail, 50);
        assertEquals((await found(db.sql, "matterhorn")).length, 50);
        assertEquals(await indexSearchTail(db.sql), 50);
        assertEquals((await state(db.sql)).tail, 0);
        assertEquals((await found(db.sql, "matterhorn")).length, 50);
      });
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name: "search indexer service: indexes what enqueues left in the tail",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = await setupService();
    try {
      const ids = await jobs.enqueueMany(b.db.sql, {
        jobs: Array.from({ length: 2500 }, (_, i) => notification(`Olympus ${i}`)),
      });
      const svc = new SearchIndexer({ sql: b.db.sql, worker: b.id, health: b.health, limit: 1 });
      assertEquals(await svc.runOnce(), 2500);
      assertEquals(await state(b.db.sql, ids[0]), { rows: 1, tail: 0 });
      assertEquals(await svc.runOnce(), 0);
      assertEquals(b.downs, []);
    } finally {
      await b.teardown();
    }
  },
});
