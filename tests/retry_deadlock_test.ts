/**
 * `retryDeadlock` (lib/db.ts): a transaction PostgreSQL aborts as a
 * deadlock victim is run again, and goes through once the other writer is
 * done; any other error is not retried.
 */
import { retryDeadlock } from "../lib/db.ts";
import { jobs } from "../lib/queue/mod.ts";
import { assertEquals, assertRejects } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";

Deno.test("retryDeadlock: a deadlock victim runs again and goes through", async () => {
  const db = await createTestDb({ max: 4 });
  try {
    const [a, b] = await jobs.enqueueBatch(db.sql, {
      jobs: [1, 2].map((n) => ({
        type: "email",
        payload: { to: `u${n}@example.com`, subject: "s", body: "b" },
      })),
    });
    const aLocked = Promise.withResolvers<void>();
    const bLocked = Promise.withResolvers<void>();
    // The other writer: locks a, then b; it waits long before it checks for a deadlock.
    const other = db.sql.begin(async (tx) => {
      await tx`SET LOCAL deadlock_timeout = '10s'`;
      await tx`SELECT id FROM job WHERE id = ${a.id} FOR UPDATE`;
      aLocked.resolve();
      await bLocked.promise;
      await tx`UPDATE job SET priority = 1 WHERE id = ${b.id}`;
    });
    await aLocked.promise;
    let runs = 0;
    // Locks b, then a: the first run is the deadlock's victim (it checks first).
    await retryDeadlock(() =>
      db.sql.begin(async (tx) => {
        runs++;
        await tx`SET LOCAL deadlock_timeout = '50ms'`;
        await tx`SELECT id FROM job WHERE id = ${b.id} FOR UPDATE`;
        bLocked.resolve();
        await tx`UPDATE job SET priority = 5 WHERE id = ${a.id}`;
      })
    );
    await other;
    assertEquals(runs, 2);
    const rows = await db.sql<{ id: string; priority: number }[]>`
      SELECT id, priority FROM job WHERE id IN (${a.id}, ${b.id})`;
    assertEquals(new Map(rows.map((r) => [r.id, r.priority])), new Map([[a.id, 5], [b.id, 1]]));
    let once = 0;
    await assertRejects(() =>
      retryDeadlock(async () => {
        once++;
        await db.sql`SELECT 1 / 0`;
      })
    );
    assertEquals(once, 1, "a division by zero is not retried");
  } finally {
    await db.drop();
  }
});
