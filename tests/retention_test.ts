/**
 * Retention per state: RETAIN_COMPLETED (7d), RETAIN_FAILED (30d) and
 * RETAIN_CANCELLED (7d), 0 = forever, pruned by the worker processes' pruner
 * (on by default) and by `deno task prune`; the jobs page says what it is.
 */
import { describeAge, describeRetention, parseConfig, retentionOf } from "../lib/config.ts";
import { prune } from "../lib/queue/prune.ts";
import type { JobStatus } from "../lib/queue/types.ts";
import { PrunerService } from "../worker/services/pruner.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_helpers/assert.ts";
import { withApp } from "./_helpers/app.ts";
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";

const DAY = 86_400_000;
const NOW = new Date("2026-01-15T12:00:00.000Z");

/** One job per finished state and age (days), plus a pending one that old; ids by `status/age`. */
async function arrange(db: TestDb, ages: number[], base = NOW): Promise<Record<string, string>> {
  await db.sql`DELETE FROM job_event`;
  await db.sql`DELETE FROM job`;
  const ids: Record<string, string> = {};
  for (const age of ages) {
    for (const status of ["completed", "failed", "cancelled", "pending"] as JobStatus[]) {
      const job = await insertJob(db.sql, {
        status,
        created_at: new Date(base.getTime() - age * DAY),
      });
      ids[`${status}/${age}`] = job.id;
    }
  }
  return ids;
}

async function left(db: TestDb, ids: Record<string, string>): Promise<string[]> {
  const rows = await db.sql<{ id: string }[]>`SELECT id FROM job`;
  const have = new Set(rows.map((r) => r.id));
  return Object.entries(ids).filter(([, id]) => have.has(id)).map(([k]) => k).sort();
}

Deno.test("config: retention values, their defaults and their sentence", () => {
  const d = parseConfig({});
  assertEquals(retentionOf(d), { completed: 7 * DAY, failed: 30 * DAY, cancelled: 7 * DAY });
  assertEquals(
    describeRetention(d),
    "Completed jobs are kept 7 days, failed 30 days, cancelled 7 days.",
  );
  const c = parseConfig({ RETAIN_COMPLETED: "12h", RETAIN_FAILED: "1d", RETAIN_CANCELLED: "0" });
  assertEquals(
    describeRetention(c),
    "Completed jobs are kept 12 hours, failed 1 day, cancelled forever.",
  );
  assertEquals([describeAge(90 * 60_000), describeAge(60_000)], ["90 minutes", "1 minute"]);
  let message = "";
  try {
    parseConfig({ RETAIN_FAILED: "30 days" });
  } catch (err) {
    message = (err as Error).message;
  }
  assertMatch(message, /^RETAIN_FAILED: expected an age like 7d, 12h or 90m, or 0 to keep forever/);
});

Deno.test("retention in the queue core and the pruner service", async (t) => {
  const db = await createTestDb();
  try {
    await t.step(
      "prune with per-state retention deletes exactly what is past its state's",
      async () => {
        const ids = await arrange(db, [5, 10, 40]);
        const retain = { completed: 7 * DAY, failed: 30 * DAY, cancelled: 0 };
        const dry = await prune(db.sql, { retain, now: NOW, dryRun: true });
        assertEquals([dry.jobs, dry.events, dry.batches], [3, 3, 0]);
        assertEquals(dry.cutoff, null);
        assertEquals(dry.cutoffs.cancelled, null);
        assertEquals(
          dry.cutoffs.completed?.toISOString(),
          new Date(NOW.getTime() - 7 * DAY).toISOString(),
        );

        const r = await prune(db.sql, { retain, now: NOW, batchSize: 1 });
        assertEquals([r.jobs, r.events, r.artifacts, r.stopped], [3, 3, 0, false]);
        assertEquals(await left(db, ids), [
          "cancelled/10",
          "cancelled/40",
          "cancelled/5",
          "completed/5",
          "failed/10",
          "failed/5",
          "pending/10",
          "pending/40",
          "pending/5",
        ]);
        const again = await prune(db.sql, { retain, now: NOW });
        assertEquals(again.jobs, 0);
      },
    );

    await t.step(
      "all states kept forever: nothing is deleted; the service does not start",
      async () => {
        const ids = await arrange(db, [400]);
        const forever = { completed: 0, failed: 0, cancelled: 0 };
        const r = await prune(db.sql, { retain: forever, now: NOW });
        assertEquals(r.jobs, 0);
        assertEquals((await left(db, ids)).length, 4);
        const svc = new PrunerService({ sql: db.sql, worker: "w", retain: forever });
        svc.start();
        assertEquals(svc.running, false);
        await svc.stop();
      },
    );

    await t.step(
      "the service with the default configuration prunes by the database clock",
      async () => {
        const ids = await arrange(db, [8, 31], new Date());
        const svc = new PrunerService({
          sql: db.sql,
          worker: "w",
          retain: retentionOf(parseConfig({})),
          firstDelayMs: 3_600_000,
        });
        svc.start();
        try {
          assertEquals(svc.running, true);
          const r = await svc.runNow();
          assertEquals(r?.jobs, 5);
        } finally {
          await svc.stop();
        }
        assertEquals(await left(db, ids), ["failed/8", "pending/31", "pending/8"]);
      },
    );
  } finally {
    await db.drop();
  }
});

Deno.test("deno task prune without --older-than applies RETAIN_*", async () => {
  const db = await createTestDb();
  try {
    const ids = await arrange(db, [2, 20], new Date());
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "prune"],
      cwd: new URL("../", import.meta.url),
      env: {
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
        LOG_LEVEL: "warn",
        DATABASE_URL: db.url,
        TEST_DATABASE_URL: "",
        RETAIN_COMPLETED: "1d",
        RETAIN_FAILED: "0",
        RETAIN_CANCELLED: "30d",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertMatch(stdout, /^deleted 2 finished jobs, 2 events and 0 artifacts past their retention/m);
    assertStringIncludes(stdout, "completed: kept 1 day");
    assert(!stdout.includes("failed: kept"), "failed jobs are kept forever");
    assertEquals(await left(db, ids), [
      "cancelled/2",
      "cancelled/20",
      "failed/2",
      "failed/20",
      "pending/2",
      "pending/20",
    ]);
  } finally {
    await db.drop();
  }
});

Deno.test("the jobs page says what the retention is", async () => {
  await withApp(async (app) => {
    const html = await (await app.call("/jobs")).text();
    assertStringIncludes(html, "Completed jobs are kept 7 days, failed 30 days, cancelled 7 days.");
  });
  await withApp(async (app) => {
    const html = await (await app.call("/jobs")).text();
    assertStringIncludes(
      html,
      "Completed jobs are kept forever, failed 12 hours, cancelled 7 days.",
    );
  }, { RETAIN_COMPLETED: "0", RETAIN_FAILED: "12h" });
});
