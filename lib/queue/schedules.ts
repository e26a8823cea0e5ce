/**
 * Statements on `schedule` (recurring jobs): list, get, create, change,
 * remove, and applying the schedules file. The scheduler's tick and "run
 * now" are in `schedule_tick.ts`.
 *
 * Every change computes `next_run_at` from the cron at the database clock
 * (or the `now` given) and sends `NOTIFY jobq_schedules` in its transaction,
 * so a sleeping scheduler wakes and looks again.
 */
import type { Sql, TxSql } from "../db.ts";
import { nextTick } from "../schedules/cron.ts";
import {
  type CreateSchedule,
  createScheduleBody,
  normalized,
  type PatchSchedule,
} from "../schedules/schema.ts";
import { ConflictError, NotFoundError } from "./types.ts";
import { type Actor, record } from "./audit.ts";

/** Schedules changed: wakes the scheduler. */
export const CHANNEL_SCHEDULES = "jobq_schedules";

/** A row of `schedule`. */
export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  type: string;
  payload: Record<string, unknown>;
  priority: number;
  /** The job's queue; null: the type's default queue. */
  queue: string | null;
  max_attempts: number;
  enabled: boolean;
  /** The tick last enqueued by the scheduler. */
  last_run_at: Date | null;
  /** The next tick; null while disabled. */
  next_run_at: Date | null;
  /** The job last enqueued (a tick or "run now"); it may since have been pruned. */
  last_job_id: string | null;
  /** `file`: declared in the schedules file, which wins for the fields it declares. */
  source: "api" | "file";
  created_at: Date;
  updated_at: Date;
}

/** The error for a schedule name with no row. */
export function scheduleNotFound(name: string): NotFoundError {
  return new NotFoundError("schedule_not_found", `no schedule named ${JSON.stringify(name)}`);
}

/** The instant to use: `now`, or the database clock. */
export async function clockOf(sql: Sql | TxSql, now: Date | null | undefined): Promise<Date> {
  if (now) return now;
  const [{ t }] = await sql<{ t: Date }[]>`SELECT now() AS t`;
  return t;
}

/** Every schedule, by name. */
export async function list(sql: Sql): Promise<Schedule[]> {
  // Seq scan of a small table.
  return await sql<Schedule[]>`SELECT * FROM schedule ORDER BY name`;
}

/** One schedule, or null. */
export async function get(sql: Sql, opts: { name: string }): Promise<Schedule | null> {
  // Primary key.
  const [row] = await sql<Schedule[]>`SELECT * FROM schedule WHERE name = ${opts.name}`;
  return row ?? null;
}

/** The next tick of an enabled schedule after `t` (null while disabled). */
function nextRun(s: { cron: string; timezone?: string; enabled?: boolean }, t: Date): Date | null {
  if (s.enabled === false) return null;
  return nextTick(s.cron, s.timezone ?? "UTC", t);
}

/**
 * Inserts a schedule (validated by the caller with `createScheduleBody`).
 * Throws `ConflictError("schedule_exists")` when the name is taken (nothing
 * changes). With an `actor`, a `schedule.create` audit entry is written in
 * the same transaction.
 */
export async function create(
  sql: Sql,
  opts: {
    schedule: CreateSchedule;
    source?: "api" | "file";
    now?: Date | null;
    actor?: Actor | null;
  },
): Promise<Schedule> {
  const s = normalized(opts.schedule);
  return await sql.begin(async (tx: TxSql) => {
    const t = await clockOf(tx, opts.now);
    const next = nextRun(s, t);
    // Primary key; ON CONFLICT DO NOTHING: a taken name inserts nothing and returns no row.
    const [row] = await tx<Schedule[]>`
      INSERT INTO schedule (name, cron, timezone, type, payload, priority, queue, max_attempts,
                            enabled, next_run_at, source, created_at, updated_at)
      VALUES (${s.name}, ${s.cron}, ${s.timezone ?? "UTC"}, ${s.type}, ${
      tx.json(s.payload as never)
    },
              ${s.priority ?? 3}, ${s.queue ?? null}, ${s.max_attempts ?? 3}, ${next !== null},
              ${next}, ${opts.source ?? "api"}, ${t}, ${t})
      ON CONFLICT (name) DO NOTHING
      RETURNING *`;
    if (!row) {
      throw new ConflictError("schedule_exists", `a schedule named ${s.name} already exists`);
    }
    await tx`SELECT pg_notify(${CHANNEL_SCHEDULES}, ${s.name})`;
    if (opts.actor) {
      await record(tx, {
        actor: opts.actor,
        action: "schedule.create",
        target: row.name,
        details: { schedule: settingsOf(row) },
        now: opts.now,
      });
    }
    return row;
  }) as Schedule;
}

