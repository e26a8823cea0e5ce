/**
 * Why isn't it running? The facts about one job that decide when it can
 * start (its schedule, deadline, queue, the workers serving that queue, the
 * due jobs ahead of it), read in one statement on the database clock, and
 * the first reason that holds, as a code and a sentence.
 */
import type { Sql } from "../db.ts";
import { type ExplainCode, WORKER_LATE_SECONDS } from "../job_constants.ts";
import { jobNotFound } from "./guard.ts";
import { at, type Instant } from "./clock.ts";

/** The due jobs ahead of one are counted up to this many (the answer then says "more than"). */
export const AHEAD_CAP = 10_000;

/** The answer: a code, a sentence, the time it holds until (if one is known), and the figures. */
export interface Explanation {
  code: ExplainCode;
  message: string;
  until?: string;
  details: Record<string, unknown>;
}

/** What {@link explain} reads about a job (exported for the unit test of {@link reasonOf}). */
export interface ExplainFacts {
  status: string;
  queue: string;
  attempts: number;
  max_attempts: number;
  scheduled_for: Date;
  expires_at: Date | null;
  locked_by: string | null;
  started_at: Date | null;
  completed_at: Date | null;
  now: Date;
  paused: boolean | null;
  concurrency: number | null;
  running: number;
  serving: number;
  ahead: number;
}

/** Explains one job; throws the queue's `jobNotFound` for an unknown id. */
export async function explain(
  sql: Sql,
  opts: { id: string; now?: Date | null },
): Promise<Explanation> {
  const t = at(sql, opts.now);
  const [facts] = await sql<ExplainFacts[]>`
    SELECT j.status, j.queue, j.attempts, j.max_attempts, j.scheduled_for, j.expires_at,
           j.locked_by, j.started_at, j.completed_at, ${t} AS now,
           q.paused, q.concurrency,
           (SELECT count(*)::int FROM job r
             WHERE r.status = 'processing' AND r.queue = j.queue) AS running,
           ${servingCount(sql, t, sql`j.queue`)} AS serving,
           (SELECT count(*)::int FROM (
              SELECT 1 FROM job a
               WHERE a.status = 'pending' AND a.queue = j.queue AND a.scheduled_for <= ${t}
                 AND a.id <> j.id
                 AND (a.priority > j.priority
                      OR (a.priority = j.priority AND (a.created_at, a.id) < (j.created_at, j.id)))
               LIMIT ${AHEAD_CAP + 1}) x) AS ahead
      FROM job j LEFT JOIN queue q ON q.name = j.queue
     WHERE j.id = ${opts.id}`;
  if (!facts) throw jobNotFound(opts.id);
  return reasonOf(facts);
}

/**
 * The number of live worker processes serving `queue` (an SQL expression),
 * as a scalar subquery: not stopping, a heartbeat within
 * `WORKER_LATE_SECONDS` of `t`, and serving every queue (no `info.queues`
 * list: WORKER_QUEUES unset) or naming it. Explain's `no_worker` and the
 * `no_worker` alert rule both ask this. Seq scan of the small `worker` table.
 */
export function servingCount(sql: Sql, t: Instant, queue: Instant) {
  return sql`(SELECT count(*)::int FROM worker w
             WHERE NOT w.stopping
               AND w.heartbeat_at > ${t} - make_interval(secs => ${WORKER_LATE_SECONDS})
               AND (jsonb_typeof(w.info -> 'queues') IS DISTINCT FROM 'array'
                    OR w.info -> 'queues' ? ${queue}))`;
}

const iso = (d: Date) => d.toISOString();

/** The first reason that holds for these facts. */
export function reasonOf(f: ExplainFacts): Explanation {
  const queue = f.queue;
  switch (f.status) {
    case "processing":
      return {
        code: "processing",
        message: `It is running${f.locked_by ? ` on ${f.locked_by}` : ""} (attempt ${f.attempts}).`,
        details: { worker: f.locked_by, started_at: f.started_at, attempt: f.attempts },
      };
    case "completed":
    case "failed":
    case "cancelled":
      return {
        code: f.status,
        message: `It is ${f.status}: it will not run again unless it is retried.`,
        details: { finished_at: f.completed_at },
      };
  }
  if (f.expires_at && f.expires_at <= f.now) {
    return {
      code: "expired",
      message: `Its deadline passed at ${iso(f.expires_at)} before it started: it will not run.`,
      details: { expires_at: f.expires_at },
    };
  }
  if (f.scheduled_for > f.now) {
    const retry = f.attempts > 0;
    return {
      code: retry ? "retry_backoff" : "scheduled",
      message: retry
        ? `Attempt ${f.attempts} of ${f.max_attempts} failed; it waits for its retry at ${
          iso(f.scheduled_for)
        }.`
        : `It is scheduled for ${iso(f.scheduled_for)}.`,
      until: iso(f.scheduled_for),
      details: { attempts: f.attempts, max_attempts: f.max_attempts },
    };
  }
  if (f.paused) {
    return {
      code: "queue_paused",
      message: `Its queue "${queue}" is paused; it runs once the queue is resumed.`,
      details: { queue },
    };
  }
  if (f.concurrency !== null && f.running >= f.concurrency) {
    return {
      code: "queue_at_limit",
      message:
        `Its queue "${queue}" is at its limit: ${f.running} of ${f.concurrency} running. It starts when one of them ends.`,
      details: { queue, running: f.running, concurrency: f.concurrency },
    };
  }
  if (f.serving === 0) {
    return {
      code: "no_worker",
      message:
        `No live worker process serves the queue "${queue}". Start one with deno task worker${
          queue === "default" ? "" : ` (WORKER_QUEUES unset, or naming ${queue})`
        }.`,
      details: { queue },
    };
  }
  if (f.ahead > 0) {
    const n = f.ahead > AHEAD_CAP ? `More than ${AHEAD_CAP.toLocaleString("en-US")}` : `${f.ahead}`;
    return {
      code: "behind",
      message: `${n} due job${
        f.ahead === 1 ? " is" : "s are"
      } ahead of it in the queue "${queue}".`,
      details: { queue, ahead: Math.min(f.ahead, AHEAD_CAP + 1), workers: f.serving },
    };
  }
  return {
    code: "ready",
    message: `It is next in the queue "${queue}"; a worker takes it within moments.`,
    details: { queue, workers: f.serving },
  };
}
