/**
 * Measures the peak memory of one `deno task worker` process with the real
 * handlers: enqueues `--jobs` email jobs, runs the task (WORKER_CONCURRENCY
 * Web Workers, default 4; messages go to a temporary outbox, or to SMTP_URL
 * when that is set) until all are completed, and prints the worker's peak RSS
 * (`VmHWM`).
 * Needs DATABASE_URL (a scratch, migrated database; its pending jobs are run too).
 *
 *   DATABASE_URL=… deno run -A scripts/measure_worker_memory.ts [--jobs 20000]
 */
import { openPool } from "../lib/db.ts";
import * as jobs from "../lib/queue/jobs.ts";
import * as stats from "../lib/queue/stats.ts";
import { parseCount, parseFlags } from "./args.ts";

const flags = parseFlags(Deno.args, { jobs: "value" });
const count = parseCount("jobs", flags.jobs ?? "20000", 1, 1_000_000);
const url = Deno.env.get("DATABASE_URL");
if (!url) throw new Error("set DATABASE_URL to a scratch database");
const sql = openPool(url, { max: 2, name: "jobq-measure" });
const dataDir = await Deno.makeTempDir({ prefix: "jobq-measure-memory-" });

/** The `deno run` child of the `deno task` process `pid`, once it exists. */
async function taskChild(pid: number): Promise<number> {
  for (;;) {
    const text = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "");
    if (text.trim()) return Number(text.trim().split(/\s+/)[0]);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function status(pid: number, field: string): Promise<number> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) * 1024;
}

try {
  for (let i = 0; i < count; i += 1000) {
    await jobs.enqueueBatch(sql, {
      jobs: Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({
        type: "email",
        payload: {
          to: `user${i + k}@example.com`,
          subject: `Welcome, user ${i + k}`,
          body: `Hello user ${i + k},\n\nthanks for signing up.\n`,
        },
      })),
    });
  }
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
  };
  const t0 = performance.now();
  const task = new Deno.Command(Deno.execPath(), {
    args: ["task", "worker"],
    cwd: new URL("../", import.meta.url),
    env: { WORKER_CONCURRENCY: "4", ...env },
    clearEnv: true,
    stdout: "null",
  }).spawn();
  const pid = await taskChild(task.pid);
  for (;;) {
    const c = await stats.counts(sql);
    if (c.pending + c.processing === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const s = (performance.now() - t0) / 1000;
  const hwm = await status(pid, "VmHWM");
  const rss = await status(pid, "VmRSS");
  Deno.kill(pid, "SIGTERM");
  await task.status;
  const mb = (b: number) => `${Math.round(b / 1e6)} MB (${Math.round(b / 2 ** 20)} MiB)`;
  console.log(
    `${count} email jobs to ${env.SMTP_URL ? "SMTP" : "the outbox"} in ${
      s.toFixed(1)
    } s (with start-up), ` +
      `WORKER_CONCURRENCY=${env.WORKER_CONCURRENCY ?? 4}: peak RSS (VmHWM) ${mb(hwm)}, ` +
      `RSS at the end ${mb(rss)}`,
  );
} finally {
  await sql.end();
  await Deno.remove(dataDir, { recursive: true });
}
