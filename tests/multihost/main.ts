/**
 * `deno task multihost`: jobq across hosts, on one machine. Three worker
 * hosts and one web host are Linux network namespaces (tests/multihost/net.ts);
 * they reach PostgreSQL through PgBouncer in the root namespace, TRANSACTION
 * mode for `DATABASE_URL`, SESSION mode for `DATABASE_LISTEN_URL`
 * (tests/multihost/pgbouncer.ts). Each worker host runs `deno task worker`'s
 * entry (worker/main.ts) with the benchmark's no-op handlers made to wait
 * `HANDLER_MS` per job; the web host runs main.ts, and jobs are enqueued
 * through its API from the root namespace.
 *
 * 1. Scaling: `SCALE_JOBS` × n jobs drained by n = 1, 2 and 3 hosts (queue
 *    `hn`, which hosts w1…wn serve), jobs/s by the database clock from the
 *    moment they are all made due.
 * 2. Partition: `JOBS` jobs on three hosts; once a quarter are done, host w3
 *    is cut off (its veth link down) for twice the lease, then joined again.
 *    Checks: every job completed, none pending or processing, one
 *    `completed` event per job, every job run twice has a `rescued` event,
 *    and each write of w3 that the fence (id, attempt, locked_by) refused
 *    — its `job.lost` log lines: a late result discarded, a failure not
 *    recorded — is of a job rescued from w3 and completed by another host.
 * 3. Connections: PostgreSQL backends of the test database, sampled
 *    throughout, against the sum of the client pools' sizes.
 *
 * Ends with one line `multihost: hosts 3, jobs …` and exit 0, or the failed
 * checks and exit 1. Needs root and `ip netns`; removes every namespace,
 * link, process and database it made, also when it fails, and what an
 * earlier run left. Environment: `TEST_DATABASE_URL` or `DATABASE_URL` (else
 * the embedded PostgreSQL), `MULTIHOST_JOBS` (20000), `MULTIHOST_SCALE_JOBS`
 * (600).
 */
import { WORKER_V8_FLAGS } from "../../bench/util.ts";
import { openPool, withDatabase } from "../../lib/db.ts";
import { adminUrl } from "../_helpers/db.ts";
import { migrate } from "../../lib/migrate.ts";
import * as check from "./checks.ts";
import {
  buildNetwork,
  cleanupLeftovers,
  cut,
  GATEWAY,
  type Host,
  restore,
  unsupportedReason,
} from "./net.ts";
import {
  LISTEN_DB,
  type PgBouncer,
  startPgBouncer,
  stopLeftover,
  TX_DB,
  type Upstream,
} from "./pgbouncer.ts";
import { cpuMsOf, type HostProcess, logged, spawnOnHost } from "./procs.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const num = (name: string, dflt: number) => Number(Deno.env.get(name) ?? dflt);
const JOBS = num("MULTIHOST_JOBS", 20_000);
const SCALE_JOBS = num("MULTIHOST_SCALE_JOBS", 600);
const HANDLER_MS = 50;
const LEASE_S = 5;
const CONCURRENCY = 4;
// Handlers that wait share a Web Worker: 16 jobs at once per host, in 4 Web Workers.
const JOBS_PER_RUNNER = 4;
const CUT_MS = 2 * LEASE_S * 1000 + 2000;
const PGB_PORT = 6432;
const TX_POOL = 12;
const SESSION_POOL = 8;
const WEB_PORT = 8000;
const MONITOR = "jobq-multihost";
// Client pools (worker/supervisor.ts, worker/runner.ts, main.ts): a worker process has a pool of
// 3, one LISTEN connection and a pool of 2 per runner; the web process a pool of 20.
const WORKER_POOLS = 3 + 1 + 2 * CONCURRENCY;
const WEB_POOL = 20;

function upstreamOf(url: string): Upstream {
  const u = new URL(url);
  return {
    host: u.hostname || "127.0.0.1",
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || "postgres"),
    password: decodeURIComponent(u.password),
    dbname: u.pathname.slice(1) || "postgres",
  };
}

const say = (text: string) => console.log(`multihost: ${text}`);
const elapsed = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

