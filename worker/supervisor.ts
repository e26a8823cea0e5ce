/**
 * The worker process's main thread: wires the services that make a worker
 * process and owns its signals. The services (in `services/`), each with
 * `start()` and `stop()`:
 *
 * - the runner pool: `concurrency` runners (Web Workers) that claim and run
 *   jobs; replaces runners that crash or hang (the hard per-job timeout);
 * - the listener: wakes an idle runner on `NOTIFY jobq_new`, passes
 *   `NOTIFY jobq_cancel` (a running job's cancel) on to the runner pool and
 *   wakes the scheduler on `NOTIFY jobq_schedules`;
 * - the lease renewer, the heartbeat (the `worker` row), the rescuer, the
 *   expirer, the search indexer, the scheduler (recurring jobs) and the
 *   alert evaluator — those five cluster-wide, one process at a time —, the
 *   pruner (retention) and the metrics server (`/healthz`, `/metrics`).
 *
 * At start, the schedules file (`SCHEDULES_FILE`) is applied while the
 * process registers and LISTENs and the first runners load, and before any
 * runner claims or any other service starts; a bad file rejects the start
 * with a message naming the schedule and the field.
 *
 * Connections: a small pool (heartbeat, leases, rescuer, fail/release on a
 * runner's behalf), one LISTEN connection, and each runner's own pool of 2.
 */
import { ageMs, publicOrigin, retentionOf } from "../lib/config.ts";
import { openPool, type Sql } from "../lib/db.ts";
import { log, setLogLevel } from "../lib/log.ts";
import { CHANNEL_CHANGED, CHANNEL_NEW_JOBS, Notifier } from "../lib/queue/mod.ts";
import type { JobRef } from "./protocol.ts";
import {
  type Resolved,
  resolved,
  runnerSettings,
  type SupervisorOptions,
} from "./supervisor_options.ts";
export { processWorkerId, type SupervisorOptions } from "./supervisor_options.ts";
import { abandon, handleSignals, shutdown } from "./supervisor_stop.ts";
import { EventBus, type EventOf, type SupervisorEvent } from "./services/events.ts";
import { AlertService } from "./services/alerts.ts";
import { Expirer } from "./services/expirer.ts";
import { DbHealth } from "./services/health.ts";
import { Heartbeat } from "./services/heartbeat.ts";
import { LeaseRenewer } from "./services/lease_renewer.ts";
import { MarkWriter } from "./services/mark_writer.ts";
import { NewJobsListener } from "./services/listener.ts";
import { WorkerCounts } from "./services/counts.ts";
import type { WorkerMetrics } from "./services/metrics.ts";
import { MetricsServer } from "./services/metrics_server.ts";
import { PrunerService } from "./services/pruner.ts";
import { Rescuer } from "./services/rescuer.ts";
import { Scheduler } from "./services/scheduler.ts";
import { SearchIndexer } from "./services/search_indexer.ts";
import { applySchedulesFile, schedulesPath } from "../lib/schedules/file.ts";
import { RunnerPool } from "./services/runner_pool.ts";
import { Settler } from "./services/settle.ts";

export type { SupervisorEvent } from "./services/events.ts";

/** A running supervisor. */
export interface Supervisor {
  /** The process's worker id (`<host>:<pid>:<random>`); runners are `<id>/<n>`. */
  readonly id: string;
  /** `http://host:port` of /healthz and /metrics, when served. */
  readonly metricsUrl: string | null;
  /** Resolves when the supervisor has stopped. */
  readonly done: Promise<void>;
  /** Graceful stop (idempotent): see the module comment. */
  stop(): Promise<void>;
  /** Calls `fn` for every event; returns the function that unsubscribes. */
  on(fn: (e: SupervisorEvent) => void): () => void;
  /**
   * Resolves with the next event of `kind` that passes `pred`; rejects after
   * `timeoutMs` (default 30 s) naming what it waited for.
   */
  waitFor<K extends SupervisorEvent["kind"]>(
    kind: K,
    pred?: (e: EventOf<K>) => boolean,
    timeoutMs?: number,
  ): Promise<EventOf<K>>;
  /** The current runners: locked_by, the job running, jobs held. */
  runners(): { worker: string; running: JobRef | null; jobs: JobRef[]; held: number }[];
}

