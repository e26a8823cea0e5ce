/**
 * Measures what a prune costs the workers: claim latency (jobs.claim of one
 * job, then jobs.complete) for `--before` seconds alone, then while
 * `prune --older-than AGE` runs on another connection. Needs DATABASE_URL
 * (a scratch database filled by `deno task seed`); prints p50/p99/max.
 *
 *   DATABASE_URL=… deno run -A scripts/measure_prune.ts --older-than 1m [--before 10]
 */
import { openPool } from "../lib/db.ts";
import * as jobs from "../lib/queue/jobs.ts";
import { prune } from "../lib/queue/prune.ts";
import * as stats from "../lib/queue/stats.ts";
import { parseCount, parseDuration, parseFlags } from "./args.ts";

const flags = parseFlags(Deno.args, { "older-than": "value", before: "value" });
const olderThanMs = parseDuration("older-than", flags["older-than"] ?? "1m");
const beforeMs = parseCount("before", flags.before ?? "10", 1, 600) * 1000;
const url = Deno.env.get("DATABASE_URL");
if (!url) throw new Error("set DATABASE_URL to a scratch database");
const sql = openPool(url, { max: 4, name: "jobq-measure" });

/** Claims and completes one job at a time until `until()`; returns claim latencies (ms). */
async function claimLoop(until: () => boolean): Promise<number[]> {
  const ms: number[] = [];
  while (!until()) {
    const t = performance.now();
    const [job] = await jobs.claim(sql, { worker: "measure", limit: 1, leaseSeconds: 30 });
    ms.push(performance.now() - t);
    if (!job) throw new Error("no pending job left to claim: seed more");
    await jobs.complete(sql, { id: job.id, attempt: job.attempts, worker: "measure", result: {} });
  }
  return ms;
}

function summary(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2);
  return `${s.length} claims, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${s.at(-1)!.toFixed(2)} ms`;
}

try {
  const c = await stats.counts(sql);
  const finished = c.completed + c.failed + c.cancelled;
  console.log(`finished jobs before: ${finished}`);
  const t0 = performance.now();
  const before = await claimLoop(() => performance.now() - t0 > beforeMs);
  console.log(`claims alone:        ${summary(before)}`);
  let done = false;
  const started = performance.now();
  let lastLog = started;
  const pruning = prune(sql, {
    olderThanMs,
    onBatch: (t) => {
      if (performance.now() - lastLog < 10_000) return;
      lastLog = performance.now();
      console.log(`  … ${t.jobs} jobs pruned, ${((lastLog - started) / 1000).toFixed(0)} s`);
    },
  }).finally(() => done = true);
  const during = await claimLoop(() => done);
  const r = await pruning;
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`claims during prune: ${summary(during)}`);
  console.log(
    `prune: ${r.jobs} jobs, ${r.events} events, ${r.artifacts} artifacts in ${r.batches} batches, ${secs} s`,
  );
} finally {
  await sql.end();
}