async function enqueue(
  web: string,
  token: string,
  queue: string,
  n: number,
  scheduledFor?: string,
): Promise<void> {
  const batches: number[][] = [];
  for (let first = 0; first < n; first += 1000) batches.push([first, Math.min(1000, n - first)]);
  const post = async ([first, count]: number[]) => {
    const jobs = Array.from({ length: count }, (_, k) => ({
      type: "notification",
      queue,
      ...(scheduledFor ? { scheduled_for: scheduledFor } : {}),
      payload: { user_id: "multihost", channel: "push", message: String(first + k) },
    }));
    const res = await fetch(`${web}/api/jobs/batch`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ jobs }),
    });
    const body = await res.text();
    if (res.status !== 201) throw new Error(`multihost: enqueue answered ${res.status}: ${body}`);
  };
  for (let i = 0; i < batches.length; i += 2) await Promise.all(batches.slice(i, i + 2).map(post));
}

async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > end) throw new Error(`multihost: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const reason = await unsupportedReason();
if (reason) {
  console.error(`multihost: cannot run here: ${reason}`);
  Deno.exit(2);
}
try {
  await Deno.stat("/usr/sbin/pgbouncer");
} catch {
  console.error(
    "multihost: cannot run here: /usr/sbin/pgbouncer is missing (apt-get install pgbouncer)",
  );
  Deno.exit(2);
}

const t0 = performance.now();
// TEST_DATABASE_URL, else DATABASE_URL, else the embedded server (its maintenance database).
const baseUrl = await adminUrl();
const dbName = `jqmh_${Deno.pid}`;
const admin = openPool(baseUrl, { max: 1, name: MONITOR });
const leftovers = await cleanupLeftovers();
if (stopLeftover()) leftovers.push("pgbouncer");
for (
  const { datname } of await admin<{ datname: string }[]>`
  SELECT datname FROM pg_database WHERE datname LIKE 'jqmh\\_%'`
) {
  await admin.unsafe(`DROP DATABASE "${datname}" WITH (FORCE)`);
  leftovers.push(`database ${datname}`);
}
if (leftovers.length) say(`removed what an earlier run left: ${leftovers.join(", ")}`);

const procs: HostProcess[] = [];
let pgb: PgBouncer | null = null;
let sql: ReturnType<typeof openPool> | null = null;
let sampler: ReturnType<typeof setInterval> | undefined;
const failures: string[] = [];
let figures = "";

let tornDown: Promise<void> | null = null;
/** Stops every process, PgBouncer, the database and the network this run made (once). */
function teardown(): Promise<void> {
  return tornDown ??= teardownNow();
}

async function teardownNow(): Promise<void> {
  clearInterval(sampler);
  await Promise.all(procs.map((p) => p.stop(5000)));
  if (failures.length) {
    for (const p of procs) {
      const tail = p.lines.slice(-8).join("\n  ");
      if (tail) console.error(`multihost: last lines of ${p.host.name} (pid ${p.pid}):\n  ${tail}`);
    }
  }
  await pgb?.stop();
  await sql?.end({ timeout: 2 }).catch(() => {});
  await admin.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch((err) =>
    failures.push(`drop database: ${err}`)
  );
  await admin.end({ timeout: 2 }).catch(() => {});
  const left = await cleanupLeftovers();
  if (left.length) say(`removed ${left.length} namespaces, links and processes`);
}

// Interrupted: clean up as at the end, then exit.
const interrupted = () => {
  failures.push("interrupted");
  teardown().finally(() => Deno.exit(130));
};
Deno.addSignalListener("SIGINT", interrupted);
Deno.addSignalListener("SIGTERM", interrupted);
try {
  await admin.unsafe(`CREATE DATABASE "${dbName}"`);
  const dbUrl = withDatabase(baseUrl, dbName);
  sql = openPool(dbUrl, { max: 2, name: MONITOR });
  await migrate(sql, { quiet: true });
  const db = sql;

  const hosts = await buildNetwork(["w1", "w2", "w3", "web"]);
  const [w1, w2, w3, webHost] = hosts;
  pgb = await startPgBouncer({
    listenAddr: GATEWAY,
    listenPort: PGB_PORT,
    upstream: { ...upstreamOf(baseUrl), dbname: dbName },
    txPoolSize: TX_POOL,
    sessionPoolSize: SESSION_POOL,
  });
  say(`network and pgbouncer up (${elapsed(t0)})`);

  let peak = 0;
  let listening = 0;
  // CPU per job, from /proc: the worker processes, PostgreSQL's backends of the test database (when
  // the server runs on this machine) and PgBouncer.
  const pgPids = new Set<number>();
  const local = ["127.0.0.1", "localhost", "::1", "[::1]"].includes(new URL(baseUrl).hostname);
  const cpu = () => ({
    workers: workers.reduce((s, w) => s + w.cpuMs(), 0),
    postgres: local ? [...pgPids].reduce((s, pid) => s + cpuMsOf(pid), 0) : NaN,
    pgbouncer: cpuMsOf(pgb!.pid),
  });
  type Cpu = ReturnType<typeof cpu>;
  const perJob = (a: Cpu, b: Cpu, jobs: number) =>
    `workers ${((b.workers - a.workers) / jobs).toFixed(2)}, ` +
    `postgres ${((b.postgres - a.postgres) / jobs).toFixed(2)}, ` +
    `pgbouncer ${((b.pgbouncer - a.pgbouncer) / jobs).toFixed(2)}`;
  sampler = setInterval(() => {
    check.backends(db, dbName, MONITOR).then((n) => {
      for (const pid of n.pids) pgPids.add(pid);
      peak = Math.max(peak, n.all);
      listening = Math.max(listening, n.listening);
    }, () => {});
  }, 200);

  const common = {
    DATABASE_URL: pgb.url(TX_DB),
    DATABASE_LISTEN_URL: pgb.url(LISTEN_DB),
    // PgBouncer 1.18 keeps no prepared statements across transactions.
    DATABASE_PREPARE: "false",
    LOG_LEVEL: "warn",
  };
  const token = crypto.randomUUID();
  const web = spawnOnHost(webHost, ["main.ts"], {
    ...common,
    HOST: webHost.address,
    PORT: String(WEB_PORT),
    API_TOKEN: `multihost:${token}`,
    DASHBOARD_PASSWORD: crypto.randomUUID(),
  }, ROOT);
  procs.push(web);
  const queuesOf: [Host, string][] = [[w1, "h1,h2,h3,cut"], [w2, "h2,h3,cut"], [w3, "h3,cut"]];
  const workers = queuesOf.map(([host, queues]) => {
    const p = spawnOnHost(host, [
      WORKER_V8_FLAGS,
      "worker/main.ts",
      "--handlers=bench/noop_handlers.ts",
    ], {
      ...common,
      WORKER_QUEUES: queues,
      WORKER_CONCURRENCY: String(CONCURRENCY),
      WORKER_JOBS_PER_RUNNER: String(JOBS_PER_RUNNER),
      JOB_LEASE_SECONDS: String(LEASE_S),
      RETRY_BASE_MS: "100",
      SHUTDOWN_GRACE_SECONDS: "5",
      JOBQ_BENCH_HANDLER_MS: String(HANDLER_MS),
    }, ROOT);
    procs.push(p);
    return p;
  });
  const webUrl = `http://${webHost.address}:${WEB_PORT}`;
  await until("the web host's /healthz", 90_000, async () => (await fetch(`${webUrl}/healthz`)).ok);
  await until("three worker hosts", 90_000, async () => {
    const [r] = await db<{ n: number }[]>`SELECT count(*)::int AS n FROM worker`;
    return r.n === workers.length;
  });
  say(`web and ${workers.length} worker hosts up (${elapsed(t0)})`);

  // 1. Scaling: n hosts drain SCALE_JOBS × n jobs.
  const rates: number[] = [];
  const cpuPerJob: string[] = [];
  for (const n of [1, 2, 3]) {
    const queue = `h${n}`;
    const cpu0 = cpu();
    // Stored first (due in the far future), then made due at once: the drain is timed, not the API.
    await enqueue(webUrl, token, queue, SCALE_JOBS * n, "2100-01-01T00:00:00Z");
    const since = await check.release(db, queue, n * CONCURRENCY * JOBS_PER_RUNNER);
    await check.waitDrained(db, { queue, n: SCALE_JOBS * n, timeoutMs: 120_000 });
    const r = await check.drainRate(db, queue, since);
    rates.push(r.jobs / r.seconds);
    cpuPerJob.push(perJob(cpu0, cpu(), r.jobs));
    const by = await check.completionsByPid(db, queue);
    const share = workers.slice(0, n).map((w) => by.get(w.pid) ?? 0).join("/");
    say(
      `${n} host(s): ${r.jobs} jobs in ${r.seconds.toFixed(2)} s, by host ${share} (${
        elapsed(t0)
      })`,
    );
  }

  // 2. Partition: w3 is cut off a quarter of the way through, for twice the lease.
  const cpuCut = cpu();
  const enqueued = enqueue(webUrl, token, "cut", JOBS);
  const partition = (async () => {
    await until(
      "a quarter of the jobs done",
      120_000,
      async () => (await check.queueCounts(db, "cut")).completed >= JOBS / 4,
    );
    // Cut while w3 holds jobs (it is between claims a good part of the time).
    let held = 0;
    const end = Date.now() + 5000;
    while (held === 0 && Date.now() < end) held = await check.heldBy(db, workers[2].pid);
    await cut(w3);
    const done = (await check.queueCounts(db, "cut")).completed;
    say(`cut off ${w3.name}, holding ${held} jobs, at ${done} completed (${elapsed(t0)})`);
    await new Promise((r) => setTimeout(r, CUT_MS));
    await restore(w3);
    say(`joined ${w3.name} again (${elapsed(t0)})`);
  })();
  partition.catch(() => {}); // awaited below
  await check.waitDrained(db, { queue: "cut", n: JOBS, timeoutMs: 240_000 });
  cpuPerJob.push(perJob(cpuCut, cpu(), JOBS));
  await partition;
  await enqueued;
  clearInterval(sampler);
  // w3 has its late writes refused once it hears back; a graceful stop flushes what is left.
  const codes = await Promise.all(workers.map((w) => w.stop(15_000)));
  if (codes.some((c) => c !== 0)) failures.push(`worker exit codes ${codes.join(", ")}`);

  const counts = await check.queueCounts(db, "cut");
  const t = await check.timelines(db, "cut", workers[2].pid);
  // Every write w3 made for a job it no longer held: a result discarded, a failure not recorded.
  const refused = logged(workers[2], "job.lost");
  const refusedIds = [...new Set(refused.map((l) => String(l.job_id)))];
  const elsewhere = await check.completedElsewhere(db, refusedIds, workers[2].pid);
  const byPid = await check.completionsByPid(db, "cut");
  const lost = JOBS - counts.completed;
  const stuck = counts.pending + counts.processing;
  if (counts.total !== JOBS) failures.push(`${counts.total} jobs stored, ${JOBS} enqueued`);
  if (lost !== 0) failures.push(`${lost} jobs not completed: ${JSON.stringify(counts)}`);
  if (stuck !== 0) failures.push(`${stuck} jobs pending or processing`);
  if (t.completedEvents !== counts.completed) {
    failures.push(`${t.completedEvents} completed events for ${counts.completed} completed jobs`);
  }
  if (t.reRunUnrescued !== 0) failures.push(`${t.reRunUnrescued} jobs re-run without a rescue`);
  if (t.rescued === 0) failures.push("no job was rescued from the cut host");
  if (t.rescuedFromPid !== t.rescued) {
    failures.push(`${t.rescued - t.rescuedFromPid} rescues of hosts that were not cut`);
  }
  if (elsewhere !== refusedIds.length) {
    failures.push(`${refusedIds.length - elsewhere} refused results not completed by another host`);
  }
  if (refusedIds.length === 0) failures.push("the cut host had no late result refused");
  if (refusedIds.length > t.rescuedFromPid) {
    failures.push(`${refusedIds.length} writes refused, ${t.rescuedFromPid} jobs rescued from w3`);
  }
  if (listening < workers.length) {
    failures.push(`${listening} LISTEN sessions seen, one per worker host expected`);
  }
  const share = workers.map((w) => byPid.get(w.pid) ?? 0);
  say(
    `partition run: ${JSON.stringify(counts)}; completed by w1/w2/w3 ${share.join("/")}; ` +
      `re-run ${t.reRun}, rescued ${t.rescued}, refused ${refusedIds.length} (${elapsed(t0)})`,
  );
  say(
    `CPU ms per job: ${
      cpuPerJob.map((c, i) => `${["1h", "2h", "3h", "partition"][i]}: ${c}`).join("; ")
    }`,
  );

  const pools = workers.length * WORKER_POOLS + WEB_POOL;
  figures = `multihost: hosts ${workers.length}, jobs ${JOBS}, lost ${lost}, stuck ${stuck}, ` +
    `rescued ${t.rescued}, fenced ${refusedIds.length}, ` +
    `jobs/s 1h ${rates[0].toFixed(0)} 2h ${rates[1].toFixed(0)} 3h ${rates[2].toFixed(0)}, ` +
    `pg connections ${peak} of pools ${pools} (pgbouncer ${TX_POOL}+${SESSION_POOL}, ` +
    `${listening} LISTEN)`;
} catch (err) {
  failures.push(String(err instanceof Error ? err.stack ?? err.message : err));
} finally {
  Deno.removeSignalListener("SIGINT", interrupted);
  Deno.removeSignalListener("SIGTERM", interrupted);
  await teardown();
}
if (failures.length) {
  for (const f of failures) console.error(`multihost: FAILED: ${f}`);
  if (figures) console.log(figures);
  Deno.exit(1);
}
console.log(figures);
say(`passed in ${elapsed(t0)}`);
