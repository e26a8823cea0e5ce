/**
 * The worker process's main thread: registers the process, runs
 * `concurrency` runners (Web Workers), wakes them on `NOTIFY jobq_new`,
 * renews the leases of the jobs they hold, enforces the hard per-job timeout,
 * replaces runners that crash or hang, runs the cluster-wide rescuer, serves
 * metrics, and stops gracefully.
 *
 * Connections: a small pool (heartbeat, leases, rescuer, fail/release on a
 * runner's behalf), one LISTEN connection, and each runner's own pool of 2.
 */
import postgres from "postgres";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Config } from "../lib/config.ts";
import { openPool, type Sql } from "../lib/db.ts";
import { log, setLogLevel } from "../lib/log.ts";
import * as jobs from "../lib/queue/jobs.ts";
import { CHANNEL_CHANGED, CHANNEL_NEW_JOBS, Notifier } from "../lib/queue/notify.ts";
import { rescuePass } from "../lib/queue/rescue.ts";
import { type Pruner, startPruner } from "../lib/queue/prune.ts";
import type { Rescued } from "../lib/queue/jobs.ts";
import * as workers from "../lib/queue/workers.ts";
import type { RunnerInfo } from "../lib/queue/types.ts";
import { onStopSignals } from "../lib/stop_signals.ts";
import {
  type Finished,
  type FromRunner,
  type JobRef,
  type RunnerSettings,
  RunnerStatus,
  type ToRunner,
} from "./protocol.ts";
import { delay, describe, isTransient, withRetry } from "./retry.ts";

/** Options of {@link startSupervisor}; every knob defaults from `config`. */
export interface SupervisorOptions {
  databaseUrl: string;
  config: Config;
  /** Stop on SIGINT/SIGTERM (a second signal exits at once). Default true. */
  handleSignals?: boolean;
  /** Runners (Web Workers). Default `WORKER_CONCURRENCY`. */
  concurrency?: number;
  /** Module exporting `handlers` (job type → handler). Default `./handlers/mod.ts`. */
  handlersModule?: string | URL;
  /** Claim only these job types (default: every type the handlers module has). */
  types?: string[];
  /** Most jobs one runner claims per statement (fewer when its jobs are slow). Default 128. */
  claimBatch?: number;
  /** Completions one runner writes per statement, at most. Default 256. */
  completeBatch?: number;
  /** Longest a completion waits in a runner's buffer (ms). Default 25. */
  completeFlushMs?: number;
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
  /** Serve /healthz and /metrics here (0: any free port). Default `WORKER_METRICS_PORT`. */
  metricsPort?: number;
  /** This process's worker id. Default `<host>:<pid>:<random>`. */
  id?: string;
}

/** What the supervisor reports while it runs (tests await these instead of sleeping). */
export type SupervisorEvent =
  | { kind: "ready"; id: string; runners: string[] }
  | { kind: "claimed"; worker: string; jobs: JobRef[] }
  | { kind: "completed"; worker: string; job: JobRef; ms: number }
  | { kind: "failed"; worker: string; job: JobRef; ms: number; error: string; final: boolean }
  | { kind: "lost"; worker: string; job: JobRef }
  | { kind: "released"; worker: string; job: JobRef }
  | { kind: "rescued"; jobs: Rescued[] }
  | { kind: "replaced"; worker: string; next: string; reason: string }
  | { kind: "db_down"; error: string }
  | { kind: "db_up"; downMs: number }
  | { kind: "stopped" };

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
    pred?: (e: Extract<SupervisorEvent, { kind: K }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<SupervisorEvent, { kind: K }>>;
  /** The current runners: locked_by, the job running, jobs held. */
  runners(): { worker: string; running: JobRef | null; held: number }[];
}

/** Extra time past timeout + abort grace before a runner is terminated (ms). */
const HARD_MARGIN_MS = 1000;
/** How long a crashed runner's last messages get to arrive before its jobs are settled (ms). */
const CRASH_SETTLE_MS = 100;
/** How often the hard timeouts of running handlers are checked (ms). */
const WATCHDOG_MS = 100;

