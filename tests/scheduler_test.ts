/**
 * The scheduler service and its pass, against a real database: exactly one
 * job per tick with several schedulers (and one restarted), one job after
 * downtime, daylight saving time, run now. The clock is injected: no test
 * waits for a real minute.
 */
import { openPool, type Sql } from "../lib/db.ts";
import { runNow, schedulerPass, schedules } from "../lib/queue/mod.ts";
import { createScheduleBody } from "../lib/schedules/schema.ts";
import { Scheduler } from "../worker/services/scheduler.ts";
import type { SchedulerPass } from "../lib/queue/schedule_tick.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { testSupervisor } from "./_helpers/worker_sup.ts";

const EMAIL = { to: "ops@example.com", subject: "tick", body: "scheduled" };

async function addSchedule(sql: Sql, fields: Record<string, unknown>, now: Date) {
  const schedule = createScheduleBody.parse({
    name: "every-minute",
    cron: "* * * * *",
    type: "email",
    payload: EMAIL,
    ...fields,
  });
  return await schedules.create(sql, { schedule, now });
}

async function jobKeys(sql: Sql, name: string): Promise<string[]> {
  const rows = await sql<{ unique_key: string }[]>`
    SELECT unique_key FROM job WHERE unique_key LIKE ${`schedule:${name}:%`} ORDER BY unique_key`;
  return rows.map((r) => r.unique_key);
}

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A scheduler on its own pool whose clock is `clock.now`, counting its passes. */
function instance(db: TestDb, clock: { now: Date }, opts: { singleton?: boolean } = {}) {
  const sql = openPool(db.url, { max: 2, name: "jobq-test-scheduler" });
  const passes: SchedulerPass[] = [];
  const scheduler = new Scheduler({
    sql,
    worker: `test-${crypto.randomUUID().slice(0, 6)}`,
    now: () => clock.now,
    maxSleepMs: 15,
    singleton: opts.singleton,
    onPass: (p) => passes.push(p),
  });
  return {
    scheduler,
    passes,
    async close() {
      await scheduler.stop();
      await sql.end({ timeout: 1 });
    },
  };
}

for (const singleton of [true, false]) {
  Deno.test({
    name: `scheduler: three schedulers (one restarted midway), * * * * *: one job per tick over ` +
      `three ticks (${singleton ? "with" : "without"} the advisory turn)`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const db = await createTestDb();
      const insts: ReturnType<typeof instance>[] = [];
      try {
        const t0 = new Date("2026-05-04T10:00:30Z");
        const clock = { now: t0 };
        await addSchedule(db.sql, {}, t0);
        for (let i = 0; i < 3; i++) insts.push(instance(db, clock, { singleton }));
        insts.forEach((i) => i.scheduler.start());
        const ticks = [
          "2026-05-04T10:01:00.000Z",
          "2026-05-04T10:02:00.000Z",
          "2026-05-04T10:03:00.000Z",
        ];
        for (const [n, tick] of ticks.entries()) {
          if (n === 1) {
            // Restart one of them between ticks.
            await insts[1].close();
            insts[1] = instance(db, clock, { singleton });
            insts[1].scheduler.start();
          }
          clock.now = new Date(new Date(tick).getTime() + 2_000);
          const seen = insts.map((i) => i.passes.length);
          // Every instance makes several passes at this time: duplicates had every chance.
          await until(
            () => insts.every((inst, k) => inst.passes.length >= seen[k] + 5),
            "five passes of each scheduler",
          );
          assertEquals(
            await jobKeys(db.sql, "every-minute"),
            ticks.slice(0, n + 1).map((t) => `schedule:every-minute:${t}`),
          );
        }
        const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
        assertEquals(n, 3);
        const [s] = await db.sql<{ next_run_at: Date; last_run_at: Date; last_job_id: string }[]>`
          SELECT * FROM schedule`;
        assertEquals(s.last_run_at.toISOString(), ticks[2]);
        assertEquals(s.next_run_at.toISOString(), "2026-05-04T10:04:00.000Z");
        const [last] = await db.sql<{ unique_key: string }[]>`
          SELECT unique_key FROM job WHERE id = ${s.last_job_id}`;
        assertEquals(last.unique_key, `schedule:every-minute:${ticks[2]}`);
      } finally {
        for (const i of insts) await i.close();
        await db.drop();
      }
    },
  });
}

