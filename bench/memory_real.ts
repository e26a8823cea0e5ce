/**
 * Memory phase with the real handlers: `jobs` email jobs (default 100,000)
 * enqueued in batches, then the product's worker process (worker/main.ts,
 * with the V8 flags of `deno task worker`, `concurrency` Web Workers, mail
 * into an outbox under a temporary DATA_DIR) drains them. The worker's RSS is
 * sampled every 250 ms; the samples taken as the completed count passes 25,
 * 50, 75 and 100% are reported with the peak (`VmHWM`). Flat: the RSS at
 * 100% is at most 10% above the RSS at 50%.
 */
import * as path from "node:path";
import * as jobs from "../lib/queue/jobs.ts";
import * as stats from "../lib/queue/stats.ts";
import type { Scratch } from "./scratch.ts";
import {
  type Emit,
  jobsPerSecond,
  now,
  resetTables,
  round,
  say,
  settle,
  sleep,
  WORKER_V8_FLAGS,
} from "./util.ts";

const ROOT = path.dirname(path.dirname(new URL(import.meta.url).pathname));

/** Allowed growth of the RSS from the 50% sample to the 100% sample for "flat". */
export const FLAT_GROWTH = 0.1;

/** `VmRSS` and `VmHWM` of a process in MB, or nulls when unreadable. */
async function rssMb(pid: number): Promise<{ rss: number | null; hwm: number | null }> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  const field = (f: string) => {
    const m = new RegExp(`${f}:\\s+(\\d+) kB`).exec(text);
    return m ? Number(m[1]) / 1024 : null;
  };
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/** Whether RSS samples at 25/50/75/100% are flat (see {@link FLAT_GROWTH}). */
export function isFlat(samples: (number | null)[]): boolean | null {
  const half = samples[1], end = samples[3];
  if (half == null || end == null) return null;
  return end <= half * (1 + FLAT_GROWTH);
}

export async function runRealMemory(db: Scratch, emit: Emit, o: {
  jobs: number;
  concurrency: number;
  timeoutMs: number;
}): Promise<void> {
  await resetTables(db.admin);
  for (let i = 0; i < o.jobs; i += 1000) {
    await jobs.enqueueBatch(db.admin, {
      jobs: Array.from({ length: Math.min(1000, o.jobs - i) }, (_, k) => ({
        type: "email",
        payload: {
          to: `user${i + k}@example.com`,
          subject: `Welcome, user ${i + k}`,
          body: `Hello user ${i + k},\n\nthanks for signing up.\n`,
        },
      })),
    });
  }
  await db.admin`ANALYZE job`;
  await settle(db.admin);
  const dataDir = await Deno.makeTempDir({ prefix: "jobq-bench-memory-" });
  const keep = ["PATH", "HOME", "DENO_DIR", "TMPDIR"];
  const env: Record<string, string> = {};
  for (const k of keep) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  const started = now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      WORKER_V8_FLAGS,
      "worker/main.ts",
    ],
    cwd: ROOT,
    env: {
      ...env,
      DATABASE_URL: db.url,
      WORKER_CONCURRENCY: String(o.concurrency),
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      log = (log + chunk).slice(-4000);
    }
  })();
  const marks = [0.25, 0.5, 0.75, 1];
  const samples: (number | null)[] = [null, null, null, null];
  let completed = 0;
  let peak: number | null = null;
  let elapsed = 0;
  try {
    const deadline = started + o.timeoutMs;
    for (;;) {
      const c = await stats.counts(db.admin);
      completed = c.completed;
      const m = await rssMb(child.pid);
      peak = m.hwm ?? peak;
      for (let k = 0; k < marks.length; k++) {
        if (samples[k] === null && completed >= marks[k] * o.jobs) samples[k] = m.rss;
      }
      if (c.pending + c.processing === 0 && completed > 0) break;
      if (now() > deadline) break;
      await sleep(250);
    }
    elapsed = now() - started;
    peak = (await rssMb(child.pid)).hwm ?? peak;
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
  if (completed < o.jobs) say(`  worker log tail:\n${log.slice(-2000)}`);
  const flat = isFlat(samples);
  emit("worker_real_peak_rss_mb", peak, {
    jobs: o.jobs,
    concurrency: o.concurrency,
    handlers: "real (email into the outbox)",
    completed,
    timed_out: completed < o.jobs,
    drain_jobs_per_s: round(jobsPerSecond(completed, elapsed), 2),
    rss_at_25_mb: round(samples[0]),
    rss_at_50_mb: round(samples[1]),
    rss_at_75_mb: round(samples[2]),
    rss_at_100_mb: round(samples[3]),
    flat,
    goal_max: 200,
  });
  say(
    `  memory (real handlers): peak RSS ${round(peak)} MB draining ${completed} email jobs with ` +
      `${o.concurrency} Web Workers; RSS at 25/50/75/100%: ${
        samples.map((s) => round(s)).join(
          " / ",
        )
      } MB (${flat ? "flat" : "not flat"})`,
  );
}
