/**
 * The complete/fail fence is mandatory: only the holder of an attempt, naming
 * the `worker` and `attempt` that `/api/process` returned (its `locked_by` and
 * `attempts`), can finish it. A call that names no attempt is a 422 and changes
 * nothing; a stale one is a 409.
 */
import { assertEquals } from "./_helpers/assert.ts";
import { type ApiServer, bodyJson } from "./_helpers/api_server.ts";
import { openApp } from "./_helpers/app.ts";
import { insertJob } from "./_helpers/factory.ts";
import { enqueueWork, spawnWorker, stopAll, waitFor } from "./_helpers/faults.ts";
import { jobs } from "../lib/queue/mod.ts";
import type { Job } from "../lib/queue/types.ts";

type Json = Record<string, unknown>;

async function status(res: Response): Promise<[number, string | undefined]> {
  const body = await bodyJson<{ error?: { code: string } }>(res);
  return [res.status, body.error?.code];
}

async function current(s: ApiServer, id: string): Promise<Json> {
  const [row] = await s.db.sql<Job[]>`SELECT * FROM job WHERE id = ${id}`;
  return { status: row.status, locked_by: row.locked_by, attempts: row.attempts };
}

Deno.test({
  name: "fence: a client that never claimed a job can neither complete nor fail it",
}, async () => {
  const s = await openApp();
  try {
    const job = await insertJob(s.db.sql, { status: "pending" });
    const claimed = await bodyJson(await s.post("/api/process", { worker: "ext-1" }));
    assertEquals([claimed.id, claimed.locked_by, claimed.attempts], [job.id, "ext-1", 1]);
    const stranger = await s.post(`/api/complete/${job.id}`, { result: "not mine" });
    assertEquals(await status(stranger), [422, "validation_failed"]);
    const bare = await s.call(`/api/complete/${job.id}`, { method: "POST" });
    assertEquals(await status(bare), [422, "validation_failed"]);
    const failed = await s.post(`/api/fail/${job.id}`, { error: "not mine either" });
    assertEquals(await status(failed), [422, "validation_failed"]);
    assertEquals(await current(s, job.id), {
      status: "processing",
      locked_by: "ext-1",
      attempts: 1,
    });
    const done = await s.post(`/api/complete/${job.id}`, {
      result: "mine",
      worker: "ext-1",
      attempt: 1,
    });
    assertEquals([done.status, (await bodyJson(done)).result], [200, "mine"]);
  } finally {
    await s.close();
  }
});

Deno.test({
  name: "fence: a stale client whose attempt was rescued cannot overwrite the next attempt",
}, async () => {
  const s = await openApp();
  try {
    const job = await insertJob(s.db.sql, { status: "pending" });
    const first = await bodyJson(await s.post("/api/process", { worker: "ext-1" }));
    assertEquals([first.id, first.attempts], [job.id, 1]);
    // Attempt 1's lease runs out and the rescuer returns the job to pending.
    await s.db.sql`UPDATE job SET locked_until = now() - interval '1 second' WHERE id = ${job.id}`;
    assertEquals((await jobs.rescueExpired(s.db.sql)).map((r) => r.id), [job.id]);
    const second = await bodyJson(await s.post("/api/process", { worker: "ext-1" }));
    assertEquals([second.id, second.locked_by, second.attempts], [job.id, "ext-1", 2]);

    // The stale client (same worker name, attempt 1) reports late, with and without its fence.
    const unnamed = await s.post(`/api/fail/${job.id}`, { error: "late failure" });
    assertEquals(await status(unnamed), [422, "validation_failed"]);
    const stale = await s.post(`/api/fail/${job.id}`, {
      error: "late failure",
      worker: "ext-1",
      attempt: 1,
    });
    assertEquals(await status(stale), [409, "lease_lost"]);
    const staleDone = await s.post(`/api/complete/${job.id}`, { worker: "ext-1", attempt: 1 });
    assertEquals(await status(staleDone), [409, "lease_lost"]);
    assertEquals(await current(s, job.id), {
      status: "processing",
      locked_by: "ext-1",
      attempts: 2,
    });

    // The real holder of attempt 2 finishes it.
    const done = await s.post(`/api/complete/${job.id}`, {
      result: { attempt: 2 },
      worker: "ext-1",
      attempt: 2,
    });
    assertEquals([done.status, (await bodyJson(done)).status], [200, "completed"]);
  } finally {
    await s.close();
  }
});

Deno.test({
  name: "fence: a job a `deno task worker` process runs cannot be finished by a stranger",
}, async () => {
  const s = await openApp();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-fence-" });
  const worker = await spawnWorker(s.db.url, dataDir, { env: { JOB_LEASE_SECONDS: "30" } });
  try {
    await enqueueWork(s.db.sql, { count: 1, ms: 60_000 });
    const [held] = await waitFor(async () => {
      const rows = await s.db.sql<Job[]>`SELECT * FROM job WHERE status = 'processing'`;
      return rows.length ? rows : null;
    }, { what: "the worker to claim the job" });
    assertEquals(held.locked_by?.split("/")[0], worker.id);
    const stranger = await s.post(`/api/complete/${held.id}`, { result: "stolen" });
    assertEquals(await status(stranger), [422, "validation_failed"]);
    const guess = await s.post(`/api/fail/${held.id}`, {
      error: "stolen",
      worker: "api-someone",
      attempt: 1,
    });
    assertEquals(await status(guess), [409, "lease_lost"]);
    assertEquals(await current(s, held.id), {
      status: "processing",
      locked_by: held.locked_by,
      attempts: 1,
    });
  } finally {
    await stopAll([worker]);
    await s.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
