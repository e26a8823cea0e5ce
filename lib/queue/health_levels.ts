/**
 * Database health: the thresholds that colour each figure, written once,
 * and the pure functions that turn catalog readings into figures
 * (`{value, level, meaning}`). The statements are in `health.ts`.
 */

/** How many open (and prepared) transactions and slowest statements are listed. */
export const LIST_LIMIT = { transactions: 5, statements: 10 } as const;

/** How a figure looks: fine, worth a look, or act now. */
export type Level = "ok" | "warn" | "bad";

/** One reading with its colour and a one-line meaning. */
export interface Figure<T> {
  value: T;
  level: Level;
  meaning: string;
}

/** Where each figure turns `warn` and `bad` (see {@link THRESHOLDS} for the defaults). */
export interface Thresholds {
  /** Dead tuples as a share of live ones (needs at least `dead_min` dead tuples to colour). */
  dead_warn_ratio: number;
  dead_bad_ratio: number;
  dead_min: number;
  /** A table whose statistics are older than this many changed rows, as a share of live ones. */
  analyze_warn_ratio: number;
  /** Total size of one table with its indexes and TOAST, in bytes. */
  table_warn_bytes: number;
  table_bad_bytes: number;
  /** An index never scanned since the statistics were reset, larger than this, is worth a look. */
  unused_index_warn_bytes: number;
  /** Age of the oldest open transaction (and of a prepared one), in seconds. */
  xact_warn_seconds: number;
  xact_bad_seconds: number;
  /** Transaction ids a snapshot, slot or the database's frozen horizon is behind. */
  xid_age_warn: number;
  xid_age_bad: number;
  /** WAL a replication slot keeps on disk, in bytes. */
  slot_wal_warn_bytes: number;
  slot_wal_bad_bytes: number;
  /** Client connections as a share of those ordinary roles may open. */
  connections_warn_ratio: number;
  connections_bad_ratio: number;
  /** Mean execution time of a statement, in milliseconds. */
  statement_warn_ms: number;
  statement_bad_ms: number;
}

const GIB = 1024 ** 3;

/**
 * The defaults. Dead tuples: above 20 % of live warn, above 50 % bad (and at
 * least 1000 dead, so small busy tables stay quiet); stale statistics: more
 * rows changed since the last analyze than 50 % of live; a table over 10 GiB
 * warn, 100 GiB bad; an unused index over 64 MiB warn; the oldest open
 * transaction over 5 min warn, 1 h bad; an xid horizon 100 million
 * transactions behind warn, 1 billion bad (wraparound is at 2 billion); a
 * slot retaining 1 GiB of WAL warn, 10 GiB bad (an inactive slot at least
 * warn); connections over 80 % warn, 95 % bad; a statement whose mean is
 * over 100 ms warn, 1 s bad.
 */
export const THRESHOLDS: Readonly<Thresholds> = Object.freeze({
  dead_warn_ratio: 0.2,
  dead_bad_ratio: 0.5,
  dead_min: 1000,
  analyze_warn_ratio: 0.5,
  table_warn_bytes: 10 * GIB,
  table_bad_bytes: 100 * GIB,
  unused_index_warn_bytes: 64 * 1024 ** 2,
  xact_warn_seconds: 300,
  xact_bad_seconds: 3600,
  xid_age_warn: 100_000_000,
  xid_age_bad: 1_000_000_000,
  slot_wal_warn_bytes: GIB,
  slot_wal_bad_bytes: 10 * GIB,
  connections_warn_ratio: 0.8,
  connections_bad_ratio: 0.95,
  statement_warn_ms: 100,
  statement_bad_ms: 1000,
});

/** The defaults with `overrides` on top. */
export function thresholdsWith(overrides: Partial<Thresholds> = {}): Thresholds {
  return { ...THRESHOLDS, ...overrides };
}

const RANK: Record<Level, number> = { ok: 0, warn: 1, bad: 2 };

/** The worse of some levels (`ok` when none). */
export function worst(...levels: Level[]): Level {
  return levels.reduce<Level>((a, b) => (RANK[b] > RANK[a] ? b : a), "ok");
}

/** `bad` above `bad`, `warn` above `warn`, else `ok` (a null value is `ok`). */
export function above(value: number | null, warn: number, bad: number): Level {
  if (value === null || Number.isNaN(value)) return "ok";
  return value > bad ? "bad" : value > warn ? "warn" : "ok";
}

/** A figure. */
export function fig<T>(value: T, level: Level, meaning: string): Figure<T> {
  return { value, level, meaning };
}

/** Bytes as "1.2 GiB" (binary units, like pg_size_pretty). */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Seconds as "42 s", "7 min", "3 h 5 min", "2 d 4 h". */
export function seconds(s: number): string {
  const n = Math.max(0, Math.round(s));
  if (n < 60) return `${n} s`;
  if (n < 3600) return `${Math.floor(n / 60)} min`;
  if (n < 86_400) {
    const m = Math.floor(n % 3600 / 60);
    return `${Math.floor(n / 3600)} h${m ? ` ${m} min` : ""}`;
  }
  const h = Math.floor(n % 86_400 / 3600);
  return `${Math.floor(n / 86_400)} d${h ? ` ${h} h` : ""}`;
}

/** One statement as pg_stat_statements reports it (times in ms). */
export interface StatementRow {
  queryid: string | null;
  query: string;
  calls: number;
  total_exec_time: number;
  mean_exec_time: number;
  rows: number;
}

/** A statement with its mean time as a figure. */
export interface StatementHealth extends Omit<StatementRow, "mean_exec_time"> {
  mean_exec_time: Figure<number>;
  /** Share of the execution time of every listed statement of this database, 0–1. */
  share: number;
}

/** The longest query text kept (whitespace runs collapsed first). */
export const QUERY_MAX = 300;

/** A query's text on one line, cut at {@link QUERY_MAX} characters with "…". */
export function oneLine(query: string | null, max = QUERY_MAX): string {
  const flat = (query ?? "").replace(/\s+/g, " ").trim();
  return flat.length > max ? flat.slice(0, max - 1) + "…" : flat;
}

/**
 * Figures of the slowest statements: each mean coloured by the statement
 * thresholds, the query on one line and cut, and each one's share of the
 * listed statements' total time.
 */
export function statementFigures(rows: StatementRow[], t: Thresholds): StatementHealth[] {
  const total = rows.reduce((n, r) => n + r.total_exec_time, 0);
  return rows.map((r) => ({
    ...r,
    query: oneLine(r.query),
    mean_exec_time: fig(
      r.mean_exec_time,
      above(r.mean_exec_time, t.statement_warn_ms, t.statement_bad_ms),
      `${
        r.mean_exec_time.toFixed(1)
      } ms per call over ${r.calls} calls; above ${t.statement_warn_ms} ms is slow for a queue statement`,
    ),
    share: total > 0 ? r.total_exec_time / total : 0,
  }));
}
