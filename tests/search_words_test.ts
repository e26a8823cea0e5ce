/**
 * The search through payload words (migrations/0018_search_words.sql): a
 * term with a separator is looked up by its words and finds exactly what
 * the trigram search finds (a word's ends inside longer words, case, the
 * queue name, words too long to index, key names never, jobs not indexed
 * yet, edits); a term without one keeps the trigrams; the words index is
 * what the plan reads.
 */
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { jobs } from "../lib/queue/mod.ts";
import { listWhere, searchWords } from "../lib/queue/list.ts";
import { indexSearchTail } from "../lib/queue/search_index.ts";

let db: TestDb;

/** The ids the list finds for `q` (through the words when the term has a separator), sorted. */
async function found(q: string): Promise<string[]> {
  const page = await jobs.list(db.sql, { q, limit: 100 });
  assertEquals(page.total, page.items.length);
  return page.items.map((j) => j.id).sort();
}

/** The ids the trigram search (the bulk action's and export's WHERE) finds for `q`, sorted. */
async function byTrigrams(q: string): Promise<string[]> {
  const rows = await db.sql<{ id: string }[]>`SELECT id FROM job ${listWhere(db.sql, { q })}`;
  return rows.map((r) => r.id).sort();
}

const sorted = (...ids: string[]) => [...ids].sort();

Deno.test({
  name: "search words",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    db = await createTestDb({ max: 4 });
    try {
      await db.sql`TRUNCATE job, job_event, job_artifact`;
      const exact = await insertJob(db.sql, { payload: { to: "user4242@example.com" } });
      const longer = await insertJob(db.sql, {
        payload: { to: "xUSER4242@Example.community", cc: ["a", { bcc: "b" }] },
      });
      const other = await insertJob(db.sql, { payload: { to: "user42424@example.com" } });
      const domain = await insertJob(db.sql, { payload: { to: "user4242@example2.com" } });
      const keyOnly = await insertJob(db.sql, { payload: { "user4242@example.com": "x" } });
      // One word of 1,200 characters ending in the term's first word: too long to index.
      const huge = await insertJob(db.sql, {
        payload: { note: "q".repeat(1200) + "user4242@example.com" },
      });
      const queued = await insertJob(db.sql, { payload: { note: "hay" } });
      await db.sql`UPDATE job SET queue = 'mail-fast_eu' WHERE id = ${queued.id}`;
      await indexSearchTail(db.sql);
      // Enqueued after the indexer ran: found through the tail.
      const tail = await insertJob(db.sql, { payload: { to: "ZUSER4242@example.com" } });

      await t.step("a term with a separator is looked up by its words", async () => {
        for (const q of ["user4242@example.com", "@example.com", "mail-fast", "a b", "é@Ü"]) {
          assert((await searchWords(db.sql, q)) !== null, q);
        }
        for (const q of ["user4242", "4242", "@exam", "--", '""']) {
          assertEquals(await searchWords(db.sql, q), null, q);
        }
        assertEquals(
          await searchWords(db.sql, "User4242@Example.com"),
          "'2424resu':* & 'elpmaxe' | '~'",
        );
      });

      await t.step("finds what the trigrams find, no more", async () => {
        assertEquals(
          await found("user4242@example.com"),
          sorted(exact.id, longer.id, huge.id, tail.id),
        );
        assertEquals(
          await found("user4242@example.co"),
          sorted(exact.id, longer.id, huge.id, tail.id),
        );
        assertEquals(await found("4242@example2."), [domain.id]);
        assertEquals(await found("2424@example.com"), [other.id]);
        assertEquals(await found("nobody@example.com"), []);
        assertEquals(await found("mail-fast_eu"), [queued.id]);
        assertEquals(await found("fast_"), [queued.id]);
        for (
          const q of [
            "user4242@example.com",
            "USER4242@EXAMPLE.COMMUNITY",
            "r4242@example.c",
            "@example.",
            ".com",
            "example.com",
            "x user4242",
            "2@e",
            "qqq" + "user4242@",
            "ab.user4242@example",
            "@example",
            "mail-f",
            "b a",
          ]
        ) {
          assertEquals(await found(q), await byTrigrams(q), q);
        }
        assert(!(await found("user4242@example.com")).includes(keyOnly.id));
      });

      await t.step("follows edits", async () => {
        await db.sql`UPDATE job SET payload = '{"to": "ada@example.org"}' WHERE id = ${exact.id}`;
        assertEquals(await found("ada@example.org"), [exact.id]);
        assertEquals(await found("user4242@example.com"), sorted(longer.id, huge.id, tail.id));
      });

      await t.step("the plan reads the words index, not the trigrams", async () => {
        await db.sql`
          INSERT INTO job (type, payload, created_at, updated_at, scheduled_for)
          SELECT 'email', jsonb_build_object('to', 'user' || i || '@example.com'), now(), now(), now()
          FROM generate_series(1, 4000) AS i`;
        await indexSearchTail(db.sql);
        await db.sql`VACUUM ANALYZE job_search`;
        assertEquals((await found("user3999@example.com")).length, 1);
        const plan = await db.sql.begin(async (tx) => {
          await tx`SET LOCAL enable_seqscan = off`;
          const words = await searchWords(tx, "user3999@example.com");
          const r = await tx<{ "QUERY PLAN": string }[]>`
            EXPLAIN SELECT job_id FROM job_search
            WHERE jobq_search_words(body) @@ ${words}::tsquery`;
          return r.map((x) => x["QUERY PLAN"]).join("\n");
        });
        assert(plan.includes("job_search_words_idx"), plan);
      });
    } finally {
      await db.drop();
    }
  },
});
