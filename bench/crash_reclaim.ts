/**
 * What a `kill -9` of a worker process costs in attempts: one worker process
 * (4 Web Workers by default) drains `--jobs` jobs; when a third of them are
 * completed it is killed with SIGKILL. The jobs it held then (`processing`,
 * locked by it) are re-claimed by the rescuer once their lease expires, each
 * charged the attempt its claim counted. Its handlers log each start to a
 * file synchronously, so the held jobs split into those that ran (running,
 * or finished with their outcome not yet written) and those charged an
 * attempt they never ran (claimed ahead, not started).
 *
 *   deno run -A bench/crash_reclaim.ts [--jobs 3000] [--concurrency 4]
 *     [--rounds 3] [--handler-ms 0] [--worker-args='--jobs-per-runner 4']
 *
 * One JSON line per round. Needs DATABASE_URL (a local server; a scratch
 * database is created and dropped).
 */
import { parseArgs } from "node:util";
import { insertInBatches, openProducer } from "./enqueue.ts";
import { createScratch } from "./scratch.ts";
import { assertLoopback, resetTables, sleep, WORKER_V8_FLAGS } from "./util.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
    "handler-ms": { type: "string", default: "0" },
    "worker-args": { type: "string", default: "" },
  },
});
const jobs = Number(args.jobs);
const serverUrl = Deno.env.get("DATABASE_URL");
if (!serverUrl) throw new Error("crash_reclaim: set DATABASE_URL to a local PostgreSQL server");
assertLoopback(serverUrl);
const root = new URL("..", import.meta.url).pathname;
const db = await createScratch(serverUrl, "crash");
try {
  for (let round = 1; round <= Number(args.rounds); round++) {
    await resetTables(db.admin);
    const producer = openProducer(db.url, 2);
    await insertInBatches(producer, jobs, 1000);
    await producer.close();
    const starts = await Deno.makeTempFile({ prefix: "jobq-crash-starts-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        WORKER_V8_FLAGS,
        "bench/worker_process.ts",
        "--handlers",
        "crash",
        "--concurrency",
        args.concurrency!,
        ...args["worker-args"]!.split(" ").filter(Boolean),
      ],
      cwd: root,
      env: {
        DATABASE_URL: db.url,
        LOG_LEVEL: "error",
        JOBQ_CRASH_STARTS: starts,
        JOBQ_BENCH_HANDLER_MS: args["handler-ms"]!,
      },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const target = Math.floor(jobs / 3);
    for (;;) {
      const [{ n }] = await db.admin<{ n: number }[]>`
        SELECT count(*)::int AS n FROM job WHERE status = 'completed'`;
      if (n >= target) break;
      await sleep(5);
    }
    child.kill("SIGKILL");
    await child.status;
    const held = await db.admin<{ i: number }[]>`
      SELECT (payload->>'message')::int AS i FROM job WHERE status = 'processing'`;
    const started = new Set(
      (await Deno.readTextFile(starts)).split("\n").filter(Boolean).map(Number),
    );
    await Deno.remove(starts);
    const ran = held.filter((h) => started.has(h.i)).length;
    console.log(JSON.stringify({
      round,
      jobs,
      concurrency: Number(args.concurrency),
      worker_args: args["worker-args"],
      handler_ms: Number(args["handler-ms"]),
      held_at_kill: held.length,
      ran_not_recorded: ran,
      charged_never_ran: held.length - ran,
    }));
  }
} finally {
  await db.drop();
}
