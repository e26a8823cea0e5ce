/** The queue core: every statement on job, job_event, worker, job_artifact and queue. */
export * as jobs from "./jobs.ts";
export * as events from "./events.ts";
export * as workers from "./workers.ts";
export * as stats from "./stats.ts";
export * as artifacts from "./artifacts.ts";
export * as bulk from "./bulk.ts";
export * as queues from "./queues.ts";
export * from "./notify.ts";
export * from "./types.ts";
export { backoffMs, errorText } from "./backoff.ts";
export * as schedules from "./schedules.ts";
export { runNow, schedulerPass } from "./schedule_tick.ts";
export * as audit from "./audit.ts";
export * as health from "./health.ts";
export * as alerts from "./alerts.ts";
export * as alertNotices from "./alert_notices.ts";
