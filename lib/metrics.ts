/**
 * Prometheus metrics (prom-client), one registry per process: jobs by status
 * and type, and by queue and status, with each queue's paused flag and limit
 * (read from the database at scrape time), counters of enqueued,
 * completed and failed jobs and a job-duration histogram (for the jobs this
 * process enqueued or finished), and HTTP request durations.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Sql } from "./db.ts";
import { JOB_TYPE_NAMES } from "./jobs/mod.ts";
import { countsByStatusAndType } from "./queue/stats.ts";
import { list as listQueues } from "./queue/queues.ts";
import { JOB_STATUSES } from "./queue/types.ts";

/** The process's registry (what `/metrics` serves). */
export const registry = new Registry();

const jobsGauge = new Gauge({
  name: "jobq_jobs",
  help: "Jobs in the database, by status and type (read at scrape time).",
  labelNames: ["status", "type"] as const,
  registers: [registry],
});

const queueJobsGauge = new Gauge({
  name: "jobq_queue_jobs",
  help: "Jobs in the database, by queue and status (read at scrape time).",
  labelNames: ["queue", "status"] as const,
  registers: [registry],
});

const queuePausedGauge = new Gauge({
  name: "jobq_queue_paused",
  help: "1 when the queue is paused (claims skip it), else 0.",
  labelNames: ["queue"] as const,
  registers: [registry],
});

const queueLimitGauge = new Gauge({
  name: "jobq_queue_concurrency_limit",
  help: "The queue's concurrency limit across all workers (absent when unlimited).",
  labelNames: ["queue"] as const,
  registers: [registry],
});

const enqueued = new Counter({
  name: "jobq_jobs_enqueued_total",
  help: "Jobs enqueued by this process, by type.",
  labelNames: ["type"] as const,
  registers: [registry],
});

const completed = new Counter({
  name: "jobq_jobs_completed_total",
  help: "Jobs completed through this process, by type.",
  labelNames: ["type"] as const,
  registers: [registry],
});

const failed = new Counter({
  name: "jobq_jobs_failed_total",
  help: "Failed attempts recorded through this process, by type; final=true when no retry is left.",
  labelNames: ["type", "final"] as const,
  registers: [registry],
});

const jobDuration = new Histogram({
  name: "jobq_job_duration_seconds",
  help: "Time from claim to completion or failure of one attempt, by type and outcome.",
  labelNames: ["type", "outcome"] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  registers: [registry],
});

const httpDuration = new Histogram({
  name: "jobq_http_request_duration_seconds",
  help: "HTTP request durations (to the response head), by method, route and status.",
  labelNames: ["method", "route", "status"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

/** Counts `n` newly enqueued jobs of `type`. */
export function recordEnqueued(type: string, n = 1): void {
  enqueued.inc({ type }, n);
}

/** A finished attempt: the job row after completion or failure. */
export interface FinishedAttempt {
  type: string;
  status: string;
  started_at: Date | null;
  updated_at: Date;
}

/** Counts a completed job and observes its attempt's duration. */
export function recordCompleted(job: FinishedAttempt): void {
  completed.inc({ type: job.type });
  observe(job, "completed");
}

/** Counts a failed attempt (`final` when the job ended `failed`) and observes its duration. */
export function recordFailed(job: FinishedAttempt): void {
  const final = job.status === "failed";
  failed.inc({ type: job.type, final: String(final) });
  observe(job, final ? "failed" : "retry");
}

function observe(job: FinishedAttempt, outcome: string) {
  if (!job.started_at) return;
  const seconds = (job.updated_at.getTime() - job.started_at.getTime()) / 1000;
  if (seconds >= 0) jobDuration.observe({ type: job.type, outcome }, seconds);
}

const unauthenticated = new Counter({
  name: "jobq_http_unauthenticated_requests_total",
  help: "API requests without valid credentials while API_TOKEN is set (no labels: " +
    "nothing such a client sends becomes a series).",
  registers: [registry],
});

/** The method label values: these methods by name, every other as `other`. */
export const HTTP_METHOD_LABELS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/**
 * Observes one HTTP request. `route` must come from a fixed set (the route
 * pattern or `unmatched`, never the raw path); a method outside
 * {@link HTTP_METHOD_LABELS} is labelled `other`, so clients cannot create series.
 */
export function recordHttp(method: string, route: string, status: number, seconds: number): void {
  const label = HTTP_METHOD_LABELS.includes(method) ? method : "other";
  httpDuration.observe({ method: label, route, status: String(status) }, seconds);
}

/** Counts one API request that carried no valid credentials (see `jobq_http_unauthenticated_requests_total`). */
export function recordUnauthenticated(): void {
  unauthenticated.inc();
}

let scrapeChain: Promise<unknown> = Promise.resolve();

/**
 * The Prometheus text exposition: refreshes the jobs gauge from `sql`
 * (every known status × type, zeros included), then renders the registry.
 * Concurrent scrapes run one after another.
 */
export function scrape(sql: Sql): Promise<string> {
  const run = async () => {
    const rows = await countsByStatusAndType(sql);
    jobsGauge.reset();
    for (const status of JOB_STATUSES) {
      for (const type of JOB_TYPE_NAMES) jobsGauge.set({ status, type }, 0);
    }
    for (const r of rows) jobsGauge.set({ status: r.status, type: r.type }, r.n);
    const queues = await listQueues(sql);
    queueJobsGauge.reset();
    queuePausedGauge.reset();
    queueLimitGauge.reset();
    for (const q of queues) {
      for (const status of JOB_STATUSES) {
        queueJobsGauge.set({ queue: q.name, status }, q.counts[status]);
      }
      queuePausedGauge.set({ queue: q.name }, q.paused ? 1 : 0);
      if (q.concurrency !== null) queueLimitGauge.set({ queue: q.name }, q.concurrency);
    }
    return await registry.metrics();
  };
  const result = scrapeChain.then(run, run);
  scrapeChain = result.catch(() => {});
  return result;
}

/** The content type of {@link scrape}'s text. */
export const METRICS_CONTENT_TYPE = registry.contentType;
