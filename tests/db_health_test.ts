/**
 * Database health (`lib/queue/health.ts`, `GET /api/health/db`, `/health`)
 * against the real catalog: every section, every table of the schema (new
 * ones too), a transaction held open in another connection as the oldest
 * with its level by the thresholds given, dead tuples after an update and
 * delete burst once the statistics are flushed, pg_stat_statements absent
 * (and, where the server has it, installed), the page without JavaScript,
 * and /healthz and /readyz unchanged.
 */
import { health, jobs } from "../lib/queue/mod.ts";
import { dbHealthResponse } from "../lib/health_schema.ts";
import { openPool } from "../lib/db.ts";
import { ensureEmbedded, PROJECT_ROOT, stopEmbedded } from "../lib/embedded_pg.ts";
import { join } from "node:path";
import { setLogLevel } from "../lib/log.ts";
import { openApp } from "./_helpers/app.ts";
import { bodyJson } from "./_helpers/api_server.ts";
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { $, $$, parse, text } from "./_helpers/html.ts";

const EMAIL = { to: "ada@example.com", subject: "Hello", body: "Hi Ada" };
type Health = health.DbHealth;

Deno.test("db health: sections, tables, open transactions, dead tuples, statements, page", async (t) => {
  const app = await openApp();
  const sql = app.db.sql;
  try {
    await t.step("the JSON has every section and matches its documented schema", async () => {
      const res = await app.call("/api/health/db");
      assertEquals(res.status, 200);
      const body = await bodyJson<Record<string, unknown>>(res);
      dbHealthResponse.parse(body);
      for (const key of ["database", "connections", "vacuum", "tables", "indexes", "statements"]) {
        assert(key in body, `section ${key}`);
      }
      const h = body as unknown as Health;
      const job = h.tables.find((x) => x.name === "job");
      assert(job, "job is listed");
      assert(job.size.value > 0, `job size ${job.size.value}`);
      assert(job.index_bytes > 0, "job has indexes");
      assert(h.database.size.value > 0);
      assert(h.connections.in_use.value >= 1 && h.connections.available > 0);
      assertEquals(h.connections.in_use.level, "ok");
      for (const fig of [h.database.size, h.database.xid_age, h.connections.in_use, job.size]) {
        assert(["ok", "warn", "bad"].includes(fig.level));
        assert(fig.meaning.length > 10 && !fig.meaning.includes("\n"), fig.meaning);
      }
      assert(h.indexes.some((i) => i.table === "job" && i.name === "job_pkey" && i.unique));
      assertEquals(h.vacuum.replication_slots.length >= 0, true);
      assertEquals(h.thresholds.xact_warn_seconds, health.THRESHOLDS.xact_warn_seconds);
    });

    await t.step("tables come from the schema: every one, and one added later", async () => {
      await sql`CREATE TABLE alert_probe (id int PRIMARY KEY, note text)`;
      await sql`INSERT INTO alert_probe SELECT g, 'n' FROM generate_series(1, 10) g`;
      const names = (await sql<{ tablename: string }[]>`
        SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
        .map((r) => r.tablename).sort();
      const h = await health.read(sql);
      assertEquals(h.tables.map((x) => x.name).sort(), names);
      for (
        const n of ["job", "job_event", "worker", "queue", "schedule", "audit", "job_artifact"]
      ) {
        assert(names.includes(n), n);
      }
      assert(h.tables.some((x) => x.name === "alert_probe" && x.size.value > 0));
      assert(h.indexes.some((i) => i.name === "alert_probe_pkey"));
      const sizes = h.tables.map((x) => x.size.value);
      assertEquals(sizes, [...sizes].sort((a, b) => b - a), "largest first");
      await sql`DROP TABLE alert_probe`;
    });

    await t.step(
      "a transaction held open elsewhere is the oldest, coloured by the thresholds",
      async () => {
        const before = await health.read(sql);
        assertEquals(before.vacuum.oldest_transaction.value, null);
        assertEquals(before.vacuum.oldest_transaction.level, "ok");
        const holderPool = openPool(app.db.url, { max: 1, name: "health-test-holder" });
        const holder = await holderPool.reserve();
        try {
          await holder`BEGIN ISOLATION LEVEL REPEATABLE READ`;
          const [{ pid }] = await holder<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
          const [{ start }] = await holder<{ start: Date }[]>`SELECT now() AS start`;

          const h = await health.read(sql);
          const oldest = h.vacuum.oldest_transaction;
          assert(oldest.value, "an open transaction");
          assertEquals(oldest.value.pid, pid);
          assertEquals(oldest.value.application_name, "health-test-holder");
          assertEquals(oldest.value.state, "idle in transaction");
          assertEquals(new Date(oldest.value.xact_start).getTime(), start.getTime());
          assert(oldest.value.age_seconds >= 0 && oldest.value.age_seconds < 600);
          assert(oldest.value.xmin_age !== null, "its snapshot holds an xmin");
          assertMatch(oldest.value.query, /SELECT now\(\) AS start/);
          assertEquals(oldest.level, "ok", "seconds old: under the default 5 min");
          assertMatch(oldest.meaning, /^open for \d+ s \(idle in transaction\)/);
          assertEquals(
            h.vacuum.horizon.value.holder,
            `transaction of pid ${pid} (health-test-holder)`,
          );

          // Thresholds as parameters: zero seconds makes it warn, then bad.
          const warn = await health.read(sql, { thresholds: { xact_warn_seconds: 0 } });
          assertEquals(warn.vacuum.oldest_transaction.level, "warn");
          const bad = await health.read(sql, {
            thresholds: { xact_warn_seconds: 0, xact_bad_seconds: 0 },
          });
          assertEquals(bad.vacuum.oldest_transaction.level, "bad");
          assertEquals(health.summary(bad).level, "bad");
          // A fixed clock: ten minutes later it warns, two hours later it is bad.
          const later = (s: number) => new Date(start.getTime() + s * 1000);
          const tenMin = await health.read(sql, { now: later(600) });
          assertEquals(tenMin.vacuum.oldest_transaction.level, "warn");
          assert(Math.abs(tenMin.vacuum.oldest_transaction.value!.age_seconds - 600) < 1);
          assertMatch(tenMin.vacuum.oldest_transaction.meaning, /^open for 10 min/);
          const twoHours = await health.read(sql, { now: later(7200) });
          assertEquals(twoHours.vacuum.oldest_transaction.level, "bad");

          // The API and the page show it too.
          const api = await bodyJson<Health>(await app.call("/api/health/db"));
          assertEquals(api.vacuum.oldest_transaction.value?.pid, pid);
          const doc = parse(await (await app.call("/health")).text());
          const row = $(doc, `#vacuum tr[data-pid="${pid}"]`);
          assertMatch(text(row), /health-test-holder/);
          assertEquals($(row, '[data-cell="age"] [data-level]').getAttribute("data-level"), "ok");
          assertMatch(
            text($(doc, '[data-figure="oldest-transaction"] [data-meaning]')),
            /open for/,
          );
        } finally {
          await holder`ROLLBACK`;
          holder.release();
          await holderPool.end();
        }
        const after = await health.read(sql);
        assertEquals(after.vacuum.oldest_transaction.value, null);
      },
    );

    await t.step(
      "a replication slot shows with the WAL it keeps, coloured by the thresholds",
      async () => {
        // A temporary slot: dropped when its session ends, whatever happens to this test.
        const name = `jobq_health_${crypto.randomUUID().slice(0, 8)}`;
        const slotPool = openPool(app.db.url, { max: 1, name: "health-test-slot" });
        try {
          await slotPool`SELECT pg_create_physical_replication_slot(${name}, true, true)`;
          const slotOf = (h: Health) =>
            h.vacuum.replication_slots.find((x) => x.slot_name === name);
          const h = await health.read(sql);
          const slot = slotOf(h);
          assert(slot, `slot ${name} listed`);
          assertEquals(slot.slot_type, "physical");
          assertEquals(slot.active, true);
          assert(slot.retained_wal.value !== null && slot.retained_wal.value >= 0);
          assertMatch(slot.retained_wal.meaning, /^active: keeps .* of WAL on disk/);
          const warn = await health.read(sql, { thresholds: { slot_wal_warn_bytes: -1 } });
          assertEquals(slotOf(warn)!.retained_wal.level, "warn");
          const bad = await health.read(sql, {
            thresholds: { slot_wal_warn_bytes: -1, slot_wal_bad_bytes: -1 },
          });
          assertEquals(slotOf(bad)!.retained_wal.level, "bad");
          const doc = parse(await (await app.call("/health")).text());
          assert($(doc, `#vacuum tr[data-slot="${name}"] [data-cell="retained"] [data-level]`));
        } finally {
          await slotPool.end();
        }
      },
    );

    await t.step(
      "dead tuples after an update and delete burst, once the statistics are flushed",
      async () => {
        // Autovacuum off for this database's job table: it must not clean up between burst and read.
        await sql`ALTER TABLE job SET (autovacuum_enabled = off)`;
        await jobs.enqueueBatch(sql, {
          jobs: Array.from({ length: 1000 }, () => ({ type: "email", payload: EMAIL })),
        });
        const conn = await sql.reserve();
        try {
          await conn`SELECT pg_stat_force_next_flush()`;
          const before = (await health.read(sql)).tables.find((x) => x.name === "job")!;
          assert(before.live_tuples >= 1000, `live ${before.live_tuples}`);
          assert(before.dead_tuples.value < 1000, `dead before ${before.dead_tuples.value}`);
          // One transaction: no page is pruned between the update and the delete.
          await conn`BEGIN`;
          await conn`UPDATE job SET priority = 2`;
          await conn`DELETE FROM job WHERE id IN (SELECT id FROM job ORDER BY id LIMIT 500)`;
          await conn`COMMIT`;
          // Stats of this backend are reported when it next goes idle: right after this statement.
          await conn`SELECT pg_stat_force_next_flush()`;
        } finally {
          conn.release();
        }
        const job = (await health.read(sql)).tables.find((x) => x.name === "job")!;
        assert(job.dead_tuples.value >= 1500, `dead after ${job.dead_tuples.value}`);
        assertEquals(job.dead_tuples.level, "bad", job.dead_tuples.meaning);
        assertMatch(job.dead_tuples.meaning, /% of live/);
        assertEquals(job.last_vacuum.level, "warn");
        const relaxed = await health.read(sql, {
          thresholds: { dead_warn_ratio: 100, dead_bad_ratio: 200 },
        });
        assertEquals(relaxed.tables.find((x) => x.name === "job")!.dead_tuples.level, "ok");
        const doc = parse(await (await app.call("/health")).text());
        const cell = $(doc, 'tr[data-table="job"] [data-cell="dead"] [data-level]');
        assertEquals(cell.getAttribute("data-level"), "bad");
        assertMatch(cell.getAttribute("title") ?? "", /not yet vacuumed/);
      },
    );

    await t.step("pg_stat_statements absent: not installed, and how to enable it", async () => {
      const h = await health.read(sql);
      assertEquals(h.statements.state, "not_installed");
      assertEquals(h.statements.items, []);
      assertMatch(h.statements.message, /^pg_stat_statements not installed: /);
      assertMatch(h.statements.message, /shared_preload_libraries/);
      assertMatch(h.statements.message, /CREATE EXTENSION pg_stat_statements/);
      const doc = parse(await (await app.call("/health")).text());
      assertEquals($(doc, "#statements [data-state]").getAttribute("data-state"), "not_installed");
      assertEquals(
        $(doc, '[data-figure="statements"] [data-level]').getAttribute("data-level"),
        "ok",
        "not installed is a choice, not a fault",
      );
      assertMatch(text($(doc, "#statements")), /pg_stat_statements not installed/);
    });

    await t.step("pg_stat_statements installed: listed when loaded, else unreadable", async () => {
      const [{ available }] = await sql<{ available: boolean }[]>`
        SELECT exists(SELECT FROM pg_available_extensions WHERE name = 'pg_stat_statements')
          AS available`;
      if (!available) {
        // This server ships without contrib: the not-installed state above is all there is.
        console.log("pg_stat_statements is not available on this server");
        return;
      }
      await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
      try {
        const [{ preload }] = await sql<{ preload: string }[]>`
          SELECT current_setting('shared_preload_libraries') AS preload`;
        const h = await health.read(sql, { sort: "total" });
        assertEquals(h.statements.sort, "total");
        if (/pg_stat_statements/.test(preload)) {
          assertEquals(h.statements.state, "ok", h.statements.message);
          assert(h.statements.items.length > 0 && h.statements.items.length <= 10);
          const totals = h.statements.items.map((s) => s.total_exec_time);
          assertEquals(totals, [...totals].sort((a, b) => b - a), "by total time");
        } else {
          // Installed but not loaded: reading the view fails; the rest of the answer stands.
          assertEquals(h.statements.state, "unreadable");
          assertEquals(health.statementsLevel(h.statements), "warn");
          assertMatch(h.statements.message, /shared_preload_libraries/);
          assert(h.tables.length > 0);
        }
        dbHealthResponse.parse(await bodyJson(await app.call("/api/health/db?sort=total")));
      } finally {
        await sql`DROP EXTENSION IF EXISTS pg_stat_statements`;
      }
    });

    await t.step("the query is strict: sort is mean or total, nothing else", async () => {
      for (const q of ["sort=slowest", "sort=", "limit=5"]) {
        const res = await app.call(`/api/health/db?${q}`);
        assertEquals(res.status, 422, q);
        const body = await bodyJson<{ error: { code: string } }>(res);
        assertEquals(body.error.code, "validation_failed");
      }
      const head = await app.call("/api/health/db", { method: "HEAD" });
      assertEquals(head.status, 200);
      assertEquals(await head.text(), "");
    });

    await t.step(
      "/health without JavaScript: every section, a badge and a meaning per figure",
      async () => {
        const res = await app.call("/health");
        assertEquals(res.status, 200);
        const doc = parse(await res.text());
        assert($(doc, 'nav a[href="/health"][aria-current="page"]'));
        for (const id of ["overview", "vacuum", "tables", "indexes", "statements"]) {
          assert($(doc, `#${id}`), id);
        }
        const tiles = $$(doc, "#overview [data-figure]");
        assertEquals(tiles.length, 6);
        for (const tile of tiles) {
          assert($(tile, "[data-level]"));
          assert(text($(tile, "[data-meaning]")).length > 10);
        }
        const job = $(doc, 'tr[data-table="job"]');
        for (const cell of ["size", "dead", "vacuumed", "analyzed"]) {
          const badge = $(job, `[data-cell="${cell}"] [data-level]`);
          assert(badge.getAttribute("title"), `${cell} has its meaning`);
        }
        assert($$(doc, "#tables dl dt").length >= 5, "the columns' legend");
        assert($(doc, 'tr[data-index="job_pkey"]'));
        assert($(doc, '[data-live="health-tables"]'));
        assert($(doc, '[data-island="LiveRegion"]'));
        const total = await app.call("/health?sort=total");
        assertMatch(await total.text(), /aria-current="true"[^>]*>by total time|by total time/);
      },
    );

    await t.step("/healthz and /readyz are unchanged", async () => {
      const live = await app.call("/healthz");
      assertEquals(live.status, 200);
      assertEquals(await live.json(), { status: "ok" });
      const ready = await app.call("/readyz");
      assertEquals(ready.status, 200);
      assertEquals((await ready.json()).status, "ready");
    });
  } finally {
    await app.close();
  }
});

