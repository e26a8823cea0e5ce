/**
 * The scale phase's summary: each measurement's p50 per size, its ratio to
 * the smallest size, and which ones exceed the goal (1.5x) at the largest
 * size, as JSON-line extras and a Markdown table.
 */
import type { ScaleResult } from "./scale.ts";

/** The most a measurement may grow from the smallest to the largest size. */
export const SCALE_GOAL = 1.5;

/** One measurement's ratio at the largest size. */
export interface ScaleRatio {
  query: string;
  ratio: number;
  extra: Record<string, unknown>;
}

/**
 * Summarises `results` (one per query per size). Ratios compare each size's
 * p50 with the smallest size's; `over` lists the queries whose ratio at the
 * largest size exceeds {@link SCALE_GOAL}, in measurement order.
 */
export function scaleReport(results: ScaleResult[], sizes: number[]): {
  ratios: ScaleRatio[];
  over: string[];
  largest: number;
  markdown: string;
} {
  const ordered = [...new Set(sizes)].sort((a, b) => a - b);
  const smallest = ordered[0], largest = ordered[ordered.length - 1];
  const label = (n: number) =>
    n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n);
  const head = ["measurement", ...ordered.map((n) => `${label(n)} p50 ms`)];
  for (const n of ordered.slice(1)) head.push(`${label(n)}/${label(smallest)}`);
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`];
  const ratios: ScaleRatio[] = [];
  const over: string[] = [];
  for (const query of new Set(results.map((r) => r.query))) {
    const at = (n: number) => results.find((r) => r.query === query && r.rows === n);
    const base = at(smallest);
    if (!base) continue;
    const cells = [query, ...ordered.map((n) => String(at(n)?.p50_ms ?? "–"))];
    let ratio = NaN;
    for (const n of ordered.slice(1)) {
      const r = at(n) ? at(n)!.p50_ms / base.p50_ms : NaN;
      cells.push(Number.isFinite(r) ? `${r.toFixed(2)}x${r > SCALE_GOAL ? " **over**" : ""}` : "–");
      if (n === largest) ratio = r;
    }
    lines.push(`| ${cells.join(" | ")} |`);
    if (!Number.isFinite(ratio)) continue;
    const met = ratio <= SCALE_GOAL;
    if (!met) over.push(query);
    ratios.push({
      query,
      ratio,
      extra: {
        rows: largest,
        base_rows: smallest,
        p50_ms: at(largest)!.p50_ms,
        base_p50_ms: base.p50_ms,
        goal_max: SCALE_GOAL,
        met,
      },
    });
  }
  return { ratios, over, largest, markdown: lines.join("\n") };
}
