/**
 * `GET /api/jobs/export`: the exact CSV and NDJSON bytes, the list's filters
 * and order over more rows than a batch, strict queries, and the cursor's
 * connection released when a client goes away or the database fails mid-stream.
 */
import { assert, assertEquals, assertRejects } from "./_helpers/assert.ts";
import { bodyJson, startApiServer } from "./_helpers/api_server.ts";
import { openApp, type TestApp } from "./_helpers/app.ts";
import { createTestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { openPool, type Sql } from "../lib/db.ts";
import { seed } from "../lib/queue/seed.ts";
import { EXPORT_BATCH_ROWS } from "../lib/queue/export.ts";
import { MAX_EXPORTS } from "../routes/api/jobs/export.ts";
import type { Job } from "../lib/queue/types.ts";

const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const iso = (s: number) => T(s).toISOString();
const DEFAULT_PAYLOAD = '"{""to"":""a@example.com"",""body"":""b"",""subject"":""s""}"';
const HEADER = "id,type,status,queue,priority,attempts,max_attempts,created_at,updated_at," +
  "scheduled_for,started_at,completed_at,error,payload,result\r\n";

/** Jobs whose cells need quoting or the formula guard, created a second apart. */
async function awkwardJobs(sql: Sql): Promise<Job[]> {
  return [
    await insertJob(sql, {
      status: "failed",
      created_at: T(1),
      error: '=HYPERLINK("http://x","y")',
      payload: { to: "ü@example.com", subject: 'say "hi", ok', body: "line1\nline2" },
    }),
    await insertJob(sql, { status: "completed", created_at: T(2), result: -5 }),
    await insertJob(sql, {
      status: "failed",
      created_at: T(3),
      error: "line one\r\nline two, with comma",
    }),
    await insertJob(sql, { status: "pending", created_at: T(4), error: "+1" }),
    await insertJob(sql, {
      status: "completed",
      created_at: T(5),
      error: "@ 日本語 ✓",
      result: { note: "=not a formula inside JSON" },
    }),
    await insertJob(sql, { status: "failed", created_at: T(6), error: "\tTAB" }),
    await insertJob(sql, { status: "failed", created_at: T(7), error: "\rCR" }),
  ];
}

/** The CSV records of {@link awkwardJobs}, written out by hand. */
function awkwardCsv(j: Job[]): string[] {
  const failed = (k: number, s: number, error: string, payload = DEFAULT_PAYLOAD) =>
    `${j[k].id},email,failed,default,3,1,3,${iso(s)},${iso(s)},${iso(s)},${iso(s)},,` +
    `${error},${payload},\r\n`;
  return [
    failed(
      0,
      1,
      `"'=HYPERLINK(""http://x"",""y"")"`,
      String
        .raw`"{""to"":""ü@example.com"",""body"":""line1\nline2"",""subject"":""say \""hi\"", ok""}"`,
    ),
    `${j[1].id},email,completed,default,3,1,3,${iso(2)},${iso(2)},${iso(2)},${iso(2)},${iso(2)},,` +
    `${DEFAULT_PAYLOAD},'-5\r\n`,
    failed(2, 3, `"line one\r\nline two, with comma"`),
    `${j[3].id},email,pending,default,3,0,3,${iso(4)},${iso(4)},${iso(4)},,,'+1,` +
    `${DEFAULT_PAYLOAD},\r\n`,
    `${j[4].id},email,completed,default,3,1,3,${iso(5)},${iso(5)},${iso(5)},${iso(5)},${iso(5)},` +
    `'@ 日本語 ✓,${DEFAULT_PAYLOAD},"{""note"":""=not a formula inside JSON""}"\r\n`,
    failed(5, 6, "'\tTAB"),
    failed(6, 7, `"'\rCR"`),
  ];
}

/** The whole list for `search` (with `limit`/`offset` added), page by page: the reference order. */
async function listAll(s: TestApp, search: string): Promise<Job[]> {
  const out: Job[] = [];
  for (let offset = 0;; offset += 100) {
    const res = await s.call(`/api/jobs?${search}${search ? "&" : ""}limit=100&offset=${offset}`);
    assertEquals(res.status, 200);
    const page = await bodyJson<{ items: Job[]; total: number }>(res);
    out.push(...page.items);
    if (page.items.length < 100) return out;
  }
}

function idsOfCsv(text: string): string[] {
  // Seeded cells hold no line breaks: one record a line.
  return text.split("\r\n").slice(1, -1).map((line) => line.slice(0, 36));
}

/** Polls until no backend of the database but ours is inside a statement or transaction. */
async function settled(probe: Sql): Promise<{ state: string; query: string }[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const busy = await probe<{ state: string; query: string }[]>`
      SELECT state, query FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid()
        AND (state <> 'idle' OR backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)`;
    if (busy.length === 0 || Date.now() > deadline) return busy;
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("export: CSV is RFC 4180 with a header row, formulas guarded, in the list's order", async () => {
  const s = await openApp();
  try {
    const j = await awkwardJobs(s.db.sql);
    const res = await s.call("/api/jobs/export?format=csv&sort=created_at&order=asc");
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "text/csv; charset=utf-8");
    assert(
      /^attachment; filename="jobs-\d{8}T\d{6}Z\.csv"$/.test(
        res.headers.get("content-disposition")!,
      ),
      res.headers.get("content-disposition")!,
    );
    assertEquals(res.headers.get("cache-control"), "no-store");
    const expected = awkwardCsv(j);
    assertEquals(await res.text(), HEADER + expected.join(""));

    // Default order (newest first), filters of the list: status and text.
    const desc = await s.call("/api/jobs/export?format=csv");
    assertEquals(await desc.text(), HEADER + [...expected].reverse().join(""));
    const failed = await s.call("/api/jobs/export?format=csv&status=failed&q=%C3%BC%40");
    assertEquals(await failed.text(), HEADER + expected[0]);
    const none = await s.call("/api/jobs/export?format=csv&status=processing");
    assertEquals(await none.text(), HEADER, "nothing matches: the header alone");
  } finally {
    await s.close();
  }
});

Deno.test("export: NDJSON is one GET /api/jobs item a line", async () => {
  const s = await openApp();
  try {
    await awkwardJobs(s.db.sql);
    const res = await s.call("/api/jobs/export?format=ndjson&sort=created_at&order=asc");
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "application/x-ndjson");
    assert(/filename="jobs-\d{8}T\d{6}Z\.ndjson"/.test(res.headers.get("content-disposition")!));
    const text = await res.text();
    assert(text.endsWith("\n"));
    const items = await listAll(s, "sort=created_at&order=asc");
    assertEquals(items.length, 7);
    assertEquals(text, items.map((i) => JSON.stringify(i) + "\n").join(""));
    const none = await s.call("/api/jobs/export?format=ndjson&status=processing");
    assertEquals(await none.text(), "");
  } finally {
    await s.close();
  }
});