/** The runner pool and what it shares with every other service (nothing started yet). */
function wireCore(
  opts: SupervisorOptions,
  o: Resolved,
  state: { closed: boolean },
  Prometheus: typeof WorkerMetrics | null,
) {
  const id = o.id;
  const sql: Sql = openPool(opts.databaseUrl, {
    max: 3,
    name: "jobq-worker",
    prepare: opts.config.DATABASE_PREPARE,
    listenUrl: opts.listenUrl ?? opts.config.DATABASE_LISTEN_URL,
  });
  // The runners' marks are written on a connection of their own (opened
  // at the first write: a process whose runners mark nothing never opens it).
  const marks = new MarkWriter(
    openPool(opts.databaseUrl, {
      max: 1,
      name: "jobq-worker-marks",
      prepare: opts.config.DATABASE_PREPARE,
    }),
    opts.markLead,
  );
  const changed = new Notifier(sql, CHANNEL_CHANGED, { minGapMs: 250 });
  const newJobs = new Notifier(sql, CHANNEL_NEW_JOBS);
  const events = new EventBus(id);
  const health: DbHealth = new DbHealth({
    worker: id,
    closed: () => state.closed,
    onDown: (error) => events.emit({ kind: "db_down", error }),
    onUp: (downMs) => {
      events.emit({ kind: "db_up", downMs });
      pool.wakeAll();
    },
  });
  // Prometheus figures only for a process that serves /metrics: prom-client
  // is a third of the main thread's module load.
  const prom: WorkerMetrics | null = Prometheus && new Prometheus({
    busy: () => pool.busy(),
    runners: () => pool.up(),
    databaseUp: () => health.up,
  });
  const metrics: WorkerCounts = prom ?? new WorkerCounts();
  const settler = new Settler({
    sql,
    health,
    metrics,
    events,
    changed,
    newJobs,
    retry: o.retry,
    stopping: () => pool.stopping,
  });
  const pool: RunnerPool = new RunnerPool({
    id,
    concurrency: o.concurrency,
    jobsPerRunner: o.jobsPerRunner,
    settings: (lockedBy, status) => runnerSettings(opts, o, lockedBy, status),
    abortGraceMs: o.abortGraceMs,
    cancelGraceMs: o.cancelGraceMs,
    events,
    metrics,
    health,
    settler,
    changed,
    marks,
  });
  return { sql, changed, newJobs, events, health, metrics, prom, pool, marks };
}

/** Every service of one worker process, wired together (nothing started yet). */
function wire(
  opts: SupervisorOptions,
  o: Resolved,
  state: { closed: boolean },
  Prometheus: typeof WorkerMetrics | null,
) {
  const core = wireCore(opts, o, state, Prometheus);
  const { id } = o;
  const { sql, changed, newJobs, events, health, metrics, prom, pool } = core;
  const listenUrl = opts.listenUrl ?? opts.config.DATABASE_LISTEN_URL;
  const listener = new NewJobsListener({
    sql,
    worker: id,
    // A listen URL of its own is not the database jobs are claimed from: its outage is not ours.
    health: listenUrl && listenUrl !== opts.databaseUrl ? null : health,
    onNewJob: () => pool.wakeOne(),
    onCancel: (jobId) => pool.cancel(jobId),
    onListening: () => {
      pool.wakeAll();
      scheduler.wake();
    },
    onSchedulesChanged: () => scheduler.wake(),
  });
  const leases = new LeaseRenewer({ sql, holders: pool, health, leaseSeconds: o.leaseSeconds });
  const heartbeat = new Heartbeat({
    sql,
    id,
    concurrency: o.concurrency * o.jobsPerRunner,
    jobsPerRunner: o.jobsPerRunner,
    queues: o.queues,
    health,
    intervalMs: o.heartbeatMs,
    runners: () => pool.info(),
    counts: () => metrics.counts,
    stopping: () => pool.stopping,
  });
  const rescuer = new Rescuer({
    sql,
    worker: id,
    health,
    intervalMs: o.rescueMs,
    staleSeconds: o.staleSeconds,
    onRescued: (rescued) => {
      metrics.rescued(rescued.length);
      events.emit({ kind: "rescued", jobs: rescued });
      changed.poke();
      newJobs.poke();
      pool.wakeAll();
    },
  });
  const scheduler = new Scheduler({
    sql,
    worker: id,
    health,
    maxSleepMs: opts.schedulerMaxSleepMs,
    onEnqueued: () => {
      changed.poke();
      pool.wakeAll();
    },
  });
  const expirer = new Expirer({ sql, worker: id, health, onExpired: () => changed.poke() });
  const searchIndexer = new SearchIndexer({ sql, worker: id, health });
  const pruner = new PrunerService({
    sql,
    worker: id,
    retain: retentionOf(opts.config),
    retainAuditMs: ageMs(opts.config.RETAIN_AUDIT),
  });
  const alerter = new AlertService({
    sql,
    worker: id,
    health,
    webhookUrl: opts.config.ALERT_WEBHOOK_URL ?? null,
    publicUrl: publicOrigin(opts.config),
    intervalMs: (opts.alertEvalSeconds ?? opts.config.ALERT_EVAL_SECONDS) * 1000,
  });
  const server = o.metricsPort === undefined || !prom ? null : new MetricsServer({
    worker: id,
    hostname: opts.config.HOST,
    port: o.metricsPort,
    registry: prom.registry,
    health: () => ({
      status: pool.stopping ? "stopping" : "ok",
      stopping: pool.stopping,
      id,
      database: health.up ? "up" : "down",
      runners: pool.list().map(({ worker, state, jobs, held }) => ({
        worker,
        state,
        running: jobs.length,
        held,
      })),
      completed: metrics.counts.completed,
      failed: metrics.counts.failed,
    }),
  });
  return {
    ...core,
    listener,
    leases,
    heartbeat,
    rescuer,
    expirer,
    searchIndexer,
    scheduler,
    pruner,
    alerter,
    server,
  };
}

