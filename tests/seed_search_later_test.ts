/**
 * A seed that leaves its search rows to the indexer (`indexSearch: false`,
 * what `deno task seed` does without `--index-search`): searches find the
 * seeded jobs at once through the tail, and the same ones after indexing.
 */
import { list } from "../lib/queue/list.ts";
import { indexSearchTail } from "../lib/queue/search_index.ts";
import { seed } from "../lib/queue/seed.ts";
import { createTestDb } from "./_helpers/db.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";

Deno.test("seed: search rows left to the indexer, searches exact before and after", async () => {
  const db = await createTestDb({ max: 4 });
  const sql = db.sql;
  try {
    await seed(sql, {
      count: 1_200,
      spreadDays: 7,
      chunk: 400,
      connections: 2,
      indexSearch: false,
    });
    const [{ tail, indexed }] = await sql<{ tail: number; indexed: number }[]>`
      SELECT (SELECT coalesce(sum(cardinality(job_ids)), 0)::int FROM job_search_tail) AS tail,
             (SELECT count(*)::int FROM job_search) AS indexed`;
    assertEquals(tail, 1_200, "every seeded job waits in the tail");
    assertEquals(indexed, 0);

    // A value of one seeded job's payload, searched for while unindexed.
    const [{ id, value }] = await sql<{ id: string; value: string }[]>`
      SELECT id, payload->>'to' AS value FROM job WHERE payload ? 'to' ORDER BY id LIMIT 1`;
    const [{ expected }] = await sql<{ expected: number }[]>`
      SELECT count(*)::int AS expected FROM job
      WHERE jobq_search_text(payload) ILIKE ${"%" + value + "%"}
         OR queue ILIKE ${"%" + value + "%"}`;
    const before = await list(sql, { q: value, limit: 100 });
    assert(before.items.some((j) => j.id === id), "the job is found before indexing");
    assertEquals(before.total, expected);

    assertEquals(await indexSearchTail(sql), 1_200);
    const after = await list(sql, { q: value, limit: 100 });
    assertEquals(after.total, expected);
    assertEquals(after.items.map((j) => j.id).sort(), before.items.map((j) => j.id).sort());
  } finally {
    await db.drop();
  }
});
