/**
 * Alert evaluation against real rows with a fixed clock: each kind fires and
 * resolves; a local webhook server receives exactly one "firing" and one
 * "resolved" notice even with two evaluators running at once; a webhook
 * that is down gets the notice at a later evaluation, still exactly once.
 */
import type { Sql } from "../lib/db.ts";
import * as alerts from "../lib/queue/alerts.ts";
import * as notices from "../lib/queue/alert_notices.ts";
import { createAlertBody } from "../lib/alerts/schema.ts";
import type { Actor } from "../lib/queue/audit.ts";
import { AlertService, type AlertServiceOptions } from "../worker/services/alerts.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { ConfigError, parseConfig, publicOrigin } from "../lib/config.ts";
import { createTestDb, fixedClock, type TestDb } from "./_helpers/db.ts";
import { insertJob, type JobOverrides } from "./_helpers/factory.ts";
import { testSupervisor } from "./_helpers/worker_sup.ts";

const ACTOR: Actor = { name: "test", via: "open", address: null };
const MIN = 60_000;

async function rule(sql: Sql, fields: Record<string, unknown>, now: Date) {
  return await alerts.create(sql, {
    alert: createAlertBody.parse({ name: `rule-${crypto.randomUUID()}`, ...fields }),
    actor: ACTOR,
    now,
  });
}

async function job(sql: Sql, queue: string, o: JobOverrides) {
  const j = await insertJob(sql, o);
  await sql`UPDATE job SET queue = ${queue} WHERE id = ${j.id}`;
  return j;
}

const byId = (e: alerts.Evaluation, id: number) => e.alerts.find((a) => a.id === id)!;

