/**
 * Database health, what holds vacuum back: client transactions open in this
 * database, the server's replication slots and prepared transactions, and
 * which of them holds the xmin horizon furthest behind. Read inside the
 * transaction of `health.read`.
 */
import type { TxSql } from "../db.ts";
import {
  above,
  bytes,
  fig,
  type Figure,
  LIST_LIMIT,
  oneLine,
  seconds,
  type Thresholds,
  worst,
} from "./health_levels.ts";

/** A transaction open in this database. */
export interface OpenTransaction {
  pid: number;
  application_name: string;
  state: string | null;
  xact_start: Date;
  age_seconds: number;
  /** Transactions its snapshot is behind (null: holds no snapshot). */
  xmin_age: number | null;
  wait_event: string | null;
  /** Its current or last statement, on one line and cut. */
  query: string;
}

/** A replication slot of the server. */
export interface SlotHealth {
  slot_name: string;
  slot_type: string;
  database: string | null;
  active: boolean;
  xmin_age: number | null;
  catalog_xmin_age: number | null;
  wal_status: string | null;
  /** WAL it keeps, with its level (inactive: at least warn). */
  retained_wal: Figure<number | null>;
}

/** A prepared (two-phase) transaction of the server. */
export interface PreparedTransaction {
  gid: string;
  database: string;
  owner: string;
  prepared: Date;
  age: Figure<number>;
  xid_age: number;
}

/** The vacuum section of the answer. */
export interface VacuumSection {
  /** The oldest xmin holding back cleanup: who holds it and how far behind. */
  horizon: Figure<{ holder: string | null; xid_age: number | null }>;
  oldest_transaction: Figure<OpenTransaction | null>;
  open_transactions: OpenTransaction[];
  replication_slots: SlotHealth[];
  prepared_transactions: PreparedTransaction[];
}

/** Reads the section; ages are measured to `now` (the instant `health.read` chose). */
export async function readVacuum(tx: TxSql, now: Date, t: Thresholds): Promise<VacuumSection> {
  const open = await readTransactions(tx, now);
  const slots = await readSlots(tx, t);
  const prepared = await readPrepared(tx, now, t);
  return {
    horizon: horizonOf(open, slots, prepared, t),
    oldest_transaction: oldestOf(open, t),
    open_transactions: open,
    replication_slots: slots,
    prepared_transactions: prepared,
  };
}

/**
 * Client transactions open in this database but this one, oldest first
 * (at most {@link LIST_LIMIT}.transactions).
 */
async function readTransactions(tx: TxSql, now: Date): Promise<OpenTransaction[]> {
  // pg_stat_activity is a function scan over the backends' shared state: no index.
  const rows = await tx<(Omit<OpenTransaction, "query"> & { query: string | null })[]>`
    SELECT pid, coalesce(application_name, '') AS application_name, state, xact_start,
           extract(epoch FROM (${now}::timestamptz - xact_start))::float8 AS age_seconds,
           age(backend_xmin) AS xmin_age,
           CASE WHEN wait_event IS NULL THEN NULL ELSE wait_event_type || ': ' || wait_event END
             AS wait_event,
           left(query, 2000) AS query
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND backend_type = 'client backend' AND xact_start IS NOT NULL
    ORDER BY xact_start
    LIMIT ${LIST_LIMIT.transactions}`;
  return rows.map((r) => ({ ...r, query: oneLine(r.query) }));
}

function oldestOf(open: OpenTransaction[], t: Thresholds): Figure<OpenTransaction | null> {
  const o = open[0] ?? null;
  if (!o) {
    return fig(
      null,
      "ok",
      "no transaction is open in this database: nothing here holds vacuum back",
    );
  }
  const level = worst(
    above(o.age_seconds, t.xact_warn_seconds, t.xact_bad_seconds),
    above(o.xmin_age, t.xid_age_warn, t.xid_age_bad),
  );
  return fig(
    o,
    level,
    `open for ${seconds(o.age_seconds)} (${
      o.state ?? "unknown state"
    }): vacuum cannot remove rows that died after it began`,
  );
}

/** A slot as read: the figure's bytes before their level. */
type SlotRow = Omit<SlotHealth, "retained_wal"> & { retained_bytes: number | null };

