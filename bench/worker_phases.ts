/**
 * Phases that run the real worker process (bench/worker_process.ts: the
 * supervisor and runners behind `deno task worker`, with the no-op handlers
 * of bench/noop_handlers.ts):
 *
 * - drain: N jobs pre-inserted through the batch API, the table ANALYZEd,
 *   CHECKPOINT; the clock starts when the worker process is spawned and stops
 *   when the database shows all N completed (polled every 100 ms, every 2 ms
 *   once the handlers have reported N starts), as in the peers' harness. The
 *   spawn includes Deno's start-up and module loading, which the in-process
 *   peers do not pay; `after_first_pickup_jobs_per_s` leaves it out.
 * - latency: worker idle after a warm-up job; 200 single jobs, one every
 *   20 ms on a fixed schedule; latency = handler start − the instant just
 *   before the enqueue call, both on the machine's wall clock
 *   (timeOrigin + performance.now(), sub-millisecond, the same clock in
 *   every process of this machine).
 * - memory: a drain with 4 Web Workers and 100,000 jobs (by default),
 *   reporting the worker process's peak RSS (VmHWM).
 *
 * `--concurrency` counts jobs running at once, as the peers' harness does: the
 * worker runs them as Web Workers of `--jobs-per-runner` slots (in the
 * worker args), else of WORKER_JOBS_PER_RUNNER (the product's default, 1):
 * 16 jobs at once are 16 Web Workers, or 4 of 4 with `--jobs-per-runner 4`.
 */
import * as path from "node:path";
import { parseConfig } from "../lib/config.ts";
import { insertInBatches, openProducer } from "./enqueue.ts";
import { indexSearchTail } from "../lib/queue/search_index.ts";
import type { Scratch } from "./scratch.ts";
import {
  backendCpuSeconds,
  type BenchOptions,
  commits,
  cpuSeconds,
  type Emit,
  jobsPerSecond,
  now,
  percentile,
  resetTables,
  round,
  say,
  settle,
  sleep,
  sleepUntil,
  walBytesSince,
  wallNow,
  walPosition,
  WORKER_V8_FLAGS,
} from "./util.ts";

const ROOT = path.dirname(path.dirname(new URL(import.meta.url).pathname));

/** Handler starts reported by the worker's no-op handlers over TCP. */
class Reports {
  #listener: Deno.Listener;
  #conns = new Set<Deno.Conn>();
  /** i → first start instant (wall ms). */
  readonly starts = new Map<number, number>();
  calls = 0;
  duplicates = 0;

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accept();
  }

  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #accept() {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        this.#read(conn);
      }
    } catch {
      // listener closed
    }
  }

  async #read(conn: Deno.Conn) {
    let rest = "";
    try {
      for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          const [i, at] = line.split(" ").map(Number);
          this.calls++;
          if (this.starts.has(i)) this.duplicates++;
          else this.starts.set(i, at);
        }
      }
    } catch {
      // connection closed by the worker
    } finally {
      this.#conns.delete(conn);
    }
  }

  close() {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  }
}

/** A running worker process. */
interface WorkerProcess {
  pid: number;
  /** Peak resident set size so far, in MB (VmHWM), or null when unreadable. */
  peakRssMb(): Promise<number | null>;
  stop(): Promise<void>;
  log(): string;
}

/** A worker's Web Workers and the jobs each runs at once. */
interface Shape {
  runners: number;
  perRunner: number;
}

/** Jobs per Web Worker: `--jobs-per-runner` in the worker args, else WORKER_JOBS_PER_RUNNER. */
function perRunnerOf(workerArgs: string[]): number {
  const flag = workerArgs.indexOf("--jobs-per-runner");
  return flag >= 0
    ? Number(workerArgs[flag + 1])
    : parseConfig(Deno.env.toObject()).WORKER_JOBS_PER_RUNNER;
}

/** The shape that runs `jobs` jobs at once (see the module's doc); a remainder is an error. */
function shapeFor(jobs: number, workerArgs: string[]): Shape {
  const perRunner = perRunnerOf(workerArgs);
  if (!(perRunner >= 1) || jobs % perRunner !== 0) {
    throw new Error(
      `bench: ${jobs} jobs at once are not a whole number of runners of ${perRunner}`,
    );
  }
  return { runners: jobs / perRunner, perRunner };
}

