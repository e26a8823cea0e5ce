/// <reference lib="deno.worker" />
/**
 * Web Worker entry: one runner of the pool. It owns a small postgres.js pool
 * of its own and loops claim → run → complete/fail. The supervisor (main
 * thread) renews the leases of the jobs this runner reports holding, enforces
 * the hard timeout by terminating a runner whose handler will not stop, and
 * tells it to wake (new jobs), stop (graceful shutdown) or drop lost jobs.
 *
 * Completions are buffered and written in batches (`jobs.completeMany`);
 * failures are written at once. A write that fails because the database is
 * unreachable is kept in memory and retried until it goes through: the fence
 * (id, attempt, locked_by) makes a late or repeated write safe.
 */
import { openPool, type Sql } from "../lib/db.ts";
import { PermanentError } from "../lib/jobs/errors.ts";
import { log, setLogLevel } from "../lib/log.ts";
import * as jobs from "../lib/queue/jobs.ts";
import type { LeanJob } from "../lib/queue/jobs.ts";
import { closeTransports, type ContextDeps, createContext } from "./context.ts";
import { NotSerialisableError, toJsonResult } from "./json.ts";
import {
  type Finished,
  type FromRunner,
  type JobRef,
  type RunnerSettings,
  RunnerStatus,
  type ToRunner,
} from "./protocol.ts";
import { delay, describe, isTransient, withRetry } from "./retry.ts";
import type { HandlerMap } from "./types.ts";

/** The attempt whose handler runs now: its abort, its deadline and how to end its wait early. */
interface Current {
  ref: JobRef;
  ac: AbortController;
  deadline: number;
  timedOut: () => void;
}

/** A completion waiting in the buffer for the next batch write. */
interface Done {
  ref: JobRef;
  result: unknown;
  ms: number;
}

/** Everything this runner keeps between messages and jobs, in one place. */
interface RunnerState {
  /** Settings, pool, handlers, claimed types, handler deps and shared status: set by `init`. */
  settings: RunnerSettings;
  sql: Sql;
  handlers: HandlerMap;
  types: string[];
  deps: ContextDeps;
  status: RunnerStatus;
  /** Sequence number of the next claimed job (see the `claimed` message). */
  nextSeq: number;
  stopping: boolean;
  /** Set after a handler ignored its abort: this runner does no more work and waits to be terminated. */
  halted: boolean;
  dbUp: boolean;
  wakePending: boolean;
  wakeIdle: (() => void) | null;
  /** Jobs the supervisor says this runner lost (their lease went elsewhere). */
  lost: Set<string>;
  current: Current | null;
  /** Moving average of this runner's job run time (ms). */
  avgMs: number;
  /** Completions not yet written, the chain of batch writes, and the timer of the next. */
  completions: Done[];
  flushChain: Promise<void>;
  flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** The one timer watching the running handler's timeout (see {@link watch}). */
  watchdog: { at: number; timer: ReturnType<typeof setTimeout> } | null;
}

const state: RunnerState = {
  // The first six are set by init(); no message but "init" reads them before it has run.
  settings: undefined as never,
  sql: undefined as never,
  handlers: undefined as never,
  types: undefined as never,
  deps: undefined as never,
  status: undefined as never,
  nextSeq: 0,
  stopping: false,
  halted: false,
  dbUp: true,
  wakePending: false,
  wakeIdle: null,
  lost: new Set<string>(),
  current: null,
  avgMs: 0,
  completions: [],
  flushChain: Promise.resolve(),
  flushTimer: undefined,
  watchdog: null,
};

/**
 * A runner claims about this much work at once, judged by its average job
 * time: many short jobs per statement, one at a time when jobs are slow (so
 * idle runners get the rest instead of waiting behind a runner's backlog).
 */
const BATCH_TARGET_MS = 50;

/** Claim size before this runner has timed a job (its jobs may be slow). */
const FIRST_CLAIM = 4;