Deno.test("export: every matching row (more than a page and a batch), filtered and ordered as the list", async (t) => {
  const s = await openApp();
  try {
    const count = EXPORT_BATCH_ROWS * 2 + 234;
    await seed(s.db.sql, { count, spreadDays: 1 });
    await s.db.sql`UPDATE job SET queue = 'mail' WHERE priority = 5`;
    const cases = [
      "",
      "status=completed,failed&type=email,report&sort=status&order=asc",
      "priority=5,4&queue=mail,default&q=example&sort=type",
    ];
    for (const search of cases) {
      await t.step(search || "no filter", async () => {
        const expected = (await listAll(s, search)).map((j) => j.id);
        const res = await s.call(`/api/jobs/export?format=csv${search ? "&" + search : ""}`);
        assertEquals(res.status, 200);
        assertEquals(idsOfCsv(await res.text()), expected);
        const nd = await s.call(`/api/jobs/export?format=ndjson${search ? "&" + search : ""}`);
        const lines = (await nd.text()).split("\n");
        assertEquals(lines.pop(), "");
        assertEquals(lines.map((l) => JSON.parse(l).id), expected);
      });
    }
    const all = await s.call("/api/jobs/export?format=ndjson");
    assertEquals((await all.text()).split("\n").length - 1, count, "no cap");
  } finally {
    await s.close();
  }
});

Deno.test("export: a bad format, filter or paging parameter is a 422 naming it", async () => {
  const s = await openApp({ API_TOKEN: "ops:secret" }, { token: "secret" });
  try {
    const cases: [string, string][] = [
      ["", "format"],
      ["format=xml", "format"],
      ["format=csv&format=ndjson", "format"],
      ["format=csv&status=bogus", "status.0"],
      ["format=csv&type=nope", "type.0"],
      ["format=csv&priority=9", "priority.0"],
      ["format=csv&queue=Bad%20Name", "queue.0"],
      ["format=csv&sort=payload", "sort"],
      ["format=csv&order=up", "order"],
      [`format=csv&q=${"x".repeat(201)}`, "q"],
      ["format=csv&limit=10", ""],
      ["format=csv&offset=0", ""],
      ["format=csv&colour=red", ""],
    ];
    for (const [search, path] of cases) {
      for (const method of ["GET", "HEAD"]) {
        const res = await s.call(`/api/jobs/export?${search}`, { method });
        assertEquals(res.status, 422, `${method} ${search}`);
        if (method === "HEAD") continue;
        const body = await bodyJson<{ error: { issues: { path: string }[] } }>(res);
        assert(
          body.error.issues.some((i) => i.path === path),
          `${search}: ${JSON.stringify(body.error.issues)}`,
        );
      }
    }
    const anon = await s.call("/api/jobs/export?format=csv", { token: "" });
    assertEquals(anon.status, 401);
    const head = await s.call("/api/jobs/export?format=csv", { method: "HEAD" });
    assertEquals(head.status, 200);
    assertEquals(head.headers.get("content-type"), "text/csv; charset=utf-8");
  } finally {
    await s.close();
  }
});