/** The fields of a schedule an operator sets (for audit details). */
function settingsOf(s: Schedule): Record<string, unknown> {
  return {
    cron: s.cron,
    timezone: s.timezone,
    type: s.type,
    payload: s.payload,
    priority: s.priority,
    queue: s.queue,
    max_attempts: s.max_attempts,
    enabled: s.enabled,
  };
}

/** The settings that differ between `a` and `b`, as `{ field: value }` of each. */
function diff(
  a: Schedule,
  b: Schedule,
): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const [x, y] = [settingsOf(a), settingsOf(b)];
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const k of Object.keys(x)) {
    if (JSON.stringify(x[k]) !== JSON.stringify(y[k])) [before[k], after[k]] = [x[k], y[k]];
  }
  return { before, after };
}

/**
 * Changes a schedule: the merged schedule is validated again (a payload that
 * no longer fits its type is a `ZodError`, nothing changes). A schedule from
 * the file takes only `enabled` (else `ConflictError("schedule_from_file")`).
 * A change of cron, time zone or `enabled` recomputes `next_run_at`. With an
 * `actor`, a `schedule.update` audit entry (the fields changed, before and
 * after) is written in the same transaction.
 */
export async function update(
  sql: Sql,
  opts: { name: string; patch: PatchSchedule; now?: Date | null; actor?: Actor | null },
): Promise<Schedule> {
  return await sql.begin(async (tx: TxSql) => {
    // Primary key, locked: concurrent changes apply one after the other.
    const [cur] = await tx<Schedule[]>`SELECT * FROM schedule WHERE name = ${opts.name} FOR UPDATE`;
    if (!cur) throw scheduleNotFound(opts.name);
    const p = opts.patch;
    const keys = Object.keys(p).filter((k) => p[k as keyof PatchSchedule] !== undefined);
    if (cur.source === "file" && keys.some((k) => k !== "enabled")) {
      throw new ConflictError(
        "schedule_from_file",
        `schedule ${cur.name} is declared in the schedules file: change it there (only enabled ` +
          `can be changed here)`,
      );
    }
    const merged = normalized(createScheduleBody.parse({
      name: cur.name,
      cron: p.cron ?? cur.cron,
      timezone: p.timezone ?? cur.timezone,
      type: p.type ?? cur.type,
      payload: p.payload ?? cur.payload,
      priority: p.priority ?? cur.priority,
      queue: p.queue !== undefined ? p.queue : cur.queue,
      max_attempts: p.max_attempts ?? cur.max_attempts,
      enabled: p.enabled ?? cur.enabled,
    }));
    const t = await clockOf(tx, opts.now);
    const timing = merged.cron !== cur.cron || merged.timezone !== cur.timezone ||
      merged.enabled !== cur.enabled;
    const next = timing ? nextRun(merged, t) : cur.next_run_at;
    const [row] = await tx<Schedule[]>`
      UPDATE schedule SET cron = ${merged.cron}, timezone = ${merged.timezone ?? "UTC"},
        type = ${merged.type}, payload = ${tx.json(merged.payload as never)},
        priority = ${merged.priority ?? 3}, queue = ${merged.queue ?? null},
        max_attempts = ${merged.max_attempts ?? 3}, enabled = ${next !== null},
        next_run_at = ${next}, updated_at = ${t}
      WHERE name = ${cur.name}
      RETURNING *`;
    await tx`SELECT pg_notify(${CHANNEL_SCHEDULES}, ${cur.name})`;
    if (opts.actor) {
      await record(tx, {
        actor: opts.actor,
        action: "schedule.update",
        target: cur.name,
        details: diff(cur, row),
        now: opts.now,
      });
    }
    return row;
  }) as Schedule;
}

/**
 * Deletes a schedule (its jobs stay). A schedule from the file cannot be
 * removed here (`ConflictError("schedule_from_file")`): it would come back at
 * the next start. With an `actor`, a `schedule.delete` audit entry (keeping
 * the schedule's settings) is written in the same transaction.
 */
