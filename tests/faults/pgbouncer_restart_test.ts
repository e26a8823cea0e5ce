/**
 * PgBouncer (transaction mode, `DATABASE_PREPARE=false`) killed and started
 * again twice while two worker processes drain through it, LISTEN on a direct
 * session: every client and server connection it held drops at once, in the
 * middle of claims and completions. Nothing is lost, nothing completes twice,
 * nothing stays stuck in processing.
 */
import { assertEquals } from "../_helpers/assert.ts";
import { createTestDb } from "../_helpers/db.ts";
import {
  audit,
  enqueueWork,
  report,
  spawnWorker,
  statusCounts,
  stopAll,
  waitFor,
} from "../_helpers/faults.ts";
import { startPgBouncer } from "../_helpers/pgbouncer.ts";

Deno.test("faults: PgBouncer killed and restarted twice mid-drain: every job completed once, none stuck", async () => {
  const db = await createTestDb();
  const bouncer = await startPgBouncer(db.url);
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-pgb-restart-" });
  const env = { DATABASE_PREPARE: "false", DATABASE_LISTEN_URL: db.url };
  const workers = [];
  try {
    for (let i = 0; i < 2; i++) {
      workers.push(await spawnWorker(bouncer.url(db.url), dataDir, { env }));
    }
    const COUNT = 2000;
    await enqueueWork(db.sql, { count: COUNT, ms: 10 });
    const completed = async () => (await statusCounts(db.sql)).completed;
    for (const at of [COUNT / 5, COUNT / 2]) {
      await waitFor(async () => (await completed()) >= at, {
        timeoutMs: 120_000,
        what: `${at} jobs completed`,
      });
      await bouncer.kill();
      // Down long enough for every worker service to notice and retry.
      await new Promise((r) => setTimeout(r, 1500));
      await bouncer.restart();
    }
    await waitFor(async () => (await completed()) === COUNT, {
      timeoutMs: 180_000,
      what: `all ${COUNT} jobs completed`,
    });
    const a = await audit(db.sql);
    await report("pgbouncer restart x2 (CI)", {
      jobs: COUNT,
      rerun: a.rerun,
      released: a.releasedEvents,
      command: "deno test -A tests/faults/pgbouncer_restart_test.ts",
    });
    assertEquals(a.notCompleted, 0, "every job completed");
    assertEquals(a.duplicateCompletions, 0, "no job recorded completed twice");
    assertEquals(a.unexplainedReruns, 0, "every re-run follows a rescue or give-back");
    assertEquals(a.staleLeases, 0, "no job processing past its lease");
    assertEquals(a.failedEvents, 0, "no attempt counted as failed");
    assertEquals(workers.filter((w) => w.exited()).length, 0, "both workers survived");
  } finally {
    await stopAll(workers);
    await bouncer.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