/** Each kind fires on real rows and resolves when they change. */
async function eachKind(t: Deno.TestContext, db: TestDb) {
  const { sql } = db;
  const clock = fixedClock();
  const T0 = clock.now();
  {
    await t.step("failure rate: failed / finished in the window, of its queue only", async () => {
      const r = await rule(sql, {
        kind: "failure_rate",
        queue: "fr",
        threshold: 50,
        window_minutes: 10,
      }, T0);
      const at = new Date(T0.getTime() - 5 * MIN);
      const old = new Date(T0.getTime() - 20 * MIN);
      // Nothing finished yet: no value, not firing.
      let e = await alerts.evaluate(sql, { now: T0 });
      assertEquals([byId(e, r.id).last_value, byId(e, r.id).state], [null, "ok"]);
      await job(sql, "fr", { status: "failed", created_at: at });
      await job(sql, "fr", { status: "completed", created_at: at });
      await job(sql, "fr", { status: "completed", created_at: at });
      await job(sql, "fr", { status: "failed", created_at: old }); // outside the window
      await job(sql, "other", { status: "failed", created_at: at }); // another queue
      e = await alerts.evaluate(sql, { now: T0 });
      assertEquals(Math.round(byId(e, r.id).last_value! * 10), 333);
      assertEquals(byId(e, r.id).state, "ok");
      await job(sql, "fr", { status: "failed", created_at: at });
      await job(sql, "fr", { status: "failed", created_at: at });
      e = await alerts.evaluate(sql, { now: T0 });
      assertEquals(byId(e, r.id).last_value, 60);
      assertEquals(byId(e, r.id).firing_since, T0);
      assertEquals(e.transitions.map((x) => [x.alert.id, x.to]), [[r.id, "firing"]]);
      // Still firing a minute later: since stays.
      clock.advance(MIN);
      e = await alerts.evaluate(sql, { now: clock.now() });
      assertEquals([byId(e, r.id).firing_since, e.transitions.length], [T0, 0]);
      // The window moves past them: nothing finished, resolved.
      clock.advance(10 * MIN);
      e = await alerts.evaluate(sql, { now: clock.now() });
      const a = byId(e, r.id);
      assertEquals([a.state, a.firing_since, a.resolved_at, a.last_value], [
        "ok",
        null,
        clock.now(),
        null,
      ]);
      assertEquals(e.transitions.map((x) => x.to), ["resolved"]);
      await alerts.update(sql, { id: r.id, patch: { enabled: false }, actor: ACTOR });
    });

    await t.step("backlog: pending jobs of its queue and type, above N", async () => {
      const now = clock.now();
      const r = await rule(sql, { kind: "backlog", queue: "bl", type: "email", threshold: 2 }, now);
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await job(sql, "bl", { created_at: now })).id);
      await job(sql, "bl", { type: "report", created_at: now }); // another type
      let e = await alerts.evaluate(sql, { now });
      assertEquals([byId(e, r.id).last_value, byId(e, r.id).state], [3, "firing"]);
      await sql`UPDATE job SET status = 'cancelled' WHERE id = ${ids[0]}`;
      e = await alerts.evaluate(sql, { now });
      assertEquals([byId(e, r.id).last_value, byId(e, r.id).state], [2, "ok"]);
      await alerts.update(sql, { id: r.id, patch: { enabled: false }, actor: ACTOR });
    });

    await t.step("oldest pending: the longest a due pending job waited, in seconds", async () => {
      const now = clock.now();
      const r = await rule(sql, { kind: "oldest_pending", queue: "op", threshold: 60 }, now);
      // Scheduled for later: not waiting yet, however old.
      await job(sql, "op", {
        created_at: new Date(now.getTime() - 60 * MIN),
        scheduled_for: new Date(now.getTime() + MIN),
      });
      let e = await alerts.evaluate(sql, { now });
      assertEquals([byId(e, r.id).last_value, byId(e, r.id).state], [null, "ok"]);
      const waiting = await job(sql, "op", { created_at: new Date(now.getTime() - 2 * MIN) });
      e = await alerts.evaluate(sql, { now });
      assertEquals([byId(e, r.id).last_value, byId(e, r.id).state], [120, "firing"]);
      await sql`UPDATE job SET status = 'cancelled' WHERE id = ${waiting.id}`;
      e = await alerts.evaluate(sql, { now });
      assertEquals(byId(e, r.id).state, "ok");
      await alerts.update(sql, { id: r.id, patch: { enabled: false }, actor: ACTOR });
    });

    await t.step(
      "no worker: a live worker serving the queue (or every queue) resolves it",
      async () => {
        const now = clock.now();
        const one = await rule(sql, { kind: "no_worker", queue: "nw" }, now);
        const all = await rule(sql, { kind: "no_worker" }, now);
        await sql`DELETE FROM job WHERE status = 'pending'`;
        let e = await alerts.evaluate(sql, { now });
        // No worker at all: queue nw fires; "every queue" has no pending job anywhere.
        assertEquals([byId(e, one.id).state, byId(e, all.id).state], ["firing", "ok"]);
        await job(sql, "nw", { created_at: now });
        e = await alerts.evaluate(sql, { now });
        assertEquals([byId(e, all.id).last_value, byId(e, all.id).state], [1, "firing"]);
        // A live worker serving other queues only, and one late for its heartbeat: still firing.
        await sql`INSERT INTO worker (id, host, pid, concurrency, heartbeat_at, info) VALUES
          ('w-other', 'h', 1, 1, ${now}, ${sql.json({ queues: ["other"] })}),
          ('w-late', 'h', 2, 1, ${new Date(now.getTime() - 5 * MIN)}, '{}')`;
        e = await alerts.evaluate(sql, { now });
        assertEquals([byId(e, one.id).state, byId(e, all.id).state], ["firing", "firing"]);
        await sql`INSERT INTO worker (id, host, pid, concurrency, heartbeat_at, info) VALUES
          ('w-nw', 'h', 3, 1, ${now}, ${sql.json({ queues: ["nw"] })})`;
        e = await alerts.evaluate(sql, { now });
        assertEquals([byId(e, one.id).state, byId(e, all.id).state], ["ok", "ok"]);
        await sql`DELETE FROM worker`;
        await sql`INSERT INTO worker (id, host, pid, concurrency, heartbeat_at, info) VALUES
          ('w-all', 'h', 4, 1, ${now}, '{}')`;
        e = await alerts.evaluate(sql, { now });
        assertEquals([byId(e, one.id).state, byId(e, all.id).state], ["ok", "ok"]);
        await sql`UPDATE alert SET enabled = false, firing_since = NULL`;
      },
    );

    await t.step(
      "a disabled rule is not evaluated; disabling a firing rule resolves it",
      async () => {
        const now = clock.now();
        await sql`DELETE FROM worker`;
        const r = await rule(sql, { kind: "no_worker", queue: "nobody" }, now);
        let e = await alerts.evaluate(sql, { now });
        assertEquals(byId(e, r.id).state, "firing");
        const off = await alerts.update(sql, {
          id: r.id,
          patch: { enabled: false },
          actor: ACTOR,
          now,
        });
        assertEquals([off.state, off.firing_since, off.resolved_at], ["disabled", null, now]);
        e = await alerts.evaluate(sql, { now });
        assertEquals(e.alerts.length, 0);
      },
    );

    await t.step("evaluation is one process at a time: a held turn means ran: false", async () => {
      const conn = await sql.reserve();
      try {
        await conn`BEGIN`;
        await conn`SELECT pg_advisory_xact_lock(${7_245_041})`;
        const e = await alerts.evaluate(sql, { now: clock.now() });
        assertEquals(e.ran, false);
        await conn`ROLLBACK`;
      } finally {
        conn.release();
      }
      assertEquals((await alerts.evaluate(sql, { now: clock.now() })).ran, true);
    });
  }
}