Deno.test("db health: statement figures — levels, one-line query, share of the time", () => {
  const t = health.thresholdsWith();
  const rows: health.StatementRow[] = [
    {
      queryid: "1",
      query: "SELECT *\n   FROM job\n  WHERE id = $1",
      calls: 10,
      total_exec_time: 500,
      mean_exec_time: 50,
      rows: 10,
    },
    {
      queryid: "2",
      query: "UPDATE job SET x = $1 " + "AND y ".repeat(100),
      calls: 2,
      total_exec_time: 300,
      mean_exec_time: 150,
      rows: 2,
    },
    {
      queryid: null,
      query: "VACUUM",
      calls: 1,
      total_exec_time: 2000,
      mean_exec_time: 2000,
      rows: 0,
    },
  ];
  const out = health.statementFigures(rows, t);
  assertEquals(out.map((s) => s.mean_exec_time.level), ["ok", "warn", "bad"]);
  assertEquals(out[0].query, "SELECT * FROM job WHERE id = $1");
  assertEquals(out[1].query.length, health.QUERY_MAX);
  assert(out[1].query.endsWith("…"));
  assertEquals(out.map((s) => s.share), [500 / 2800, 300 / 2800, 2000 / 2800]);
  assertMatch(out[1].mean_exec_time.meaning, /^150\.0 ms per call over 2 calls/);
  assertEquals(health.statementFigures([], t), []);
  assertEquals(health.above(null, 1, 2), "ok");
  assertEquals(health.above(Infinity, 1, 2), "bad");
  assertEquals(health.worst("ok", "bad", "warn"), "bad");
  assertEquals(health.bytes(1536), "1.5 KiB");
  assertEquals(health.seconds(7260), "2 h 1 min");
});

