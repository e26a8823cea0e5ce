/**
 * The supervisor's options, their defaults (from `config`) and the settings
 * each runner starts with.
 */
import type { Config } from "../lib/config.ts";
import type { RunnerSettings, RunnerStatus } from "./protocol.ts";

/** Options of {@link startSupervisor}; every knob defaults from `config`. */
export interface SupervisorOptions {
  databaseUrl: string;
  /** Where the listener LISTENs (a direct session). Default: `DATABASE_LISTEN_URL`, else `databaseUrl`. */
  listenUrl?: string;
  config: Config;
  /** Stop on SIGINT/SIGTERM (a second signal exits at once). Default true. */
  handleSignals?: boolean;
  /** Runners (Web Workers). Default `WORKER_CONCURRENCY`. */
  concurrency?: number;
  /** Jobs one runner (Web Worker) runs at once. Default `WORKER_JOBS_PER_RUNNER`. */
  jobsPerRunner?: number;
  /** Module exporting `handlers` (job type → handler). Default `./handlers/mod.ts`. */
  handlersModule?: string | URL;
  /** Claim only these job types (default: every type the handlers module has). */
  types?: string[];
  /** Claim only jobs of these queues (default: `WORKER_QUEUES`, else every queue). */
  queues?: string[];
  /** Most jobs one runner claims per statement (fewer when its jobs are slow). Default 128. */
  claimBatch?: number;
  /** Completions one runner writes per statement, at most. Default 256. */
  completeBatch?: number;
  /** Longest a completion waits in a runner's buffer (ms). Default 25. */
  completeFlushMs?: number;
  /**
   * How many jobs past where a runner of one slot is its mark's bound goes
   * (worker/runner_marks.ts): at most what a kill -9 charges per runner to
   * jobs that never started; a smaller lead costs more writes. Default 32;
   * at or above `claimBatch`, no batch is marked.
   */
  markLead?: number;
  /** Mean of the jittered fallback poll of an idle runner (ms). Default 2000. */
  pollMs?: number;
  /** Heartbeat period (ms). Default 5000. */
  heartbeatMs?: number;
  /** Mean of the jittered rescuer period (ms). Default min(5000, lease / 2). */
  rescueIntervalMs?: number;
  /** Lease length (s). Default `JOB_LEASE_SECONDS`. */
  leaseSeconds?: number;
  /** Graceful stop: how long running jobs may finish (s). Default `SHUTDOWN_GRACE_SECONDS`. */
  graceSeconds?: number;
  /** After a timeout aborts the signal, how long the handler may take to stop (ms). Default 2000. */
  abortGraceMs?: number;
  /** After a cancel aborts the signal, how long the handler may take to stop (s). Default `CANCEL_GRACE_SECONDS`. */
  cancelGraceSeconds?: number;
  /** Serve /healthz and /metrics here (0: any free port). Default `WORKER_METRICS_PORT`. */
  metricsPort?: number;
  /** This process's worker id. Default `<host>:<pid>:<random>`. */
  id?: string;
  /** The schedules file applied at start (null: none). Default `SCHEDULES_FILE`. */
  schedulesFile?: string | null;
  /** The scheduler's longest sleep between passes (ms). Default 30 000. */
  schedulerMaxSleepMs?: number;
  /** Period of the alert evaluation (s). Default `ALERT_EVAL_SECONDS`. */
  alertEvalSeconds?: number;
}

/** A worker id for this process: `<host>:<pid>:<6 random hex>`. */
export function processWorkerId(): string {
  const rand = crypto.getRandomValues(new Uint8Array(3));
  return `${Deno.hostname()}:${Deno.pid}:${
    [...rand].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/** The options with every default filled in. */
export type Resolved = ReturnType<typeof resolved>;

/** The options with every default filled in. */
export function resolved(opts: SupervisorOptions) {
  const config = opts.config;
  const leaseSeconds = opts.leaseSeconds ?? config.JOB_LEASE_SECONDS;
  const heartbeatMs = opts.heartbeatMs ?? 5000;
  return {
    id: opts.id ?? processWorkerId(),
    concurrency: opts.concurrency ?? config.WORKER_CONCURRENCY,
    jobsPerRunner: opts.jobsPerRunner ?? config.WORKER_JOBS_PER_RUNNER,
    leaseSeconds,
    graceMs: (opts.graceSeconds ?? config.SHUTDOWN_GRACE_SECONDS) * 1000,
    heartbeatMs,
    rescueMs: opts.rescueIntervalMs ?? Math.min(5000, leaseSeconds * 500),
    staleSeconds: Math.max(60, Math.ceil((heartbeatMs * 6) / 1000)),
    abortGraceMs: opts.abortGraceMs ?? 2000,
    cancelGraceMs: (opts.cancelGraceSeconds ?? config.CANCEL_GRACE_SECONDS) * 1000,
    handlersModule: String(opts.handlersModule ?? new URL("./handlers/mod.ts", import.meta.url)),
    metricsPort: opts.metricsPort ?? config.WORKER_METRICS_PORT,
    queues: opts.queues ?? config.WORKER_QUEUES ?? null,
    retry: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
  };
}

/** The init settings of one runner. */
export function runnerSettings(
  opts: SupervisorOptions,
  o: ReturnType<typeof resolved>,
  lockedBy: string,
  status: RunnerStatus,
): RunnerSettings {
  return {
    lockedBy,
    databaseUrl: opts.databaseUrl,
    handlersModule: o.handlersModule,
    types: opts.types ?? null,
    queues: o.queues,
    claimBatch: opts.claimBatch ?? 128,
    jobsPerRunner: o.jobsPerRunner,
    completeBatch: opts.completeBatch ?? 256,
    completeFlushMs: opts.completeFlushMs ?? 25,
    leaseSeconds: o.leaseSeconds,
    pollMs: opts.pollMs ?? 2000,
    abortGraceMs: o.abortGraceMs,
    retry: o.retry,
    config: { ...opts.config },
    status: status.buffer,
    // The supervisor's MarkWriter moves its runners' marks.
    marks: true,
    markLead: opts.markLead,
  };
}
