/**
 * Through PgBouncer in transaction pooling mode (Debian's 1.18, which has no
 * prepared statements in that mode) with `DATABASE_PREPARE=false`: migrations
 * from two processes at once, the single-runner locks, and the whole queue
 * path (API → worker process → timelines) with LISTEN on a direct session.
 */
import { openPool, withDatabase } from "../lib/db.ts";
import { readMigrations } from "../lib/migrate.ts";
import { evaluate } from "../lib/queue/alerts.ts";
import { exportBatches } from "../lib/queue/export.ts";
import * as jobs from "../lib/queue/jobs.ts";
import { expirePass } from "../lib/queue/expire.ts";
import {
  ALERTS_LOCK_KEY,
  EXPIRER_LOCK_KEY,
  RESCUER_LOCK_KEY,
  SCHEDULER_LOCK_KEY,
} from "../lib/queue/lock_keys.ts";
import { rescuePass } from "../lib/queue/rescue.ts";
import { schedulerPass } from "../lib/queue/schedule_tick.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { adminUrl, createTestDb } from "./_helpers/db.ts";
import { audit, repoPath, spawnWeb, stopAll, waitFor } from "./_helpers/faults.ts";
import { startPgBouncer } from "./_helpers/pgbouncer.ts";
import { spawnWorker } from "./_helpers/worker_proc.ts";

/** Advisory locks held on `database` right now (a leaked session lock stays here). */
async function advisoryLocks(database: string): Promise<number> {
  const admin = openPool(await adminUrl(), { max: 1 });
  try {
    const [{ n }] = await admin<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
      WHERE l.locktype = 'advisory' AND d.datname = ${database}`;
    return n;
  } finally {
    await admin.end();
  }
}

Deno.test("pgbouncer: two processes migrating one empty database at once through a transaction pooler apply each file once and leave no lock", async () => {
  const name = `jobq_test_pgb_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const admin = openPool(await adminUrl(), { max: 1 });
  await admin`CREATE DATABASE ${admin(name)}`;
  const direct = withDatabase(await adminUrl(), name);
  const bouncer = await startPgBouncer(direct);
  const sql = openPool(direct, { max: 1 });
  try {
    const env = { DATABASE_URL: bouncer.url(direct), DATABASE_PREPARE: "false", NO_COLOR: "1" };
    const run = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", repoPath("lib/migrate_cli.ts")],
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(120_000),
      }).output();
    const outs = await Promise.all([run(), run()]);
    for (const o of outs) {
      assert(o.success, `migrate failed:\n${new TextDecoder().decode(o.stderr)}`);
    }
    const files = (await readMigrations()).map((m) => m.version);
    const rows = await sql<{ version: number }[]>`SELECT version FROM schema_migrations ORDER BY 1`;
    assertEquals(rows.map((r) => r.version), files);
    assertEquals(await advisoryLocks(name), 0);
  } finally {
    await sql.end();
    await bouncer.stop();
    await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
    await admin.end();
  }
});

