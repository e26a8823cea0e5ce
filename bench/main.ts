/**
 * `deno task bench`: throughput, latency and scale of the queue, with the same
 * phases, metric names and JSON lines as the peers' harness
 * (shared/peers/run.mjs), so our lines and theirs can be compared round by
 * round on one PostgreSQL (bench/compare.sh does that).
 *
 *   deno task bench [--jobs 20000] [--concurrency 16] [--inflight 16] [--batch-size 1000]
 *                   [--phases enqueue-seq,enqueue-inflight,enqueue-batch,drain,latency,scale,http]
 *                   [--database-url postgres://postgres@127.0.0.1:5432/postgres]
 *                   [--rounds 1] [--run LABEL] [--scale-sizes 10000,1000000,10000000]
 *                   [--scale-reuse] [--http-client autocannon|wrk] [--memory-handlers noop|real]
 *
 * The server comes from --database-url, else DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres; only its loopback address is
 * accepted. Everything runs in a scratch database `jobq_bench_<pid>` that is
 * created and migrated at start and dropped at the end; each phase starts
 * from empty tables. JSON lines go to stdout, a human summary to stderr.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { openPool } from "../lib/db.ts";
import { setLogLevel } from "../lib/log.ts";
import { insertInBatches, openProducer } from "./enqueue.ts";
import { runScale } from "./scale.ts";
import { createScratch, keptDatabase, type Scratch } from "./scratch.ts";
import { scaleReport } from "./scale_report.ts";
import {
  assertLoopback,
  backendCpuSeconds,
  type BenchOptions,
  jobsPerSecond,
  now,
  resetTables,
  round,
  say,
  settle,
  walBytesSince,
  walPosition,
} from "./util.ts";
import { runDrain, runLatency, runMemory } from "./worker_phases.ts";
import { runHttp } from "./http.ts";
import { runRealMemory } from "./memory_real.ts";

const ALL_PHASES = [
  "enqueue-seq",
  "enqueue-inflight",
  "enqueue-batch",
  "drain",
  "latency",
  "scale",
  "http",
  "memory",
] as const;
type Phase = typeof ALL_PHASES[number];
/** The harness's five, which compare.sh runs every round. */
const DEFAULT_PHASES: Phase[] = [
  "enqueue-seq",
  "enqueue-inflight",
  "enqueue-batch",
  "drain",
  "latency",
];

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "16" },
    inflight: { type: "string", default: "16" },
    "batch-size": { type: "string", default: "1000" },
    "latency-jobs": { type: "string", default: "200" },
    "latency-gap-ms": { type: "string", default: "20" },
    "drain-timeout-s": { type: "string", default: "120" },
    "scale-sizes": { type: "string", default: "10000,100000,1000000" },
    "scale-reuse": { type: "boolean", default: false },
    "scale-iterations": { type: "string", default: "100" },
    "http-seconds": { type: "string", default: "10" },
    "http-connections": { type: "string", default: "32" },
    "http-client": { type: "string", default: "autocannon" },
    "memory-jobs": { type: "string", default: "100000" },
    "memory-concurrency": { type: "string", default: "4" },
    "memory-handlers": { type: "string", default: "noop" },
    phases: { type: "string", default: DEFAULT_PHASES.join(",") },
    "database-url": { type: "string" },
    rounds: { type: "string", default: "1" },
    run: { type: "string" },
    config: { type: "string", default: "default" },
    "worker-args": { type: "string", default: "" },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.error(
    "usage: deno task bench [--jobs 20000] [--concurrency 16] [--inflight 16] [--batch-size 1000]\n" +
      `  [--phases ${ALL_PHASES.join(",")}] [--database-url URL] [--rounds 1] [--run LABEL]\n` +
      "  [--latency-jobs 200] [--latency-gap-ms 20] [--drain-timeout-s 120]\n" +
      "  [--scale-sizes 10000,100000,1000000] [--scale-iterations 100] [--scale-reuse]\n" +
      "  [--http-seconds 10] [--http-connections 32] [--http-client autocannon|wrk]\n" +
      "  [--memory-jobs 100000] [--memory-concurrency 4] [--memory-handlers noop|real]\n" +
      "  [--config LABEL] [--worker-args='--claim-batch 50 --complete-batch 50']",
  );
  Deno.exit(0);
}

const serverUrl = args["database-url"] || Deno.env.get("DATABASE_URL") ||
  "postgres://postgres@127.0.0.1:5432/postgres";
assertLoopback(serverUrl);

