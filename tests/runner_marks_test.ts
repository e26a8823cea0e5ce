/**
 * A runner's mark (migration 0022, lib/queue/marks.ts): its claim writes the
 * batch and a bound; the rescuer gives the jobs from the bound on (in claim
 * order) back uncharged when the runner's lease expired, and charges the
 * others as before. A mark only ever describes the batch its runner holds:
 * a later claim replaces it, a move names the batch it is for, and a job
 * claimed again by the same runner is never read against its old place.
 */
import { claim, completeAndClaim } from "../lib/queue/claim.ts";
import { dropMarks, pruneMarks, raiseMarks } from "../lib/queue/marks.ts";
import { rescueExpired } from "../lib/queue/rescue.ts";
import { jobs } from "../lib/queue/mod.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb, type TestDb } from "./_helpers/db.ts";

const T0 = new Date("2026-01-15T12:00:00.000Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const LATER = at(3600);
const RUNNER = "w1:123:abc/1";

/** Enqueues `n` email jobs (priority `priority`) at `s` seconds after T0. */
async function add(db: TestDb, n: number, s = 0, priority = 3): Promise<void> {
  await jobs.enqueueMany(db.sql, {
    jobs: Array.from({ length: n }, (_, i) => ({
      type: "email",
      payload: { to: `u${i}@example.com`, subject: "s", body: "b" },
      priority,
    })),
    now: at(s),
  });
}

/** Claims up to `limit` jobs for RUNNER at `s` seconds after T0, its mark's first sequence number `seq`, bound 32. */
function claimMarked(db: TestDb, limit: number, seq: number, s: number) {
  return claim(db.sql, {
    worker: RUNNER,
    limit,
    leaseSeconds: 30,
    lean: true,
    marks: { seq, bound: 32 },
    now: at(s),
  });
}

/** The job rows by id: status, attempts, error. */
async function rows(db: TestDb, ids: string[]) {
  const r = await db.sql<{ id: string; status: string; attempts: number; error: string | null }[]>`
    SELECT id, status, attempts, error FROM job WHERE id = ANY(${ids}::uuid[])`;
  return new Map(r.map((x) => [x.id, x]));
}

/** The last event of each job. */
async function lastEvents(db: TestDb, ids: string[]) {
  const r = await db.sql<{ job_id: string; kind: string; attempt: number; worker: string }[]>`
    SELECT DISTINCT ON (job_id) job_id, kind, attempt, worker FROM job_event
    WHERE job_id = ANY(${ids}::uuid[]) ORDER BY job_id, id DESC`;
  return new Map(r.map((x) => [x.job_id, x]));
}

Deno.test("marks: the claim writes its batch and bound; the rescuer gives back from the bound on, uncharged", async () => {
  const db = await createTestDb();
  try {
    await add(db, 60, 0, 3);
    await add(db, 10, 5, 5); // higher priority: first in claim order
    const batch = await claimMarked(db, 100, 7, 10);
    assertEquals(batch.length, 70);
    const [mark] = await db.sql<{ seq: number; bound: string; claimed_at: Date }[]>`
      SELECT seq, bound, claimed_at FROM runner_mark WHERE runner = ${RUNNER}`;
    assertEquals(mark.seq, 7);
    assertEquals(mark.bound, batch[32].id, "the bound is the job at position 32 in claim order");
    assertEquals(mark.claimed_at.getTime(), at(10).getTime());

    const rescued = await rescueExpired(db.sql, { now: LATER });
    assertEquals(rescued.length, 70);
    const ids = batch.map((j) => j.id);
    const after = await rows(db, ids);
    const events = await lastEvents(db, ids);
    batch.forEach((job, i) => {
      const row = after.get(job.id)!;
      const ev = events.get(job.id)!;
      const r = rescued.find((x) => x.id === job.id)!;
      assertEquals(row.status, "pending");
      if (i < 32) {
        assertEquals(row.attempts, 1, `position ${i}: may have run, its attempt counts`);
        assertEquals(ev.kind, "rescued");
        assert(r.counted);
        assert(row.error?.includes("lease expired"));
      } else {
        assertEquals(row.attempts, 0, `position ${i}: never started, not charged`);
        assertEquals(ev.kind, "released");
        assertEquals(ev.attempt, 1, "the event names the attempt given back");
        assertEquals(ev.worker, RUNNER);
        assertEquals(r.counted, false);
        assertEquals(row.error, null);
      }
    });
  } finally {
    await db.drop();
  }
});

Deno.test("marks: a move names its batch; the bound moves ahead, and a later claim replaces the mark", async () => {
  const db = await createTestDb();
  try {
    await add(db, 200);
    const first = await completeAndClaim(db.sql, {
      worker: RUNNER,
      limit: 100,
      leaseSeconds: 30,
      complete: [],
      marks: { seq: 0, bound: 32 },
      now: at(10),
    });
    // A move for another batch of the runner changes nothing.
    assertEquals(
      await raiseMarks(db.sql, [{ runner: RUNNER, seq: 100, bound: first.jobs[90].id }]),
      [],
    );
    assertEquals(
      await raiseMarks(db.sql, [{ runner: RUNNER, seq: 0, bound: first.jobs[64].id }]),
      [RUNNER],
    );
    // The runner finishes the batch; its next claim writes the new batch's
    // mark with the completions.
    const second = await completeAndClaim(db.sql, {
      worker: RUNNER,
      limit: 50,
      leaseSeconds: 30,
      complete: first.jobs.map((j) => ({ id: j.id, attempt: j.attempts, result: null })),
      marks: { seq: 100, bound: 32 },
      now: at(20),
    });
    assertEquals(second.completed.length, 100);
    const [mark] = await db.sql<{ seq: number; bound: string }[]>`
      SELECT seq, bound FROM runner_mark WHERE runner = ${RUNNER}`;
    assertEquals(mark.seq, 100);
    assertEquals(mark.bound, second.jobs[32].id);
    // Up to the end: any may have started.
    assertEquals(await raiseMarks(db.sql, [{ runner: RUNNER, seq: 100, bound: null }]), [RUNNER]);
    const rescued = await rescueExpired(db.sql, { now: LATER });
    assertEquals(rescued.length, 50);
    assert(rescued.every((r) => r.counted), "with no bound every held job keeps its attempt");
  } finally {
    await db.drop();
  }
});

Deno.test("marks: a job given back and claimed again by the same runner is charged by its new claim's mark only", async () => {
  const db = await createTestDb();
  try {
    await add(db, 40);
    const first = await claimMarked(db, 40, 0, 10);
    const late = first[35];
    // Its lease expires while the runner lives (it had not reached it):
    // given back uncharged, then claimed again by the same runner, first of
    // a small batch, and started.
    const back = await rescueExpired(db.sql, { now: at(100) });
    assertEquals(back.find((r) => r.id === late.id)?.counted, false);
    await db.sql`UPDATE job SET priority = 5 WHERE id = ${late.id}`;
    const again = await claimMarked(db, 2, 40, 110);
    assert(again.some((j) => j.id === late.id));
    // The runner dies holding it: its attempt counts now (the old mark,
    // which put it past the bound, is gone with the new claim).
    const rescued = await rescueExpired(db.sql, { now: LATER });
    assertEquals(rescued.find((r) => r.id === late.id)?.counted, true);
    assertEquals((await rows(db, [late.id])).get(late.id)?.attempts, 1);
  } finally {
    await db.drop();
  }
});

Deno.test("marks: an unstarted job whose cancel was requested ends cancelled, its attempt kept", async () => {
  const db = await createTestDb();
  try {
    await add(db, 40);
    const batch = await claimMarked(db, 40, 0, 10);
    const victim = batch[36];
    await db.sql`UPDATE job SET cancel_requested_at = ${at(11)} WHERE id = ${victim.id}`;
    const rescued = await rescueExpired(db.sql, { now: LATER });
    const r = rescued.find((x) => x.id === victim.id)!;
    assertEquals(r.status, "cancelled");
    assert(r.counted);
    assertEquals((await lastEvents(db, [victim.id])).get(victim.id)?.kind, "cancelled");
  } finally {
    await db.drop();
  }
});

Deno.test("marks: an empty claim keeps the mark; dropped or pruned marks charge every held job", async () => {
  const db = await createTestDb();
  try {
    await add(db, 40);
    const batch = await claimMarked(db, 40, 0, 10);
    const none = await claimMarked(db, 10, 40, 11);
    assertEquals(none.length, 0);
    const [kept] = await db.sql<
      { seq: number }[]
    >`SELECT seq FROM runner_mark WHERE runner = ${RUNNER}`;
    assertEquals(kept.seq, 0);
    // A mark of a runner still holding jobs is not pruned, however old.
    await db.sql`UPDATE runner_mark SET at = now() - interval '1 hour'`;
    await db.sql`INSERT INTO runner_mark (runner, seq, claimed_at, at)
      VALUES ('gone/1', 0, now(), now() - interval '1 hour')`;
    assertEquals(await pruneMarks(db.sql, { staleSeconds: 60 }), 1);
    const left = await db.sql<{ runner: string }[]>`SELECT runner FROM runner_mark`;
    assertEquals(left.map((r) => r.runner), [RUNNER]);
    await dropMarks(db.sql, [RUNNER]);
    const rescued = await rescueExpired(db.sql, { now: LATER });
    assertEquals(rescued.length, batch.length);
    assert(rescued.every((r) => r.counted), "no mark: every held job keeps its attempt");
  } finally {
    await db.drop();
  }
});