/** A local webhook: records each POST body; `mode` decides the answer. */
function webhook() {
  const received: Record<string, unknown>[] = [];
  const state = { mode: "up" as "up" | "down", refused: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    if (state.mode === "down") {
      state.refused++;
      return new Response("down", { status: 503 });
    }
    received.push(body);
    return new Response(null, { status: 204 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/hook`, received, state, server };
}

function service(sql: Sql, o: Partial<AlertServiceOptions>) {
  return new AlertService({
    sql,
    worker: "test",
    publicUrl: "https://jobq.example.com",
    intervalMs: 3_600_000,
    ...o,
  });
}

/** The webhook gets one firing and one resolved notice, with two evaluators at once. */
async function twoEvaluators(db: TestDb) {
  const hook = webhook();
  const clock = fixedClock();
  try {
    const { sql } = db;
    const r = await rule(sql, {
      name: "mail backlog",
      kind: "backlog",
      queue: "mail",
      threshold: 0,
    }, clock.now());
    const opts = { webhookUrl: hook.url, now: clock.now };
    const a = service(sql, opts);
    const b = service(sql, opts);
    const both = () => Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);

    await both();
    assertEquals(hook.received.length, 0, "nothing fires on an empty queue");
    const pending = await job(sql, "mail", { created_at: clock.now() });
    const since = clock.now();
    const passes = await both();
    assertEquals(passes.reduce((n, p) => n + p.sent.length, 0), 1);
    clock.advance(30_000);
    await both();
    assertEquals(hook.received.length, 1);
    assertEquals(hook.received[0], {
      alert: {
        id: r.id,
        name: "mail backlog",
        kind: "backlog",
        queue: "mail",
        type: null,
        threshold: 0,
        window_minutes: null,
      },
      state: "firing",
      value: 1,
      since: since.toISOString(),
      resolved_at: null,
      url: "https://jobq.example.com/jobs?status=pending&queue=mail",
    });
    let row = (await alerts.get(sql, { id: r.id }))!;
    assertEquals([row.notified_state, row.notified_since, row.notify_until], [
      "firing",
      since,
      null,
    ]);

    await sql`UPDATE job SET status = 'cancelled' WHERE id = ${pending.id}`;
    clock.advance(30_000);
    await both();
    clock.advance(30_000);
    await both();
    assertEquals(hook.received.map((x) => x.state), ["firing", "resolved"]);
    assertEquals(hook.received[1].since, since.toISOString());
    assertEquals(hook.received[1].resolved_at, new Date(since.getTime() + 60_000).toISOString());
    assertEquals(hook.received[1].value, 0);
    row = (await alerts.get(sql, { id: r.id }))!;
    assertEquals([row.state, row.notified_state], ["ok", "resolved"]);

    // The claim alone (without the evaluation's turn) gives each notice to one claimer.
    await job(sql, "mail", { created_at: clock.now() });
    await alerts.evaluate(sql, { now: clock.now() });
    const claims = await Promise.all(
      Array.from(
        { length: 6 },
        () => notices.claimNotices(sql, { leaseSeconds: 60, now: clock.now() }),
      ),
    );
    assertEquals(claims.map((c) => c.length).sort(), [0, 0, 0, 0, 0, 1]);
  } finally {
    await hook.server.shutdown();
  }
}

/** A webhook that is down gets the notice at a later evaluation, exactly once. */
async function webhookDown(db: TestDb) {
  const hook = webhook();
  const clock = fixedClock();
  // A port nothing listens on.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedUrl = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}/hook`;
  closed.close();
  try {
    const { sql } = db;
    const r = await rule(sql, { kind: "no_worker", queue: "reports" }, clock.now());
    clock.advance(0);
    const refused = await service(sql, { webhookUrl: closedUrl, now: clock.now }).runOnce();
    assertEquals([refused.sent.length, refused.failed.length], [0, 1]);
    assert(/could not be reached/.test(refused.failed[0].error), refused.failed[0].error);

    hook.state.mode = "down";
    const s = service(sql, { webhookUrl: hook.url, now: clock.now });
    clock.advance(30_000);
    const down = await s.runOnce();
    assertEquals([down.sent.length, down.failed.length, hook.state.refused], [0, 1, 1]);
    let row = (await alerts.get(sql, { id: r.id }))!;
    assertEquals([row.state, row.notified_state, row.notify_until], ["firing", null, null]);
    assertEquals(row.notify_error, "the webhook answered 503");

    hook.state.mode = "up";
    clock.advance(30_000);
    await Promise.all([s.runOnce(), s.runOnce()]);
    clock.advance(30_000);
    await s.runOnce();
    assertEquals(hook.received.length, 1);
    assertEquals(hook.received[0].state, "firing");
    row = (await alerts.get(sql, { id: r.id }))!;
    assertEquals([row.notified_state, row.notify_error], ["firing", null]);
    assertEquals(row.last_notified_at, new Date(clock.now().getTime() - 30_000));
  } finally {
    await hook.server.shutdown();
  }
}

/** A worker process evaluates the rules at start and sends the notice; its own row counts as serving. */
async function inTheWorker(db: TestDb) {
  const arrived = Promise.withResolvers<Record<string, unknown>>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    arrived.resolve(await req.json());
    return new Response(null, { status: 204 });
  });
  const served = await rule(
    db.sql,
    { name: "mail served", kind: "no_worker", queue: "mail" },
    new Date(),
  );
  await rule(db.sql, { name: "reports unserved", kind: "no_worker", queue: "reports" }, new Date());
  const { sup } = await testSupervisor(db.url, {
    queues: ["mail"],
    env: {
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${server.addr.port}/hook`,
      PUBLIC_URL: "https://q.example",
    },
  });
  try {
    const timeout = setTimeout(() => arrived.reject(new Error("no notice within 20 s")), 20_000);
    const body = await arrived.promise;
    clearTimeout(timeout);
    assertEquals([(body.alert as { name: string }).name, body.state, body.url], [
      "reports unserved",
      "firing",
      "https://q.example/jobs?status=pending&queue=reports",
    ]);
    assertEquals((await alerts.get(db.sql, { id: served.id }))!.state, "ok");
  } finally {
    await sup.stop();
    await server.shutdown();
  }
}

Deno.test({
  name: "alerts: evaluation and notices (one database, rules cleared between steps)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const db = await createTestDb();
    const fresh = async () => {
      await db.sql`DELETE FROM alert`;
      await db.sql`DELETE FROM job`;
      await db.sql`DELETE FROM worker`;
    };
    try {
      await eachKind(t, db);
      await fresh();
      await t.step(
        "the webhook gets one firing and one resolved notice, with two evaluators at once",
        () => twoEvaluators(db),
      );
      await fresh();
      await t.step(
        "a webhook that is down gets the notice at a later evaluation, exactly once",
        () => webhookDown(db),
      );
      await fresh();
      await t.step(
        "a worker process evaluates the rules and sends the notice (its own row serves its queues)",
        () => inTheWorker(db),
      );
    } finally {
      await db.drop();
    }
  },
});

Deno.test("alerts: config — ALERT_WEBHOOK_URL must be http(s), ALERT_EVAL_SECONDS 1–3600; links use PUBLIC_URL, else HOST:PORT", () => {
  const d = parseConfig({});
  assertEquals([d.ALERT_WEBHOOK_URL, d.ALERT_EVAL_SECONDS], [undefined, 30]);
  assertEquals(parseConfig({ ALERT_EVAL_SECONDS: "5" }).ALERT_EVAL_SECONDS, 5);
  for (
    const [name, value] of [
      ["ALERT_WEBHOOK_URL", "ftp://example.com/hook"],
      ["ALERT_WEBHOOK_URL", "not a url"],
      ["ALERT_EVAL_SECONDS", "0"],
      ["ALERT_EVAL_SECONDS", "1.5"],
    ]
  ) {
    let err: unknown = null;
    try {
      parseConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    assert(err instanceof ConfigError && err.message.startsWith(`${name}:`), `${name}=${value}`);
  }
  assertEquals(publicOrigin(d), "http://127.0.0.1:8000");
  assertEquals(
    publicOrigin(parseConfig({ HOST: "0.0.0.0", PORT: "9000", ALLOW_UNAUTHENTICATED: "true" })),
    "http://localhost:9000",
  );
  assertEquals(
    publicOrigin(parseConfig({ PUBLIC_URL: "https://jobq.example.com" })),
    "https://jobq.example.com",
  );
});
