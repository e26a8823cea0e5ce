/**
 * The JSON lines of bench/compare.sh (bench/main.ts, the peers' run.mjs,
 * bench/ceiling.mjs) and the small readers the summary and the Goals table
 * share.
 */
import { median } from "./util.ts";

/** One JSON line as written by bench/main.ts, the harness's run.mjs or bench/ceiling.mjs. */
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

export type Key = string;
export const keyOf = (peer: string, config: string): Key => `${peer} ${config}`;

/** Values of `metric` for one peer/config, over runs (errors dropped). */
export function valuesOf(lines: Line[], key: Key, metric: string): number[] {
  return lines.filter((l) => keyOf(l.peer, l.config) === key && l.metric === metric)
    .map((l) => l.value).filter((v): v is number => typeof v === "number");
}

/** Median of `metric` for one peer/config, or null. */
export function med(lines: Line[], key: Key, metric: string): number | null {
  return median(valuesOf(lines, key, metric));
}

/** A number for a table: thousands separated from 100 up, else one decimal. */
export const fmt = (x: number | null) =>
  x === null ? "–" : x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1);