export async function remove(
  sql: Sql,
  opts: { name: string; actor?: Actor | null; now?: Date | null },
): Promise<Schedule> {
  const actor = opts.actor;
  if (!actor) return await removeRow(sql, opts.name);
  return await sql.begin(async (tx: TxSql) => {
    const s = await removeRow(tx, opts.name);
    await record(tx, {
      actor,
      action: "schedule.delete",
      target: s.name,
      details: { schedule: settingsOf(s) },
      now: opts.now,
    });
    return s;
  }) as Schedule;
}

async function removeRow(sql: Sql | TxSql, name: string): Promise<Schedule> {
  // Primary key; the row is returned whatever its source, then refused below in the same statement.
  const [row] = await sql<(Schedule & { removed: boolean; notified: string })[]>`
    WITH cur AS (SELECT * FROM schedule WHERE name = ${name} FOR UPDATE),
    del AS (DELETE FROM schedule s USING cur WHERE s.name = cur.name AND cur.source = 'api'
            RETURNING s.name),
    n AS (SELECT pg_notify(${CHANNEL_SCHEDULES}, name) FROM del)
    SELECT cur.*, EXISTS (SELECT 1 FROM del) AS removed, (SELECT count(*) FROM n) AS notified
    FROM cur`;
  if (!row) throw scheduleNotFound(name);
  if (!row.removed) {
    throw new ConflictError(
      "schedule_from_file",
      `schedule ${row.name} is declared in the schedules file: remove it there`,
    );
  }
  const { removed: _r, notified: _n, ...s } = row;
  return s;
}

/** What applying the schedules file did. */
export interface FileApplied {
  created: string[];
  updated: string[];
  /** File schedules no longer in the file, deleted. */
  removed: string[];
}

/**
 * Makes the database agree with the schedules file, in one transaction: each
 * declared schedule is inserted or overwritten (source `file`; the file wins
 * over the API for every field it declares; `enabled`, when the file leaves
 * it out, keeps the row's value so an operator's toggle survives restarts),
 * and rows from an earlier file that it no longer declares are deleted.
 * Schedules created through the API and not named in the file are untouched.
 */
export async function applyFile(
  sql: Sql,
  opts: { schedules: CreateSchedule[]; now?: Date | null },
): Promise<FileApplied> {
  return await sql.begin(async (tx: TxSql) => {
    const t = await clockOf(tx, opts.now);
    const out: FileApplied = { created: [], updated: [], removed: [] };
    for (const s of opts.schedules.map((d) => normalized(d))) {
      // Primary key, locked for the rest of the transaction.
      const [cur] = await tx<Schedule[]>`SELECT * FROM schedule WHERE name = ${s.name} FOR UPDATE`;
      const enabled = s.enabled ?? cur?.enabled ?? true;
      const timezone = s.timezone ?? "UTC";
      const same = cur && cur.cron === s.cron && cur.timezone === timezone &&
        cur.enabled === enabled && cur.next_run_at;
      const next = same ? cur.next_run_at : nextRun({ ...s, timezone, enabled }, t);
      await tx`
        INSERT INTO schedule (name, cron, timezone, type, payload, priority, queue, max_attempts,
                              enabled, next_run_at, source, created_at, updated_at)
        VALUES (${s.name}, ${s.cron}, ${timezone}, ${s.type}, ${tx.json(s.payload as never)},
                ${s.priority ?? 3}, ${s.queue ?? null}, ${s.max_attempts ?? 3}, ${next !== null},
                ${next}, 'file', ${t}, ${t})
        ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone,
          type = excluded.type, payload = excluded.payload, priority = excluded.priority,
          queue = excluded.queue, max_attempts = excluded.max_attempts, enabled = excluded.enabled,
          next_run_at = excluded.next_run_at, source = 'file', updated_at = excluded.updated_at`;
      (cur ? out.updated : out.created).push(s.name);
    }
    const names = opts.schedules.map((s) => s.name);
    // Seq scan of a small table.
    const gone = await tx<{ name: string }[]>`
      DELETE FROM schedule WHERE source = 'file' AND NOT (name = ANY(${names}::text[]))
      RETURNING name`;
    out.removed = gone.map((r) => r.name);
    await tx`SELECT pg_notify(${CHANNEL_SCHEDULES}, '')`;
    return out;
  }) as FileApplied;
}