Deno.test("pgbouncer: the single-runner passes (scheduler, alerts, rescuer, expirer) skip while another client holds their lock, and leave no lock behind", async () => {
  const db = await createTestDb();
  const bouncer = await startPgBouncer(db.url, { poolSize: 3 });
  const holder = openPool(bouncer.url(db.url), { max: 1, prepare: false });
  const other = openPool(bouncer.url(db.url), { max: 4, prepare: false });
  const passes = {
    [SCHEDULER_LOCK_KEY]: async () => (await schedulerPass(other)).ran,
    [ALERTS_LOCK_KEY]: async () => (await evaluate(other)).ran,
    [RESCUER_LOCK_KEY]: async () => (await rescuePass(other, { staleSeconds: 60 })).ran,
    [EXPIRER_LOCK_KEY]: async () => (await expirePass(other)).ran,
  };
  try {
    for (const [key, pass] of Object.entries(passes)) {
      const held = Promise.withResolvers<void>();
      const release = Promise.withResolvers<void>();
      const holding = holder.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${Number(key)})`;
        held.resolve();
        await release.promise;
      });
      await held.promise;
      // Several passes, so they reach more than one server session of the pool.
      const whileHeld = await Promise.all([pass(), pass(), pass()]);
      release.resolve();
      await holding;
      assertEquals([key, whileHeld], [key, [false, false, false]]);
      assertEquals([key, await pass()], [key, true]);
      assertEquals([key, await advisoryLocks(db.name)], [key, 0]);
    }
  } finally {
    await holder.end();
    await other.end();
    await bouncer.stop();
    await db.drop();
  }
});

Deno.test("pgbouncer: jobs enqueued through the API are each completed once by a worker process through the pooler, with their timelines", async () => {
  const db = await createTestDb();
  const bouncer = await startPgBouncer(db.url);
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-pgb-" });
  const pooled = bouncer.url(db.url);
  const env = { DATABASE_PREPARE: "false", DATABASE_LISTEN_URL: db.url, DATA_DIR: dataDir };
  const web = await spawnWeb(pooled, env);
  const worker = spawnWorker({ ...env, DATABASE_URL: pooled, WORKER_CONCURRENCY: "4" });
  try {
    await worker.waitForLog((l) => l.msg === "worker.started", 180_000, "worker.started");
    const COUNT = 300;
    const ids: string[] = [];
    for (let i = 0; i < COUNT; i += 100) {
      const res = await fetch(`${web.url}/api/jobs/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          jobs: Array.from({ length: 100 }, (_, k) => ({
            type: "notification",
            payload: { user_id: `u${i + k}`, channel: "push", message: "hello" },
          })),
        }),
      });
      assertEquals(res.status, 201, await res.clone().text());
      const body = await res.json() as { jobs?: { id: string }[]; items?: { id: string }[] };
      ids.push(...(body.jobs ?? body.items ?? []).map((j) => j.id));
    }
    assertEquals(ids.length, COUNT);
    await waitFor(async () => {
      const [{ n }] = await db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM job WHERE status = 'completed'`;
      return n === COUNT;
    }, { timeoutMs: 120_000, what: `${COUNT} jobs completed` });
    const a = await audit(db.sql);
    assertEquals(
      [a.total, a.notCompleted, a.duplicateCompletions, a.rerun, a.staleLeases],
      [COUNT, 0, 0, 0, 0],
    );
    const timelines = await db.sql<{ kinds: string[] }[]>`
      SELECT array_agg(kind ORDER BY id) AS kinds FROM job_timeline GROUP BY job_id`;
    assertEquals(timelines.length, COUNT);
    for (const t of timelines) assertEquals(t.kinds, ["created", "claimed", "completed"]);
    const one = await (await fetch(`${web.url}/api/jobs/${ids[0]}`)).json() as {
      status: string;
      events: { kind: string }[];
    };
    assertEquals([one.status, one.events.map((e) => e.kind)], [
      "completed",
      ["created", "claimed", "completed"],
    ]);
    assertEquals(worker.lines.filter((l) => l.msg === "worker.listen_unavailable").length, 0);
  } finally {
    await stopAll([worker, web]);
    await bouncer.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("pgbouncer: an export's cursor reads every row in order through the pooler while other clients' transactions share its server sessions", async () => {
  const db = await createTestDb();
  const bouncer = await startPgBouncer(db.url, { poolSize: 2 });
  const exporter = openPool(bouncer.url(db.url), { max: 1, prepare: false });
  const others = openPool(bouncer.url(db.url), { max: 4, prepare: false });
  try {
    const COUNT = 1200;
    await jobs.enqueueBatch(db.sql, {
      jobs: Array.from({ length: COUNT }, (_, n) => ({ type: "report", payload: { n } })),
    });
    const seen: string[] = [];
    let between = 0;
    for await (
      const batch of exportBatches(exporter, { sort: "created_at", order: "asc" }, {
        batchRows: 100,
      })
    ) {
      seen.push(...batch.map((j) => j.id));
      // Between two batches, others run statements through the same PgBouncer.
      await Promise.all([1, 2, 3].map((i) => others`SELECT ${i}::int AS v`));
      between++;
    }
    const ids = await db.sql<{ id: string }[]>`SELECT id FROM job ORDER BY created_at, id`;
    assertEquals(seen, ids.map((r) => r.id));
    assert(between >= COUNT / 100, `${between} batches`);
  } finally {
    await exporter.end();
    await others.end();
    await bouncer.stop();
    await db.drop();
  }
});
