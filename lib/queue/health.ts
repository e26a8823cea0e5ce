/**
 * Database health for `/health` and `GET /api/health/db`: the size, tuples
 * and (auto)vacuum of every table of jobq's schema, its indexes, what holds
 * vacuum back (the oldest open transaction, replication slots, prepared
 * transactions), connections in use, and the slowest statements when
 * pg_stat_statements is there. Read from the statistics views and catalogs
 * in one read-only transaction (one snapshot of the statistics; short
 * statement and lock timeouts, so a sick database answers "slow" rather than
 * hanging the page). Thresholds and formatting: `health_levels.ts`; what
 * holds vacuum back: `health_vacuum.ts`.
 */
import type { Sql, TxSql } from "../db.ts";
import {
  above,
  bytes,
  fig,
  type Figure,
  type Level,
  type Thresholds,
  thresholdsWith,
  worst,
} from "./health_levels.ts";
import { readVacuum, type VacuumSection } from "./health_vacuum.ts";
import {
  readStatements,
  statementsLevel,
  type StatementSort,
  type StatementsSection,
} from "./health_statements.ts";

export * from "./health_levels.ts";
export * from "./health_statements.ts";
export type {
  OpenTransaction,
  PreparedTransaction,
  SlotHealth,
  VacuumSection,
} from "./health_vacuum.ts";

/** One table of the current schema. */
export interface TableHealth {
  name: string;
  /** Table, indexes and TOAST together. */
  size: Figure<number>;
  table_bytes: number;
  index_bytes: number;
  toast_bytes: number;
  live_tuples: number;
  dead_tuples: Figure<number>;
  /** The newer of the last manual vacuum and the last autovacuum. */
  last_vacuum: Figure<Date | null>;
  last_autovacuum: Date | null;
  last_analyze: Figure<Date | null>;
  last_autoanalyze: Date | null;
  mod_since_analyze: number;
  vacuum_count: number;
  autovacuum_count: number;
  seq_scan: number;
  idx_scan: number | null;
}

/** One index of a table of the current schema. */
export interface IndexHealth {
  name: string;
  table: string;
  size: Figure<number>;
  scans: number;
  unique: boolean;
  valid: boolean;
}

/** Everything `GET /api/health/db` answers. */
export interface DbHealth {
  checked_at: Date;
  thresholds: Thresholds;
  database: {
    name: string;
    server_version: string;
    schema: string;
    size: Figure<number>;
    xid_age: Figure<number>;
  };
  connections: {
    in_use: Figure<number>;
    max_connections: number;
    reserved: number;
    available: number;
    this_database: number;
  };
  vacuum: VacuumSection;
  tables: TableHealth[];
  indexes: IndexHealth[];
  statements: StatementsSection;
}

/** Options of {@link read}. */
export interface ReadOptions {
  /** Thresholds to apply over the defaults (tests, or a stricter operator). */
  thresholds?: Partial<Thresholds>;
  /** The instant ages are measured to; null: the database's clock. */
  now?: Date | null;
  sort?: StatementSort;
}

/**
 * Reads every section. The transaction is read only with a 5 s statement
 * timeout and a 2 s lock timeout (the size functions take a share lock on
 * each relation: a table under an exclusive lock makes this fail fast
 * rather than wait). Nothing here changes anything.
 */
export async function read(sql: Sql, opts: ReadOptions = {}): Promise<DbHealth> {
  const t = thresholdsWith(opts.thresholds);
  const sort = opts.sort ?? "mean";
  const now = opts.now ?? null;
  return await sql.begin("read only", async (tx: TxSql) => {
    await tx`SET LOCAL statement_timeout = '5s'`;
    await tx`SET LOCAL lock_timeout = '2s'`;
    const [db] = await tx<DbRow[]>`
      SELECT current_database() AS name, current_schema() AS schema,
             current_setting('server_version') AS server_version,
             pg_database_size(current_database()) AS size_bytes,
             age(d.datfrozenxid) AS xid_age,
             coalesce(${now}::timestamptz, clock_timestamp()) AS now
      FROM pg_database d WHERE d.datname = current_database()`;
    const tables = await readTables(tx, t);
    const indexes = await readIndexes(tx, t);
    const vacuum = await readVacuum(tx, db.now, t);
    const connections = await readConnections(tx, t);
    const statements = await readStatements(tx, t, sort);
    return {
      checked_at: db.now,
      thresholds: t,
      database: {
        name: db.name,
        server_version: db.server_version,
        schema: db.schema,
        size: fig(
          db.size_bytes,
          "ok",
          "disk used by this database (every schema); grows with jobs kept, shrinks only after VACUUM FULL or pruning and reuse",
        ),
        xid_age: fig(
          db.xid_age,
          above(db.xid_age, t.xid_age_warn, t.xid_age_bad),
          "transactions since the oldest unfrozen row; vacuum freezes rows, and at about 2 billion PostgreSQL stops writes",
        ),
      },
      connections,
      vacuum,
      tables,
      indexes,
      statements,
    } satisfies DbHealth;
  }) as DbHealth;
}

