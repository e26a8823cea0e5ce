/**
 * Summarises the JSON lines of bench/compare.sh (ours, the peers' harness and
 * the ceiling, same metric names): a markdown table of medians (min–max) per
 * peer and config, our ratios to each peer, CPU per drained job, the HTTP
 * phase, and the Goals table (bench/compare_goals.ts).
 *
 *   deno run -A bench/compare_summary.ts /tmp/jobq-compare/<stamp>/results.jsonl [...]
 */
import { median } from "./util.ts";
import { cpuTable, goalsTable, httpTable } from "./compare_goals.ts";
import { fmt, type Key, keyOf, type Line, med, parseLines, valuesOf } from "./compare_lines.ts";

export { type Line, parseLines };

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
    new Set(
      lines.filter((l) => keyOf(l.peer, l.config) === k && COLUMNS.some(([m]) => m === l.metric))
        .map((l) => l.run),
    ).size;
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
  const peers = keys.filter((k) =>
    !k.startsWith("jobq ") && !k.startsWith("raw ") && !k.startsWith("ceiling ")
  );
  for (const ours of oursKeys) ratios(lines, ours, oursKeys, peers, out);
  out.push(...cpuTable(lines, keys), ...httpTable(lines));
  out.push(...goalsTable(lines));
  return out.join("\n");
}

/** Our ratios to each peer for one of our configs. */
function ratios(lines: Line[], ours: Key, oursKeys: Key[], peers: Key[], out: string[]) {
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