function spawnWorker(opts: {
  url: string;
  shape: Shape;
  reportPort: number;
  reportMode: "batched" | "immediate";
  workerArgs: string[];
}): WorkerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      // As `deno task worker` runs it (deno.json): young generations of 1 MB and
      // a 256 MB heap cap per isolate keep a pool of Web Workers small.
      WORKER_V8_FLAGS,
      "bench/worker_process.ts",
      "--concurrency",
      String(opts.shape.runners),
      "--jobs-per-runner",
      String(opts.shape.perRunner),
      // The same value when the worker args name it too.
      ...opts.workerArgs,
    ],
    cwd: ROOT,
    env: {
      DATABASE_URL: opts.url,
      WORKER_CONCURRENCY: String(opts.shape.runners),
      LOG_LEVEL: "warn",
      JOBQ_BENCH_REPORT_PORT: String(opts.reportPort),
      JOBQ_BENCH_REPORT: opts.reportMode,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr = (stderr + chunk).slice(-8000);
    }
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  return {
    pid: child.pid,
    async peakRssMb() {
      try {
        const text = await Deno.readTextFile(`/proc/${child.pid}/status`);
        const m = /VmHWM:\s+(\d+) kB/.exec(text);
        return m ? Number(m[1]) / 1024 : null;
      } catch {
        return null;
      }
    },
    async stop() {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 30_000);
      await status;
      clearTimeout(timer);
    },
    log: () => stderr,
  };
}

/** Completed jobs, read from the database. */
async function countCompleted(db: Scratch): Promise<number> {
  const [{ n }] = await db.admin<{ n: number }[]>`
    SELECT count(*)::int AS n FROM job WHERE status = 'completed'`;
  return n;
}

/** What one drain measured. */
export interface DrainResult {
  jobsPerS: number;
  completed: number;
  elapsedMs: number;
  firstPickupMs: number | null;
  peakRssMb: number | null;
  walBytesPerJob: number | null;
  handlerCalls: number;
  duplicates: number;
  timedOut: boolean;
  /** CPU seconds of the worker process over the drain. */
  workerCpuS: number | null;
  /** CPU seconds of the scratch database's backends over the drain (see backendCpuSeconds). */
  postgresCpuS: number;
  /** Committed transactions per job (each statement of the worker is one), polls excluded. */
  commitsPerJob: number | null;
}

/** One drain of `jobs` jobs, `concurrency` at once. */
export async function drainOnce(db: Scratch, o: {
  jobs: number;
  concurrency: number;
  batchSize: number;
  timeoutMs: number;
  workerArgs: string[];
}): Promise<DrainResult> {
  const shape = shapeFor(o.concurrency, o.workerArgs);
  await resetTables(db.admin);
  const producer = openProducer(db.url, 2);
  await insertInBatches(producer, o.jobs, o.batchSize);
  await producer.close();
  const [{ stored }] = await db.admin<
    { stored: number }[]
  >`SELECT count(*)::int AS stored FROM job`;
  if (stored !== o.jobs) throw new Error(`pre-insert stored ${stored} jobs, expected ${o.jobs}`);
  // Part of the pre-insert, as it was when enqueues wrote the search rows themselves: the
  // worker's search indexer would otherwise index these jobs during the timed drain.
  await indexSearchTail(db.admin);
  await db.admin`ANALYZE job`;
  await settle(db.admin);
  const wal = await walPosition(db.admin);
  const commits0 = await commits(db);
  const pgCpu0 = await backendCpuSeconds(db);
  let polls = 0;
  let workerCpu: number | null = null;
  let postgresCpu = 0;
  const reports = new Reports();
  const started = now();
  const startedWall = wallNow();
  const worker = spawnWorker({
    url: db.url,
    shape,
    reportPort: reports.port,
    reportMode: "batched",
    workerArgs: o.workerArgs,
  });
  let completed = 0;
  let elapsed = 0;
  let peak: number | null = null;
  try {
    const deadline = started + o.timeoutMs;
    let lastRss = 0;
    for (;;) {
      completed = await countCompleted(db);
      polls++;
      if (completed >= o.jobs || now() > deadline) break;
      if (now() - lastRss > 500) {
        lastRss = now();
        peak = (await worker.peakRssMb()) ?? peak;
      }
      await sleep(reports.calls >= o.jobs ? 2 : 100);
    }
    elapsed = now() - started;
    peak = (await worker.peakRssMb()) ?? peak;
    workerCpu = await cpuSeconds(worker.pid);
    postgresCpu = (await backendCpuSeconds(db)) - pgCpu0;
  } finally {
    await worker.stop();
    reports.close();
  }
  const walBytes = await walBytesSince(db.admin, wal);
  // Backends report their counters when idle or on exit: give them a moment.
  await sleep(1200);
  const commitCount = (await commits(db)) - commits0 - polls;
  if (completed < o.jobs) say(`  worker log tail:\n${worker.log().slice(-2000)}`);
  const firstStart = Math.min(...reports.starts.values());
  return {
    jobsPerS: jobsPerSecond(completed, elapsed),
    completed,
    elapsedMs: elapsed,
    firstPickupMs: Number.isFinite(firstStart) ? firstStart - startedWall : null,
    peakRssMb: peak,
    walBytesPerJob: completed ? walBytes / completed : null,
    handlerCalls: reports.calls,
    duplicates: reports.duplicates,
    timedOut: completed < o.jobs,
    workerCpuS: workerCpu,
    postgresCpuS: postgresCpu,
    commitsPerJob: completed ? commitCount / completed : null,
  };
}