interface DbRow {
  name: string;
  schema: string;
  server_version: string;
  size_bytes: number;
  xid_age: number;
  now: Date;
}

interface TableRow {
  name: string;
  total_bytes: number;
  table_bytes: number;
  index_bytes: number;
  live_tuples: number | null;
  dead_tuples: number | null;
  mod_since_analyze: number | null;
  last_vacuum: Date | null;
  last_autovacuum: Date | null;
  last_analyze: Date | null;
  last_autoanalyze: Date | null;
  vacuum_count: number | null;
  autovacuum_count: number | null;
  seq_scan: number | null;
  idx_scan: number | null;
}

/** The newer of two instants (null when both are). */
function newer(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

/**
 * Every table of the current schema (pg_tables, so tables added by later
 * migrations appear on their own), largest first. Tuple counts are the
 * statistics collector's estimates.
 */
async function readTables(tx: TxSql, t: Thresholds): Promise<TableHealth[]> {
  // pg_tables × pg_class by name in the current schema; the size functions
  // read each relation's files (a share lock each, bounded by lock_timeout).
  const rows = await tx<TableRow[]>`
    SELECT c.relname AS name,
           pg_total_relation_size(c.oid) AS total_bytes,
           pg_relation_size(c.oid) AS table_bytes,
           pg_indexes_size(c.oid) AS index_bytes,
           s.n_live_tup AS live_tuples, s.n_dead_tup AS dead_tuples,
           s.n_mod_since_analyze AS mod_since_analyze,
           s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
           s.vacuum_count, s.autovacuum_count, s.seq_scan, s.idx_scan
    FROM pg_tables p
    JOIN pg_namespace n ON n.nspname = p.schemaname
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE p.schemaname = current_schema()
    ORDER BY pg_total_relation_size(c.oid) DESC, c.relname`;
  return rows.map((r) => {
    const live = r.live_tuples ?? 0;
    const dead = r.dead_tuples ?? 0;
    const ratio = live > 0 ? dead / live : dead > 0 ? Infinity : 0;
    const deadLevel = dead >= t.dead_min ? above(ratio, t.dead_warn_ratio, t.dead_bad_ratio) : "ok";
    const vacuumed = newer(r.last_vacuum, r.last_autovacuum);
    const analyzed = newer(r.last_analyze, r.last_autoanalyze);
    const mod = r.mod_since_analyze ?? 0;
    const stale = mod >= t.dead_min && mod > live * t.analyze_warn_ratio;
    return {
      name: r.name,
      size: fig(
        r.total_bytes,
        above(r.total_bytes, t.table_warn_bytes, t.table_bad_bytes),
        `${bytes(r.table_bytes)} rows, ${bytes(r.index_bytes)} indexes, ${
          bytes(r.total_bytes - r.table_bytes - r.index_bytes)
        } TOAST: the disk this table takes`,
      ),
      table_bytes: r.table_bytes,
      index_bytes: r.index_bytes,
      toast_bytes: r.total_bytes - r.table_bytes - r.index_bytes,
      live_tuples: live,
      dead_tuples: fig(
        dead,
        deadLevel,
        `rows deleted or updated but not yet vacuumed (${
          live > 0 ? `${Math.round(ratio * 100)} % of live` : "no live rows"
        }); they slow scans until vacuum reclaims them`,
      ),
      last_vacuum: fig(
        vacuumed,
        deadLevel === "ok" ? "ok" : "warn",
        vacuumed
          ? "the last (auto)vacuum, which makes dead rows' space reusable"
          : "never vacuumed since the statistics were reset (fine while dead rows stay few)",
      ),
      last_autovacuum: r.last_autovacuum,
      last_analyze: fig(
        analyzed,
        stale ? "warn" : "ok",
        stale
          ? `${mod} rows changed since the last analyze: the planner's estimates are stale`
          : "the last (auto)analyze, which refreshes the planner's row estimates",
      ),
      last_autoanalyze: r.last_autoanalyze,
      mod_since_analyze: mod,
      vacuum_count: r.vacuum_count ?? 0,
      autovacuum_count: r.autovacuum_count ?? 0,
      seq_scan: r.seq_scan ?? 0,
      idx_scan: r.idx_scan,
    };
  });
}

interface IndexRow {
  name: string;
  table: string;
  bytes: number;
  scans: number;
  unique: boolean;
  valid: boolean;
}

/** Every index of the current schema's tables, largest first. */
async function readIndexes(tx: TxSql, t: Thresholds): Promise<IndexHealth[]> {
  // pg_stat_user_indexes × pg_index; one size call per index.
  const rows = await tx<IndexRow[]>`
    SELECT i.indexrelname AS name, i.relname AS table,
           pg_relation_size(i.indexrelid) AS bytes, i.idx_scan AS scans,
           x.indisunique AS unique, x.indisvalid AS valid
    FROM pg_stat_user_indexes i
    JOIN pg_index x ON x.indexrelid = i.indexrelid
    WHERE i.schemaname = current_schema()
    ORDER BY pg_relation_size(i.indexrelid) DESC, i.indexrelname`;
  return rows.map((r) => {
    const unused = r.scans === 0 && !r.unique && r.bytes > t.unused_index_warn_bytes;
    return {
      name: r.name,
      table: r.table,
      size: fig(
        r.bytes,
        !r.valid ? "bad" : unused ? "warn" : "ok",
        !r.valid
          ? "INVALID (a failed CREATE INDEX CONCURRENTLY): written on every change, never used; drop and rebuild it"
          : unused
          ? "never scanned since the statistics were reset, yet written on every change"
          : `${r.scans} scans since the statistics were reset`,
      ),
      scans: r.scans,
      unique: r.unique,
      valid: r.valid,
    };
  });
}

interface ConnRow {
  in_use: number;
  this_database: number;
  max_connections: number;
  superuser_reserved: number;
  reserved: number | null;
}

/** Client connections of the server against what ordinary roles may open. */
async function readConnections(tx: TxSql, t: Thresholds): Promise<DbHealth["connections"]> {
  // `reserved_connections` exists from PostgreSQL 16 (missing_ok: null before).
  const [r] = await tx<ConnRow[]>`
    SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS in_use,
           count(*) FILTER (WHERE backend_type = 'client backend'
                              AND datname = current_database()) AS this_database,
           current_setting('max_connections')::int AS max_connections,
           current_setting('superuser_reserved_connections')::int AS superuser_reserved,
           current_setting('reserved_connections', true)::int AS reserved
    FROM pg_stat_activity`;
  const reserved = r.superuser_reserved + (r.reserved ?? 0);
  const available = Math.max(1, r.max_connections - reserved);
  const ratio = r.in_use / available;
  return {
    in_use: fig(
      r.in_use,
      above(ratio, t.connections_warn_ratio, t.connections_bad_ratio),
      `${Math.round(ratio * 100)} % of the ${available} connections ordinary roles may open ` +
        `(max_connections ${r.max_connections} less ${reserved} reserved); at 100 % new ones are refused`,
    ),
    max_connections: r.max_connections,
    reserved,
    available,
    this_database: r.this_database,
  };
}

/** The worst level of the whole answer, and how many figures are at each level. */
export function summary(h: DbHealth): { level: Level; warn: number; bad: number } {
  const levels: Level[] = [
    h.database.size.level,
    h.database.xid_age.level,
    h.connections.in_use.level,
    h.vacuum.horizon.level,
    h.vacuum.oldest_transaction.level,
    ...h.vacuum.replication_slots.map((s) => s.retained_wal.level),
    ...h.vacuum.prepared_transactions.map((p) => p.age.level),
    ...h.tables.flatMap((x) => [
      x.size.level,
      x.dead_tuples.level,
      x.last_vacuum.level,
      x.last_analyze.level,
    ]),
    ...h.indexes.map((i) => i.size.level),
    statementsLevel(h.statements),
    ...h.statements.items.map((s) => s.mean_exec_time.level),
  ];
  return {
    level: worst(...levels),
    warn: levels.filter((l) => l === "warn").length,
    bad: levels.filter((l) => l === "bad").length,
  };
}
