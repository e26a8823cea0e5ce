/** Queue core: claim order, fencing, retries, leases, manual actions, batch, list. */
import { createTestDb, fixedClock, seededRandom, type TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./_helpers/assert.ts";
import { bulk, ConflictError, events, jobs, NotFoundError, stats } from "../lib/queue/mod.ts";
import { openPool } from "../lib/db.ts";

let db: TestDb;
const LEASE = 30;
const RETRY = { baseMs: 1000, maxMs: 60_000 };

/** Expects `fn` to throw the queue's typed error with `code`. */
async function refused(fn: () => Promise<unknown>, code: string) {
  const err = await assertRejects(fn, code === "job_not_found" ? NotFoundError : ConflictError);
  assertEquals((err as NotFoundError).code, code);
}

async function reset() {
  await db.sql`TRUNCATE job, job_event, job_artifact`;
}

Deno.test({
  name: "queue core",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    db = await createTestDb({ max: 12 });
    try {
      await t.step("claim: higher priority first, then oldest", async () => {
        await reset();
        const clock = fixedClock();
        const base = clock.now().getTime();
        const oldLow = await insertJob(db.sql, { priority: 3, created_at: new Date(base - 3000) });
        const newLow = await insertJob(db.sql, { priority: 3, created_at: new Date(base - 1000) });
        const high = await insertJob(db.sql, { priority: 5, created_at: new Date(base - 500) });
        const lowest = await insertJob(db.sql, { priority: 1, created_at: new Date(base - 9000) });
        const got = await jobs.claim(db.sql, {
          worker: "w",
          limit: 2,
          leaseSeconds: LEASE,
          now: clock.now(),
        });
        assertEquals(got.map((j) => j.id), [high.id, oldLow.id]);
        for (const j of got) {
          assertEquals([j.status, j.attempts, j.locked_by], ["processing", 1, "w"]);
          assertEquals(j.locked_until?.getTime(), base + LEASE * 1000);
        }
        const rest = await jobs.claim(db.sql, {
          worker: "w",
          limit: 5,
          leaseSeconds: LEASE,
          now: clock.now(),
        });
        assertEquals(rest.map((j) => j.id), [newLow.id, lowest.id]);
        assertEquals(await events.countKind(db.sql, { kind: "claimed" }), 4);
      });

      await t.step(
        "claim lean: same jobs, fewer columns",
        async () => {
          await reset();
          const a = await insertJob(db.sql, { priority: 4 });
          const b = await insertJob(db.sql, { priority: 2 });
          const got = await jobs.claim(db.sql, {
            worker: "w",
            limit: 5,
            leaseSeconds: LEASE,
            lean: true,
          });
          assertEquals(got.map((j) => j.id), [a.id, b.id]);
          assertEquals(Object.keys(got[0]).sort(), [
            "attempts",
            "created_at",
            "id",
            "max_attempts",
            "payload",
            "priority",
            "timeout_seconds",
            "type",
          ]);
          const rows = await db.sql<{ status: string; locked_by: string }[]>`
            SELECT status, locked_by FROM job WHERE id IN (${a.id}, ${b.id})`;
          assertEquals(rows.map((r) => [r.status, r.locked_by]), [
            ["processing", "w"],
            ["processing", "w"],
          ]);
          assertEquals(await events.countKind(db.sql, { kind: "claimed" }), 2);
        },
      );

      await t.step("claim: a job scheduled in the future waits until it is due", async () => {
        await reset();
        const clock = fixedClock();
        const later = await insertJob(db.sql, {
          scheduled_for: new Date(clock.now().getTime() + 60_000),
        });
        assertEquals(
          await jobs.claim(db.sql, { worker: "w", leaseSeconds: LEASE, now: clock.now() }),
          [],
        );
        clock.advance(60_000);
        const [got] = await jobs.claim(db.sql, {
          worker: "w",
          leaseSeconds: LEASE,
          now: clock.now(),
        });
        assertEquals(got.id, later.id);
      });

      await t.step("claim: only the requested types", async () => {
        await reset();
        await insertJob(db.sql, { type: "email" });
        const r = await insertJob(db.sql, { type: "report" });
        const got = await jobs.claim(db.sql, {
          worker: "w",
          limit: 5,
          leaseSeconds: LEASE,
          types: ["report"],
        });
        assertEquals(got.map((j) => j.id), [r.id]);
      });

      await t.step("claim: skips rows locked by another transaction", async () => {
        await reset();
        const a = await insertJob(db.sql, { priority: 5 });
        const b = await insertJob(db.sql, { priority: 1 });
        const other = openPool(db.url, { max: 1 });
        try {
          const holder = other.begin(async (tx) => {
            await tx`SELECT id FROM job WHERE id = ${a.id} FOR UPDATE`;
            const got = await jobs.claim(db.sql, { worker: "w", leaseSeconds: LEASE });
            assertEquals(got.map((j) => j.id), [b.id]);
          });
          await holder;
        } finally {
          await other.end();
        }
      });

      await t.step(
        "concurrency: 8 claimers on 8 connections claim 5,000 jobs exactly once",
        async () => {
          await reset();
          const N = 5000;
          await jobs.enqueueBatch(db.sql, {
            jobs: Array.from(
              { length: N },
              (_, i) => ({ type: "email", payload: { i }, priority: 1 + (i % 5) }),
            ),
          });
          const pools = Array.from({ length: 8 }, () => openPool(db.url, { max: 1 }));
          const started = performance.now();
          try {
            const seen = await Promise.all(pools.map(async (p, w) => {
              const ids: string[] = [];
              while (true) {
                const got = await jobs.claim(p, {
                  worker: `w${w}`,
                  limit: 10,
                  leaseSeconds: LEASE,
                });
                if (got.length === 0) break;
                await jobs.completeMany(p, {
                  worker: `w${w}`,
                  items: got.map((j) => ({ id: j.id, attempt: j.attempts, result: { w } })),
                });
                ids.push(...got.map((j) => j.id));
              }
              return ids;
            }));
            const ms = performance.now() - started;
            console.log(`  8 claimers drained ${N} jobs in ${ms.toFixed(0)} ms`);
            const all = seen.flat();
            assertEquals(all.length, N);
            assertEquals(new Set(all).size, N);
            assert(seen.every((ids) => ids.length > 0), "every claimer got work");
          } finally {
            await Promise.all(pools.map((p) => p.end()));
          }
          const [{ claimed, distinct }] = await db.sql<{ claimed: number; distinct: number }[]>`
          SELECT count(*)::int AS claimed, count(DISTINCT job_id)::int AS distinct FROM job_event WHERE kind = 'claimed'`;
          assertEquals([claimed, distinct], [N, N]);
          assertEquals((await stats.counts(db.sql)).completed, N);
        },
      );

      await t.step(
        "retry: three failures end failed, every error kept, backoff grows",
        async () => {
          await reset();
          const clock = fixedClock();
          const random = seededRandom(7);
          const job = await jobs.enqueue(db.sql, {
            job: { type: "email", payload: {} },
            now: clock.now(),
          });
          const delays: number[] = [];
          for (let attempt = 1; attempt <= 3; attempt++) {
            const [c] = await jobs.claim(db.sql, {
              worker: "w",
              leaseSeconds: LEASE,
              now: clock.now(),
            });
            assertEquals([c.id, c.attempts], [job.id, attempt]);
            const failed = await jobs.fail(db.sql, {
              id: c.id,
              attempt,
              worker: "w",
              error: new Error(`boom ${attempt}`),
              retry: { ...RETRY, random },
              now: clock.now(),
            });
            assert(failed);
            if (attempt < 3) {
              assertEquals(failed.status, "pending");
              const delay = failed.scheduled_for.getTime() - clock.now().getTime();
              delays.push(delay);
              // Not claimable before it is due.
              assertEquals(
                await jobs.claim(db.sql, { worker: "w", leaseSeconds: LEASE, now: clock.now() }),
                [],
              );
              clock.advance(delay);
            } else {
              assertEquals(failed.status, "failed");
              assertMatch(failed.error ?? "", /boom 3/);
            }
          }
          assert(delays[0] >= 500 && delays[0] <= 1000, `first delay ${delays[0]}`);
          assert(delays[1] >= 1000 && delays[1] <= 2000, `second delay ${delays[1]}`);
          assert(delays[1] > delays[0], "backoff grows");
          const evs = (await events.list(db.sql, { jobId: job.id })).filter((e) =>
            e.kind === "failed"
          );
          assertEquals(evs.map((e) => e.attempt), [1, 2, 3]);
          evs.forEach((e, i) => assertMatch(e.message ?? "", new RegExp(`boom ${i + 1}`)));
        },
      );

      await t.step("fail: a permanent error skips retries; huge errors are truncated", async () => {
        await reset();
        await insertJob(db.sql);
        const [c] = await jobs.claim(db.sql, { worker: "w", leaseSeconds: LEASE });
        const failed = await jobs.fail(db.sql, {
          id: c.id,
          attempt: 1,
          worker: "w",
          error: "x".repeat(100_000) + "\u0000",
          retry: RETRY,
          permanent: true,
        });
        assertEquals(failed?.status, "failed");
        assert((failed?.error ?? "").length <= 4096);
      });

      await t.step(
        "lease: an expired lease is rescued once, claimed again and completed",
        async () => {
          await reset();
          const clock = fixedClock();
          const job = await jobs.enqueue(db.sql, {
            job: { type: "email", payload: {} },
            now: clock.now(),
          });
          const [first] = await jobs.claim(db.sql, {
            worker: "dead",
            leaseSeconds: 10,
            now: clock.now(),
          });
          // Not yet expired: nothing to rescue.
          assertEquals(await jobs.rescueExpired(db.sql, { now: clock.now() }), []);
          clock.advance(11_000);
          const rescued = await jobs.rescueExpired(db.sql, { now: clock.now() });
          assertEquals(rescued.map((r) => [r.id, r.status, r.previous_worker]), [[
            job.id,
            "pending",
            "dead",
          ]]);
          assertEquals(await jobs.rescueExpired(db.sql, { now: clock.now() }), []);
          const [again] = await jobs.claim(db.sql, {
            worker: "alive",
            leaseSeconds: 10,
            now: clock.now(),
          });
          assertEquals([again.id, again.attempts], [job.id, 2]);
          // The dead worker comes back: its completion is refused, nothing changes.
          assertEquals(
            await jobs.complete(db.sql, {
              id: job.id,
              attempt: first.attempts,
              worker: "dead",
              result: 1,
            }),
            null,
          );
          assertEquals(
            await jobs.fail(db.sql, {
              id: job.id,
              attempt: 1,
              worker: "dead",
              error: "x",
              retry: RETRY,
            }),
            null,
          );
          const done = await jobs.complete(db.sql, {
            id: job.id,
            attempt: 2,
            worker: "alive",
            result: { ok: true },
          });
          assertEquals([done?.status, done?.result], ["completed", { ok: true }]);
          assertEquals(await events.countKind(db.sql, { kind: "rescued", jobId: job.id }), 1);
          assertEquals(await events.countKind(db.sql, { kind: "completed", jobId: job.id }), 1);
        },
      );

      await t.step(
        "lease: extending keeps a job from being rescued; a rescue on the last attempt fails it",
        async () => {
          await reset();
          const clock = fixedClock();
          await insertJob(db.sql, { created_at: clock.now(), max_attempts: 1 });
          const [c] = await jobs.claim(db.sql, { worker: "w", leaseSeconds: 10, now: clock.now() });
          clock.advance(8000);
          assertEquals(
            await jobs.extendLease(db.sql, {
              worker: "w",
              ids: [c.id],
              leaseSeconds: 10,
              now: clock.now(),
            }),
            [c.id],
          );
          assertEquals(
            await jobs.extendLease(db.sql, {
              worker: "other",
              ids: [c.id],
              leaseSeconds: 10,
              now: clock.now(),
            }),
            [],
          );
          clock.advance(5000);
          assertEquals(await jobs.rescueExpired(db.sql, { now: clock.now() }), []);
          clock.advance(6000);
          const [r] = await jobs.rescueExpired(db.sql, { now: clock.now() });
          assertEquals(r.status, "failed");
        },
      );

      await t.step("release: a graceful give-back does not count the attempt", async () => {
        await reset();
        await insertJob(db.sql);
        const [c] = await jobs.claim(db.sql, { worker: "w", leaseSeconds: LEASE });
        assertEquals(
          await jobs.release(db.sql, { worker: "w", items: [{ id: c.id, attempt: 1 }] }),
          [c.id],
        );
        const after = await jobs.get(db.sql, { id: c.id });
        assertEquals([after?.status, after?.attempts, after?.locked_by], ["pending", 0, null]);
      });

      await t.step(
        "cancel, retry and delete: the row, or a typed error and no change",
        async () => {
          await reset();
          const pending = await insertJob(db.sql);
          const processing = await insertJob(db.sql, { status: "processing" });
          const failed = await insertJob(db.sql, { status: "failed", attempts: 3 });
          const completed = await insertJob(db.sql, { status: "completed" });
          const missing = crypto.randomUUID();
          assertEquals((await jobs.cancel(db.sql, { id: pending.id })).status, "cancelled");
          const stopping = await jobs.cancel(db.sql, { id: processing.id }); // a cancel request
          assertEquals([stopping.status, stopping.cancel_requested_at !== null], [
            "processing",
            true,
          ]);
          await refused(() => jobs.cancel(db.sql, { id: completed.id }), "job_not_pending");
          await refused(() => jobs.cancel(db.sql, { id: missing }), "job_not_found");
          const retried = await jobs.retry(db.sql, { id: failed.id });
          assertEquals([retried.status, retried.attempts], ["pending", 0]);
          assertEquals((await jobs.retry(db.sql, { id: pending.id })).status, "pending"); // cancelled → pending
          await refused(() => jobs.retry(db.sql, { id: completed.id }), "job_not_retryable");
          await refused(() => jobs.retry(db.sql, { id: processing.id }), "job_not_retryable");
          await refused(() => jobs.retry(db.sql, { id: missing }), "job_not_found");
          await refused(() => jobs.remove(db.sql, { id: processing.id }), "job_running");
          await refused(() => jobs.remove(db.sql, { id: missing }), "job_not_found");
          const removed = await jobs.remove(db.sql, { id: completed.id });
          assertEquals([removed.id, removed.status], [completed.id, "completed"]);
          assertEquals(await jobs.get(db.sql, { id: completed.id }), null);
          assertEquals(await events.list(db.sql, { jobId: completed.id }), []);
          const kinds = (await events.list(db.sql, { jobId: failed.id })).map((e) => e.kind);
          assertEquals(kinds, ["created", "retried"]);
          // The refusals changed nothing and wrote no events.
          assertEquals((await jobs.get(db.sql, { id: processing.id }))?.status, "processing");
          assertEquals(
            await events.countKind(db.sql, { kind: "cancelled", jobId: processing.id }),
            0,
          );
          assertEquals(
            await events.countKind(db.sql, { kind: "retried", jobId: processing.id }),
            0,
          );
        },
      );

      await t.step(
        "fenced complete and fail: the row, or why the caller may not write it",
        async () => {
          await reset();
          const job = await insertJob(db.sql);
          const [c] = await jobs.claim(db.sql, { worker: "w", leaseSeconds: LEASE });
          const fence = { id: job.id, attempt: c.attempts, worker: "w" };
          const failOpts = { error: "x", retry: RETRY };
          await refused(
            () => jobs.completeOrThrow(db.sql, { ...fence, worker: "other", result: 1 }),
            "lease_lost",
          );
          await refused(
            () => jobs.failOrThrow(db.sql, { ...fence, attempt: 9, ...failOpts }),
            "lease_lost",
          );
          await refused(
            () => jobs.failOrThrow(db.sql, { ...fence, id: crypto.randomUUID(), ...failOpts }),
            "job_not_found",
          );
          const failed = await jobs.failOrThrow(db.sql, { ...fence, ...failOpts });
          assertEquals([failed.id, failed.status], [job.id, "pending"]);
          await refused(
            () => jobs.completeOrThrow(db.sql, { ...fence, result: 1 }),
            "job_not_processing",
          );
          const [again] = await jobs.claim(db.sql, {
            worker: "w",
            leaseSeconds: LEASE,
            now: new Date(failed.scheduled_for.getTime() + 1000),
          });
          const done = await jobs.completeOrThrow(db.sql, {
            ...fence,
            attempt: again.attempts,
            result: 1,
          });
          assertEquals([done.status, done.result], ["completed", 1]);
          assertEquals(Object.keys(done).includes("found_status"), false);
          await refused(
            () => jobs.failOrThrow(db.sql, { ...fence, ...failOpts }),
            "job_not_processing",
          );
          assertEquals(await events.countKind(db.sql, { kind: "failed", jobId: job.id }), 1);
        },
      );

      await t.step(
        "retry: a cancelled job scheduled for later keeps its schedule; others are due now",
        async () => {
          await reset();
          const clock = fixedClock();
          const now = clock.now();
          const later = new Date(now.getTime() + 4 * 60_000);
          const earlier = new Date(now.getTime() - 4 * 60_000);
          const mk = (status: "cancelled" | "failed", scheduled_for: Date) =>
            insertJob(db.sql, { status, scheduled_for, created_at: earlier });
          const single = {
            future: await mk("cancelled", later),
            past: await mk("cancelled", earlier),
          };
          const many = {
            future: await mk("cancelled", later),
            past: await mk("cancelled", earlier),
            failed: await mk("failed", earlier),
          };
          for (const j of Object.values(single)) await jobs.retry(db.sql, { id: j.id, now });
          await bulk.apply(db.sql, {
            action: "retry",
            ids: Object.values(many).map((j) => j.id),
            now,
          });
          const due = async (id: string) => {
            const j = await jobs.get(db.sql, { id });
            return [j?.status, j?.scheduled_for.toISOString()];
          };
          for (const set of [single, many]) {
            assertEquals(await due(set.future.id), ["pending", later.toISOString()]);
            assertEquals(await due(set.past.id), ["pending", now.toISOString()]);
          }
          assertEquals(await due(many.failed.id), ["pending", now.toISOString()]);
          // Nothing claims the kept one before its time; the overdue ones go now.
          const claimed = await jobs.claim(db.sql, {
            worker: "w",
            limit: 10,
            leaseSeconds: LEASE,
            now,
          });
          assertEquals(
            claimed.map((j) => j.id).sort(),
            [single.past.id, many.past.id, many.failed.id].sort(),
          );
          for (const id of [single.future.id, many.future.id]) {
            const ev = (await events.list(db.sql, { jobId: id })).at(-1);
            assertEquals(ev?.kind, "retried");
            assertMatch(ev?.message ?? "", /keeps its schedule: due 2026-01-15 12:04:00 UTC/);
          }
          const overdue = (await events.list(db.sql, { jobId: single.past.id }))
            .find((e) => e.kind === "retried");
          assertEquals(overdue?.message, "retried by hand (was cancelled)");
        },
      );

      await t.step("bulk: reports each id's outcome in one transaction", async () => {
        await reset();
        const p1 = await insertJob(db.sql);
        const p2 = await insertJob(db.sql);
        const done = await insertJob(db.sql, { status: "completed" });
        const missing = crypto.randomUUID();
        const out = await bulk.apply(db.sql, {
          action: "cancel",
          ids: [p1.id, p2.id, done.id, missing, p1.id],
        });
        assertEquals(out.map((o) => o.outcome), ["done", "done", "conflict", "not_found"]);
        assertEquals((await stats.counts(db.sql)).cancelled, 2);
        const del = await bulk.apply(db.sql, { action: "delete", ids: [p1.id, done.id] });
        assertEquals(del.map((o) => o.outcome), ["done", "done"]);
        assertEquals((await stats.counts(db.sql)).total, 1);
      });

      await t.step(
        "bulk over all matching: the first `limit` in the list's order, in one statement",
        async () => {
          await reset();
          const base = Date.UTC(2026, 0, 15, 12);
          const mk = (status: "failed" | "completed", min: number) =>
            insertJob(db.sql, { status, created_at: new Date(base + min * 60_000) });
          const oldest = await mk("failed", 1);
          const older = await mk("completed", 2);
          const newer = await mk("failed", 3);
          const newest = await mk("failed", 4);
          const other = await insertJob(db.sql, { status: "failed", type: "report" });
          const filter = { type: ["email"], sort: "created_at" as const, order: "asc" as const };
          const r = await bulk.applyMatching(db.sql, { action: "retry", filter, limit: 3 });
          assertEquals(r, { matched: 3, done: 2, capped: true });
          const status = async (id: string) => (await jobs.get(db.sql, { id }))?.status;
          assertEquals(
            await Promise.all([oldest, older, newer, newest, other].map((j) => status(j.id))),
            ["pending", "completed", "pending", "failed", "failed"],
          );
          const ev = (await events.list(db.sql, { jobId: oldest.id })).at(-1);
          assertEquals(ev?.message, "retried by hand (bulk, was failed)");
          const del = await bulk.applyMatching(db.sql, {
            action: "delete",
            filter: { status: ["failed"], type: ["email"] },
            limit: 3,
          });
          assertEquals(del, { matched: 1, done: 1, capped: false });
          assertEquals(await jobs.get(db.sql, { id: newest.id }), null);
          assertEquals(
            await bulk.applyMatching(db.sql, {
              action: "cancel",
              filter: { q: "nothing" },
              limit: 3,
            }),
            { matched: 0, done: 0, capped: false },
          );
        },
      );

      await t.step("batch enqueue is all-or-nothing", async () => {
        await reset();
        const ok = await jobs.enqueueBatch(db.sql, {
          jobs: [{ type: "email", payload: { n: 1 } }, {
            type: "report",
            payload: { n: 2 },
            priority: 5,
          }],
        });
        assertEquals(ok.map((j) => [j.type, j.priority, j.status]), [["email", 3, "pending"], [
          "report",
          5,
          "pending",
        ]]);
        await assertRejects(() =>
          jobs.enqueueBatch(db.sql, {
            jobs: [{ type: "email", payload: {} }, { type: "email", payload: {}, priority: 9 }],
          })
        );
        assertEquals((await stats.counts(db.sql)).total, 2);
        assertEquals(await events.countKind(db.sql, { kind: "created" }), 2);
      });

      await t.step("list: filters, q, sorts, pages and totals are exact", async () => {
        await reset();
        const base = Date.parse("2026-01-01T00:00:00Z");
        const made = [];
        for (let i = 0; i < 30; i++) {
          made.push(
            await insertJob(db.sql, {
              type: ["email", "report", "notification"][i % 3],
              status:
                (["pending", "completed", "failed"] as const)[i % 3 === 0 ? 0 : i % 2 ? 1 : 2],
              priority: 1 + (i % 5),
              created_at: new Date(base + i * 1000),
              payload: { n: i, note: i === 7 ? "Needle 100%_done" : "hay" },
            }),
          );
        }
        const byType = await jobs.list(db.sql, { type: ["report"], limit: 100 });
        assertEquals(byType.total, 10);
        assert(byType.items.every((j) => j.type === "report"));
        const multi = await jobs.list(db.sql, {
          status: ["completed", "failed"],
          priority: [1, 2],
        });
        const expected = made.filter((j) =>
          (j.status === "completed" || j.status === "failed") && j.priority <= 2
        );
        assertEquals(multi.total, expected.length);
        assertEquals(new Set(multi.items.map((j) => j.id)), new Set(expected.map((j) => j.id)));
        const q = await jobs.list(db.sql, { q: "needle 100%_" });
        assertEquals(q.items.map((j) => j.id), [made[7].id]);
        assertEquals((await jobs.list(db.sql, { q: "100%" })).total, 1); // % is literal, not a wildcard
        assertEquals((await jobs.list(db.sql, { q: "'; DROP TABLE job; --" })).total, 0);
        assertEquals((await jobs.list(db.sql, { q: made[3].id })).items.map((j) => j.id), [
          made[3].id,
        ]);
        const asc = await jobs.list(db.sql, {
          sort: "created_at",
          order: "asc",
          limit: 5,
          offset: 5,
        });
        assertEquals(asc.items.map((j) => j.id), made.slice(5, 10).map((j) => j.id));
        assertEquals([asc.total, asc.limit, asc.offset], [30, 5, 5]);
        const byPrio = await jobs.list(db.sql, { sort: "priority", order: "desc", limit: 100 });
        const prios = byPrio.items.map((j) => j.priority);
        assertEquals(prios, [...prios].sort((a, b) => b - a));
        // An unknown sort column falls back to created_at (callers validate; SQL never sees it).
        const bad = await jobs.list(db.sql, { sort: "id; DROP TABLE job" as never, limit: 1 });
        assertEquals(bad.items[0].id, made[29].id);
        assertEquals((await jobs.list(db.sql, { limit: 1000 })).limit, 100);
      });

      await t.step("stats: counts by status and trend buckets with zeros", async () => {
        await reset();
        const clock = fixedClock(new Date("2026-01-15T12:30:00Z"));
        await insertJob(db.sql, { created_at: new Date("2026-01-15T10:10:00Z") });
        await insertJob(db.sql, {
          status: "completed",
          created_at: new Date("2026-01-15T12:05:00Z"),
        });
        const c = await stats.counts(db.sql);
        assertEquals([c.pending, c.completed, c.failed, c.total], [1, 1, 0, 2]);
        const tr = await stats.trend(db.sql, { hours: 3, bucket: "hour", now: clock.now() });
        assertEquals(tr.map((p) => p.bucket.toISOString().slice(11, 16)), [
          "10:00",
          "11:00",
          "12:00",
        ]);
        assertEquals(tr.map((p) => p.created), [1, 0, 1]);
        assertEquals(tr.map((p) => p.completed), [0, 0, 1]);
      });
    } finally {
      await db.drop();
    }
  },
});
