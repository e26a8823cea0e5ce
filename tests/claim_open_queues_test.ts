/**
 * A paused queue's backlog, or a limited queue's at its limit, does not stop
 * or slow the claim of the other queues' jobs: they are claimed in claim
 * order (priority, then oldest, then id) across queues, the held jobs never,
 * and the claim does not walk the held backlog to find them
 * (migrations/0021_claim_open_queues.sql). Limits and WORKER_QUEUES hold as
 * before; with many open queues and a small held backlog the walk serves the
 * same order. With statistics from before a burst, the reads of a limited
 * queue and of a WORKER_QUEUES worker's queues stay ordered index scans
 * stopped by their LIMIT, never a sort of the queue's backlog. The plans come
 * from auto_explain, sent to the claiming session.
 */
import postgres from "postgres";
import { openPool } from "../lib/db.ts";
import { jobs, queues } from "../lib/queue/mod.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";

const T0 = new Date("2026-01-15T12:00:00.000Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const LATER = at(3600);
const email = (queue: string, priority = 3) => ({
  type: "email",
  payload: { to: "a@example.com", subject: "s", body: "b" },
  queue,
  priority,
});

/** Enqueues `n` jobs of `queue` in one statement at `s` seconds after T0; their ids in claim order. */
async function add(sql: postgres.Sql, queue: string, n: number, s: number, priority = 3) {
  const ids = await jobs.enqueueMany(sql as never, {
    jobs: Array.from({ length: n }, () => email(queue, priority)),
    now: at(s),
  });
  return [...ids].sort();
}

/** Claims `limit` at a time until nothing is left; every claim's ids in order. */
async function drain(sql: unknown, opts: { limit: number; queues?: string[]; types?: string[] }) {
  const claims: string[][] = [];
  for (;;) {
    const got = await jobs.claim(sql as never, {
      worker: "w",
      leaseSeconds: 600,
      lean: true,
      now: LATER,
      ...opts,
    });
    if (got.length === 0) return claims;
    claims.push(got.map((j) => j.id));
  }
}

/** A session whose statements' plans (nested ones too) arrive as notices. */
async function explained(url: string) {
  const notices: string[] = [];
  const conn = postgres(url, {
    max: 1,
    onnotice: (n: { message?: string }) => notices.push(String(n.message ?? "")),
  });
  await conn`LOAD 'auto_explain'`;
  await conn`SET auto_explain.log_min_duration = 0`;
  await conn`SET auto_explain.log_nested_statements = on`;
  await conn`SET auto_explain.log_analyze = on`;
  await conn`SET client_min_messages = log`;
  return { conn, notices };
}

/** The most index entries or rows any plan node read and passed over. */
function mostRemoved(plans: string[]): number {
  const n = [...plans.join("\n").matchAll(/Rows Removed by Filter: (\d+)/g)].map((m) => +m[1]);
  return Math.max(0, ...n);
}

Deno.test("claim: a paused queue's backlog ahead in claim order is neither claimed nor walked", async () => {
  const db = await createTestDb();
  const sql = db.sql as unknown as postgres.Sql;
  const { conn, notices } = await explained(db.url);
  try {
    // 3,000 jobs of `bulk`, older than every other job, then paused.
    const bulk = await add(sql, "bulk", 3000, 0);
    const plain = await add(sql, "default", 15, 10);
    const other = await add(sql, "other", 15, 20);
    const urgent = await add(sql, "other", 1, 30, 5);
    await queues.update(db.sql, { name: "bulk", change: { paused: true } });

    const claims = await drain(conn, { limit: 10 });
    // Priority 5 first, then the oldest: default's jobs, then other's.
    assertEquals(claims.flat(), [...urgent, ...plain, ...other]);
    assertEquals(claims.map((c) => c.length), [10, 10, 10, 1]);
    // No claim read the paused backlog job by job.
    assert(notices.some((p) => p.includes("job_queue_claim_idx")), notices.join("\n---\n"));
    const removed = mostRemoved(notices);
    assert(removed < 100, `a claim passed over ${removed} rows:\n${notices.join("\n---\n")}`);

    // Resumed, the backlog is claimed in its own order.
    await queues.update(db.sql, { name: "bulk", change: { paused: false } });
    const resumed = await drain(conn, { limit: 500 });
    assertEquals(resumed.flat(), bulk);
  } finally {
    await conn.end({ timeout: 2 });
    await db.drop();
  }
});

Deno.test("claim: a limited queue at its limit holds no other queue back; the limit holds", async () => {
  const db = await createTestDb();
  const sql = db.sql as unknown as postgres.Sql;
  const { conn, notices } = await explained(db.url);
  try {
    const held = await add(sql, "lim", 3000, 0);
    const plain = await add(sql, "default", 25, 10);
    await queues.update(db.sql, { name: "lim", change: { concurrency: 2 } });

    const claims = await drain(conn, { limit: 10 });
    // The first claim takes the 2 slots of `lim` (its oldest jobs) and 8 others.
    assertEquals(claims.flat(), [...held.slice(0, 2), ...plain]);
    const [{ n }] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM job WHERE queue = 'lim' AND status = 'processing'`;
    assertEquals(n, 2);
    const removed = mostRemoved(notices);
    assert(removed < 100, `a claim passed over ${removed} rows:\n${notices.join("\n---\n")}`);
  } finally {
    await conn.end({ timeout: 2 });
    await db.drop();
  }
});

Deno.test("claim: many open queues, a small paused backlog: the same order; types and WORKER_QUEUES hold", async () => {
  const db = await createTestDb();
  const sql = db.sql as unknown as postgres.Sql;
  try {
    await add(sql, "bulk", 5, 0);
    const open: string[] = [];
    for (let i = 0; i < 30; i++) {
      open.push(...await add(sql, `q${String(i).padStart(2, "0")}`, 2, 10 + i));
    }
    await queues.update(db.sql, { name: "bulk", change: { paused: true } });

    assertEquals(await drain(db.sql, { limit: 7, types: ["report"] }), []);
    assertEquals(await drain(db.sql, { limit: 7, queues: ["q03", "bulk"] }), [open.slice(6, 8)]);
    const rest = open.filter((_, i) => i < 6 || i >= 8);
    assertEquals((await drain(db.sql, { limit: 7, types: ["email"] })).flat(), rest);
  } finally {
    await db.drop();
  }
});

Deno.test("claim: concurrent claimers with a paused backlog take every open job once", async () => {
  const db = await createTestDb();
  const sql = db.sql as unknown as postgres.Sql;
  const a = openPool(db.url, { max: 1 });
  const b = openPool(db.url, { max: 1 });
  try {
    await add(sql, "bulk", 2000, 0);
    const open = [
      ...await add(sql, "default", 60, 10),
      ...await add(sql, "other", 60, 20),
      ...await add(sql, "third", 60, 30),
    ];
    await queues.update(db.sql, { name: "bulk", change: { paused: true } });
    const [x, y] = await Promise.all([drain(a, { limit: 4 }), drain(b, { limit: 4 })]);
    const got = [...x.flat(), ...y.flat()];
    assertEquals(new Set(got).size, got.length);
    assertEquals([...got].sort(), [...open].sort());
  } finally {
    await a.end();
    await b.end();
    await db.drop();
  }
});

Deno.test("claim: with statistics from before a burst, limited and WORKER_QUEUES claims read their queues in claim order, no sort of the backlog", async () => {
  const db = await createTestDb();
  const sql = db.sql as unknown as postgres.Sql;
  const { conn, notices } = await explained(db.url);
  try {
    // Statistics taken while `job` held no pending job (all finished), then a burst.
    await add(sql, "old", 5000, -60);
    await sql`UPDATE job SET status = 'completed', completed_at = updated_at`;
    await sql`ANALYZE job`;
    const lim = await add(sql, "lim", 3000, 0);
    const a = await add(sql, "a", 3000, 10);
    const b = await add(sql, "b", 3000, 20);
    await queues.update(db.sql, { name: "lim", change: { concurrency: 3 } });

    const base = { worker: "w", leaseSeconds: 600, lean: true, now: LATER, limit: 5 } as const;
    const first = await jobs.claim(conn as never, { ...base, queues: ["b", "lim"] });
    assertEquals(first.map((j) => j.id), [...lim.slice(0, 3), ...b.slice(0, 2)]);
    const second = await jobs.claim(conn as never, { ...base, queues: ["a", "b"] });
    assertEquals(second.map((j) => j.id), a.slice(0, 5));
    const plans = notices.join("\n---\n");
    assert(
      !/Sort Key: (j|job)\.priority DESC/.test(plans),
      `no sort of a queue's backlog:\n${plans}`,
    );
    const reads = [
      ...plans.matchAll(/Index Scan using \w+ on job[^\n]*actual time=[^ ]+ rows=(\d+)/g),
    ]
      .map((m) => +m[1]);
    assert(
      reads.length > 0 && Math.max(...reads) <= 10,
      `rows read by index scans: ${reads}\n${plans}`,
    );
  } finally {
    await conn.end({ timeout: 2 });
    await db.drop();
  }
});
