/**
 * The web process during a database outage, through a TCP proxy the test
 * controls: the database refusing connections, and a database host that does
 * not answer at all. Every request is answered 503 with Retry-After within
 * the configured wait (DB_WAIT_SECONDS), the very first request after the
 * database is back succeeds, and the outage is logged once when it starts
 * and once when it ends, with the count of refused requests.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { createTestDb } from "../_helpers/db.ts";
import {
  hostPort,
  type PgProxy,
  report,
  spawnWeb,
  startPgProxy,
  stopAll,
} from "../_helpers/faults.ts";

/** DB_WAIT_SECONDS of the web process under test. */
const WAIT_S = 1;
/**
 * What the setting promises: at most WAIT_S for a free connection, WAIT_S for
 * a new one and 0.5 s of reconnect pause; doubled, so a loaded machine does
 * not fail the test (the pre-fix waits were 10–20 s).
 */
const BOUND_MS = 2 * (2 * WAIT_S + 0.5) * 1000;
/** Pages and API routes that need the database. */
const PATHS = ["/", "/jobs", "/workers", "/api/stats", "/api/jobs?limit=5"];

interface Answer {
  path: string;
  status: number;
  retryAfter: string | null;
  ms: number;
}

async function get(url: string, path: string): Promise<Answer> {
  const t = performance.now();
  const res = await fetch(url + path, { signal: AbortSignal.timeout(60_000) });
  await res.body?.cancel();
  return {
    path,
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    ms: Math.round(performance.now() - t),
  };
}

/** `rounds` waves of `perRound` concurrent requests over PATHS, 300 ms apart. */
async function waves(url: string, rounds: number, perRound: number): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let r = 0; r < rounds; r++) {
    out.push(
      ...await Promise.all(
        Array.from({ length: perRound }, (_, i) => get(url, PATHS[(r + i) % PATHS.length])),
      ),
    );
    await new Promise((res) => setTimeout(res, 300));
  }
  return out;
}

async function outage(
  name: string,
  cut: (p: PgProxy) => void,
  load: { rounds: number; perRound: number },
): Promise<void> {
  const db = await createTestDb();
  const proxy = startPgProxy(hostPort(db.url));
  const web = await spawnWeb(proxy.urlFor(db.url), { DB_WAIT_SECONDS: String(WAIT_S) });
  try {
    assertEquals((await get(web.url, "/api/stats")).status, 200, "up before the outage");
    cut(proxy);
    const during = await waves(web.url, load.rounds, load.perRound);
    proxy.up();
    const first = await get(web.url, "/api/stats");
    await report(name, {
      command: "deno test -A tests/faults/web_outage_test.ts",
      requests_during: during.length,
      statuses: [...new Set(during.map((a) => a.status))],
      ms_max: Math.max(...during.map((a) => a.ms)),
      bound_ms: BOUND_MS,
      first_after: first,
    });
    const ended = await web.waitForLog(
      (l) => l.msg === "db.outage_ended",
      30_000,
      "db.outage_ended",
    );
    const started = web.lines.filter((l) => l.msg === "db.outage_started");
    for (const a of during) {
      assertEquals([a.path, a.status], [a.path, 503], `answer during the outage (${a.ms} ms)`);
      assert(a.retryAfter !== null, `${a.path}: 503 without Retry-After`);
      assert(a.ms <= BOUND_MS, `${a.path}: answered after ${a.ms} ms (bound ${BOUND_MS} ms)`);
    }
    assertEquals(first.status, 200, "the first request after the database is back");
    assert(first.ms <= BOUND_MS, `first request after the outage took ${first.ms} ms`);
    assertEquals(started.length, 1, "one db.outage_started line");
    assertEquals(web.lines.filter((l) => l.msg === "db.outage_ended").length, 1);
    assertEquals(ended.refused_requests, during.length, "the end line counts the refused requests");
  } finally {
    await stopAll([web]);
    proxy.close();
    await db.drop();
  }
}

Deno.test("web outage: database refusing connections: 503 + Retry-After within DB_WAIT_SECONDS, next request after it is back succeeds, logged once", async () => {
  // Enough failed attempts in a row that postgres.js's default backoff (up to 20 s) would show.
  await outage("web: database refusing connections", (p) => p.down(), {
    rounds: 8,
    perRound: 5,
  });
});

Deno.test("web outage: database host not answering: 503 + Retry-After within DB_WAIT_SECONDS (more requests than pool connections), logged once", async () => {
  // 30 concurrent requests for a pool of 20: some wait for a free connection.
  await outage("web: database host not answering", (p) => p.stall(), {
    rounds: 2,
    perRound: 30,
  });
});
