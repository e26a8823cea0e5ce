/**
 * What a `kill -9` of a worker process costs in attempts: one worker process
 * (4 Web Workers by default) drains `--jobs` jobs; when a third of them are
 * completed it is killed with SIGKILL. The jobs it held then (`processing`,
 * locked by it) are re-claimed by the rescuer once their lease expires, each
 * charged the attempt its claim counted unless its runner's mark says it
 * never started (runner_marks.ts); the bench runs that rescue at once, with
 * the clock past the leases. Its handlers log each start to a file
 * synchronously, so the held jobs split into those that ran (running, or
 * finished with their outcome not yet written), those charged an attempt
 * they never ran (claimed ahead, not started, not known as such) and those
 * given back uncharged; a job that ran and was not charged is counted apart
 * (it must be none).
 *
 *   deno run -A bench/crash_reclaim.ts [--jobs 3000] [--concurrency 4]
 *     [--rounds 3] [--handler-ms 0] [--worker-args='--jobs-per-runner 4']
 *
 * One JSON line per round. Needs DATABASE_URL (a local server; a scratch
 * database is created and dropped).
 */
import { parseArgs } from "node:util";
import { rescueExpired } from "../lib/queue/rescue.ts";
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
    const held = await db.admin<{ id: string; i: number }[]>`
      SELECT id, (payload->>'message')::int AS i FROM job WHERE status = 'processing'`;
    const started = new Set(
      (await Deno.readTextFile(starts)).split("\n").filter(Boolean).map(Number),
    );
    await Deno.remove(starts);
    // The rescue the next worker would run once the leases expired, run now
    // with the clock past them: what it charges and what it gives back.
    const rescued = new Map(
      (await rescueExpired(db.admin, { now: new Date(Date.now() + 3_600_000) }))
        .map((r) => [r.id, r]),
    );
    const ran = held.filter((h) => started.has(h.i));
    const neverRan = held.filter((h) => !started.has(h.i));
    console.log(JSON.stringify({
      round,
      jobs,
      concurrency: Number(args.concurrency),
      worker_args: args["worker-args"],
      handler_ms: Number(args["handler-ms"]),
      held_at_kill: held.length,
      ran_not_recorded: ran.length,
      // Claimed ahead, never started: charged by the rescue, or given back.
      charged_never_ran: neverRan.filter((h) => rescued.get(h.id)?.counted !== false).length,
      given_back_uncharged: neverRan.filter((h) => rescued.get(h.id)?.counted === false).length,
      // Must be 0: a job that ran and was not charged its attempt.
      ran_not_charged: ran.filter((h) => rescued.get(h.id)?.counted === false).length,
    }));
  }
} finally {
  await db.drop();
}
