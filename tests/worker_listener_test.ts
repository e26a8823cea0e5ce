/**
 * The worker's listener service alone: `NOTIFY jobq_new` wakes a runner, and
 * a dropped LISTEN connection is re-established (then every runner is woken).
 */
import { CHANNEL_NEW_JOBS } from "../lib/queue/mod.ts";
import { NewJobsListener } from "../worker/services/listener.ts";
import { assertEquals } from "./_helpers/assert.ts";
import { type ServiceBundle, setupService } from "./_helpers/worker_services.ts";

/** A listener whose callbacks count, with a way to await the next one. */
function listenerOf(b: ServiceBundle) {
  const seen = { newJobs: 0, listening: 0 };
  let next = Promise.withResolvers<void>();
  const bump = (k: keyof typeof seen) => {
    seen[k]++;
    next.resolve();
    next = Promise.withResolvers<void>();
  };
  const listener = new NewJobsListener({
    sql: b.db.sql,
    worker: b.id,
    health: b.health,
    onNewJob: () => bump("newJobs"),
    onListening: () => bump("listening"),
  });
  const until = async (ok: () => boolean) => {
    const deadline = Date.now() + 30_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out; saw ${JSON.stringify(seen)}`);
      await Promise.race([next.promise, new Promise((r) => setTimeout(r, 200))]);
    }
  };
  return { listener, seen, until };
}

async function listenBackends(b: ServiceBundle): Promise<number[]> {
  return (await b.db.sql<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = 'jobq-worker-listen'`)
    .map((r) => r.pid);
}

Deno.test("listener service", async (t) => {
  await t.step(
    "one connection; each NOTIFY on jobq_new calls onNewJob, others do not",
    async () => {
      const b = await setupService();
      const { listener, seen, until } = listenerOf(b);
      try {
        await listener.start();
        assertEquals(seen, { newJobs: 0, listening: 1 });
        assertEquals((await listenBackends(b)).length, 1);
        await b.db.sql`SELECT pg_notify('jobq_changed', '')`;
        await b.db.sql`SELECT pg_notify(${CHANNEL_NEW_JOBS}, '')`;
        await until(() => seen.newJobs >= 1);
        assertEquals(seen.newJobs, 1);
      } finally {
        await listener.stop();
        await b.teardown();
      }
    },
  );

  await t.step("a terminated LISTEN backend is replaced and listens again", async () => {
    const b = await setupService();
    const { listener, seen, until } = listenerOf(b);
    try {
      await listener.start();
      const [pid] = await listenBackends(b);
      await b.db.sql`SELECT pg_terminate_backend(${pid})`;
      await until(() => seen.listening >= 2);
      const now = await listenBackends(b);
      assertEquals(now.length, 1);
      assertEquals(now[0] === pid, false, "a new backend");
      await b.db.sql`SELECT pg_notify(${CHANNEL_NEW_JOBS}, '')`;
      await until(() => seen.newJobs >= 1);
    } finally {
      await listener.stop();
      await b.teardown();
    }
  });

  await t.step("stop() ends the connection: no more wake-ups", async () => {
    const b = await setupService();
    const { listener } = listenerOf(b);
    try {
      await listener.start();
      await listener.stop();
      const deadline = Date.now() + 10_000;
      while ((await listenBackends(b)).length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assertEquals(await listenBackends(b), []);
    } finally {
      await b.teardown();
    }
  });
});
