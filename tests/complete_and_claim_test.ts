/**
 * A runner of several slots writes the completions of its finished jobs in
 * the statement that claims its next ones (`completeAndClaim`): the
 * completions are fenced as `completeIds` writes them, the claim takes no
 * more than its limit and, of a limited queue, no slot a completion of the
 * same statement frees; a runner of several slots ends every job it claims
 * with one completion.
 */
import type { Sql } from "../lib/db.ts";
import { completeAndClaim } from "../lib/queue/claim.ts";
import { jobs, queues } from "../lib/queue/mod.ts";
import type { Job } from "../lib/queue/types.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { collect, enqueue, testSupervisor } from "./_helpers/worker_sup.ts";

const HANDLERS = new URL("./_helpers/slots_handlers.ts", import.meta.url).href;
const lease = { leaseSeconds: 30 };

async function eventKinds(sql: Sql, id: string): Promise<string[]> {
  const j = await jobs.getWithEvents(sql, { id });
  return (j?.events ?? []).map((e) => e.kind);
}

Deno.test("completeAndClaim: writes fenced completions and claims the next jobs in claim order", async () => {
  const db = await createTestDb();
  try {
    const sql = db.sql;
    const made: Job[] = [];
    for (let i = 0; i < 5; i++) made.push(await enqueue(sql, "noop", { n: i }));
    const held = await jobs.claim(sql, { worker: "w", limit: 3, ...lease });
    assertEquals(held.map((j) => j.id), made.slice(0, 3).map((j) => j.id));
    await jobs.cancel(sql, { id: held[1].id });
    const out = await completeAndClaim(sql, {
      worker: "w",
      limit: 5,
      ...lease,
      complete: [
        { id: held[0].id, attempt: 1, result: { ok: 0 } },
        { id: held[1].id, attempt: 1, result: { ok: 1 } },
        // Not this attempt: fenced out, neither completed nor cancelled.
        { id: held[2].id, attempt: 2, result: { ok: 2 } },
      ],
    });
    assertEquals(out.completed, [held[0].id]);
    assertEquals(out.cancelled, [held[1].id]);
    assertEquals(out.jobs.map((j) => j.id), made.slice(3).map((j) => j.id));
    assertEquals(out.jobs.map((j) => j.attempts), [1, 1]);
    const rows = await Promise.all(made.map((j) => jobs.get(sql, { id: j.id })));
    assertEquals(rows.map((r) => r?.status), [
      "completed",
      "cancelled",
      "processing",
      "processing",
      "processing",
    ]);
    assertEquals(rows[0]?.result, { ok: 0 });
    assertEquals(await eventKinds(sql, held[0].id), ["created", "claimed", "completed"]);
    assertEquals((await eventKinds(sql, made[3].id)).slice(-1), ["claimed"]);
    // Nothing to write and nothing due: an empty result.
    const none = await completeAndClaim(sql, { worker: "w", limit: 2, ...lease, complete: [] });
    assertEquals(none, { jobs: [], completed: [], cancelled: [] });
  } finally {
    await db.drop();
  }
});

Deno.test("completeAndClaim: a limited queue's slot freed by the same statement is not taken by it", async () => {
  const db = await createTestDb();
  try {
    const sql = db.sql;
    const job = (n: number) => ({ type: "noop", payload: { n }, queue: "lim" });
    await jobs.enqueueBatch(sql, { jobs: [job(0), job(1), job(2)] });
    await queues.update(sql, { name: "lim", change: { concurrency: 1 } });
    const [first] = await jobs.claim(sql, { worker: "w", limit: 3, ...lease });
    assert(first, "one job claimed");
    const out = await completeAndClaim(sql, {
      worker: "w",
      limit: 3,
      ...lease,
      complete: [{ id: first.id, attempt: 1, result: null }],
    });
    assertEquals(out.completed, [first.id]);
    assertEquals(out.jobs.length, 0, "the claim saw the finished job still processing");
    const next = await completeAndClaim(sql, { worker: "w", limit: 3, ...lease, complete: [] });
    assertEquals(next.jobs.length, 1, "then the limit of 1 is served");
  } finally {
    await db.drop();
  }
});

Deno.test("runner of 4 slots: every job is claimed once and completed once, with its result", async () => {
  const db = await createTestDb();
  const { sup } = await testSupervisor(db.url, {
    handlersModule: HANDLERS,
    concurrency: 1,
    jobsPerRunner: 4,
  });
  try {
    const made: Job[] = [];
    for (let i = 0; i < 30; i++) made.push(await enqueue(db.sql, "quick", { n: i }));
    const ids = new Set(made.map((j) => j.id));
    const seen = collect(sup, ["completed"], (es) => es.length >= made.length);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    const done = await seen;
    assertEquals(new Set(done.map((e) => e.kind === "completed" && e.job.id)), ids);
    const rows = await Promise.all(made.map((j) => jobs.getWithEvents(db.sql, { id: j.id })));
    assertEquals(rows.map((r) => r?.status), made.map(() => "completed" as const));
    assertEquals(rows.map((r) => r?.result), made.map((_, i) => ({ n: i })));
    assertEquals(
      rows.map((r) => r?.events.map((e) => e.kind).join(",")),
      made.map(() => "created,claimed,completed"),
    );
  } finally {
    await sup.stop();
    await db.drop();
  }
});
