/**
 * Summarises the JSON lines of bench/compare.sh (ours and the peers' harness,
 * same metric names): a markdown table of medians (min–max) per peer and
 * config, our ratios to each peer, and the issue's goals, met or not.
 *
 *   deno run -A bench/compare_summary.ts /tmp/jobq-compare/<stamp>/results.jsonl [...]
 */
import { median } from "./util.ts";

/** One JSON line as written by bench/main.ts or the harness's run.mjs. */
export interface Line {
  peer: string;
  config: string;
  variant?: string;
  metric: string;
  value: number | null;
  run?: string;
  timed_out?: boolean;
  not_received?: number;
  duplicate_calls?: number;
  verified?: boolean;
  error?: string;
  wal_bytes_per_job?: number | null;
  [k: string]: unknown;
}

/** Parses JSON lines, skipping anything else. */
export function parseLines(text: string): Line[] {
  return text.split("\n").filter((l) => l.trim().startsWith("{")).map((l) => JSON.parse(l));
}

type Key = string;
const keyOf = (peer: string, config: string): Key => `${peer} ${config}`;

/** Values of `metric` for one peer/config, over runs (errors dropped). */
export function valuesOf(lines: Line[], key: Key, metric: string): number[] {
  return lines.filter((l) => keyOf(l.peer, l.config) === key && l.metric === metric)
    .map((l) => l.value).filter((v): v is number => typeof v === "number");
}

/** Median of `metric` for one peer/config, or null. */
export function med(lines: Line[], key: Key, metric: string): number | null {
  return median(valuesOf(lines, key, metric));
}

const fmt = (x: number | null) =>
  x === null ? "–" : x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1);

function cell(lines: Line[], key: Key, metric: string): string {
  const recs = lines.filter((l) => keyOf(l.peer, l.config) === key && l.metric === metric);
  if (recs.length === 0) return "–";
  const xs = valuesOf(lines, key, metric);
  const flags = (recs.some((r) => r.timed_out) ? "†" : "") +
    (recs.some((r) => (r.not_received ?? 0) > 0) ? "‡" : "") +
    (recs.some((r) => r.error || r.verified === false || (r.duplicate_calls ?? 0) > 0) ? "!" : "");
  if (xs.length === 0) return `n/a${flags}`;
  const range = xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : "";
  return `${fmt(median(xs))}${flags}${range}`;
}

const COLUMNS: [string, string][] = [
  ["enqueue_seq_jobs_per_s", "enqueue 1/call seq (jobs/s)"],
  ["enqueue_inflight_jobs_per_s", "enqueue 1/call 16 in flight (jobs/s)"],
  ["enqueue_batch_jobs_per_s", "enqueue batch 1,000/call (jobs/s)"],
  ["drain_jobs_per_s", "drain (jobs/s)"],
  ["pickup_latency_p50_ms", "pickup p50 (ms)"],
  ["pickup_latency_p95_ms", "pickup p95 (ms)"],
  ["pickup_latency_p99_ms", "pickup p99 (ms)"],
];

/** The whole summary as markdown. */
export function summarize(lines: Line[]): string {
  const keys = [...new Set(lines.map((l) => keyOf(l.peer, l.config)))].sort((a, b) =>
    (a.startsWith("jobq") ? -1 : 0) - (b.startsWith("jobq") ? -1 : 0) || a.localeCompare(b)
  );
  const runs = (k: Key) =>
    new Set(lines.filter((l) => keyOf(l.peer, l.config) === k).map((l) => l.run)).size;
  const out: string[] = [];
  out.push(`| peer config | runs | ${COLUMNS.map(([, t]) => t).join(" | ")} |`);
  out.push(`|${" --- |".repeat(COLUMNS.length + 2)}`);
  for (const k of keys) {
    out.push(`| ${k} | ${runs(k)} | ${COLUMNS.map(([m]) => cell(lines, k, m)).join(" | ")} |`);
  }
  out.push("");
  out.push(
    "Median (min–max) over rounds. † drain hit its time limit; ‡ latency jobs not picked up;",
  );
  out.push("! an error, unverified count or duplicate handler call in some run.");
  out.push("");

  const walRows = keys.filter((k) =>
    lines.some((l) => keyOf(l.peer, l.config) === k && typeof l.wal_bytes_per_job === "number")
  );
  if (walRows.length) {
    const walMetrics = ["enqueue_seq_jobs_per_s", "enqueue_batch_jobs_per_s", "drain_jobs_per_s"];
    out.push("| peer config | WAL bytes/job: enqueue 1/call | enqueue batch | drain |");
    out.push("| --- | --- | --- | --- |");
    for (const k of walRows) {
      const cells = walMetrics.map((m) =>
        fmt(median(
          lines.filter((l) => keyOf(l.peer, l.config) === k && l.metric === m)
            .map((l) => l.wal_bytes_per_job).filter((v): v is number => typeof v === "number"),
        ))
      );
      out.push(`| ${k} | ${cells.join(" | ")} |`);
    }
    out.push("");
  }

  const oursKeys = keys.filter((k) => k.startsWith("jobq "));
  if (oursKeys.length === 0) return out.join("\n");
  const peers = keys.filter((k) => !k.startsWith("jobq ") && !k.startsWith("raw "));
  for (const ours of oursKeys) ratiosAndGoals(lines, ours, oursKeys, peers, out);
  return out.join("\n");
}