Deno.test("db health: pg_stat_statements loaded (a private embedded server) lists the slowest statements", async () => {
  // A server of its own, restarted with the library preloaded: the machine's shared
  // server has it in neither shared_preload_libraries nor can it be restarted by a test.
  setLogLevel("error");
  const dataRoot = join(PROJECT_ROOT, ".data", `health-pgss-${crypto.randomUUID().slice(0, 8)}`);
  try {
    const first = await ensureEmbedded({ dataRoot, port: await freePort() });
    const admin = openPool(first.url, { max: 1 });
    await admin`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`;
    await admin.end();
    await stopEmbedded({ dataRoot });
    const info = await ensureEmbedded({ dataRoot, port: first.port });
    const sql = openPool(info.url, { max: 2, name: "health-pgss" });
    try {
      await sql`CREATE EXTENSION pg_stat_statements`;
      for (let i = 0; i < 3; i++) await sql`SELECT pg_sleep(0.02)`;
      const h = await health.read(sql, { thresholds: { statement_warn_ms: 5 } });
      assertEquals(h.statements.state, "ok", h.statements.message);
      assertMatch(h.statements.message, /slowest statements of this database by mean/);
      const top = h.statements.items.find((s) => /pg_sleep/.test(s.query));
      assert(top, `pg_sleep among ${h.statements.items.map((s) => s.query)}`);
      assertEquals(top.calls, 3);
      assert(top.mean_exec_time.value >= 20, `mean ${top.mean_exec_time.value}`);
      assertEquals(top.mean_exec_time.level, "warn");
      const means = h.statements.items.map((s) => s.mean_exec_time.value);
      assertEquals(means, [...means].sort((a, b) => b - a), "by mean time");
      assert(h.statements.items.length <= 10);
      dbHealthResponse.parse(JSON.parse(JSON.stringify(h)));
      const byTotal = await health.read(sql, { sort: "total" });
      const totals = byTotal.statements.items.map((s) => s.total_exec_time);
      assertEquals(totals, [...totals].sort((a, b) => b - a), "by total time");
    } finally {
      await sql.end();
    }
  } finally {
    await stopEmbedded({ dataRoot });
    await Deno.remove(dataRoot, { recursive: true });
  }
});

async function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return await Promise.resolve(port);
}
