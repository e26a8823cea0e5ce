/** Admin: one job, with or without its timeline. */
import type { Sql } from "../db.ts";
import type { Job, JobEvent } from "./types.ts";
import { list } from "./events.ts";

/** One job by id, or `null`. */
export async function get(sql: Sql, opts: { id: string }): Promise<Job | null> {
  const [row] = await sql<Job[]>`SELECT * FROM job WHERE id = ${opts.id}`;
  return row ?? null;
}

/** One job with its events in order, or `null`. */
export async function getWithEvents(
  sql: Sql,
  opts: { id: string },
): Promise<(Job & { events: JobEvent[] }) | null> {
  const job = await get(sql, opts);
  if (!job) return null;
  const events = await list(sql, { jobId: opts.id });
  return { ...job, events };
}
