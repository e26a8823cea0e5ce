/**
 * Drain speed and CPU per job of worker shapes (runners × slots), measured
 * as bench/drain_split.ts does, interleaved: each round runs every DIR with
 * every shape in turn. `--explain` logs 2% of the statements' plans with
 * auto_explain (analyze, buffers) to the server's log, for the scratch
 * database only. `--analyze` analyzes `job` once its jobs are in (the
 * planner's row counts then match the table).
 *
 *   deno run -A bench/drain_shapes.ts [--jobs 20000] [--rounds 3]
 *     [--shapes 16x1,4x4,2x8,1x16] [--extra-args='--claim-batch 8'] [--explain] [--analyze] DIR [DIR…]
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
  commits,
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
    shapes: { type: "string", default: "16x1,4x4" },
    "extra-args": { type: "string", default: "" },
    explain: { type: "boolean", default: false },
    analyze: { type: "boolean", default: false },
  },
});
const jobs = Number(args.jobs);
const serverUrl = Deno.env.get("DATABASE_URL");
if (!serverUrl) throw new Error("drain_shapes: set DATABASE_URL to a local PostgreSQL server");
assertLoopback(serverUrl);
if (dirs.length === 0) dirs.push(new URL("..", import.meta.url).pathname);

const shapes = args.shapes!.split(",").map((s) => s.split("x").map(Number) as [number, number]);
const db = await createScratch(serverUrl, "shapes");
if (args.explain) {
  await db.admin.unsafe(`ALTER DATABASE ${db.name} SET session_preload_libraries = 'auto_explain'`);
  await db.admin.unsafe(`ALTER DATABASE ${db.name} SET auto_explain.log_min_duration = 0`);
  await db.admin.unsafe(`ALTER DATABASE ${db.name} SET auto_explain.log_analyze = on`);
  await db.admin.unsafe(`ALTER DATABASE ${db.name} SET auto_explain.log_buffers = on`);
  await db.admin.unsafe(`ALTER DATABASE ${db.name} SET auto_explain.log_timing = on`);
  await db.admin.unsafe(`ALTER DATABASE ${db.name} SET auto_explain.sample_rate = 0.02`);
}
try {
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const dir of dirs) {
      for (const [runners, slots] of shapes) {
        await resetTables(db.admin);
        await db.admin`INSERT INTO queue (name, paused) VALUES ('default', true)`;
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            WORKER_V8_FLAGS,
            "bench/worker_process.ts",
            "--concurrency",
            String(runners),
            "--jobs-per-runner",
            String(slots),
            ...args["extra-args"]!.split(" ").filter(Boolean),
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
          if (args.analyze) await db.admin`ANALYZE job`;
          await settle(db.admin);
          const cpu0 = (await cpuSeconds(child.pid))!;
          const threads0 = threadCpu(child.pid);
          const pg0 = await backendCpuSeconds(db);
          const c0 = await commits(db);
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
          const c1 = await commits(db);
          const parts = cpuByGroupSince(child.pid, threads0);
          console.log(JSON.stringify({
            dir,
            round,
            jobs,
            shape: `${runners}x${slots}`,
            startup_cpu_s: startup,
            worker_ms_per_job: Math.round(((cpu1 - cpu0) / jobs) * 1e6) / 1000,
            threads_cpu_s: parts,
            postgres_ms_per_job: Math.round(((pg1 - pg0) / jobs) * 1e6) / 1000,
            commits_per_job: Math.round(((c1 - c0) / jobs) * 1000) / 1000,
            jobs_per_s: Math.round((jobs / ms) * 1000),
            load: Deno.loadavg()[0],
          }));
        } finally {
          child.kill("SIGTERM");
          await child.status;
        }
      }
    }
  }
} finally {
  await db.drop();
}
