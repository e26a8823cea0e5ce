/**
 * Cancelling a running job: DELETE → 202, the worker's handler signal aborts
 * (NOTIFY jobq_cancel, or the lease renewer's check), the job ends cancelled
 * with one `cancelled` event and is not retried; a handler that ignores the
 * signal is terminated after CANCEL_GRACE_SECONDS; external workers get 409
 * job_cancelled.
 */
import { assert, assertEquals, assertStringIncludes } from "./_helpers/assert.ts";
import { openApp } from "./_helpers/app.ts";
import { createTestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { enqueue, testSupervisor } from "./_helpers/worker_sup.ts";
import * as jobs from "../lib/queue/jobs.ts";
import type { Job, JobEvent } from "../lib/queue/types.ts";

const CANCEL_HANDLERS = new URL("./_helpers/cancel_handlers.ts", import.meta.url).href;

type JobWithEvents = Job & { events: JobEvent[] };

async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("cancel: a running webhook job whose server never answers is aborted and ends cancelled, not retried", async () => {
  const db = await createTestDb();
  const arrived = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    arrived.resolve();
    // Never answers; resolves only once the client has gone away.
    return new Promise<Response>((resolve) => {
      req.signal.addEventListener("abort", () => {
        closed.resolve();
        resolve(new Response(null));
      });
    });
  });
  const grace = 5;
  const { sup, dataDir } = await testSupervisor(db.url, {
    concurrency: 1,
    env: {
      NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${server.addr.port}/hook`,
      CANCEL_GRACE_SECONDS: String(grace),
      // Renewals every 20 s: only the NOTIFY can bring the cancel within the deadline.
      JOB_LEASE_SECONDS: "60",
    },
  });
  const app = await openApp({}, { db });
  try {
    const job = await enqueue(db.sql, "notification", {
      user_id: "u1",
      channel: "push",
      message: "hello",
    });
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await arrived.promise;
    const cancelled = sup.waitFor("cancelled", (e) => e.job.id === job.id, 1000 + grace * 1000);
    const res = await app.call(`/api/jobs/${job.id}`, { method: "DELETE" });
    const body = await res.json() as Job;
    assertEquals([res.status, body.status], [202, "processing"]);
    assert(body.cancel_requested_at, "cancel_requested_at is set");
    // Within 1 s of the request plus the grace's slack (a wait with a deadline, not a timing).
    await cancelled;
    await closed.promise; // the handler's request was aborted: the server saw the client leave
    const after = await (await app.call(`/api/jobs/${job.id}`)).json() as JobWithEvents;
    assertEquals([after.status, after.attempts, after.locked_by], ["cancelled", 1, null]);
    const kinds = after.events.map((e) => e.kind);
    assertEquals(kinds.filter((k) => k === "cancelled").length, 1, kinds.join());
    assert(!kinds.includes("failed"), kinds.join());
    const ev = after.events.find((e) => e.kind === "cancelled")!;
    assertStringIncludes(ev.message ?? "", "cancelled while running");
    assert(!ev.message?.includes("ignored"), "the handler stopped by itself: " + ev.message);
    // Not retried: it stays cancelled while the worker keeps polling.
    await sup.waitFor("claimed", undefined, 1500).then(
      () => assert(false, "nothing should be claimed"),
      () => {},
    );
    assertEquals((await jobs.get(db.sql, { id: job.id }))?.status, "cancelled");
  } finally {
    await app.close();
    await sup.stop();
    await server.shutdown();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("cancel: a handler that ignores its signal is terminated after CANCEL_GRACE_SECONDS and the pool runs the next job", async () => {
  const db = await createTestDb();
  const { sup, dataDir } = await testSupervisor(db.url, {
    handlersModule: CANCEL_HANDLERS,
    concurrency: 1,
    env: { CANCEL_GRACE_SECONDS: "1" },
  });
  const app = await openApp({}, { db });
  try {
    const job = await enqueue(db.sql, "stubborn");
    const claimed = sup.waitFor("claimed", (e) => e.jobs.some((j) => j.id === job.id));
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await claimed;
    await waitUntil(
      "the handler runs",
      () => Promise.resolve(sup.runners().some((r) => r.running?.id === job.id)),
    );
    const replaced = sup.waitFor("replaced", (e) => e.reason === "cancel");
    const cancelled = sup.waitFor("cancelled", (e) => e.job.id === job.id);
    const res = await app.call(`/api/jobs/${job.id}`, { method: "DELETE" });
    assertEquals(res.status, 202);
    await res.body?.cancel();
    await replaced;
    await cancelled;
    const after = await jobs.getWithEvents(db.sql, { id: job.id });
    assertEquals([after?.status, after?.attempts], ["cancelled", 1]);
    const evs = after!.events.filter((e) => e.kind === "cancelled");
    assertEquals(evs.length, 1);
    assertStringIncludes(evs[0].message ?? "", "ignored the abort signal");

    const next = await enqueue(db.sql, "noop");
    const done = sup.waitFor("completed", (e) => e.job.id === next.id);
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await done;
  } finally {
    await app.close();
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("cancel: without the notification, the lease renewer's check cancels the running job", async () => {
  const db = await createTestDb();
  const { sup, dataDir } = await testSupervisor(db.url, {
    handlersModule: CANCEL_HANDLERS,
    concurrency: 1,
  });
  try {
    const job = await enqueue(db.sql, "patient");
    const claimed = sup.waitFor("claimed", (e) => e.jobs.some((j) => j.id === job.id));
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await claimed;
    const cancelled = sup.waitFor("cancelled", (e) => e.job.id === job.id);
    // As if the NOTIFY was lost: only the column says so.
    await db.sql`UPDATE job SET cancel_requested_at = now() WHERE id = ${job.id}`;
    await cancelled;
    assertEquals((await jobs.get(db.sql, { id: job.id }))?.status, "cancelled");
  } finally {
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("cancel: external workers get 409 job_cancelled; pending → 200; bulk asks running jobs to stop", async () => {
  const app = await openApp();
  try {
    const claim = async () => {
      const res = await app.post("/api/process", { worker: "ext-1" });
      assertEquals(res.status, 200);
      return await res.json() as Job;
    };
    const errorOf = async (res: Response) => {
      const body = await res.json();
      return [res.status, body.error?.code];
    };
    const a = await enqueue(app.db.sql, "email", { to: "a@example.com", subject: "s", body: "b" });
    const ja = await claim();
    assertEquals(ja.id, a.id);
    assertEquals((await app.call(`/api/jobs/${a.id}`, { method: "DELETE" })).status, 202);
    // Complete after the cancel request: recorded cancelled, refused with 409.
    const fence = { worker: "ext-1", attempt: ja.attempts };
    assertEquals(
      await errorOf(await app.post(`/api/complete/${a.id}`, { ...fence, result: { ok: 1 } })),
      [409, "job_cancelled"],
    );
    const ga = await jobs.getWithEvents(app.db.sql, { id: a.id });
    assertEquals([ga?.status, ga?.result, ga?.completed_at], ["cancelled", null, null]);
    assertEquals(ga!.events.filter((e) => e.kind === "cancelled").length, 1);
    // A later fail of the cancelled job: 409 job_cancelled, nothing changes.
    assertEquals(
      await errorOf(await app.post(`/api/fail/${a.id}`, { ...fence, error: "late" })),
      [409, "job_cancelled"],
    );
    assertEquals(
      (await jobs.getWithEvents(app.db.sql, { id: a.id }))?.events.length,
      ga!.events.length,
    );

    // Fail after the cancel request: cancelled, not retried.
    const b = await enqueue(app.db.sql, "email", { to: "b@example.com", subject: "s", body: "b" });
    const jb = await claim();
    assertEquals(jb.id, b.id);
    assertEquals((await app.call(`/api/jobs/${b.id}`, { method: "DELETE" })).status, 202);
    assertEquals(
      await errorOf(
        await app.post(`/api/fail/${b.id}`, { worker: "ext-1", attempt: 1, error: "boom" }),
      ),
      [409, "job_cancelled"],
    );
    assertEquals((await jobs.get(app.db.sql, { id: b.id }))?.status, "cancelled");
    assertEquals(
      await errorOf(await app.call(`/api/jobs/${b.id}`, { method: "DELETE" })),
      [409, "job_not_pending"],
    );

    // Pending: cancelled at once (200).
    const c = await enqueue(app.db.sql, "email", { to: "c@example.com", subject: "s", body: "b" });
    const rc = await app.call(`/api/jobs/${c.id}`, { method: "DELETE" });
    assertEquals([rc.status, (await rc.json()).status], [200, "cancelled"]);

    // A completion that wins the race: completed, and the cancel then finds it done (409).
    const d = await enqueue(app.db.sql, "email", { to: "d@example.com", subject: "s", body: "b" });
    const jd = await claim();
    assertEquals(
      (await app.post(`/api/complete/${d.id}`, { worker: "ext-1", attempt: jd.attempts })).status,
      200,
    );
    assertEquals(
      await errorOf(await app.call(`/api/jobs/${d.id}`, { method: "DELETE" })),
      [409, "job_not_pending"],
    );

    // Bulk cancel: a running job is asked to stop (done, still processing).
    const e = await enqueue(app.db.sql, "email", { to: "e@example.com", subject: "s", body: "b" });
    await claim();
    const f = await enqueue(app.db.sql, "email", { to: "f@example.com", subject: "s", body: "b" });
    const bulk = await (await app.post("/api/jobs/bulk", { action: "cancel", ids: [e.id, f.id] }))
      .json();
    assertEquals(
      bulk.results.map((r: { outcome: string; status: string }) => [r.outcome, r.status]),
      [
        ["done", "processing"],
        ["done", "cancelled"],
      ],
    );
    assert((await jobs.get(app.db.sql, { id: e.id }))?.cancel_requested_at);
  } finally {
    await app.close();
  }
});

Deno.test("cancel: a running email job stuck on an SMTP server that never greets is aborted (the connection is closed)", async () => {
  const db = await createTestDb();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const arrived = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      arrived.resolve();
      // Never greets; reads until the client closes the connection.
      (async () => {
        const buf = new Uint8Array(1024);
        try {
          while ((await conn.read(buf)) !== null) { /* ignore */ }
        } catch { /* reset by the client */ }
        closed.resolve();
      })();
    }
  })();
  const { sup, dataDir } = await testSupervisor(db.url, {
    concurrency: 1,
    env: { SMTP_URL: `smtp://127.0.0.1:${listener.addr.port}`, JOB_LEASE_SECONDS: "60" },
  });
  const app = await openApp({}, { db });
  try {
    const job = await enqueue(db.sql, "email", { to: "a@example.com", subject: "s", body: "b" });
    await db.sql`SELECT pg_notify('jobq_new', '')`;
    await arrived.promise;
    const cancelled = sup.waitFor("cancelled", (e) => e.job.id === job.id);
    const res = await app.call(`/api/jobs/${job.id}`, { method: "DELETE" });
    assertEquals(res.status, 202);
    await res.body?.cancel();
    await cancelled;
    await closed.promise;
    const after = await jobs.getWithEvents(db.sql, { id: job.id });
    assertEquals([after?.status, after?.attempts], ["cancelled", 1]);
    const ev = after!.events.filter((e) => e.kind === "cancelled");
    assertEquals(ev.length, 1);
    assert(!ev[0].message?.includes("ignored"), "the handler stopped by itself: " + ev[0].message);
  } finally {
    await app.close();
    await sup.stop();
    listener.close();
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed already */ }
    }
    await accepting.catch(() => {});
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("cancel: a cancel-requested job that is rescued or given back ends cancelled, not pending", async () => {
  const db = await createTestDb();
  try {
    const a = await insertJob(db.sql, {
      status: "processing",
      attempts: 1,
      max_attempts: 3,
      locked_by: "w/1",
    });
    const b = await insertJob(db.sql, {
      status: "processing",
      attempts: 1,
      max_attempts: 3,
      locked_by: "w/1",
    });
    await jobs.cancel(db.sql, { id: a.id });
    await jobs.cancel(db.sql, { id: b.id });
    await db.sql`UPDATE job SET locked_until = now() - interval '1 minute' WHERE id = ${a.id}`;
    const rescued = await jobs.rescueExpired(db.sql);
    assertEquals(rescued.map((r) => [r.id, r.status]), [[a.id, "cancelled"]]);
    assertEquals(await jobs.release(db.sql, { worker: "w/1", items: [{ id: b.id, attempt: 1 }] }), [
      b.id,
    ]);
    for (const id of [a.id, b.id]) {
      const row = await jobs.getWithEvents(db.sql, { id });
      assertEquals([row?.status, row?.attempts], ["cancelled", 1]);
      assertEquals(row!.events.map((e) => e.kind).filter((k) => k !== "created"), ["cancelled"]);
    }
  } finally {
    await db.drop();
  }
});
