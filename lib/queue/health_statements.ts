/**
 * Database health: the slowest statements of this database from
 * pg_stat_statements, when the extension is installed and readable; else
 * why not, and how to enable it.
 */
import type { TxSql } from "../db.ts";
import {
  type Level,
  LIST_LIMIT,
  statementFigures,
  type StatementHealth,
  type StatementRow,
  type Thresholds,
} from "./health_levels.ts";

/** Statement order of the slowest statements: by mean time per call, or by total time. */
export type StatementSort = "mean" | "total";

/** The slowest statements, or why there are none. */
export interface StatementsSection {
  state: "ok" | "not_installed" | "unreadable";
  /** A sentence: what is listed, or why nothing is and how to enable it. */
  message: string;
  sort: StatementSort;
  items: StatementHealth[];
}

/** How to load pg_stat_statements into the server. */
export const PGSS_PRELOAD = "add pg_stat_statements to shared_preload_libraries in " +
  "postgresql.conf and restart PostgreSQL";

/** How to enable pg_stat_statements where it is not installed. */
export const PGSS_HOWTO = `${PGSS_PRELOAD}, then run CREATE EXTENSION pg_stat_statements in ` +
  "this database";

/**
 * The slowest statements of this database from pg_stat_statements, when the
 * extension is installed here and readable (it also needs to be in
 * shared_preload_libraries, and other roles' statements need
 * pg_read_all_stats); else the state and how to enable it. Read in a
 * savepoint: a failure leaves the rest of the answer intact.
 */
export async function readStatements(
  tx: TxSql,
  t: Thresholds,
  sort: StatementSort,
): Promise<StatementsSection> {
  const [ext] = await tx<{ schema: string; version: string }[]>`
    SELECT n.nspname AS schema, e.extversion AS version
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements'`;
  if (!ext) {
    return {
      state: "not_installed",
      message: `pg_stat_statements not installed: ${PGSS_HOWTO}`,
      sort,
      items: [],
    };
  }
  try {
    const rows = await tx.savepoint((sp) =>
      // The view (schema-qualified, the schema from pg_extension) sorted in
      // memory; the 1.8+ column names, the same in PostgreSQL 13 to 18.
      sp<StatementRow[]>`
        SELECT queryid::text, query, calls, total_exec_time, mean_exec_time, rows
        FROM ${sp(ext.schema)}.pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY CASE WHEN ${sort}::text = 'total' THEN total_exec_time
                      ELSE mean_exec_time END DESC
        LIMIT ${LIST_LIMIT.statements}`
    ) as StatementRow[];
    return {
      state: "ok",
      message: `the ${rows.length} slowest statements of this database by ${
        sort === "total" ? "total" : "mean"
      } execution time (pg_stat_statements ${ext.version})`,
      sort,
      items: statementFigures(rows, t),
    };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return {
      state: "unreadable",
      message: `pg_stat_statements is installed but cannot be read (${reason}): ${PGSS_PRELOAD}` +
        " (other roles' statements also need pg_read_all_stats)",
      sort,
      items: [],
    };
  }
}

/**
 * The level of the statements section itself: `warn` when pg_stat_statements
 * is installed but cannot be read (a half-done setup), else `ok` (not
 * installed is a choice, not a fault).
 */
export function statementsLevel(s: StatementsSection): Level {
  return s.state === "unreadable" ? "warn" : "ok";
}
