/** Arranges job rows directly, with defaults consistent with the status. */
import type { Sql } from "../../lib/db.ts";
import type { Job, JobStatus } from "../../lib/queue/types.ts";

/** Fields a test may set; the rest follow from `status`. */
export interface JobOverrides {
  type?: string;
  status?: JobStatus;
  priority?: number;
  payload?: unknown;
  result?: unknown;
  error?: string | null;
  attempts?: number;
  max_attempts?: number;
  created_at?: Date;
  scheduled_for?: Date;
  locked_by?: string | null;
  locked_until?: Date | null;
}

/** Inserts one job (and a `created` event) and returns it. */
export async function insertJob(sql: Sql, o: JobOverrides = {}): Promise<Job> {
  const status = o.status ?? "pending";
  const created = o.created_at ?? new Date();
  const processing = status === "processing";
  const attempts = o.attempts ?? (status === "pending" || status === "cancelled" ? 0 : 1);
  const [row] = await sql<Job[]>`
    INSERT INTO job (type, status, priority, payload, result, error, attempts, max_attempts, created_at,
      updated_at, scheduled_for, started_at, completed_at, locked_by, locked_until)
    VALUES (${o.type ?? "email"}, ${status}, ${o.priority ?? 3},
      ${sql.json((o.payload ?? { to: "a@example.com", subject: "s", body: "b" }) as never)},
      ${o.result === undefined ? null : sql.json(o.result as never)},
      ${o.error ?? (status === "failed" ? "boom" : null)}, ${attempts}, ${o.max_attempts ?? 3},
      ${created}, ${created}, ${o.scheduled_for ?? created},
      ${status === "pending" || status === "cancelled" ? null : created},
      ${status === "completed" ? created : null},
      ${processing ? (o.locked_by ?? "test-worker") : null},
      ${processing ? (o.locked_until ?? new Date(created.getTime() + 30_000)) : null})
    RETURNING *`;
  await sql`INSERT INTO job_event (job_id, at, kind, attempt) VALUES (${row.id}, ${created}, 'created', 0)`;
  return row;
}
