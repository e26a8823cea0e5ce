/**
 * Alert rules (`alert`, migration 0010): list, get, create, change, remove
 * (each change audited in its own transaction), and their evaluation.
 *
 * {@link evaluate} computes every enabled rule's value in one statement and
 * stores it with the rule's state; a rule starts firing (`firing_since`) or
 * resolves (`resolved_at`) in that same statement, under the cluster-wide
 * alert lock, so one evaluator at a time moves the states. Notices to the
 * webhook are claimed by compare-and-set (`alert_notices.ts`): a rule owes
 * a "firing" notice while it fires and the last one delivered was not about
 * this firing, and a "resolved" notice once it stopped firing after a
 * delivered "firing". One evaluator wins each claim; a failed delivery
 * releases it, so the next evaluation retries, and a delivered one is
 * recorded, so nothing is sent twice.
 */
import type { Sql, TxSql } from "../db.ts";
import {
  type AlertKind,
  type CreateAlert,
  createAlertBody,
  type PatchAlert,
} from "../alerts/schema.ts";
import * as audit from "./audit.ts";
import { at } from "./clock.ts";
import { servingCount } from "./explain.ts";
import { ALERTS_LOCK_KEY } from "./lock_keys.ts";
import { ConflictError, NotFoundError } from "./types.ts";

/** A rule's state in words: firing, ok (enabled, not firing) or disabled. */
export type AlertState = "firing" | "ok" | "disabled";