Deno.test({
  name: "scheduler: after downtime only the most recent missed tick is enqueued, once",
  sanitizeResources: false,
  fn: async () => {
    const db = await createTestDb();
    try {
      const t0 = new Date("2026-05-04T10:00:30Z");
      await addSchedule(db.sql, { name: "five", cron: "*/5 * * * *" }, t0);
      // Down for 37 minutes: ticks 10:05 … 10:35 were missed.
      const later = new Date("2026-05-04T10:37:10Z");
      const pass = await schedulerPass(db.sql, { now: later });
      assertEquals(pass.enqueued.map((e) => e.tick.toISOString()), ["2026-05-04T10:35:00.000Z"]);
      assertEquals(pass.nextDueAt?.toISOString(), "2026-05-04T10:40:00.000Z");
      const again = await schedulerPass(db.sql, { now: later });
      assertEquals(again.enqueued, []);
      assertEquals(await jobKeys(db.sql, "five"), ["schedule:five:2026-05-04T10:35:00.000Z"]);
      const [job] = await db.sql<{ queue: string; status: string; type: string }[]>`
        SELECT queue, status, type FROM job`;
      assertEquals(job, { queue: "default", status: "pending", type: "email" });
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name: "scheduler: Europe/Berlin 02:30 fires once on the spring-forward day (at 03:30 CEST) " +
    "and once on the fall-back day (the first 02:30)",
  sanitizeResources: false,
  fn: async () => {
    const db = await createTestDb();
    try {
      const spring = await addSchedule(db.sql, {
        name: "spring",
        cron: "30 2 * * *",
        timezone: "Europe/Berlin",
      }, new Date("2026-03-28T12:00:00Z"));
      // 02:30 does not exist on 2026-03-29 (02:00 CET → 03:00 CEST): croner moves it an hour on.
      assertEquals(spring.next_run_at?.toISOString(), "2026-03-29T01:30:00.000Z");
      let pass = await schedulerPass(db.sql, { now: new Date("2026-03-29T01:30:05Z") });
      assertEquals(pass.enqueued.map((e) => e.schedule), ["spring"]);
      const [s1] = await db.sql<{ next_run_at: Date }[]>`
        SELECT next_run_at FROM schedule WHERE name = 'spring'`;
      assertEquals(s1.next_run_at.toISOString(), "2026-03-30T00:30:00.000Z"); // 02:30 CEST
      await db.sql`DELETE FROM schedule`;

      const fall = await addSchedule(db.sql, {
        name: "fall",
        cron: "30 2 * * *",
        timezone: "Europe/Berlin",
      }, new Date("2026-10-24T12:00:00Z"));
      // 02:30 happens twice on 2026-10-25: 00:30 UTC (CEST) and 01:30 UTC (CET). Once, the first.
      assertEquals(fall.next_run_at?.toISOString(), "2026-10-25T00:30:00.000Z");
      pass = await schedulerPass(db.sql, { now: new Date("2026-10-25T00:30:05Z") });
      assertEquals(pass.enqueued.length, 1);
      pass = await schedulerPass(db.sql, { now: new Date("2026-10-25T01:30:05Z") });
      assertEquals(pass.enqueued.length, 0);
      const [s2] = await db.sql<{ next_run_at: Date }[]>`
        SELECT next_run_at FROM schedule WHERE name = 'fall'`;
      assertEquals(s2.next_run_at.toISOString(), "2026-10-26T01:30:00.000Z"); // 02:30 CET
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name: "scheduler: run now enqueues at once without moving next_run_at; a disabled schedule " +
    "makes no ticks",
  sanitizeResources: false,
  fn: async () => {
    const db = await createTestDb();
    try {
      const t0 = new Date("2026-05-04T10:00:30Z");
      const s = await addSchedule(
        db.sql,
        { name: "hourly", cron: "@hourly", queue: "reports" },
        t0,
      );
      const job = await runNow(db.sql, { name: "hourly", now: t0 });
      assertEquals([job.status, job.queue, job.unique_key], ["pending", "reports", null]);
      const after = await schedules.get(db.sql, { name: "hourly" });
      assertEquals(after?.next_run_at, s.next_run_at);
      assertEquals(after?.last_run_at, null);
      assertEquals(after?.last_job_id, job.id);
      const off = await schedules.update(db.sql, { name: "hourly", patch: { enabled: false } });
      assertEquals([off.enabled, off.next_run_at], [false, null]);
      const pass = await schedulerPass(db.sql, { now: new Date("2026-05-04T13:00:00Z") });
      assertEquals(pass.enqueued, []);
      assertEquals(pass.nextDueAt, null);
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name:
    "scheduler service: wake() runs a pass that enqueues the due tick; after stop() no pass runs",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const db = await createTestDb();
    const clock = { now: new Date("2026-05-04T10:00:30Z") };
    const inst = instance(db, clock);
    try {
      inst.scheduler.start();
      await until(() => inst.passes.length >= 1, "a first pass");
      assertEquals(inst.passes[0].nextDueAt, null);
      await addSchedule(db.sql, {}, clock.now);
      clock.now = new Date("2026-05-04T10:01:00.500Z");
      inst.scheduler.wake();
      await until(() => inst.passes.some((p) => p.enqueued.length === 1), "the tick's pass");
      assertEquals((await jobKeys(db.sql, "every-minute")).length, 1);
      await inst.scheduler.stop();
      const n = inst.passes.length;
      await new Promise((r) => setTimeout(r, 100));
      assertEquals(inst.passes.length, n);
    } finally {
      await inst.close();
      await db.drop();
    }
  },
});

Deno.test({
  name: "scheduler in the worker process: the file is applied at start, and a NOTIFY of a " +
    "due schedule makes its job at once",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const db = await createTestDb();
    const file = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        schedules: [{ name: "from-file", cron: "* * * * *", type: "email", payload: EMAIL }],
      }),
    );
    const { sup, dataDir } = await testSupervisor(db.url, {
      schedulesFile: file,
      types: ["noop"],
    });
    try {
      const s = await schedules.get(db.sql, { name: "from-file" });
      assertEquals([s?.source, s?.enabled], ["file", true]);
      // Make the current minute's tick due, as if its time had come, and tell the scheduler.
      await db.sql`UPDATE schedule SET next_run_at = date_trunc('minute', now())`;
      const [{ tick }] = await db.sql<{ tick: Date }[]>`SELECT next_run_at AS tick FROM schedule`;
      await db.sql`SELECT pg_notify('jobq_schedules', 'from-file')`;
      await until(async () => (await jobKeys(db.sql, "from-file")).length > 0, "the job");
      const after = await schedules.get(db.sql, { name: "from-file" });
      // The tick made is this minute's (or the next one's, when the minute turned meanwhile).
      assert(after!.last_run_at!.getTime() >= tick.getTime(), "a tick at or after the due one");
      assertEquals(await jobKeys(db.sql, "from-file"), [
        `schedule:from-file:${after!.last_run_at!.toISOString()}`,
      ]);
      assertEquals(after!.next_run_at!.getTime() > after!.last_run_at!.getTime(), true);
    } finally {
      await sup.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      await Deno.remove(file);
      await db.drop();
    }
  },
});
