/**
 * The worker's CPU in a drain, split into start-up and per job: the drain
 * phase of bench/main.ts reads the worker's CPU when the last job completes,
 * which mixes the start of its Web Workers (V8 isolates, each loading its
 * modules) with the work per job, and counts only the isolates loaded by
 * then. Here the worker process starts on an empty database and is measured
 * once it is idle (`startup_cpu_s`); then `--jobs` jobs are inserted into a
 * paused queue, the queue is resumed and the worker's CPU is read again when
 * all are completed (`worker_ms_per_job`, with the part of each thread
 * group: `main` the supervisor, `runners` the Web Workers, `v8` V8's
 * background threads). Each directory given is a checkout with its own
 * bench/worker_process.ts; they run in turn, `--rounds` times.
 *
 *   deno run -A bench/drain_split.ts [--jobs 20000] [--concurrency 16]
 *     [--rounds 3] [--worker-args='--jobs-per-runner 4'] DIR [DIR…]
 *
 * One JSON line per run. Needs DATABASE_URL (a local server; a scratch
 * database is created and dropped).
 */
import { parseArgs } from "node:util";
import { insertInBatches, openProducer } from "./enqueue.ts";
import { createScratch } from "./scratch.ts";
import {
  assertLoopback,
  backendCpuSeconds,
  cpuSeconds,
  resetTables,
  settle,
  sleep,
  WORKER_V8_FLAGS,
} from "./util.ts";
import { cpuByGroupSince, threadCpu } from "./thread_cpu.ts";

const { values: args, positionals: dirs } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "3" },
    jobs: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "16" },
    "worker-args": { type: "string", default: "" },
  },
});
const jobs = Number(args.jobs);
const serverUrl = Deno.env.get("DATABASE_URL");
if (!serverUrl) throw new Error("drain_split: set DATABASE_URL to a local PostgreSQL server");
assertLoopback(serverUrl);
if (dirs.length === 0) dirs.push(new URL("..", import.meta.url).pathname);

const db = await createScratch(serverUrl, "split");
try {
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const dir of dirs) {
      await resetTables(db.admin);
      await db.admin`INSERT INTO queue (name, paused) VALUES ('default', true)`;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          WORKER_V8_FLAGS,
          "bench/worker_process.ts",
          "--concurrency",
          args.concurrency!,
          ...args["worker-args"]!.split(" ").filter(Boolean),
        ],
        cwd: dir,
        env: { DATABASE_URL: db.url, LOG_LEVEL: "warn" },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        // Started: its worker row exists and it has gone quiet.
        for (let prev = -1;;) {
          await sleep(700);
          const [{ n }] = await db.admin<{ n: number }[]>`SELECT count(*)::int AS n FROM worker`;
          const cpu = (await cpuSeconds(child.pid))!;
          if (n > 0 && prev >= 0 && cpu - prev < 0.04) break;
          prev = cpu;
        }
        const startup = (await cpuSeconds(child.pid))!;
        const producer = openProducer(db.url, 2);
        await insertInBatches(producer, jobs, 1000);
        await producer.close();
        await settle(db.admin);
        const cpu0 = (await cpuSeconds(child.pid))!;
        const threads0 = threadCpu(child.pid);
        const pg0 = await backendCpuSeconds(db);
        const t0 = performance.now();
        await db.admin`UPDATE queue SET paused = false WHERE name = 'default'`;
        await db.admin`SELECT pg_notify('jobq_new', '')`;
        for (;;) {
          const [{ n }] = await db.admin<{ n: number }[]>`
            SELECT count(*)::int AS n FROM job WHERE status = 'completed'`;
          if (n >= jobs) break;
          await sleep(20);
        }
        const ms = performance.now() - t0;
        const cpu1 = (await cpuSeconds(child.pid))!;
        const pg1 = await backendCpuSeconds(db);
        const parts = cpuByGroupSince(child.pid, threads0);
        console.log(JSON.stringify({
          dir,
          round,
          jobs,
          concurrency: Number(args.concurrency),
          worker_args: args["worker-args"],
          startup_cpu_s: startup,
          worker_ms_per_job: Math.round(((cpu1 - cpu0) / jobs) * 1e6) / 1000,
          threads_cpu_s: parts,
          postgres_ms_per_job: Math.round(((pg1 - pg0) / jobs) * 1e6) / 1000,
          jobs_per_s: Math.round((jobs / ms) * 1000),
          load: Deno.loadavg()[0],
        }));
      } finally {
        child.kill("SIGTERM");
        await child.status;
      }
    }
  }
} finally {
  await db.drop();
}