/** How many jobs to claim next: enough for ~BATCH_TARGET_MS of work, 1..claimBatch. */
function claimLimit(): number {
  if (state.avgMs <= 0) return Math.min(FIRST_CLAIM, state.settings.claimBatch);
  return Math.max(
    1,
    Math.min(state.settings.claimBatch, Math.floor(BATCH_TARGET_MS / state.avgMs)),
  );
}

function post(m: FromRunner): void {
  self.postMessage(m);
}

function finished(items: Finished[]): void {
  if (items.length) post({ kind: "finished", items });
}

/**
 * One timer watches the running handler's timeout, instead of a timer per
 * job: it is armed for the earliest deadline it knows and, when it fires
 * before the current job's deadline (an earlier job's), re-arms for that.
 */
function watch(deadline: number): void {
  if (state.watchdog && state.watchdog.at <= deadline) return;
  if (state.watchdog) clearTimeout(state.watchdog.timer);
  const timer = setTimeout(() => {
    state.watchdog = null;
    if (!state.current) return;
    if (performance.now() >= state.current.deadline) state.current.timedOut();
    else watch(state.current.deadline);
  }, Math.max(0, deadline - performance.now()));
  state.watchdog = { at: deadline, timer };
}

function refOf(job: LeanJob): JobRef {
  return { id: job.id, type: job.type, attempt: job.attempts };
}

const retryHooks = (label: string, giveUp?: () => boolean) => ({
  label,
  giveUp,
  onDown(err: unknown) {
    if (state.dbUp) {
      state.dbUp = false;
      log("debug", "runner.db_down", {
        worker: state.settings.lockedBy,
        op: label,
        error: describe(err),
      });
      post({ kind: "db", up: false, error: describe(err) });
    }
  },
  onUp() {
    if (!state.dbUp) {
      state.dbUp = true;
      post({ kind: "db", up: true });
    }
  },
});

self.onmessage = (e: MessageEvent<ToRunner>) => {
  const m = e.data;
  switch (m.kind) {
    case "init":
      init(m.settings).catch((err) => {
        log("error", "runner.init_failed", { worker: m.settings.lockedBy, error: describe(err) });
        post({ kind: "fatal", error: describe(err) });
      });
      break;
    case "wake":
      wake();
      break;
    case "stop":
      state.stopping = true;
      wake();
      break;
    case "lost":
      for (const id of m.ids) state.lost.add(id);
      if (state.current && m.ids.includes(state.current.ref.id)) {
        state.current.ac.abort(new Error("the job's lease was lost"));
      }
      break;
  }
};

self.addEventListener("unhandledrejection", (e) => {
  // A handler's stray promise: note it, keep the runner alive.
  e.preventDefault();
  log("warn", "runner.unhandled_rejection", {
    worker: state.settings?.lockedBy,
    job_id: state.current?.ref.id,
    error: describe(e.reason),
  });
});

async function init(settings: RunnerSettings): Promise<void> {
  state.settings = settings;
  setLogLevel(state.settings.config.LOG_LEVEL);
  const mod = await import(state.settings.handlersModule);
  if (!mod.handlers || typeof mod.handlers !== "object") {
    throw new Error(
      `${state.settings.handlersModule} does not export \`handlers\` (a map of job type → handler)`,
    );
  }
  state.handlers = mod.handlers as HandlerMap;
  state.types = (state.settings.types ?? Object.keys(state.handlers)).filter((t) =>
    state.handlers[t]
  );
  state.status = new RunnerStatus(state.settings.status);
  state.sql = openPool(state.settings.databaseUrl, {
    max: 2,
    name: `jobq-runner ${state.settings.lockedBy}`.slice(0, 63),
  });
  state.deps = { sql: state.sql, config: state.settings.config, worker: state.settings.lockedBy };
  post({
    kind: "ready",
    types: Object.fromEntries(state.types.map((t) => [t, state.handlers[t].timeoutSeconds])),
  });
  await loop();
}