const opts: BenchOptions = {
  jobs: Number(args.jobs),
  concurrency: Number(args.concurrency),
  inflight: Number(args.inflight),
  batchSize: Number(args["batch-size"]),
  latencyJobs: Number(args["latency-jobs"]),
  latencyGapMs: Number(args["latency-gap-ms"]),
  drainTimeoutMs: Number(args["drain-timeout-s"]) * 1000,
  workerArgs: args["worker-args"].split(" ").filter(Boolean),
};
for (const [k, v] of Object.entries(opts)) {
  if (typeof v === "number" && (!Number.isFinite(v) || v <= 0)) {
    throw new Error(`bench: --${k} must be a positive number`);
  }
}
const phases = args.phases.split(",").map((p) => p.trim()).filter(Boolean) as Phase[];
for (const p of phases) {
  if (!ALL_PHASES.includes(p)) throw new Error(`bench: unknown phase '${p}'`);
}
if (!["autocannon", "wrk"].includes(args["http-client"])) {
  throw new Error("bench: --http-client must be autocannon or wrk");
}
if (!["noop", "real"].includes(args["memory-handlers"])) {
  throw new Error("bench: --memory-handlers must be noop or real");
}
const rounds = Number(args.rounds);
const scaleSizes = args["scale-sizes"].split(",").map(Number);

setLogLevel("warn");

const commit = await gitCommit();
let currentRun = args.run ?? "1";

async function gitCommit(): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      cwd: new URL("..", import.meta.url),
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** Writes one JSON line: the harness's fields, then the metric's extras. */
function emit(metric: string, value: number | null, extra: Record<string, unknown> = {}) {
  const line = {
    peer: "jobq",
    config: args.config,
    metric,
    value: round(value, 2),
    jobs: opts.jobs,
    concurrency: opts.concurrency,
    ...extra,
    peer_version: commit,
    deno: Deno.version.deno,
    run: currentRun,
  };
  console.log(JSON.stringify(line));
}

// ---------------------------------------------------------------- enqueue

async function enqueuePhase(db: Scratch, mode: "seq" | "inflight" | "batch") {
  await resetTables(db.admin);
  const n = opts.jobs;
  const producer = openProducer(db.url, opts.inflight);
  // Warm the pool's connections (the harness's producers connect lazily; our
  // pool does too: this only opens them before the clock starts, see README).
  await db.admin`CREATE EXTENSION IF NOT EXISTS pg_walinspect`.catch(() => {});
  await settle(db.admin);
  const wal = await walPosition(db.admin);
  const pgCpu0 = await backendCpuSeconds(db);
  const cpu0 = process.cpuUsage();
  const started = now();
  if (mode === "seq") {
    for (let i = 0; i < n; i++) await producer.addOne(i);
  } else if (mode === "inflight") {
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < n; i = next++) await producer.addOne(i);
    };
    await Promise.all(Array.from({ length: opts.inflight }, lane));
  } else {
    await insertInBatches(producer, n, opts.batchSize);
  }
  const elapsed = now() - started;
  const walBytes = await walBytesSince(db.admin, wal);
  const pgCpu = (await backendCpuSeconds(db)) - pgCpu0;
  const cpu1 = process.cpuUsage(cpu0);
  await producer.close();
  const ownWal = await ownWalBytesSince(db.admin, wal);
  const [{ stored }] = await db.admin<{ stored: number }[]>`
    SELECT count(*)::int AS stored FROM job`;
  const value = jobsPerSecond(n, elapsed);
  emit(`enqueue_${mode}_jobs_per_s`, value, {
    elapsed_ms: round(elapsed),
    stored,
    verified: stored === n,
    wal_bytes_per_job: round(walBytes / n),
    own_wal_bytes_per_job: ownWal === null ? null : round(ownWal / n),
    postgres_cpu_ms_per_job: round(pgCpu * 1000 / n, 4),
    client_cpu_ms_per_job: round((cpu1.user + cpu1.system) / 1000 / n, 4),
    ...(mode === "inflight" ? { inflight: opts.inflight } : {}),
    ...(mode === "batch" ? { batch_size: opts.batchSize } : {}),
  });
  say(
    `  enqueue-${mode}: ${Math.round(value)} jobs/s, ${Math.round(walBytes / n)} WAL bytes/job ` +
      `(${ownWal === null ? "?" : Math.round(ownWal / n)} of this database's), ` +
      `CPU per job ${(pgCpu * 1000 / n).toFixed(4)} ms PostgreSQL, ` +
      `${((cpu1.user + cpu1.system) / 1000 / n).toFixed(4)} ms client`,
  );
}

/**
 * WAL bytes since `lsn` of the records that touch this database's relations
 * (pg_walinspect; full-page images included), so other databases' writes on
 * a shared server do not count. Null when pg_walinspect is not available.
 */