/** A row of `alert`, with its {@link AlertState}. */
export interface Alert {
  id: number;
  name: string;
  kind: AlertKind;
  /** The queue it watches; null: every queue. */
  queue: string | null;
  /** The job type it watches (failure_rate, backlog); null: every type. */
  type: string | null;
  /** Percent, jobs or seconds by kind; null for no_worker. */
  threshold: number | null;
  /** failure_rate only. */
  window_minutes: number | null;
  enabled: boolean;
  state: AlertState;
  /** When the current firing began; null while not firing. */
  firing_since: Date | null;
  /** The value at the last evaluation (null: nothing to measure, e.g. no finished job). */
  last_value: number | null;
  last_evaluated_at: Date | null;
  /** When the last firing ended. */
  resolved_at: Date | null;
  /** The last notice delivered. */
  notified_state: "firing" | "resolved" | null;
  /** The firing (its `firing_since`) that notice was about. */
  notified_since: Date | null;
  last_notified_at: Date | null;
  /** A delivery in flight holds the rule until then. */
  notify_until: Date | null;
  /** Why the last delivery failed (null after a success). */
  notify_error: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The error for an alert id with no row. */
export function alertNotFound(id: string | number): NotFoundError {
  return new NotFoundError("alert_not_found", `no alert with id ${JSON.stringify(String(id))}`);
}

/** The columns of an {@link Alert} (the row aliased `a`) and its state. */
export function cols(sql: Sql | TxSql) {
  return sql`a.*, CASE WHEN a.firing_since IS NOT NULL THEN 'firing'
    WHEN a.enabled THEN 'ok' ELSE 'disabled' END AS state`;
}

/** Every rule, firing ones first, then by name. */
export async function list(sql: Sql): Promise<Alert[]> {
  // Seq scan of a small table.
  return await sql<Alert[]>`
    SELECT ${cols(sql)} FROM alert a
    ORDER BY a.firing_since IS NULL, a.firing_since, a.name`;
}

/** The rules firing now, longest first (the dashboard's banner). */
export async function firing(sql: Sql): Promise<Alert[]> {
  // Seq scan of a small table.
  return await sql<Alert[]>`
    SELECT ${cols(sql)} FROM alert a WHERE a.firing_since IS NOT NULL
    ORDER BY a.firing_since, a.name`;
}

/** One rule, or null. */
export async function get(sql: Sql, opts: { id: number }): Promise<Alert | null> {
  // Primary key.
  const [row] = await sql<Alert[]>`SELECT ${cols(sql)} FROM alert a WHERE a.id = ${opts.id}`;
  return row ?? null;
}

/** The rule's defining fields (what the audit log keeps). */
function ruleOf(a: CreateAlert | Alert) {
  return {
    name: a.name,
    kind: a.kind,
    queue: a.queue ?? null,
    type: a.type ?? null,
    threshold: a.threshold ?? null,
    window_minutes: a.window_minutes ?? null,
    enabled: a.enabled ?? true,
  };
}

function nameTaken(name: string): ConflictError {
  return new ConflictError("alert_exists", `an alert named ${JSON.stringify(name)} already exists`);
}

const isUniqueViolation = (err: unknown) =>
  (err as { code?: string })?.code === "23505" &&
  (err as { constraint_name?: string }).constraint_name === "alert_name_key";

/**
 * Inserts a rule (validated by the caller with `createAlertBody`) and its
 * `alert.create` audit entry in one transaction. Throws
 * `ConflictError("alert_exists")` when the name is taken (nothing changes).
 */
export async function create(
  sql: Sql,
  opts: { alert: CreateAlert; actor: audit.Actor; now?: Date | null },
): Promise<Alert> {
  const r = ruleOf(opts.alert);
  return await sql.begin(async (tx: TxSql) => {
    const t = at(tx as never, opts.now);
    // Unique index on name; ON CONFLICT DO NOTHING: a taken name inserts nothing.
    const [row] = await tx<Alert[]>`
      INSERT INTO alert AS a (name, kind, queue, type, threshold, window_minutes, enabled,
                              created_at, updated_at)
      VALUES (${r.name}, ${r.kind}, ${r.queue}, ${r.type}, ${r.threshold}, ${r.window_minutes},
              ${r.enabled}, ${t}, ${t})
      ON CONFLICT (name) DO NOTHING
      RETURNING ${cols(tx)}`;
    if (!row) throw nameTaken(r.name);
    await audit.record(tx, {
      actor: opts.actor,
      action: "alert.create",
      target: row.name,
      details: { id: row.id, ...r },
      now: opts.now,
    });
    return row;
  }) as Alert;
}

/**
 * Changes a rule: the rule after the change is validated whole (a `ZodError`
 * names the field; nothing changes), written with its `alert.update` audit
 * entry (the change and the previous values) in one transaction. Disabling
 * a firing rule ends its firing (`resolved_at`); its "resolved" notice still
 * goes out if its firing was notified. A changed definition keeps the state
 * until the next evaluation. Throws `alertNotFound`, or
 * `ConflictError("alert_exists")` for a name another rule has.
 */
export async function update(
  sql: Sql,
  opts: { id: number; patch: PatchAlert; actor: audit.Actor; now?: Date | null },
): Promise<Alert> {
  try {
    return await sql.begin(async (tx: TxSql) => {
      // Primary key, locked: changes and evaluations of this rule apply one after the other.
      const [cur] = await tx<Alert[]>`
        SELECT ${cols(tx)} FROM alert a WHERE a.id = ${opts.id} FOR UPDATE`;
      if (!cur) throw alertNotFound(opts.id);
      const p = opts.patch;
      const pick = <K extends keyof PatchAlert>(k: K) => p[k] !== undefined ? p[k] : cur[k];
      const merged = createAlertBody.parse({
        name: pick("name"),
        kind: pick("kind"),
        queue: pick("queue"),
        type: pick("type"),
        threshold: pick("threshold"),
        window_minutes: pick("window_minutes"),
        enabled: pick("enabled"),
      });
      const r = ruleOf(merged);
      const t = at(tx as never, opts.now);
      const stops = !r.enabled && cur.firing_since !== null;
      const [row] = await tx<Alert[]>`
        UPDATE alert a SET name = ${r.name}, kind = ${r.kind}, queue = ${r.queue},
          type = ${r.type}, threshold = ${r.threshold}, window_minutes = ${r.window_minutes},
          enabled = ${r.enabled},
          firing_since = CASE WHEN ${r.enabled} THEN a.firing_since END,
          resolved_at = CASE WHEN ${stops} THEN ${t} ELSE a.resolved_at END,
          updated_at = ${t}
        WHERE a.id = ${cur.id}
        RETURNING ${cols(tx)}`;
      const before = ruleOf(cur);
      const changed = Object.fromEntries(
        Object.entries(r).filter(([k, v]) => before[k as keyof typeof before] !== v),
      );
      await audit.record(tx, {
        actor: opts.actor,
        action: "alert.update",
        target: row.name,
        details: {
          id: row.id,
          change: p,
          before: Object.fromEntries(
            Object.keys(changed).map((k) => [k, before[k as keyof typeof before]]),
          ),
        },
        now: opts.now,
      });
      return row;
    }) as Alert;
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(String(opts.patch.name));
    throw err;
  }
}

/** Deletes a rule with its `alert.delete` audit entry (one transaction); returns it. */
export async function remove(
  sql: Sql,
  opts: { id: number; actor: audit.Actor; now?: Date | null },
): Promise<Alert> {
  return await sql.begin(async (tx: TxSql) => {
    // Primary key.
    const [row] = await tx<Alert[]>`
      DELETE FROM alert a WHERE a.id = ${opts.id} RETURNING ${cols(tx)}`;
    if (!row) throw alertNotFound(opts.id);
    await audit.record(tx, {
      actor: opts.actor,
      action: "alert.delete",
      target: row.name,
      details: { id: row.id, ...ruleOf(row) },
      now: opts.now,
    });
    return row;
  }) as Alert;
}

/** A rule whose state an evaluation changed. */
export interface Transition {
  alert: Alert;
  /** `firing`: it started firing; `resolved`: it stopped. */
  to: "firing" | "resolved";
}

/** What {@link evaluate} did. */
export interface Evaluation {
  /** False when another process holds the evaluator's turn (nothing was read or changed). */
  ran: boolean;
  /** The instant it evaluated at. */
  now: Date;
  /** Every enabled rule after the evaluation. */
  alerts: Alert[];
  /** The rules that started or stopped firing. */
  transitions: Transition[];
}

/**
 * Evaluates every enabled rule at `now` (default: the database clock), in
 * its own transaction under the cluster-wide alert lock (taken without
 * waiting: when another process holds it, `ran` is false and nothing
 * changes). One statement reads each rule's value and stores it with the
 * state: firing when the value is above the threshold (`no_worker`: when a
 * watched queue has no live worker); a rule with nothing to measure (no
 * finished job in a failure-rate window, no due pending job) does not fire.
 * The rows are locked (FOR UPDATE), so a change through the API waits for
 * it or goes first; the state moves by compare-and-set (`firing_since` is
 * kept while it fires, set once when it starts).
 *
 * What each value reads: failure rate — the jobs finished in the window,
 * through job_completed_at_idx and job_failed_at_idx (a BitmapOr; the
 * queue and type are checked on those rows); backlog — the maintained
 * per-(status, type, queue) counts (migrations 0002, 0006), never `job`;
 * oldest pending — the due pending jobs (partial claim indexes on pending
 * jobs), min(scheduled_for); no worker — the small `worker` table (the
 * condition of explain's `no_worker`) and, for every queue, the maintained
 * counts of pending jobs per queue.
 */
export async function evaluate(sql: Sql, opts: { now?: Date | null } = {}): Promise<Evaluation> {
  return await sql.begin(async (tx: TxSql) => {
    const [{ ok, now }] = await tx<{ ok: boolean; now: Date }[]>`
      SELECT pg_try_advisory_xact_lock(${ALERTS_LOCK_KEY}) AS ok, ${
      at(tx as never, opts.now)
    } AS now`;
    if (!ok) return { ran: false, now, alerts: [], transitions: [] };
    const t = tx`${now}::timestamptz`;
    const window = tx`${t} - make_interval(mins => r.window_minutes)`;
    const counts = tx`(SELECT status, type, queue, n FROM job_status_count
                       UNION ALL SELECT status, type, queue, n FROM job_status_delta)`;
    const rows = await tx<(Alert & { was_firing_since: Date | null })[]>`
      WITH r AS (
        SELECT * FROM alert WHERE enabled ORDER BY id FOR UPDATE
      ), v AS (
        SELECT r.id, r.kind, r.threshold, CASE r.kind
          WHEN 'failure_rate' THEN (
            SELECT 100.0 * count(*) FILTER (WHERE j.status = 'failed') / nullif(count(*), 0)
            FROM job j
            WHERE ((j.status = 'completed' AND j.completed_at > ${window}
                    AND j.completed_at <= ${t})
                OR (j.status = 'failed' AND j.updated_at > ${window} AND j.updated_at <= ${t}))
              AND (r.queue IS NULL OR j.queue = r.queue)
              AND (r.type IS NULL OR j.type = r.type))
          WHEN 'backlog' THEN (
            SELECT coalesce(sum(c.n), 0) FROM ${counts} c
            WHERE c.status = 'pending' AND (r.queue IS NULL OR c.queue = r.queue)
              AND (r.type IS NULL OR c.type = r.type))
          WHEN 'oldest_pending' THEN (
            SELECT extract(epoch FROM ${t} - min(j.scheduled_for)) FROM job j
            WHERE j.status = 'pending' AND j.scheduled_for <= ${t}
              AND (r.queue IS NULL OR j.queue = r.queue))
          WHEN 'no_worker' THEN (
            SELECT count(*) FROM (
              SELECT r.queue AS name WHERE r.queue IS NOT NULL
              UNION ALL
              SELECT c.queue FROM ${counts} c
              WHERE r.queue IS NULL AND c.status = 'pending'
              GROUP BY c.queue HAVING sum(c.n) > 0
            ) q
            WHERE ${servingCount(tx as never, t, tx`q.name`)} = 0)
          END::float8 AS value,
          r.firing_since AS was_firing_since
        FROM r
      ), s AS (
        SELECT v.*, coalesce(CASE WHEN v.kind = 'no_worker' THEN v.value > 0
                                  ELSE v.value > v.threshold END, false) AS fires
        FROM v
      )
      UPDATE alert a SET last_value = s.value, last_evaluated_at = ${t},
        firing_since = CASE WHEN s.fires THEN coalesce(a.firing_since, ${t}) END,
        resolved_at = CASE WHEN NOT s.fires AND a.firing_since IS NOT NULL THEN ${t}
                           ELSE a.resolved_at END
      FROM s WHERE a.id = s.id
      RETURNING ${cols(tx)}, s.was_firing_since`;
    const transitions: Transition[] = [];
    const alerts = rows.map(({ was_firing_since, ...a }) => {
      if (a.firing_since && !was_firing_since) transitions.push({ alert: a, to: "firing" });
      if (!a.firing_since && was_firing_since) transitions.push({ alert: a, to: "resolved" });
      return a;
    }).sort((x, y) => x.id - y.id);
    return { ran: true, now, alerts, transitions };
  }) as Evaluation;
}
