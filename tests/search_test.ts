/**
 * The job list's free-text search `q` (migrations/0013_search.sql): payload
 * values, not key names; case-insensitive; LIKE wildcards literal; an exact
 * id; the queue name; short terms; the search table kept in step with the
 * jobs; and a plan that reads the trigram index, not the whole table.
 */
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { jobs } from "../lib/queue/mod.ts";
import { idRange, listWhere } from "../lib/queue/list.ts";

let db: TestDb;

/** The ids `q` finds, sorted (the list, the bulk and the export share its WHERE). */
async function found(q: string): Promise<string[]> {
  const page = await jobs.list(db.sql, { q, limit: 100 });
  assertEquals(page.total, page.items.length);
  return page.items.map((j) => j.id).sort();
}

const sorted = (...ids: string[]) => [...ids].sort();

Deno.test({
  name: "search",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    db = await createTestDb({ max: 4 });
    try {
      await db.sql`TRUNCATE job, job_event, job_artifact`;
      const notify = await insertJob(db.sql, {
        type: "notification",
        payload: { user_id: "u-17", channel: "push", message: "Your Invoice is ready" },
      });
      const nested = await insertJob(db.sql, {
        payload: {
          to: "Grace.Hopper@Example.org",
          meta: { tags: ["alpha", { deep: "Zanzibar" }], count: 424242, ok: true },
        },
      });
      const wild = await insertJob(db.sql, { payload: { note: "done 100%_ \\ really" } });
      const plain = await insertJob(db.sql, { payload: { note: "hay" } });
      await db.sql`UPDATE job SET queue = 'mail-fast' WHERE id = ${plain.id}`;

      await t.step("values match at any depth, array elements and numbers too", async () => {
        assertEquals(await found("push"), [notify.id]);
        assertEquals(await found("zanzibar"), [nested.id]);
        assertEquals(await found("alpha"), [nested.id]);
        assertEquals(await found("4242"), [nested.id]); // a number, as text
        assertEquals(await found("invoice is"), [notify.id]); // a substring across a space
      });

      await t.step("key names do not match", async () => {
        assertEquals(await found("channel"), []);
        assertEquals(await found("user_id"), []);
        assertEquals(await found("tags"), []);
        assertEquals(await found("deep"), []);
        assertEquals(await found('"to"'), []); // nor the JSON text's punctuation
      });

      await t.step("case-insensitive", async () => {
        assertEquals(await found("grace.hopper@example.ORG"), [nested.id]);
        assertEquals(await found("INVOICE"), [notify.id]);
      });

      await t.step("LIKE wildcards and the backslash are literal", async () => {
        assertEquals(await found("100%_"), [wild.id]);
        assertEquals(await found("%"), [wild.id]);
        assertEquals(await found("_"), [wild.id]); // not "user_id": a key
        assertEquals(await found("\\ really"), [wild.id]);
        assertEquals(await found("done%really"), []);
      });

      await t.step("an exact id; the queue name", async () => {
        assertEquals(await found(nested.id), [nested.id]);
        assertEquals(await found(nested.id.toUpperCase()), [nested.id]);
        assertEquals(await found("mail-f"), [plain.id]);
        assertEquals(await found("MAIL-FAST"), [plain.id]);
        assertEquals(await found("default"), sorted(notify.id, nested.id, wild.id));
      });

      await t.step("the start of an id, as the list shows it", async () => {
        assertEquals(await found(nested.id.slice(0, 8)), [nested.id]);
        assertEquals(await found(nested.id.slice(0, 13).toUpperCase()), [nested.id]);
        assertEquals(idRange("35800b23"), [
          "35800b23-0000-0000-0000-000000000000",
          "35800b23-ffff-ffff-ffff-ffffffffffff",
        ]);
        assertEquals(idRange("abc"), null); // too short to be taken for an id
        assertEquals(idRange("3580-0b23"), null); // dashes where an id has none
        assertEquals(idRange("invoice"), null);
      });

      await t.step("terms shorter than three characters still match", async () => {
        assertEquals(await found("Zu"), []);
        assertEquals(await found("17"), [notify.id]);
        assertEquals(await found("U-"), [notify.id]);
        assertEquals(await found("z"), [nested.id]); // Zanzibar (and no queue or key has a z)
      });

      await t.step("the search follows edits and deletions", async () => {
        await db.sql`UPDATE job SET payload = '{"note": "needle"}' WHERE id = ${plain.id}`;
        assertEquals(await found("needle"), [plain.id]);
        assertEquals(await found("hay"), []);
        await db.sql`UPDATE job SET queue = 'reports' WHERE id = ${plain.id}`;
        assertEquals(await found("mail-f"), []);
        assertEquals(await found("report"), [plain.id]);
        await jobs.remove(db.sql, { id: plain.id });
        const [{ n }] = await db.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM job_search WHERE job_id = ${plain.id}`;
        assertEquals(n, 0);
        await db.sql`TRUNCATE job, job_event, job_artifact`;
        const [{ left }] = await db.sql<
          { left: number }[]
        >`SELECT count(*)::int AS left FROM job_search`;
        assertEquals(left, 0);
      });

      await t.step("a search at a few thousand jobs reads the trigram index", async () => {
        await db.sql`
          INSERT INTO job (type, payload, created_at, updated_at, scheduled_for)
          SELECT 'email', jsonb_build_object('to', 'user' || i || '@example.com', 'channel', 'push'),
                 now(), now(), now()
          FROM generate_series(1, 4000) AS i`;
        // As autovacuum would have by then: statistics, and the GIN pending list merged.
        await db.sql`VACUUM ANALYZE job`;
        await db.sql`VACUUM ANALYZE job_search`;
        assertEquals((await found("user3999@")).length, 1);
        const explain = async (tx: typeof db.sql, q: string) => {
          const rows = await tx<{ "QUERY PLAN": string }[]>`
            EXPLAIN SELECT * FROM job ${listWhere(tx, { q })} ORDER BY created_at DESC LIMIT 20`;
          return rows.map((r) => r["QUERY PLAN"]).join("\n");
        };
        for (const q of ["user3999@example", "nobody@example.org", "mail-fast"]) {
          // As planned: the job table is not read whole (the search table's matches, then job_pkey).
          const plain = await explain(db.sql, q);
          assert(!/Seq Scan on job\b/.test(plain), `${q}:\n${plain}`);
          // At this size reading the small search table whole costs about as much as its
          // index; with sequential scans priced out the plan must be able to use the index.
          const indexed = await db.sql.begin(async (tx) => {
            await tx`SET LOCAL enable_seqscan = off`;
            return await explain(tx as unknown as typeof db.sql, q);
          });
          assert(indexed.includes("job_search_idx"), `${q}:\n${indexed}`);
        }
      });
    } finally {
      await db.drop();
    }
  },
});
