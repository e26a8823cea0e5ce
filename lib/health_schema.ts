/**
 * The zod schemas of `GET /api/health/db`: its query (validated by the
 * route) and its answer (documented in the OpenAPI document, checked against
 * real answers by tests/db_health_test.ts).
 */
import { z } from "zod";

/** Query of `GET /api/health/db`: the order of the slowest statements. */
export const healthQuery = z.strictObject({
  sort: z.enum(["mean", "total"], { error: "sort must be mean or total" }).optional()
    .describe("slowest statements by mean time per call (default) or by total time"),
});

const instant = z.iso.datetime({ offset: true });
const level = z.enum(["ok", "warn", "bad"]).describe(
  "ok; warn: worth a look; bad: act now (thresholds in `thresholds`)",
);

/** `{value, level, meaning}` of one reading. */
function figure<T extends z.ZodType>(value: T) {
  return z.object({
    value,
    level,
    meaning: z.string().describe("what the figure means, one line"),
  });
}

const count = z.number().min(0);
const openTransaction = z.object({
  pid: z.int(),
  application_name: z.string(),
  state: z.string().nullable(),
  xact_start: instant,
  age_seconds: z.number(),
  xmin_age: z.int().nullable().describe("transactions its snapshot is behind; null: none held"),
  wait_event: z.string().nullable(),
  query: z.string().describe("its current or last statement, on one line, cut at 300 characters"),
});

/** The answer of `GET /api/health/db`. */
export const dbHealthResponse = z.object({
  checked_at: instant,
  thresholds: z.record(z.string(), z.number()).describe(
    "where each figure turns warn and bad (ratios 0–1, bytes, seconds, transactions, ms)",
  ),
  database: z.object({
    name: z.string(),
    server_version: z.string(),
    schema: z.string().describe("the schema whose tables are listed (current_schema())"),
    size: figure(count),
    xid_age: figure(z.int()),
  }),
  connections: z.object({
    in_use: figure(z.int()).describe("client connections of the whole server"),
    max_connections: z.int(),
    reserved: z.int(),
    available: z.int().describe("max_connections less the reserved ones"),
    this_database: z.int(),
  }),
  vacuum: z.object({
    horizon: figure(z.object({ holder: z.string().nullable(), xid_age: z.int().nullable() }))
      .describe("the xmin furthest behind, and who holds it"),
    oldest_transaction: figure(openTransaction.nullable()),
    open_transactions: z.array(openTransaction).describe("oldest first, at most 5"),
    replication_slots: z.array(z.object({
      slot_name: z.string(),
      slot_type: z.string(),
      database: z.string().nullable(),
      active: z.boolean(),
      xmin_age: z.int().nullable(),
      catalog_xmin_age: z.int().nullable(),
      wal_status: z.string().nullable(),
      retained_wal: figure(z.number().nullable()),
    })),
    prepared_transactions: z.array(z.object({
      gid: z.string(),
      database: z.string(),
      owner: z.string(),
      prepared: instant,
      age: figure(z.number()),
      xid_age: z.int(),
    })),
  }),
  tables: z.array(z.object({
    name: z.string(),
    size: figure(count),
    table_bytes: count,
    index_bytes: count,
    toast_bytes: count,
    live_tuples: count,
    dead_tuples: figure(count),
    last_vacuum: figure(instant.nullable()),
    last_autovacuum: instant.nullable(),
    last_analyze: figure(instant.nullable()),
    last_autoanalyze: instant.nullable(),
    mod_since_analyze: count,
    vacuum_count: count,
    autovacuum_count: count,
    seq_scan: count,
    idx_scan: count.nullable(),
  })).describe("every table of the schema, largest first"),
  indexes: z.array(z.object({
    name: z.string(),
    table: z.string(),
    size: figure(count),
    scans: count,
    unique: z.boolean(),
    valid: z.boolean(),
  })),
  statements: z.object({
    state: z.enum(["ok", "not_installed", "unreadable"]),
    message: z.string().describe("what is listed, or why nothing is and how to enable it"),
    sort: z.enum(["mean", "total"]),
    items: z.array(z.object({
      queryid: z.string().nullable(),
      query: z.string(),
      calls: count,
      total_exec_time: z.number(),
      mean_exec_time: figure(z.number()),
      rows: count,
      share: z.number().min(0).max(1),
    })),
  }),
});