async function ownWalBytesSince(sql: Scratch["admin"], lsn: string): Promise<number | null> {
  try {
    const [{ bytes }] = await sql<{ bytes: number }[]>`
      SELECT coalesce(sum(record_length), 0)::float8 AS bytes
      FROM pg_get_wal_records_info(${lsn}::pg_lsn, pg_current_wal_flush_lsn())
      WHERE block_ref LIKE '%/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '/%'`;
    return bytes;
  } catch (err) {
    say(`  (no WAL of this database: ${err instanceof Error ? err.message : err})`);
    return null;
  }
}

// ---------------------------------------------------------------- scale

async function scalePhase(_db: Scratch) {
  // One database per size (see bench/scale.ts): scratch ones dropped at the
  // end, or with --scale-reuse kept under fixed names for the next run.
  const extra: Scratch[] = [];
  try {
    const results = await runScale({
      sizes: scaleSizes,
      iterations: Number(args["scale-iterations"]),
      database: async (size) => {
        if (args["scale-reuse"]) {
          const kept = await keptDatabase(serverUrl, `jobq_bench_scale_${size}`);
          const pool = openPool(kept.url, { max: 1 });
          try {
            // The maintained counts: no scan of ten million rows to find out.
            const [{ n }] = await pool<{ n: number }[]>`
              SELECT (coalesce((SELECT sum(n) FROM job_status_count), 0)
                + coalesce((SELECT sum(n) FROM job_status_delta), 0))::float8 AS n`;
            if (n === size) return { url: kept.url, seeded: true };
            await pool`TRUNCATE job, job_event, job_search`;
          } finally {
            await pool.end();
          }
          return { url: kept.url, seeded: false };
        }
        const s = await createScratch(serverUrl, `s${size}`);
        extra.push(s);
        return { url: s.url, seeded: false };
      },
      // As many connections as `/` runs queries at once (the web pool allows 20).
      pool: (url) => openPool(url, { max: 6, name: "jobq-bench-scale" }),
    });
    for (const r of results) {
      emit(`scale_${r.query}_ms`, r.p50_ms, {
        rows: r.rows,
        p95_ms: r.p95_ms,
        iterations: r.iterations,
      });
    }
    const report = scaleReport(results, scaleSizes);
    for (const r of report.ratios) emit(`scale_${r.query}_ratio`, r.ratio, r.extra);
    say(report.markdown);
    if (report.over.length) {
      scaleOver = report.over.length;
      say(`  scale: OVER 1.5x at ${report.largest} rows: ${report.over.join(", ")}`);
    } else {
      say(`  scale: every measurement within 1.5x at ${report.largest} rows`);
    }
  } finally {
    for (const s of extra) await s.drop();
  }
}

// ---------------------------------------------------------------- main

const PHASE_FNS: Record<Phase, (db: Scratch) => Promise<void>> = {
  "enqueue-seq": (db) => enqueuePhase(db, "seq"),
  "enqueue-inflight": (db) => enqueuePhase(db, "inflight"),
  "enqueue-batch": (db) => enqueuePhase(db, "batch"),
  drain: (db) => runDrain(db, opts, emit),
  latency: (db) => runLatency(db, opts, emit),
  scale: scalePhase,
  memory: (db) =>
    args["memory-handlers"] === "real"
      ? runRealMemory(db, emit, {
        jobs: Number(args["memory-jobs"]),
        concurrency: Number(args["memory-concurrency"]),
        timeoutMs: Math.max(opts.drainTimeoutMs, 300_000),
      })
      : runMemory(db, opts, emit, {
        jobs: Number(args["memory-jobs"]),
        concurrency: Number(args["memory-concurrency"]),
      }),
  http: (db) =>
    runHttp(db, {
      seconds: Number(args["http-seconds"]),
      connections: Number(args["http-connections"]),
      client: args["http-client"] as "autocannon" | "wrk",
    }, emit),
};

let failures = 0;
/** Scale measurements over 1.5x of the smallest size (exit status 3 when any). */
let scaleOver = 0;
const db = await createScratch(serverUrl);
say(`jobq ${commit ?? "?"} on Deno ${Deno.version.deno}; scratch database ${db.name}`);
try {
  for (let r = 1; r <= rounds; r++) {
    if (rounds > 1) currentRun = String(r);
    for (const phase of phases) {
      say(`  ${phase} (run ${currentRun}) ...`);
      try {
        await PHASE_FNS[phase](db);
      } catch (err) {
        failures++;
        say(`  ${phase} FAILED: ${(err as Error).stack ?? err}`);
        emit(phase, null, { error: String((err as Error).message ?? err) });
      }
    }
  }
} finally {
  await db.drop();
}
Deno.exit(failures ? 1 : scaleOver ? 3 : 0);