function wake(): void {
  if (state.wakeIdle) state.wakeIdle();
  else state.wakePending = true;
}

async function idle(): Promise<void> {
  if (state.wakePending || state.stopping) {
    state.wakePending = false;
    return;
  }
  // Jittered poll: the fallback when a notification is lost.
  const ms = Math.round(state.settings.pollMs * (0.5 + Math.random()));
  const ac = new AbortController();
  state.wakeIdle = () => ac.abort();
  await delay(ms, ac.signal);
  state.wakeIdle = null;
  state.wakePending = false;
}

/** A claim's jobs with the sequence number of the first (see the `claimed` message). */
interface Claimed {
  jobs: LeanJob[];
  firstSeq: number;
}

/**
 * Claims the next jobs and tells the supervisor at once (it renews their
 * leases from then on). Resolves `null` when the claim failed for good or
 * the runner is stopping.
 */
async function claimNext(): Promise<Claimed | null> {
  let batch: LeanJob[];
  try {
    batch = await withRetry(
      () =>
        jobs.claim(state.sql, {
          worker: state.settings.lockedBy,
          limit: claimLimit(),
          leaseSeconds: state.settings.leaseSeconds,
          types: state.types,
          lean: true,
        }),
      retryHooks("claim", () => state.stopping),
    );
  } catch (err) {
    if (!state.stopping) {
      log("error", "runner.claim_failed", {
        worker: state.settings.lockedBy,
        error: describe(err),
      });
    }
    return null;
  }
  const firstSeq = state.nextSeq;
  state.nextSeq += batch.length;
  if (batch.length) {
    post({ kind: "claimed", firstSeq, jobs: batch.map(refOf) });
    log("info", "jobs.claimed", {
      worker: state.settings.lockedBy,
      count: batch.length,
      job_ids: batch.map((j) => j.id),
    });
  }
  return { jobs: batch, firstSeq };
}

/**
 * Claim → run → complete. Completions are written while the runner goes on
 * (it waits for them only when more than two batches are pending). The next
 * claim is sent only when the current batch is done: a claim in flight when
 * a handler crashes its Web Worker would hold jobs the supervisor never hears
 * of, which would then wait for their lease and lose an attempt they never
 * ran.
 */
async function loop(): Promise<void> {
  while (!state.stopping && !state.halted) {
    if (state.completions.length >= 2 * state.settings.completeBatch) await flush();
    else if (state.completions.length) flush();
    if (state.stopping) break;
    const claimed = await claimNext();
    if (!claimed) {
      if (state.stopping) break;
      await delay(1000);
      continue;
    }
    const batch = claimed.jobs;
    if (batch.length === 0) {
      await flush();
      post({ kind: "idle" });
      await idle();
      continue;
    }
    for (let i = 0; i < batch.length && !state.halted; i++) {
      if (state.stopping) {
        await giveBack(batch.slice(i));
        break;
      }
      const job = batch[i];
      if (state.lost.delete(job.id)) {
        finished([{ job: refOf(job), outcome: "lost", ms: 0 }]);
        continue;
      }
      await runOne(job, claimed.firstSeq + i);
    }
  }
  if (state.halted) return;
  await flush();
  closeTransports();
  await state.sql.end({ timeout: 2 }).catch(() => {});
  post({ kind: "stopped" });
}

/** Gives claimed jobs that never started back to pending (not an attempt). */
async function giveBack(queue: LeanJob[]): Promise<void> {
  if (queue.length === 0) return;
  const items = queue.map((j) => ({ id: j.id, attempt: j.attempts }));
  try {
    const ids = new Set(
      await withRetry(
        () =>
          jobs.release(state.sql, {
            worker: state.settings.lockedBy,
            items,
            reason: "given back on shutdown before it started",
          }),
        retryHooks("release"),
      ),
    );
    log("info", "jobs.released", {
      worker: state.settings.lockedBy,
      count: ids.size,
      job_ids: [...ids],
    });
    finished(queue.map((j) => ({
      job: refOf(j),
      outcome: ids.has(j.id) ? "released" : "lost",
      ms: 0,
    })));
  } catch (err) {
    log("error", "jobs.release_failed", { worker: state.settings.lockedBy, error: describe(err) });
  }
}

