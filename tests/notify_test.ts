/** Wake-ups: NOTIFY inside an enqueue's statement, and the choice between inline and coalesced. */
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { assert, assertEquals, assertRejects } from "./_helpers/assert.ts";
import { jobs } from "../lib/queue/mod.ts";
import { CHANNEL_NEW_JOBS, InlineNotify, Listener, Notifier } from "../lib/queue/notify.ts";
import { openPool, type Sql } from "../lib/db.ts";

/** Counts the notifications on `channel` seen by a dedicated LISTEN connection. */
async function listen(url: string, channel: string) {
  const conn: Sql = openPool(url, { max: 1, name: "jobq-test-listen" });
  const seen: number[] = [];
  const waiters: (() => void)[] = [];
  await conn.listen(channel, () => {
    seen.push(performance.now());
    for (const w of waiters.splice(0)) w();
  });
  return {
    get count() {
      return seen.length;
    },
    /** Resolves when at least `n` notifications arrived (rejects after 10 s). */
    async atLeast(n: number) {
      const deadline = performance.now() + 10_000;
      while (seen.length < n) {
        if (performance.now() > deadline) throw new Error(`saw ${seen.length} of ${n} NOTIFYs`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
    /** Lets notifications in flight arrive: a round trip on the LISTEN connection. */
    async settle() {
      await conn`SELECT 1`;
    },
    close: () => conn.end({ timeout: 1 }),
  };
}

Deno.test({
  name: "wake-ups",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const db: TestDb = await createTestDb({ max: 8 });
    try {
      await t.step("enqueue with notify: one NOTIFY, sent with the commit of the row", async () => {
        const l = await listen(db.url, CHANNEL_NEW_JOBS);
        try {
          const job = await jobs.enqueue(db.sql, {
            job: { type: "notification", payload: { i: 1 } },
            notify: CHANNEL_NEW_JOBS,
          });
          await l.atLeast(1);
          assertEquals(job.status, "pending");
          assertEquals((await jobs.get(db.sql, { id: job.id }))?.id, job.id);
          const rows = await jobs.enqueueBatch(db.sql, {
            jobs: [1, 2, 3].map((i) => ({ type: "notification", payload: { i } })),
            notify: CHANNEL_NEW_JOBS,
          });
          assertEquals(rows.length, 3);
          await l.atLeast(2);
          await jobs.enqueue(db.sql, { job: { type: "notification", payload: {} } });
          await l.settle();
          assertEquals(l.count, 2, "an enqueue without notify sends nothing");
        } finally {
          await l.close();
        }
      });

      await t.step("a rolled-back enqueue notifies nothing", async () => {
        const l = await listen(db.url, CHANNEL_NEW_JOBS);
        try {
          await assertRejects(() =>
            jobs.enqueue(db.sql, {
              job: { type: "Not A Type", payload: {} },
              notify: CHANNEL_NEW_JOBS,
            })
          );
          await l.settle();
          assertEquals(l.count, 0);
        } finally {
          await l.close();
        }
      });

      await t.step("InlineNotify: alone inline, concurrent ones poke the notifier", async () => {
        const l = await listen(db.url, CHANNEL_NEW_JOBS);
        const notifySql = openPool(db.url, { max: 1, name: "jobq-test-notify" });
        const notifier = new Notifier(notifySql, CHANNEL_NEW_JOBS);
        let pokes = 0;
        const poke = notifier.poke.bind(notifier);
        notifier.poke = () => {
          pokes++;
          poke();
        };
        const wake = new InlineNotify(notifier);
        const channels: (string | null)[] = [];
        const add = () =>
          wake.run((notify) => {
            channels.push(notify);
            return jobs.enqueue(db.sql, { job: { type: "notification", payload: {} }, notify });
          });
        try {
          await add();
          assertEquals(channels, [CHANNEL_NEW_JOBS]);
          assertEquals(pokes, 0);
          await l.atLeast(1);

          channels.length = 0;
          await Promise.all(Array.from({ length: 8 }, add));
          assertEquals(channels[0], CHANNEL_NEW_JOBS);
          assertEquals(channels.slice(1), Array(7).fill(null));
          // Each of the 7 pokes once (the notifier may re-poke itself for pokes
          // that arrived while its NOTIFY was in flight).
          assert(pokes >= 7, `${pokes} pokes`);
          await notifier.flush();
          await l.atLeast(3);

          // A failed enqueue pokes nothing; the next one alone is inline again.
          pokes = 0;
          await assertRejects(() =>
            wake.run((notify) =>
              jobs.enqueue(db.sql, { job: { type: "Bad Type", payload: {} }, notify })
            )
          );
          channels.length = 0;
          await add();
          assertEquals(channels, [CHANNEL_NEW_JOBS]);
          assertEquals(pokes, 0);
          assert(l.count >= 3);
        } finally {
          await notifier.close();
          await notifySql.end({ timeout: 1 });
          await l.close();
        }
      });
    } finally {
      await db.drop();
    }
  },
});

Deno.test("Listener: one connection for its channels; LISTENs again after its backend is terminated", async () => {
  const db = await createTestDb();
  const seen: string[] = [];
  let listening = 0;
  const listener = new Listener(db.sql, {
    channels: ["jobq_a", "jobq_b"],
    name: "jobq-test-listener",
    onNotify: (channel) => seen.push(channel),
    onListening: () => listening++,
  });
  const backends = async () =>
    (await db.sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'jobq-test-listener'`)
      .map((r) => r.pid);
  const until = async (ok: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${seen}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await listener.start();
    assertEquals([listening, (await backends()).length], [1, 1]);
    await db
      .sql`SELECT pg_notify('jobq_a', ''), pg_notify('jobq_other', ''), pg_notify('jobq_b', '')`;
    await until(() => seen.length >= 2, "two notifications");
    assertEquals(seen, ["jobq_a", "jobq_b"]);
    const [pid] = await backends();
    await db.sql`SELECT pg_terminate_backend(${pid})`;
    await until(() => listening >= 2, "a second LISTEN");
    await db.sql`SELECT pg_notify('jobq_b', '')`;
    await until(() => seen.length >= 3, "a notification after the reconnect");
  } finally {
    await listener.close();
    await db.drop();
  }
});

Deno.test("Listener: start({ retry: false }) rejects at once when the database is unreachable", async () => {
  const down = openPool("postgres://postgres@127.0.0.1:1/nowhere", { max: 1, connectTimeout: 2 });
  const listener = new Listener(down, { channels: ["jobq_a"], onNotify: () => {} });
  try {
    await assertRejects(() => listener.start({ retry: false }));
  } finally {
    await listener.close();
    await down.end({ timeout: 1 });
  }
});