/** The drain phase (harness metric `drain_jobs_per_s`). */
export async function runDrain(db: Scratch, opts: BenchOptions, emit: Emit): Promise<void> {
  const r = await drainOnce(db, {
    jobs: opts.jobs,
    concurrency: opts.concurrency,
    batchSize: opts.batchSize,
    timeoutMs: opts.drainTimeoutMs,
    workerArgs: opts.workerArgs,
  });
  emit("drain_jobs_per_s", r.jobsPerS, {
    elapsed_ms: round(r.elapsedMs),
    first_pickup_ms: round(r.firstPickupMs),
    after_first_pickup_jobs_per_s: r.firstPickupMs == null
      ? null
      : round(jobsPerSecond(r.completed, r.elapsedMs - r.firstPickupMs), 2),
    completed: r.completed,
    timed_out: r.timedOut,
    handler_calls: r.handlerCalls,
    duplicate_calls: r.duplicates,
    wal_bytes_per_job: round(r.walBytesPerJob),
    worker_peak_rss_mb: round(r.peakRssMb),
    worker_cpu_s: round(r.workerCpuS, 2),
    postgres_cpu_s: round(r.postgresCpuS, 2),
    commits_per_job: round(r.commitsPerJob, 3),
  });
  say(
    `  drain: ${Math.round(r.jobsPerS)} jobs/s (${r.completed} in ${Math.round(r.elapsedMs)} ms, ` +
      `first pickup ${Math.round(r.firstPickupMs ?? NaN)} ms after spawn), ` +
      `${Math.round(r.walBytesPerJob ?? NaN)} WAL bytes/job, peak RSS ${
        Math.round(r.peakRssMb ?? NaN)
      } MB; CPU: worker ${r.workerCpuS?.toFixed(1)} s, postgres ${r.postgresCpuS.toFixed(1)} s; ${
        r.commitsPerJob?.toFixed(3)
      } commits/job`,
  );
}

/** The memory phase: peak RSS of a process of `concurrency` (4) Web Workers draining 100k jobs. */
export async function runMemory(db: Scratch, opts: BenchOptions, emit: Emit, o: {
  jobs: number;
  concurrency: number;
}): Promise<void> {
  const r = await drainOnce(db, {
    jobs: o.jobs,
    concurrency: o.concurrency * perRunnerOf(opts.workerArgs),
    batchSize: opts.batchSize,
    timeoutMs: Math.max(opts.drainTimeoutMs, 300_000),
    workerArgs: opts.workerArgs,
  });
  emit("worker_peak_rss_mb", r.peakRssMb, {
    jobs: o.jobs,
    concurrency: o.concurrency,
    drain_jobs_per_s: round(r.jobsPerS, 2),
    completed: r.completed,
    timed_out: r.timedOut,
    goal_max: 200,
  });
  say(
    `  memory: peak RSS ${Math.round(r.peakRssMb ?? NaN)} MB draining ${r.completed} jobs ` +
      `with ${o.concurrency} Web Workers (${Math.round(r.jobsPerS)} jobs/s)`,
  );
}