function isPermanent(err: unknown): boolean {
  return err instanceof PermanentError || (err as Error | null)?.name === "PermanentError";
}

async function runOne(job: LeanJob, seq: number): Promise<void> {
  const ref = refOf(job);
  const handler = state.handlers[job.type];
  const timeoutMs = Math.max(1, Math.round(handler.timeoutSeconds * 1000));
  const ac = new AbortController();
  const t0 = performance.now();
  const timeout = Promise.withResolvers<"timeout">();
  state.current = { ref, ac, deadline: t0 + timeoutMs, timedOut: () => timeout.resolve("timeout") };
  state.status.start(seq, performance.timeOrigin + t0, timeoutMs);
  watch(t0 + timeoutMs);
  const ms = () => Math.round(performance.now() - t0);
  try {
    await runHandler(job, ref, handler, timeoutMs, ac, timeout.promise, ms);
  } finally {
    state.avgMs = state.avgMs * 0.7 + (performance.now() - t0) * 0.3;
    state.current = null;
  }
}

async function runHandler(
  job: LeanJob,
  ref: JobRef,
  handler: HandlerMap[string],
  timeoutMs: number,
  ac: AbortController,
  timeout: Promise<"timeout">,
  ms: () => number,
): Promise<void> {
  const ctx = createContext(state.deps, job, ac.signal);
  const settled = (async () => await handler.run(job.payload, ctx))().then(
    (value) => ({ ok: true as const, value }),
    (error) => ({ ok: false as const, error }),
  );
  const first = await Promise.race([settled, timeout]);
  if (first !== "timeout") ran();
  if (first === "timeout") {
    const msg = `timed out after ${timeoutMs / 1000} s`;
    ac.abort(new DOMException(msg, "TimeoutError"));
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"stuck">((r) =>
      graceTimer = setTimeout(() => r("stuck"), state.settings.abortGraceMs)
    );
    const after = await Promise.race([settled, grace]);
    clearTimeout(graceTimer);
    if (after !== "stuck") ran();
    if (after === "stuck") {
      await recordFailure(
        ref,
        `${msg}; the handler ignored the abort signal, so its Web Worker was replaced`,
        false,
        ms(),
      );
      await flush();
      state.halted = true;
      post({ kind: "stuck", job: ref, timeoutMs });
      return;
    }
    await recordFailure(ref, msg, false, ms());
    return;
  }
  if (!first.ok) {
    await recordFailure(ref, first.error, isPermanent(first.error), ms());
    return;
  }
  let result: unknown;
  try {
    result = toJsonResult(first.value);
  } catch (err) {
    if (!(err instanceof NotSerialisableError)) throw err;
    await recordFailure(
      ref,
      `handler returned a value that is not JSON-serialisable: ${err.message}`,
      false,
      ms(),
    );
    return;
  }
  state.completions.push({ ref, result, ms: ms() });
  if (state.completions.length >= state.settings.completeBatch) {
    await flush();
  } else if (state.flushTimer === undefined) {
    state.flushTimer = setTimeout(() => {
      state.flushTimer = undefined;
      flush();
    }, state.settings.completeFlushMs);
  }
}

/**
 * Tells the supervisor the handler is done, before its outcome is written:
 * from here on the hard timeout no longer applies (a write waiting out a
 * database outage is not a hung handler).
 */
function ran(): void {
  state.status.clear();
}