interface Slot {
  index: number;
  lockedBy: string;
  worker: Worker;
  state: "starting" | "running" | "stopping" | "stopped" | "dead";
  /** Jobs the runner holds, by id, with their sequence numbers. */
  held: Map<string, JobRef>;
  /** Sequence number (see the `claimed` message) → job id, for the jobs held. */
  bySeq: Map<number, string>;
  seqOf: Map<string, number>;
  /** Ids missing from the last lease renewal (lost if missing twice). */
  suspect: Set<string>;
  /** What the runner is running, shared with it. */
  status: RunnerStatus;
  /** Woken by {@link wakeOne} and not yet back with a claim or an empty look. */
  awake: boolean;
  /** Order of the runner's last claim (higher: more recent). */
  lastClaim: number;
  ready: PromiseWithResolvers<void>;
  stopped: PromiseWithResolvers<void>;
}

/** The job a runner's handler is running now, with when it started (wall ms) and its timeout. */
function running(slot: Slot): { job: JobRef; startedAt: number; timeoutMs: number } | null {
  const now = slot.status.read();
  if (!now) return null;
  const id = slot.bySeq.get(now.seq);
  const job = id === undefined ? undefined : slot.held.get(id);
  return job ? { job, startedAt: now.startedAt, timeoutMs: now.timeoutMs } : null;
}

