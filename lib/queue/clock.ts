/** The instant a statement uses: a fixed `Date` (tests) or the database clock. */
import type { Sql, TxSql } from "../db.ts";

/** The instant to use: a fixed `Date` (tests) or the database's `now()`. */
export function at(sql: Sql | TxSql, now: Date | null | undefined) {
  return now ? sql`${now}::timestamptz` : sql`now()`;
}

/** The SQL fragment {@link at} returns, for helpers that build on it. */
export type Instant = ReturnType<typeof at>;