/** Writes a failed attempt (retrying through an outage); reports how it ended. */
async function recordFailure(
  ref: JobRef,
  error: unknown,
  permanent: boolean,
  ms: number,
): Promise<void> {
  const fence = { id: ref.id, attempt: ref.attempt, worker: state.settings.lockedBy };
  const errorMsg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  try {
    const row = await withRetry(
      () => jobs.fail(state.sql, { ...fence, error, permanent, retry: state.settings.retry }),
      retryHooks("fail"),
    );
    if (!row) {
      log("warn", "job.lost", {
        job_id: ref.id,
        type: ref.type,
        attempt: ref.attempt,
        worker: state.settings.lockedBy,
        ms,
        reason: "lease no longer held; failure not recorded",
      });
      finished([{ job: ref, outcome: "lost", ms, error: errorMsg }]);
      return;
    }
    const final = row.status === "failed";
    log(final ? "error" : "warn", "job.failed", {
      job_id: ref.id,
      type: ref.type,
      attempt: ref.attempt,
      worker: state.settings.lockedBy,
      ms,
      final,
      permanent,
      retry_at: final ? undefined : row.scheduled_for,
      error: errorMsg.slice(0, 500),
    });
    finished([{ job: ref, outcome: "failed", ms, error: errorMsg, final }]);
  } catch (err) {
    log("error", "job.fail_not_recorded", {
      job_id: ref.id,
      attempt: ref.attempt,
      worker: state.settings.lockedBy,
      error: describe(err),
    });
    finished([{ job: ref, outcome: "lost", ms, error: errorMsg }]);
  }
}

/** Writes buffered completions (serialised: one flush at a time). Never rejects. */
function flush(): Promise<void> {
  if (state.flushTimer !== undefined) {
    clearTimeout(state.flushTimer);
    state.flushTimer = undefined;
  }
  state.flushChain = state.flushChain.then(flushNow, flushNow);
  return state.flushChain;
}

async function flushNow(): Promise<void> {
  while (state.completions.length > 0) {
    const batch = state.completions.slice(0, state.settings.completeBatch);
    let done: Set<string>;
    try {
      done = new Set(
        await withRetry(
          () =>
            jobs.completeIds(state.sql, {
              worker: state.settings.lockedBy,
              items: batch.map((d) => ({ id: d.ref.id, attempt: d.ref.attempt, result: d.result })),
            }),
          retryHooks("complete"),
        ),
      );
    } catch (err) {
      // Not an outage: one item poisons the batch. Write them one by one.
      log("warn", "jobs.complete_batch_failed", {
        worker: state.settings.lockedBy,
        error: describe(err),
      });
      done = await completeOneByOne(batch);
    }
    state.completions.splice(0, batch.length);
    const items: Finished[] = [];
    for (const d of batch) {
      const fields = {
        job_id: d.ref.id,
        type: d.ref.type,
        attempt: d.ref.attempt,
        worker: state.settings.lockedBy,
        ms: d.ms,
      };
      if (done.has(d.ref.id)) {
        log("info", "job.completed", fields);
        items.push({ job: d.ref, outcome: "completed", ms: d.ms });
      } else if (d.result !== undefined) {
        log("warn", "job.lost", { ...fields, reason: "lease no longer held; result discarded" });
        items.push({ job: d.ref, outcome: "lost", ms: d.ms });
      }
    }
    finished(items);
  }
}

async function completeOneByOne(batch: Done[]): Promise<Set<string>> {
  const done = new Set<string>();
  for (const d of batch) {
    try {
      const row = await withRetry(
        () =>
          jobs.complete(state.sql, {
            id: d.ref.id,
            attempt: d.ref.attempt,
            worker: state.settings.lockedBy,
            result: d.result,
          }),
        retryHooks("complete"),
      );
      if (row) done.add(d.ref.id);
    } catch (err) {
      if (isTransient(err)) throw err;
      await recordFailure(d.ref, `the result could not be stored: ${describe(err)}`, false, d.ms);
      d.result = undefined; // reported by recordFailure
    }
  }
  return done;
}