/** A worker id for this process: `<host>:<pid>:<6 random hex>`. */
export function processWorkerId(): string {
  const rand = crypto.getRandomValues(new Uint8Array(3));
  return `${Deno.hostname()}:${Deno.pid}:${
    [...rand].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/**
 * Starts a supervisor: registers the process, starts the runners and waits
 * until every runner is ready (a runner that cannot start — e.g. a bad
 * handlers module — rejects this). The database must be migrated.
 */
export async function startSupervisor(opts: SupervisorOptions): Promise<Supervisor> {
  const config = opts.config;
  setLogLevel(config.LOG_LEVEL);
  const id = opts.id ?? processWorkerId();
  const concurrency = opts.concurrency ?? config.WORKER_CONCURRENCY;
  const leaseSeconds = opts.leaseSeconds ?? config.JOB_LEASE_SECONDS;
  const graceMs = (opts.graceSeconds ?? config.SHUTDOWN_GRACE_SECONDS) * 1000;
  const heartbeatMs = opts.heartbeatMs ?? 5000;
  const rescueMs = opts.rescueIntervalMs ?? Math.min(5000, leaseSeconds * 500);
  const abortGraceMs = opts.abortGraceMs ?? 2000;
  const handlersModule = String(
    opts.handlersModule ?? new URL("./handlers/mod.ts", import.meta.url),
  );
  const settingsFor = (lockedBy: string, status: RunnerStatus): RunnerSettings => ({
    lockedBy,
    databaseUrl: opts.databaseUrl,
    handlersModule,
    types: opts.types ?? null,
    claimBatch: opts.claimBatch ?? 128,
    completeBatch: opts.completeBatch ?? 256,
    completeFlushMs: opts.completeFlushMs ?? 25,
    leaseSeconds,
    pollMs: opts.pollMs ?? 2000,
    abortGraceMs,
    retry: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
    config: { ...config },
    status: status.buffer,
  });

  const pool: Sql = openPool(opts.databaseUrl, { max: 3, name: "jobq-worker" });
  const changed = new Notifier(pool, CHANNEL_CHANGED, { minGapMs: 250 });
  const newJobs = new Notifier(pool, CHANNEL_NEW_JOBS);
  const listeners = new Set<(e: SupervisorEvent) => void>();
  const slots: Slot[] = [];
  let spawned = 0;
  let stopping = false;
  let closed = false;
  let dbDownSince: number | null = null;
  const counts = { completed: 0, failed: 0, lost: 0, released: 0 };
  const startedAt = Date.now();
  const finished = Promise.withResolvers<void>();
  const closing = new AbortController();

  // ---- metrics
  const registry = new Registry();
  const mJobs = new Counter({
    name: "jobq_worker_jobs_total",
    help: "Attempts finished by this process, by type and outcome",
    labelNames: ["type", "outcome"],
    registers: [registry],
  });
  const mDuration = new Histogram({
    name: "jobq_worker_job_duration_seconds",
    help: "Run time of attempts, by type",
    labelNames: ["type"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  const mRescued = new Counter({
    name: "jobq_worker_rescued_total",
    help: "Jobs whose expired lease this process's rescuer returned",
    registers: [registry],
  });
  const mReplaced = new Counter({
    name: "jobq_worker_runner_replacements_total",
    help: "Web Workers terminated and replaced, by reason",
    labelNames: ["reason"],
    registers: [registry],
  });
  new Gauge({
    name: "jobq_worker_runners_busy",
    help: "Web Workers running a job now",
    registers: [registry],
    collect() {
      this.set(slots.filter((s) => s.state !== "dead" && running(s)).length);
    },
  });
  new Gauge({
    name: "jobq_worker_runners",
    help: "Web Workers of this process",
    registers: [registry],
    collect() {
      this.set(slots.filter((s) => s.state === "running").length);
    },
  });
  new Gauge({
    name: "jobq_worker_database_up",
    help: "1 while the database answers, 0 during an outage",
    registers: [registry],
    collect() {
      this.set(dbDownSince === null ? 1 : 0);
    },
  });

  function emit(e: SupervisorEvent): void {
    for (const fn of [...listeners]) {
      try {
        fn(e);
      } catch (err) {
        log("error", "worker.listener_failed", { worker: id, event: e.kind, error: describe(err) });
      }
    }
  }

  // ---- database health, as seen by everything in this process
  function dbDown(err: unknown, source: string): void {
    if (!isTransient(err)) {
      log("error", "worker.db_error", { worker: id, source, error: describe(err) });
      return;
    }
    if (dbDownSince !== null) return;
    dbDownSince = Date.now();
    log("warn", "db.unavailable", { worker: id, source, error: describe(err) });
    emit({ kind: "db_down", error: describe(err) });
  }
  function dbUp(): void {
    if (dbDownSince === null) return;
    const downMs = Date.now() - dbDownSince;
    dbDownSince = null;
    log("info", "db.reconnected", { worker: id, ms: downMs });
    emit({ kind: "db_up", downMs });
    wakeAll();
  }
  const hooks = (label: string, giveUp?: () => boolean) => ({
    label,
    giveUp: () => closed || (giveUp?.() ?? false),
    onDown: (err: unknown) => dbDown(err, label),
    onUp: dbUp,
  });

  // ---- runners
  function send(slot: Slot, m: ToRunner): void {
    if (slot.state === "dead" || slot.state === "stopped") return;
    slot.worker.postMessage(m);
  }
  function wakeAll(): void {
    for (const slot of slots) if (slot.state === "running") send(slot, { kind: "wake" });
  }
  /**
   * Wakes one idle runner (holding no jobs, not already woken): the one that
   * claimed most recently. New-job notifications use this instead of
   * {@link wakeAll}: waking every runner for each new job made all of them
   * claim at once (one finds the job, the rest run an empty claim each).
   * Preferring the runner used last keeps a trickle of jobs on warm runners
   * (compiled code, open connections) instead of spreading it over cold ones.
   * A runner that claims something wakes the next idle one (see "claimed"),
   * so a backlog still fans out to every runner; busy runners claim again by
   * themselves when their batch is done.
   */
  let claims = 0;
  function wakeOne(): void {
    let best: Slot | null = null;
    for (const slot of slots) {
      if (!slot || slot.state !== "running" || slot.held.size > 0 || slot.awake) continue;
      if (!best || slot.lastClaim > best.lastClaim) best = slot;
    }
    if (!best) return;
    best.awake = true;
    send(best, { kind: "wake" });
  }

  function spawn(index: number): Slot {
    const lockedBy = `${id}/${++spawned}`;
    const worker = new Worker(new URL("./runner.ts", import.meta.url), {
      type: "module",
      name: lockedBy,
    });
    const slot: Slot = {
      index,
      lockedBy,
      worker,
      state: "starting",
      held: new Map(),
      bySeq: new Map(),
      seqOf: new Map(),
      suspect: new Set(),
      status: RunnerStatus.create(),
      awake: false,
      lastClaim: 0,
      ready: Promise.withResolvers<void>(),
      stopped: Promise.withResolvers<void>(),
    };
    slot.ready.promise.catch(() => {});
    slots[index] = slot;
    worker.onmessage = (e: MessageEvent<FromRunner>) => onMessage(slot, e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const msg = e.message || describe(e.error);
      if (slot.state === "starting") slot.ready.reject(new Error(msg));
      // Messages the runner posted just before it died (e.g. "started") can
      // arrive after this event: let them in first, so the job it was
      // running is known and its attempt counted, not given back.
      setTimeout(
        () => replace(slot, "crashed", `Web Worker crashed while running the job: ${msg}`, msg),
        CRASH_SETTLE_MS,
      );
    };
    worker.onmessageerror = () => {
      replace(slot, "crashed", "Web Worker sent an unreadable message", "messageerror");
    };
    worker.postMessage(
      { kind: "init", settings: settingsFor(lockedBy, slot.status) } satisfies ToRunner,
    );
    return slot;
  }

  function onMessage(slot: Slot, m: FromRunner): void {
    if (slot.state === "dead") return;
    switch (m.kind) {
      case "ready":
        slot.state = stopping ? "stopping" : "running";
        if (stopping) send(slot, { kind: "stop" });
        slot.ready.resolve();
        break;
      case "fatal":
        slot.ready.reject(new Error(`runner ${slot.lockedBy} could not start: ${m.error}`));
        replace(slot, "crashed", `Web Worker failed: ${m.error}`, m.error);
        break;
      case "claimed":
        slot.awake = false;
        slot.lastClaim = ++claims;
        m.jobs.forEach((j, i) => {
          slot.held.set(j.id, j);
          slot.bySeq.set(m.firstSeq + i, j.id);
          slot.seqOf.set(j.id, m.firstSeq + i);
        });
        emit({ kind: "claimed", worker: slot.lockedBy, jobs: m.jobs });
        // There may be more: let the next idle runner look too.
        wakeOne();
        break;
      case "finished":
        onFinished(slot, m.items);
        break;
      case "idle":
        slot.awake = false;
        break;
      case "stuck":
        replace(
          slot,
          "timeout",
          null,
          `job ${m.job.id} ignored its abort after the ${m.timeoutMs / 1000} s timeout`,
        );
        break;
      case "db":
        if (m.up) dbUp();
        else {dbDown(
            Object.assign(new Error(m.error ?? "database unavailable"), {
              code: "CONNECTION_CLOSED",
            }),
            `runner ${slot.lockedBy}`,
          );}
        break;
      case "stopped":
        slot.state = "stopped";
        slot.worker.terminate();
        slot.stopped.resolve();
        break;
    }
  }

  /** Forgets a job a runner no longer holds. */
  function drop(slot: Slot, id: string): void {
    slot.held.delete(id);
    slot.suspect.delete(id);
    const seq = slot.seqOf.get(id);
    if (seq !== undefined) {
      slot.seqOf.delete(id);
      slot.bySeq.delete(seq);
    }
  }

  function onFinished(slot: Slot, items: Finished[]): void {
    let recorded = false;
    for (const { job, outcome, ms, error, final } of items) {
      drop(slot, job.id);
      mJobs.inc({ type: job.type, outcome });
      if (outcome === "completed" || outcome === "failed") {
        mDuration.observe({ type: job.type }, ms / 1000);
        recorded = true;
      }
      if (outcome === "completed") {
        counts.completed++;
        emit({ kind: "completed", worker: slot.lockedBy, job, ms });
      } else if (outcome === "failed") {
        counts.failed++;
        emit({
          kind: "failed",
          worker: slot.lockedBy,
          job,
          ms,
          error: error ?? "",
          final: !!final,
        });
      } else if (outcome === "released") {
        counts.released++;
        emit({ kind: "released", worker: slot.lockedBy, job });
      } else {
        counts.lost++;
        emit({ kind: "lost", worker: slot.lockedBy, job });
      }
    }
    if (recorded) changed.poke();
  }

  /**
   * The hard timeout: a handler still running past its timeout, the abort
   * grace and a margin has blocked its Web Worker (a runner that regains
   * control ends the attempt itself and says "stuck"), so the runner is
   * terminated and replaced.
   */
  function enforceTimeouts(): void {
    const now = performance.timeOrigin + performance.now();
    for (const slot of slots) {
      if (!slot || slot.state === "dead" || slot.state === "stopped") continue;
      const run = running(slot);
      if (!run) continue;
      const hardMs = run.timeoutMs + abortGraceMs + HARD_MARGIN_MS;
      if (now - run.startedAt < hardMs) continue;
      const secs = run.timeoutMs / 1000;
      log("error", "job.timeout_terminate", {
        job_id: run.job.id,
        type: run.job.type,
        attempt: run.job.attempt,
        worker: slot.lockedBy,
        ms: hardMs,
      });
      replace(
        slot,
        "timeout",
        `timed out after ${secs} s; the handler blocked its Web Worker, which was terminated and replaced`,
        `job ${run.job.id} ran past its ${secs} s timeout and did not stop`,
      );
    }
  }

  /**
   * Terminates a runner and settles what it held: the running job fails
   * with `failMessage` (counted: a job that kills its runner cannot loop
   * forever), the rest go back to pending. Then a fresh runner takes its place
   * unless the process is stopping.
   */
  function replace(
    slot: Slot,
    reason: "crashed" | "timeout",
    failMessage: string | null,
    detail: string,
  ): void {
    if (slot.state === "dead" || slot.state === "stopped") return;
    const wasStarting = slot.state === "starting";
    const run = running(slot)?.job ?? null;
    slot.state = "dead";
    slot.worker.terminate();
    slot.status.clear();
    const rest = [...slot.held.values()].filter((j) => j.id !== run?.id);
    slot.held.clear();
    slot.bySeq.clear();
    slot.seqOf.clear();
    mReplaced.inc({ reason });
    log("error", "runner.replaced", {
      worker: slot.lockedBy,
      reason,
      error: detail,
      job_id: run?.id,
      type: run?.type,
      attempt: run?.attempt,
      released: rest.length,
    });
    if (run && failMessage) failFor(slot.lockedBy, run, failMessage);
    if (rest.length) releaseFor(slot.lockedBy, rest, `given back: Web Worker ${reason}`);
    slot.stopped.resolve();
    if (stopping || closed || wasStarting) return;
    const next = spawn(slot.index);
    emit({ kind: "replaced", worker: slot.lockedBy, next: next.lockedBy, reason });
    next.ready.promise.then(
      () => {
        if (!stopping) send(next, { kind: "wake" });
      },
      (err) => log("error", "runner.start_failed", { worker: next.lockedBy, error: describe(err) }),
    );
  }

  /** Fails a job on a (dead) runner's behalf; fenced on that runner's locked_by. */
  function failFor(lockedBy: string, job: JobRef, message: string): void {
    withRetry(
      () =>
        jobs.fail(pool, {
          id: job.id,
          attempt: job.attempt,
          worker: lockedBy,
          error: message,
          retry: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
        }),
      hooks("fail"),
    ).then((row) => {
      const fields = { job_id: job.id, type: job.type, attempt: job.attempt, worker: lockedBy };
      if (!row) {
        log("warn", "job.lost", {
          ...fields,
          reason: "lease no longer held; failure not recorded",
        });
        emit({ kind: "lost", worker: lockedBy, job });
        return;
      }
      const final = row.status === "failed";
      counts.failed++;
      mJobs.inc({ type: job.type, outcome: "failed" });
      changed.poke();
      log(final ? "error" : "warn", "job.failed", { ...fields, final, error: message });
      emit({ kind: "failed", worker: lockedBy, job, ms: 0, error: message, final });
    }, (err) => log("error", "job.fail_not_recorded", { job_id: job.id, error: describe(err) }));
  }

  /** Gives jobs back without counting the attempt; fenced on `lockedBy`. */
  async function releaseFor(lockedBy: string, list: JobRef[], reason: string): Promise<void> {
    try {
      const ids = new Set(
        await withRetry(
          () =>
            jobs.release(pool, {
              worker: lockedBy,
              items: list.map((j) => ({ id: j.id, attempt: j.attempt })),
              reason,
            }),
          hooks("release"),
        ),
      );
      log("info", "jobs.released", {
        worker: lockedBy,
        count: ids.size,
        job_ids: [...ids],
        reason,
      });
      for (const j of list) {
        if (ids.has(j.id)) {
          counts.released++;
          emit({ kind: "released", worker: lockedBy, job: j });
        }
      }
      if (ids.size) {
        changed.poke();
        if (!stopping) newJobs.poke();
      }
    } catch (err) {
      log("error", "jobs.release_failed", { worker: lockedBy, error: describe(err) });
    }
  }

  // ---- periodic work
  /** The pending timer of each periodic task (one entry per task, replaced at each tick). */
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const watchdog = setInterval(() => {
    if (!closed) enforceTimeouts();
  }, WATCHDOG_MS);
  let renewing = false;
  async function renewLeases(): Promise<void> {
    if (renewing) return;
    renewing = true;
    try {
      for (const slot of slots) {
        if (slot.state === "dead" || slot.held.size === 0) continue;
        const ids = [...slot.held.keys()];
        const kept = new Set(
          await jobs.extendLease(pool, { worker: slot.lockedBy, ids, leaseSeconds }),
        );
        dbUp();
        const lostIds: string[] = [];
        for (const jobId of ids) {
          if (kept.has(jobId) || !slot.held.has(jobId)) {
            slot.suspect.delete(jobId);
          } else if (slot.suspect.has(jobId)) {
            lostIds.push(jobId);
          } else {
            slot.suspect.add(jobId);
          }
        }
        if (lostIds.length) {
          for (const jobId of lostIds) {
            const j = slot.held.get(jobId)!;
            log("warn", "job.lease_lost", {
              job_id: jobId,
              type: j.type,
              attempt: j.attempt,
              worker: slot.lockedBy,
            });
          }
          send(slot, { kind: "lost", ids: lostIds });
        }
      }
    } catch (err) {
      dbDown(err, "lease");
    } finally {
      renewing = false;
    }
  }

  /** What each runner does now, for the worker row (the `/workers` page reads it). */
  function runnerInfo(): RunnerInfo[] {
    const at = Date.now();
    return slots.map((s) => {
      const run = s.state === "dead" ? null : running(s);
      return {
        worker: s.lockedBy,
        state: s.state,
        job: run?.job.id,
        running_ms: run ? Math.max(0, Math.round(at - run.startedAt)) : undefined,
      };
    });
  }

  async function heartbeat(): Promise<void> {
    const info = {
      runners: runnerInfo(),
      completed: counts.completed,
      failed: counts.failed,
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
    };
    try {
      const alive = await workers.heartbeat(pool, { id, info, stopping });
      dbUp();
      if (!alive) {
        await register();
        log("info", "worker.reregistered", { worker: id });
      }
    } catch (err) {
      dbDown(err, "heartbeat");
    }
  }

  async function rescue(): Promise<void> {
    try {
      const pass = await rescuePass(pool, {
        staleSeconds: Math.max(60, Math.ceil((heartbeatMs * 6) / 1000)),
      });
      dbUp();
      if (pass.staleWorkers.length) {
        log("info", "worker.stale_removed", { worker: id, removed: pass.staleWorkers });
      }
      if (pass.rescued.length) {
        mRescued.inc(pass.rescued.length);
        for (const r of pass.rescued) {
          log("warn", "job.rescued", {
            job_id: r.id,
            attempt: r.attempts,
            worker: id,
            previous_worker: r.previous_worker,
            status: r.status,
          });
        }
        emit({ kind: "rescued", jobs: pass.rescued });
        changed.poke();
        newJobs.poke();
        wakeAll();
      }
    } catch (err) {
      dbDown(err, "rescue");
    }
  }

  /** Runs `fn` every `ms` (±50 % when `jitter`), never two at once, until the supervisor closes. */
  function every(name: string, ms: number, fn: () => Promise<void>, jitter: boolean): void {
    const tick = () => {
      const wait = jitter ? Math.round(ms * (0.5 + Math.random())) : ms;
      timers.set(
        name,
        setTimeout(async () => {
          if (closed) return;
          await fn();
          if (!closed) tick();
        }, wait),
      );
    };
    tick();
  }

  // ---- LISTEN: a dedicated connection that re-LISTENs after every drop
  let listenLoop: Promise<void> | null = null;
  const listener = postgres(opts.databaseUrl, {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    connect_timeout: 10,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: "jobq-worker-listen" },
    onnotify: (channel: string) => {
      if (channel === CHANNEL_NEW_JOBS) wakeOne();
    },
    onclose: () => {
      if (!closed) relisten();
    },
    // onnotify is an option postgres.js reads but does not declare.
    // deno-lint-ignore no-explicit-any
  } as any);
  function relisten(): Promise<void> {
    listenLoop ??= (async () => {
      try {
        await withRetry(
          () => listener`LISTEN ${listener(CHANNEL_NEW_JOBS)}`,
          { ...hooks("listen"), maxDelayMs: 3000 },
        );
        dbUp();
        log("debug", "worker.listening", { worker: id, channel: CHANNEL_NEW_JOBS });
        wakeAll(); // notifications sent while not listening are lost: look now
      } catch (err) {
        if (!closed) log("error", "worker.listen_failed", { worker: id, error: describe(err) });
      } finally {
        listenLoop = null;
      }
    })();
    return listenLoop;
  }

  async function register(): Promise<void> {
    await withRetry(
      () =>
        workers.register(pool, {
          id,
          host: Deno.hostname(),
          pid: Deno.pid,
          concurrency,
          info: { runners: runnerInfo() },
        }),
      hooks("register"),
    );
  }

  // ---- metrics server
  let server: Deno.HttpServer | null = null;
  let metricsUrl: string | null = null;
  const metricsPort = opts.metricsPort ?? config.WORKER_METRICS_PORT;
  if (metricsPort !== undefined) {
    const ready = Promise.withResolvers<void>();
    server = Deno.serve({
      hostname: config.HOST,
      port: metricsPort,
      signal: closing.signal,
      onListen: ({ hostname, port }) => {
        metricsUrl = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
        log("info", "worker.metrics_listening", { worker: id, url: metricsUrl });
        ready.resolve();
      },
    }, async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/healthz") {
        const body = {
          status: stopping ? "stopping" : "ok",
          id,
          database: dbDownSince === null ? "up" : "down",
          runners: slots.map((s) => ({ worker: s.lockedBy, state: s.state, held: s.held.size })),
          completed: counts.completed,
          failed: counts.failed,
        };
        return Response.json(body, { status: stopping ? 503 : 200 });
      }
      if (path === "/metrics") {
        return new Response(await registry.metrics(), {
          headers: { "content-type": registry.contentType },
        });
      }
      return new Response("not found\n", { status: 404 });
    });
    await ready.promise;
  }

  // ---- stop
  let stopPromise: Promise<void> | null = null;
  let pruner: Pruner | null = null;
  async function stopNow(): Promise<void> {
    stopping = true;
    const busy = slots.filter((s) => s.state !== "dead" && running(s)).length;
    log("info", "worker.stopping", { worker: id, running: busy, grace_s: graceMs / 1000 });
    workers.heartbeat(pool, { id, stopping: true }).catch(() => {});
    for (const slot of slots) {
      if (slot.state === "running" || slot.state === "starting") {
        if (slot.state === "running") slot.state = "stopping";
        send(slot, { kind: "stop" });
      }
    }
    const all = Promise.all(slots.map((s) => s.stopped.promise));
    const graceOver = new AbortController();
    const inTime = await Promise.race([
      all.then(() => true),
      delay(graceMs, graceOver.signal).then(() => false),
    ]);
    graceOver.abort();
    if (!inTime) {
      const late = slots.filter((s) => s.state !== "stopped" && s.state !== "dead");
      const giveBack: Promise<void>[] = [];
      for (const slot of late) {
        slot.state = "dead";
        slot.worker.terminate();
        slot.status.clear();
        const held = [...slot.held.values()];
        slot.held.clear();
        slot.bySeq.clear();
        slot.seqOf.clear();
        if (held.length) {
          giveBack.push(
            releaseFor(
              slot.lockedBy,
              held,
              `given back on shutdown: still running after the ${graceMs / 1000} s grace period`,
            ),
          );
        }
      }
      log("warn", "worker.grace_over", { worker: id, runners: late.map((s) => s.lockedBy) });
      // Give-backs retry through an outage, but not forever: the lease covers the rest.
      await Promise.race([Promise.all(giveBack), delay(10_000, closing.signal)]);
    }
    closed = true;
    for (const t of timers.values()) clearTimeout(t);
    clearInterval(watchdog);
    closing.abort();
    await pruner?.stop();
    await listener.end({ timeout: 1 }).catch(() => {});
    try {
      await Promise.race([
        workers.unregister(pool, { id }),
        delay(3000).then(() => {
          throw new Error("unregister did not finish within 3 s");
        }),
      ]);
    } catch (err) {
      log("warn", "worker.unregister_failed", { worker: id, error: describe(err) });
    }
    await Promise.race([Promise.all([changed.close(), newJobs.close()]), delay(2000)]);
    await server?.finished.catch(() => {});
    await pool.end({ timeout: 2 }).catch(() => {});
    removeSignals?.();
    log("info", "worker.stopped", {
      worker: id,
      completed: counts.completed,
      failed: counts.failed,
      released: counts.released,
      ms: Date.now() - startedAt,
    });
    emit({ kind: "stopped" });
    finished.resolve();
  }
  function stop(): Promise<void> {
    stopPromise ??= stopNow();
    return stopPromise;
  }

  // The first SIGINT/SIGTERM stops gracefully; one more than a second later
  // exits at once (the same signal twice, from the process group and from
  // `deno task` forwarding it, is one request: lib/stop_signals.ts).
  let removeSignals: (() => void) | null = null;
  if (opts.handleSignals ?? true) {
    removeSignals = onStopSignals({
      stop(signal) {
        log("info", "worker.signal", { worker: id, signal });
        stop();
      },
      force(signal) {
        log("warn", "worker.exit_now", {
          worker: id,
          signal,
          reason: "second signal; held jobs come back when their lease expires",
        });
        Deno.exit(130);
      },
    });
  }

  // ---- start
  try {
    await register();
    // Listen before the runners load (a second or more for many Web Workers):
    // jobs enqueued meanwhile wake the first runners that are up.
    await relisten();
    for (let i = 0; i < concurrency; i++) spawn(i);
    await Promise.all(slots.map((s) => s.ready.promise));
  } catch (err) {
    closed = true;
    clearInterval(watchdog);
    for (const s of slots) s.worker.terminate();
    closing.abort();
    await listener.end({ timeout: 1 }).catch(() => {});
    await workers.unregister(pool, { id }).catch(() => {});
    await pool.end({ timeout: 1 }).catch(() => {});
    throw err;
  }
  every("lease", Math.max(500, Math.floor((leaseSeconds * 1000) / 3)), renewLeases, false);
  every("heartbeat", heartbeatMs, heartbeat, true);
  heartbeat(); // the worker row shows every runner up now, not a period later
  every("rescue", rescueMs, rescue, true);
  rescue();
  // Optional retention: finished jobs older than PRUNE_OLDER_THAN, in batches, one process at a time.
  if (config.PRUNE_OLDER_THAN) {
    pruner = startPruner(pool, { olderThanMs: config.PRUNE_OLDER_THAN, worker: id });
  }
  log("info", "worker.started", {
    worker: id,
    concurrency,
    runners: slots.map((s) => s.lockedBy),
    lease_s: leaseSeconds,
    handlers: handlersModule,
    metrics: metricsUrl,
  });
  emit({ kind: "ready", id, runners: slots.map((s) => s.lockedBy) });

  const sup: Supervisor = {
    id,
    get metricsUrl() {
      return metricsUrl;
    },
    done: finished.promise,
    stop,
    on(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    waitFor(kind, pred, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a "${kind}" event`));
        }, timeoutMs);
        const off = sup.on((e) => {
          if (e.kind !== kind) return;
          // deno-lint-ignore no-explicit-any
          if (pred && !pred(e as any)) return;
          clearTimeout(timer);
          off();
          // deno-lint-ignore no-explicit-any
          resolve(e as any);
        });
      });
    },
    runners() {
      return slots.map((s) => ({
        worker: s.lockedBy,
        running: s.state === "dead" ? null : running(s)?.job ?? null,
        held: s.held.size,
      }));
    },
  };
  return sup;
}