/** Backends of the database but ours running the export's statement now. */
async function exporting(probe: Sql): Promise<number> {
  const [{ n }] = await probe<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND query LIKE 'SELECT * FROM job%' AND state <> 'idle'`;
  return n;
}

Deno.test("export: a client that goes away releases the cursor's connection (pool of one)", async () => {
  const db = await createTestDb({ max: 1 });
  const probe = openPool(db.url, { max: 1, name: "jobq-export-probe" });
  const s = await openApp({}, { db });
  try {
    await seed(db.sql, { count: EXPORT_BATCH_ROWS * 3, spreadDays: 1 });
    for (let i = 0; i < 2; i++) {
      const res = await s.call("/api/jobs/export?format=ndjson");
      assertEquals(res.status, 200);
      const reader = res.body!.getReader();
      assert(!(await reader.read()).done);
      assertEquals(await exporting(probe), 1, "the cursor is open, holding the one connection");
      await reader.cancel();
      assertEquals(await settled(probe), [], "no statement or transaction left open");
      // The pool's only connection answers again.
      assertEquals((await db.sql<{ one: number }[]>`SELECT 1 AS one`)[0].one, 1);
    }
  } finally {
    await s.close();
    await probe.end();
    await db.drop();
  }
});

Deno.test("export: at most MAX_EXPORTS at once; a cancelled one frees its slot", async () => {
  const s = await openApp();
  const probe = openPool(s.db.url, { max: 1, name: "jobq-export-probe" });
  try {
    await seed(s.db.sql, { count: EXPORT_BATCH_ROWS * 3, spreadDays: 1 });
    const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
    const open = async () => {
      const res = await s.call("/api/jobs/export?format=csv");
      assertEquals(res.status, 200);
      const reader = res.body!.getReader();
      assert(!(await reader.read()).done);
      readers.push(reader);
    };
    for (let i = 0; i < MAX_EXPORTS; i++) await open();
    assertEquals(await exporting(probe), MAX_EXPORTS);
    const refused = await s.call("/api/jobs/export?format=csv");
    assertEquals(refused.status, 503);
    assertEquals(refused.headers.get("retry-after"), "5");
    assertEquals(
      (await bodyJson<{ error: { code: string } }>(refused)).error.code,
      "too_many_exports",
    );
    await readers.shift()!.cancel();
    await open();
    for (const r of readers) await r.cancel();
    assertEquals(await settled(probe), []);
    const whole = await s.call("/api/jobs/export?format=csv");
    assertEquals(idsOfCsv(await whole.text()).length, EXPORT_BATCH_ROWS * 3);
  } finally {
    await probe.end();
    await s.close();
  }
});

Deno.test("export: over a socket, an aborted download frees its connection and its slot", async () => {
  const s = await startApiServer();
  const probe = openPool(s.db.url, { max: 1, name: "jobq-export-probe" });
  try {
    await seed(s.db.sql, { count: EXPORT_BATCH_ROWS * 3, spreadDays: 1 });
    // 16 KB a row, 24 MB in all: more than the socket buffers take in, so the
    // server is still exporting when the client leaves.
    await s.db
      .sql`UPDATE job SET payload = payload || jsonb_build_object('pad', repeat('x', 16384))`;
    for (let i = 0; i <= MAX_EXPORTS; i++) {
      const abort = new AbortController();
      const res = await s.call("/api/jobs/export?format=csv", { signal: abort.signal });
      assertEquals(res.status, 200, `export ${i + 1}: a slot is free`);
      const reader = res.body!.getReader();
      assert(!(await reader.read()).done);
      assertEquals(await exporting(probe), 1, "still exporting");
      abort.abort();
      await reader.closed.catch(() => {});
      assertEquals(await settled(probe), [], "no statement or transaction left open");
    }
  } finally {
    await probe.end();
    await s.close();
  }
});

Deno.test("export: a connection lost mid-stream errors the body, never ends it as complete", async () => {
  // A pool of one: the query below waits until the app has seen the export's connection go.
  const db = await createTestDb({ max: 1 });
  const probe = openPool(db.url, { max: 1, name: "jobq-export-probe" });
  const s = await openApp({}, { db });
  try {
    await seed(db.sql, { count: EXPORT_BATCH_ROWS * 3, spreadDays: 1 });
    for (const format of ["csv", "ndjson"]) {
      const res = await s.call(`/api/jobs/export?format=${format}`);
      assertEquals(res.status, 200);
      const [{ n }] = await probe<{ n: number }[]>`
        SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND query LIKE 'SELECT * FROM job%'`;
      assertEquals(n, 1, "the export's backend");
      // Settles only once the pool has seen the loss (the export holds the one connection; the
      // query fails with it or runs on the next): the export asks for no batch meanwhile.
      await db.sql`SELECT 1`.catch(() => {});
      await assertRejects(() => res.text());
      assertEquals(await settled(probe), []);
    }
    const again = await s.call("/api/jobs/export?format=csv");
    assertEquals(idsOfCsv(await again.text()).length, EXPORT_BATCH_ROWS * 3);
  } finally {
    await s.close();
    await probe.end();
    await db.drop();
  }
});