/** Wired services, as {@link wire} returns them. */
export type Services = ReturnType<typeof wire>;

/** Waits for every promise to settle, then rejects with the first error (in list order), if any. */
async function allOrFirstError(list: (Promise<unknown> | null | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(list);
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

/**
 * Starts a supervisor: registers the process, starts the runners and waits
 * until every runner is ready (a runner that cannot start — e.g. a bad
 * handlers module — rejects this). The database must be migrated.
 */
export async function startSupervisor(opts: SupervisorOptions): Promise<Supervisor> {
  setLogLevel(opts.config.LOG_LEVEL);
  const o = resolved(opts);
  const id = o.id;
  const startedAt = Date.now();
  const state = { closed: false };
  const Prometheus = o.metricsPort === undefined
    ? null
    : (await import("./services/metrics.ts")).WorkerMetrics;
  const s = wire(opts, o, state, Prometheus);
  const finished = Promise.withResolvers<void>();

  let stopPromise: Promise<void> | null = null;
  let unhandle: (() => void) | null = null;
  const stop = () => {
    stopPromise ??= shutdown(s, o, state).then(() => {
      unhandle?.();
      const { completed, failed, released } = s.metrics.counts;
      const ms = Date.now() - startedAt;
      log("info", "worker.stopped", { worker: id, completed, failed, released, ms });
      s.events.emit({ kind: "stopped" });
      finished.resolve();
    });
    return stopPromise;
  };
  if (opts.handleSignals ?? true) unhandle = handleSignals(id, stop);

  // The runners load (a Web Worker each: its modules, its handlers, a
  // connection) while the schedules file is applied, the process registers
  // and LISTENs; they claim nothing before it listens (`hold`), so jobs
  // enqueued meanwhile still wake them. Those four steps touch nothing in
  // common and go out together; a failure of any of them (a bad schedules
  // file) rejects the start once all have ended, and abandon() undoes them.
  const loading = s.pool.start({ hold: true });
  loading.catch(() => {}); // awaited below
  try {
    const file = opts.schedulesFile === undefined
      ? schedulesPath(opts.config.SCHEDULES_FILE)
      : opts.schedulesFile;
    await allOrFirstError([
      file ? applySchedulesFile(s.sql, { path: file }) : null,
      s.server?.start(),
      s.heartbeat.register(),
      s.listener.start(),
    ]);
    s.pool.release();
    await loading;
  } catch (err) {
    state.closed = true;
    unhandle?.();
    await abandon(s);
    throw err;
  }
  s.leases.start();
  s.heartbeat.start(); // beats now: the worker row shows every runner up at once
  s.rescuer.start();
  s.expirer.start();
  s.searchIndexer.start();
  s.scheduler.start();
  s.pruner.start();
  s.alerter.start();
  log("info", "worker.started", {
    worker: id,
    concurrency: o.concurrency,
    jobs_per_runner: o.jobsPerRunner,
    runners: s.pool.names(),
    lease_s: o.leaseSeconds,
    handlers: o.handlersModule,
    metrics: s.server?.url ?? null,
  });
  s.events.emit({ kind: "ready", id, runners: s.pool.names() });

  return {
    id,
    get metricsUrl() {
      return s.server?.url ?? null;
    },
    done: finished.promise,
    stop,
    on: (fn) => s.events.on(fn),
    waitFor: (kind, pred, timeoutMs) => s.events.waitFor(kind, pred, timeoutMs),
    runners: () =>
      s.pool.list().map(({ worker, running, jobs, held }) => ({ worker, running, jobs, held })),
  };
}
