/**
 * The container's entry commands, run as the image runs them (subprocesses
 * of `deno task …` against a database of their own): migrate, seed, prune,
 * and the HEALTHCHECK script.
 */
import { openPool, withDatabase } from "../lib/db.ts";
import { adminUrl } from "./_helpers/db.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_helpers/assert.ts";

const ROOT = new URL("../", import.meta.url);

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", LOG_LEVEL: "warn", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("entry commands: migrate, seed and prune work from an empty database", async () => {
  const admin = openPool(await adminUrl(), { max: 1 });
  const name = `jobq_test_entry_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  await admin`CREATE DATABASE ${admin(name)}`;
  const url = withDatabase(await adminUrl(), name);
  const env = { DATABASE_URL: url, TEST_DATABASE_URL: "" };
  const sql = openPool(url, { max: 1 });
  try {
    const m1 = await run(["task", "migrate"], env);
    assertEquals(m1.code, 0, m1.stderr);
    assertMatch(m1.stdout, /applied 0001_init\.sql/);
    const m2 = await run(["task", "migrate"], env);
    assertStringIncludes(m2.stdout, "database is up to date");

    const s = await run(["task", "seed", "--count", "60", "--spread", "2"], env);
    assertEquals(s.code, 0, s.stderr);
    assertMatch(
      s.stdout,
      /^seeded 60 jobs and \d+ events in [\d.]+ s \(created over the last 2 days\)/m,
    );
    assertMatch(
      s.stdout,
      /by status: pending \d+, processing \d+, completed \d+, failed \d+, cancelled \d+/,
    );
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
    assertEquals(n, 60);
    const dry = await run(["task", "prune", "--older-than", "24h", "--dry-run"], env);
    assertEquals(dry.code, 0, dry.stderr);
    assertMatch(dry.stdout, /^dry run: would delete \d+ finished jobs, \d+ events/m);
    const [{ same }] = await sql<{ same: number }[]>`SELECT count(*)::int AS same FROM job`;
    assertEquals(same, 60, "a dry run deletes nothing");

    const p = await run(["task", "prune", "--older-than=1d"], env);
    assertEquals(p.code, 0, p.stderr);
    const m = /^deleted (\d+) finished jobs, \d+ events and 0 artifacts finished before /m.exec(
      p.stdout,
    );
    assertMatch(p.stdout, /in \d+ batches/);
    const [{ left, old }] = await sql<{ left: number; old: number }[]>`
      SELECT count(*)::int AS left,
        count(*) FILTER (WHERE status IN ('completed', 'failed', 'cancelled')
          AND updated_at < now() - interval '1 day')::int AS old
      FROM job`;
    assertEquals(old, 0, "no finished job older than a day is left");
    assertEquals(left + Number(m?.[1]), 60, p.stdout);
    assert(left > 0 && left < 60, `kept ${left} of 60`);
  } finally {
    await sql.end();
    await admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`;
    await admin.end();
  }
});

Deno.test("entry commands: a bad command line exits 64 with the reason and the usage", async () => {
  const none = await run(["task", "prune", "--older-than"]);
  assertEquals(none.code, 64);
  assertStringIncludes(none.stderr, "prune: --older-than needs a value");
  assertStringIncludes(none.stderr, "usage: deno task prune [--older-than AGE]");
  const bad = await run(["task", "prune", "--older-than", "30 days"]);
  assertEquals(bad.code, 64);
  assertStringIncludes(
    bad.stderr,
    'expected a whole number followed by d, h or m (e.g. 30d, 12h, 90m), got "30 days"',
  );
  const seed = await run(["task", "seed", "--count", "lots"]);
  assertEquals(seed.code, 64);
  assertStringIncludes(
    seed.stderr,
    'seed: --count: expected a whole number from 1 to 10000000, got "lots"',
  );
});

Deno.test("healthcheck script: exit 0 on a 2xx, 1 on an error status or nothing listening", async () => {
  let status = 200;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("{}", { status }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/healthz`;
  const hc = ["run", "--allow-net", "--allow-env", "scripts/healthcheck.ts"];
  try {
    const ok = await run([...hc, url]);
    assertEquals(ok.code, 0, ok.stderr);
    assertStringIncludes(ok.stdout, `healthy: ${url} answered 200`);
    status = 503;
    const down = await run([...hc, url]);
    assertEquals(down.code, 1);
    assertStringIncludes(down.stderr, `unhealthy: ${url} answered 503`);
    // Without an argument: the web role's /healthz on PORT.
    status = 202;
    const byPort = await run(hc, { PORT: String(server.addr.port) });
    assertEquals(byPort.code, 0, byPort.stderr);
  } finally {
    await server.shutdown();
  }
  const closed = await run([...hc, url]);
  assertEquals(closed.code, 1);
  assertStringIncludes(closed.stderr, "unhealthy:");
});