/** Our ratios to each peer and the issue's goals for one of our configs. */
function ratiosAndGoals(lines: Line[], ours: Key, oursKeys: Key[], peers: Key[], out: string[]) {
  // A metric our config did not run (e.g. enqueue for "tuned") comes from another of ours.
  const mine = (m: string) =>
    med(lines, ours, m) ?? oursKeys.map((k) => med(lines, k, m)).find((v) => v !== null) ?? null;
  const higherIsBetter = (m: string) => m.endsWith("_per_s");
  out.push(`| metric | ${peers.map((p) => `${ours} ÷ ${p}`).join(" | ")} |`);
  out.push(`|${" --- |".repeat(peers.length + 1)}`);
  for (const [m, title] of COLUMNS) {
    const a = mine(m);
    const cells = peers.map((p) => {
      const theirs = med(lines, p, m);
      if (a === null || theirs === null || theirs === 0) return "–";
      return `${(a / theirs).toFixed(2)}×${higherIsBetter(m) ? "" : " (lower is better)"}`;
    });
    out.push(`| ${title} | ${cells.join(" | ")} |`);
  }
  out.push("");

  // The issue's goals, as ratios in this run.
  const gwDrain = Math.max(
    med(lines, "graphile-worker tuned", "drain_jobs_per_s") ?? 0,
    med(lines, "graphile-worker default", "drain_jobs_per_s") ?? 0,
  );
  const gwP50s = ["graphile-worker tuned", "graphile-worker default"]
    .map((k) => med(lines, k, "pickup_latency_p50_ms")).filter((v): v is number => v !== null);
  const gwP50 = gwP50s.length ? Math.min(...gwP50s) : null;
  const drain = mine("drain_jobs_per_s");
  const p50 = mine("pickup_latency_p50_ms");
  const p99 = mine("pickup_latency_p99_ms");
  const batch = mine("enqueue_batch_jobs_per_s");
  const gwBatch = med(lines, "graphile-worker tuned", "enqueue_batch_jobs_per_s");
  const bossDrain = med(lines, "pg-boss tuned", "drain_jobs_per_s");
  const raw = med(lines, "raw claim100", "drain_jobs_per_s");
  const goal = (name: string, ok: boolean | null, detail: string) =>
    out.push(`| ${name} | ${ok === null ? "not measured" : ok ? "met" : "NOT met"} | ${detail} |`);
  const ratio = (a: number | null, b: number | null) =>
    a !== null && b !== null && b > 0 ? a / b : null;
  out.push(`| goal (${ours}) | status | measured |`);
  out.push("| --- | --- | --- |");
  const rGw = ratio(drain, gwDrain || null);
  goal(
    "drain ≥ 1.5× graphile-worker's best config",
    rGw === null ? null : rGw >= 1.5,
    `${fmt(drain)} vs ${fmt(gwDrain || null)} jobs/s = ${rGw?.toFixed(2) ?? "–"}×`,
  );
  const rBoss = ratio(drain, bossDrain);
  goal(
    "drain ≥ 5× pg-boss tuned",
    rBoss === null ? null : rBoss >= 5,
    `${fmt(drain)} vs ${fmt(bossDrain)} jobs/s = ${rBoss?.toFixed(2) ?? "–"}×`,
  );
  goal(
    "pickup p50 ≤ graphile-worker's p50",
    p50 === null || gwP50 === null ? null : p50 <= gwP50,
    `${p50?.toFixed(2) ?? "–"} ms vs ${gwP50?.toFixed(2) ?? "–"} ms`,
  );
  goal(
    "pickup p99 ≤ 2× graphile-worker's p50",
    p99 === null || gwP50 === null ? null : p99 <= 2 * gwP50,
    `${p99?.toFixed(2) ?? "–"} ms vs 2 × ${gwP50?.toFixed(2) ?? "–"} ms`,
  );
  const rBatch = ratio(batch, gwBatch);
  goal(
    "batch enqueue ≥ graphile-worker addJobs",
    rBatch === null ? null : rBatch >= 1,
    `${fmt(batch)} vs ${fmt(gwBatch)} jobs/s = ${rBatch?.toFixed(2) ?? "–"}×`,
  );
  const rRaw = ratio(drain, raw);
  goal(
    "drain ≥ 50% of raw claim100",
    rRaw === null ? null : rRaw >= 0.5,
    `${fmt(drain)} vs ${fmt(raw)} jobs/s = ${rRaw === null ? "–" : (rRaw * 100).toFixed(0)}%`,
  );
  out.push("");
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("usage: deno run -A bench/compare_summary.ts results.jsonl [...]");
    Deno.exit(2);
  }
  const lines = (await Promise.all(Deno.args.map((f) => Deno.readTextFile(f)))).flatMap(
    parseLines,
  );
  console.log(summarize(lines));
}