/**
 * Waits until the worker is started: it LISTENs, and its row in `worker`
 * shows all `runners` Web Workers running (the heartbeat it writes once they
 * are all up).
 */
async function waitForStart(
  db: Scratch,
  runners: number,
  timeoutMs: number,
  worker: WorkerProcess,
) {
  const deadline = now() + timeoutMs;
  for (;;) {
    const [{ listening, running }] = await db.admin<{ listening: number; running: number }[]>`
      SELECT
        (SELECT count(*)::int FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'idle' AND query ILIKE 'LISTEN %') AS listening,
        (SELECT coalesce(max(n), 0)::int FROM (
           SELECT count(*) FILTER (WHERE r->>'state' = 'running') AS n
           FROM worker, jsonb_array_elements(info->'runners') AS r GROUP BY worker.id) AS w) AS running`;
    if (listening > 0 && running >= runners) return;
    if (now() > deadline) {
      throw new Error(
        `the worker did not start within ${timeoutMs} ms: ${worker.log().slice(-2000)}`,
      );
    }
    await sleep(20);
  }
}

/** The latency phase (harness metrics `pickup_latency_p50/p95/p99_ms`). */
export async function runLatency(db: Scratch, opts: BenchOptions, emit: Emit): Promise<void> {
  await resetTables(db.admin);
  const count = opts.latencyJobs;
  await settle(db.admin);
  const reports = new Reports();
  const shape = shapeFor(opts.concurrency, opts.workerArgs);
  const worker = spawnWorker({
    url: db.url,
    shape,
    reportPort: reports.port,
    reportMode: "immediate",
    workerArgs: opts.workerArgs,
  });
  const producer = openProducer(db.url, 2);
  const sentAt: number[] = new Array(count);
  const enqueueMs: number[] = [];
  try {
    // As the peers' `start` calls, which resolve once their workers are up
    // and listening: measuring while Web Workers still load would measure
    // their start-up, not pickup.
    await waitForStart(db, shape.runners, 60_000, worker);
    await producer.addOne(-1);
    const warmDeadline = now() + 30_000;
    while (!reports.starts.has(-1) && now() < warmDeadline) await sleep(5);
    if (!reports.starts.has(-1)) {
      throw new Error(`warm-up job was not picked up within 30 s: ${worker.log().slice(-2000)}`);
    }
    await sleep(500);
    const origin = now();
    const calls: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      await sleepUntil(origin + i * opts.latencyGapMs);
      const t0 = now();
      sentAt[i] = wallNow();
      calls.push(producer.addOne(i).then(() => void enqueueMs.push(now() - t0)));
    }
    await Promise.all(calls);
    const waitDeadline = now() + 30_000;
    while (reports.starts.size - 1 < count && now() < waitDeadline) await sleep(5);
  } finally {
    await Promise.allSettled([worker.stop(), producer.close()]);
    reports.close();
  }
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = reports.starts.get(i);
    latencies.push(at === undefined ? Infinity : at - sentAt[i]);
  }
  latencies.sort((a, b) => a - b);
  const picked = latencies.filter(Number.isFinite);
  enqueueMs.sort((a, b) => a - b);
  const extra = {
    sent: count,
    not_received: count - picked.length,
    gap_ms: opts.latencyGapMs,
    max_ms: round(picked.at(-1), 2),
    mean_ms: round(picked.reduce((a, b) => a + b, 0) / (picked.length || 1), 2),
    enqueue_call_p50_ms: round(percentile(enqueueMs, 50), 2),
    duplicate_calls: reports.duplicates,
  };
  const values: Record<number, number | null> = {};
  for (const p of [50, 95, 99]) {
    const v = percentile(latencies, p);
    values[p] = v !== null && Number.isFinite(v) ? v : null;
    emit(`pickup_latency_p${p}_ms`, values[p], extra);
  }
  say(
    `  latency: p50 ${round(values[50], 2)} ms, p95 ${round(values[95], 2)} ms, p99 ${
      round(values[99], 2)
    } ms (enqueue call p50 ${extra.enqueue_call_p50_ms} ms, not received ${extra.not_received})`,
  );
}
