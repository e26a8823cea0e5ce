/**
 * `DATABASE_LISTEN_URL` names the one direct session that LISTENs. When it
 * cannot be had (here: nothing listens on its port) everything still works
 * by polling: the worker picks up every job, and the web's `/api/events`
 * still streams a change after each one, from polling the database.
 */
import { openPool } from "../lib/db.ts";
import { type LiveChange, liveFeed } from "../lib/live.ts";
import * as jobs from "../lib/queue/jobs.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";
import { audit, spawnWeb, statusCounts, stopAll, waitFor } from "./_helpers/faults.ts";
import { spawnWorker } from "./_helpers/worker_proc.ts";

/** A postgres URL on a loopback port nothing listens on. */
function refusedUrl(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

Deno.test("listen url: a worker whose DATABASE_LISTEN_URL refuses connections starts, says it polls, and completes every job once", async () => {
  const db = await createTestDb();
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-listen-" });
  const worker = spawnWorker({
    DATABASE_URL: db.url,
    DATABASE_LISTEN_URL: refusedUrl(),
    DATA_DIR: dataDir,
    WORKER_CONCURRENCY: "2",
  });
  try {
    await worker.waitForLog((l) => l.msg === "worker.started", 120_000, "worker.started");
    await worker.waitForLog((l) => l.msg === "worker.listen_unavailable", 10_000, "the fallback");
    const COUNT = 40;
    for (let i = 0; i < COUNT; i++) {
      await jobs.enqueue(db.sql, {
        job: {
          type: "notification",
          payload: { user_id: `u${i}`, channel: "push", message: "hi" },
        },
      });
    }
    await waitFor(async () => (await statusCounts(db.sql)).completed === COUNT, {
      timeoutMs: 60_000,
      what: `${COUNT} jobs completed by polling`,
    });
    const a = await audit(db.sql);
    assertEquals([a.notCompleted, a.duplicateCompletions, a.rerun], [0, 0, 0]);
    assertEquals(worker.lines.filter((l) => l.msg === "db.down").length, 0, "the database is up");
  } finally {
    await stopAll([worker]);
    await db.drop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("listen url: the live feed polls while LISTEN is refused, and a job change still reaches its subscribers", async () => {
  const db = await createTestDb();
  const sql = openPool(db.url, { max: 2, listenUrl: refusedUrl() });
  const feed = liveFeed(sql, { minGapMs: 0, pollMs: 100 });
  const changes: LiveChange[] = [];
  let unsubscribe = () => {};
  try {
    unsubscribe = await feed.subscribe((c) => changes.push(c));
    assert(feed.polling, "polling instead of LISTEN");
    // The first poll only notes where the timeline stands.
    await new Promise((r) => setTimeout(r, 300));
    const before = changes.length;
    await jobs.enqueue(sql, {
      job: { type: "notification", payload: { user_id: "u", channel: "push", message: "hi" } },
    });
    await waitFor(() => changes.length > before, { timeoutMs: 10_000, what: "a change message" });
    assertEquals(changes.at(-1)!.channels, ["jobq_changed"]);
  } finally {
    unsubscribe();
    await sql.end();
    await db.drop();
  }
});

Deno.test("listen url: the web process with LISTEN refused still serves /api/events, with a change after a job is created", async () => {
  const db = await createTestDb();
  const web = await spawnWeb(db.url, { DATABASE_LISTEN_URL: refusedUrl() });
  const ac = new AbortController();
  try {
    const res = await fetch(`${web.url}/api/events`, { signal: ac.signal });
    assertEquals(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 30_000;
      while (!text.includes(needle)) {
        assert(Date.now() < deadline, `no "${needle}" in:\n${text}`);
        const { done, value } = await reader.read();
        assert(!done, `stream ended before "${needle}":\n${text}`);
        text += value;
      }
    };
    await readUntil("event: ready");
    await web.waitForLog((l) => l.msg === "live.listen_unavailable", 10_000, "the fallback");
    // Past the first poll, which only notes where the timeline stands.
    await new Promise((r) => setTimeout(r, 2500));
    const created = await fetch(`${web.url}/api/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        type: "notification",
        payload: { user_id: "u", channel: "push", message: "hi" },
      }),
    });
    assertEquals(created.status, 201, await created.clone().text());
    await created.body?.cancel();
    await readUntil("event: change");
    await reader.cancel();
  } finally {
    ac.abort();
    await stopAll([web]);
    await db.drop();
  }
});
