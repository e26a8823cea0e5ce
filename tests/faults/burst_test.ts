/**
 * A burst of 5,000 enqueues while 3 worker processes drain (CI size; the
 * 50,000-job burst is in tests/soak/).
 */
import * as jobs from "../../lib/queue/jobs.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { createTestDb } from "../_helpers/db.ts";
import { insertJob } from "../_helpers/factory.ts";
import { burstScenario } from "../_helpers/fault_scenarios.ts";

Deno.test("faults: a burst of 5,000 enqueues while 3 worker processes drain: no deadlock, no double claim", async () => {
  await burstScenario("burst (CI)", {
    jobs: 5000,
    command: "deno test -A tests/faults/burst_test.ts",
  });
});

Deno.test("faults: lease renewal skips a row its holder is writing instead of waiting (no renew/complete deadlock)", async () => {
  const db = await createTestDb();
  try {
    const a = await insertJob(db.sql, { status: "processing", locked_by: "w/1" });
    const b = await insertJob(db.sql, { status: "processing", locked_by: "w/1" });
    // The runner's completion holds `b` (as completeMany does mid-statement) ...
    const tx = await db.sql.reserve();
    try {
      await tx`BEGIN`;
      await tx`SELECT id FROM job WHERE id = ${b.id} FOR UPDATE`;
      // ... and the supervisor's renewal goes on without it, at once.
      const renewed = await jobs.extendLease(db.sql, {
        worker: "w/1",
        ids: [b.id, a.id],
        leaseSeconds: 30,
      });
      assertEquals(renewed, [a.id]);
      await tx`ROLLBACK`;
    } finally {
      tx.release();
    }
    const again = await jobs.extendLease(db.sql, {
      worker: "w/1",
      ids: [a.id, b.id],
      leaseSeconds: 30,
    });
    assertEquals(again.sort(), [a.id, b.id].sort(), "renewed once the lock is gone");
  } finally {
    await db.drop();
  }
});