/** Every replication slot of the server (a slot holds back every database). */
async function readSlots(tx: TxSql, t: Thresholds): Promise<SlotHealth[]> {
  // A view over the slots in shared memory. On a standby the WAL position is
  // the last one received (pg_current_wal_lsn() fails during recovery).
  const rows = await tx<SlotRow[]>`
    SELECT slot_name::text, slot_type, database::text, active,
           age(xmin) AS xmin_age, age(catalog_xmin) AS catalog_xmin_age, wal_status,
           pg_wal_lsn_diff(
             CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                  ELSE pg_current_wal_lsn() END,
             restart_lsn)::float8 AS retained_bytes
    FROM pg_replication_slots
    ORDER BY restart_lsn NULLS LAST, slot_name`;
  return rows.map((r) => {
    const level = worst(
      above(r.retained_bytes, t.slot_wal_warn_bytes, t.slot_wal_bad_bytes),
      above(Math.max(r.xmin_age ?? 0, r.catalog_xmin_age ?? 0), t.xid_age_warn, t.xid_age_bad),
      r.active ? "ok" : "warn",
    );
    const { retained_bytes, ...rest } = r;
    return {
      ...rest,
      retained_wal: fig(
        retained_bytes,
        level,
        `${r.active ? "active" : "INACTIVE (no consumer)"}: keeps ${
          retained_bytes === null ? "no" : bytes(retained_bytes)
        } of WAL on disk and its xmin holds back vacuum until its consumer catches up`,
      ),
    };
  });
}

/** Prepared transactions of the server, oldest first. */
async function readPrepared(
  tx: TxSql,
  now: Date,
  t: Thresholds,
): Promise<PreparedTransaction[]> {
  // A view over the two-phase state in shared memory.
  const rows = await tx<(Omit<PreparedTransaction, "age"> & { age_seconds: number })[]>`
    SELECT gid, database::text, owner::text, prepared,
           extract(epoch FROM (${now}::timestamptz - prepared))::float8 AS age_seconds,
           age(transaction) AS xid_age
    FROM pg_prepared_xacts
    ORDER BY prepared
    LIMIT ${LIST_LIMIT.transactions}`;
  return rows.map(({ age_seconds, ...r }) => ({
    ...r,
    age: fig(
      age_seconds,
      worst(
        above(age_seconds, t.xact_warn_seconds, t.xact_bad_seconds),
        above(r.xid_age, t.xid_age_warn, t.xid_age_bad),
      ),
      `prepared ${seconds(age_seconds)} ago and neither committed nor rolled back: ` +
        "it holds its locks and vacuum's horizon",
    ),
  }));
}

/** The xmin furthest behind among open transactions, slots and prepared transactions. */
function horizonOf(
  open: OpenTransaction[],
  slots: SlotHealth[],
  prepared: PreparedTransaction[],
  t: Thresholds,
): Figure<{ holder: string | null; xid_age: number | null }> {
  const candidates: { holder: string; age: number }[] = [
    ...open.filter((o) => o.xmin_age !== null).map((o) => ({
      holder: `transaction of pid ${o.pid}${o.application_name ? ` (${o.application_name})` : ""}`,
      age: o.xmin_age!,
    })),
    ...slots.map((s) => ({
      holder: `replication slot ${s.slot_name}`,
      age: Math.max(s.xmin_age ?? -1, s.catalog_xmin_age ?? -1),
    })).filter((s) => s.age >= 0),
    ...prepared.map((p) => ({ holder: `prepared transaction ${p.gid}`, age: p.xid_age })),
  ];
  const top = candidates.sort((a, b) => b.age - a.age)[0];
  if (!top) {
    return fig(
      { holder: null, xid_age: null },
      "ok",
      "no snapshot, slot or prepared transaction holds vacuum back",
    );
  }
  return fig(
    { holder: top.holder, xid_age: top.age },
    above(top.age, t.xid_age_warn, t.xid_age_bad),
    `${top.holder} is ${top.age} transaction${
      top.age === 1 ? "" : "s"
    } behind: rows that died since then cannot be removed`,
  );
}
