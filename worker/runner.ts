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

let s: RunnerSettings;
let sql: Sql;
let handlers: HandlerMap;
let types: string[];
let deps: ContextDeps;
let status: RunnerStatus;
/** Sequence number of the next claimed job (see the `claimed` message). */
let nextSeq = 0;

let stopping = false;
/** Set after a handler ignored its abort: this runner does no more work and waits to be terminated. */
let halted = false;
let dbUp = true;
let wakePending = false;
let wakeIdle: (() => void) | null = null;
const lost = new Set<string>();
/** The attempt whose handler runs now: its abort, its deadline and how to end its wait early. */
let current: {
  ref: JobRef;
  ac: AbortController;
  deadline: number;
  timedOut: () => void;
} | null = null;
/** Moving average of this runner's job run time (ms). */
let avgMs = 0;
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
  if (avgMs <= 0) return Math.min(FIRST_CLAIM, s.claimBatch);
  return Math.max(1, Math.min(s.claimBatch, Math.floor(BATCH_TARGET_MS / avgMs)));
}

interface Done {
  ref: JobRef;
  result: unknown;
  ms: number;
}
const completions: Done[] = [];
let flushChain: Promise<void> = Promise.resolve();
let flushTimer: ReturnType<typeof setTimeout> | undefined;

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
let watchdog: { at: number; timer: ReturnType<typeof setTimeout> } | null = null;
function watch(deadline: number): void {
  if (watchdog && watchdog.at <= deadline) return;
  if (watchdog) clearTimeout(watchdog.timer);
  const timer = setTimeout(() => {
    watchdog = null;
    if (!current) return;
    if (performance.now() >= current.deadline) current.timedOut();
    else watch(current.deadline);
  }, Math.max(0, deadline - performance.now()));
  watchdog = { at: deadline, timer };
}

function refOf(job: LeanJob): JobRef {
  return { id: job.id, type: job.type, attempt: job.attempts };
}

const retryHooks = (label: string, giveUp?: () => boolean) => ({
  label,
  giveUp,
  onDown(err: unknown) {
    if (dbUp) {
      dbUp = false;
      log("debug", "runner.db_down", { worker: s.lockedBy, op: label, error: describe(err) });
      post({ kind: "db", up: false, error: describe(err) });
    }
  },
  onUp() {
    if (!dbUp) {
      dbUp = true;
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
      stopping = true;
      wake();
      break;
    case "lost":
      for (const id of m.ids) lost.add(id);
      if (current && m.ids.includes(current.ref.id)) {
        current.ac.abort(new Error("the job's lease was lost"));
      }
      break;
  }
};

self.addEventListener("unhandledrejection", (e) => {
  // A handler's stray promise: note it, keep the runner alive.
  e.preventDefault();
  log("warn", "runner.unhandled_rejection", {
    worker: s?.lockedBy,
    job_id: current?.ref.id,
    error: describe(e.reason),
  });
});

async function init(settings: RunnerSettings): Promise<void> {
  s = settings;
  setLogLevel(s.config.LOG_LEVEL);
  const mod = await import(s.handlersModule);
  if (!mod.handlers || typeof mod.handlers !== "object") {
    throw new Error(
      `${s.handlersModule} does not export \`handlers\` (a map of job type → handler)`,
    );
  }
  handlers = mod.handlers as HandlerMap;
  types = (s.types ?? Object.keys(handlers)).filter((t) => handlers[t]);
  status = new RunnerStatus(s.status);
  sql = openPool(s.databaseUrl, { max: 2, name: `jobq-runner ${s.lockedBy}`.slice(0, 63) });
  deps = { sql, config: s.config, worker: s.lockedBy };
  post({
    kind: "ready",
    types: Object.fromEntries(types.map((t) => [t, handlers[t].timeoutSeconds])),
  });
  await loop();
}

function wake(): void {
  if (wakeIdle) wakeIdle();
  else wakePending = true;
}

async function idle(): Promise<void> {
  if (wakePending || stopping) {
    wakePending = false;
    return;
  }
  // Jittered poll: the fallback when a notification is lost.
  const ms = Math.round(s.pollMs * (0.5 + Math.random()));
  const ac = new AbortController();
  wakeIdle = () => ac.abort();
  await delay(ms, ac.signal);
  wakeIdle = null;
  wakePending = false;
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
        jobs.claim(sql, {
          worker: s.lockedBy,
          limit: claimLimit(),
          leaseSeconds: s.leaseSeconds,
          types,
          lean: true,
        }),
      retryHooks("claim", () => stopping),
    );
  } catch (err) {
    if (!stopping) {
      log("error", "runner.claim_failed", { worker: s.lockedBy, error: describe(err) });
    }
    return null;
  }
  const firstSeq = nextSeq;
  nextSeq += batch.length;
  if (batch.length) {
    post({ kind: "claimed", firstSeq, jobs: batch.map(refOf) });
    log("info", "jobs.claimed", {
      worker: s.lockedBy,
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
  while (!stopping && !halted) {
    if (completions.length >= 2 * s.completeBatch) await flush();
    else if (completions.length) flush();
    if (stopping) break;
    const claimed = await claimNext();
    if (!claimed) {
      if (stopping) break;
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
    for (let i = 0; i < batch.length && !halted; i++) {
      if (stopping) {
        await giveBack(batch.slice(i));
        break;
      }
      const job = batch[i];
      if (lost.delete(job.id)) {
        finished([{ job: refOf(job), outcome: "lost", ms: 0 }]);
        continue;
      }
      await runOne(job, claimed.firstSeq + i);
    }
  }
  if (halted) return;
  await flush();
  closeTransports();
  await sql.end({ timeout: 2 }).catch(() => {});
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
          jobs.release(sql, {
            worker: s.lockedBy,
            items,
            reason: "given back on shutdown before it started",
          }),
        retryHooks("release"),
      ),
    );
    log("info", "jobs.released", { worker: s.lockedBy, count: ids.size, job_ids: [...ids] });
    finished(queue.map((j) => ({
      job: refOf(j),
      outcome: ids.has(j.id) ? "released" : "lost",
      ms: 0,
    })));
  } catch (err) {
    log("error", "jobs.release_failed", { worker: s.lockedBy, error: describe(err) });
  }
}

function isPermanent(err: unknown): boolean {
  return err instanceof PermanentError || (err as Error | null)?.name === "PermanentError";
}

async function runOne(job: LeanJob, seq: number): Promise<void> {
  const ref = refOf(job);
  const handler = handlers[job.type];
  const timeoutMs = Math.max(1, Math.round(handler.timeoutSeconds * 1000));
  const ac = new AbortController();
  const t0 = performance.now();
  const timeout = Promise.withResolvers<"timeout">();
  current = { ref, ac, deadline: t0 + timeoutMs, timedOut: () => timeout.resolve("timeout") };
  status.start(seq, performance.timeOrigin + t0, timeoutMs);
  watch(t0 + timeoutMs);
  const ms = () => Math.round(performance.now() - t0);
  try {
    await runHandler(job, ref, handler, timeoutMs, ac, timeout.promise, ms);
  } finally {
    avgMs = avgMs * 0.7 + (performance.now() - t0) * 0.3;
    current = null;
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
  const ctx = createContext(deps, job, ac.signal);
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
      graceTimer = setTimeout(() => r("stuck"), s.abortGraceMs)
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
      halted = true;
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
  completions.push({ ref, result, ms: ms() });
  if (completions.length >= s.completeBatch) {
    await flush();
  } else if (flushTimer === undefined) {
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      flush();
    }, s.completeFlushMs);
  }
}

/**
 * Tells the supervisor the handler is done, before its outcome is written:
 * from here on the hard timeout no longer applies (a write waiting out a
 * database outage is not a hung handler).
 */
function ran(): void {
  status.clear();
}

/** Writes a failed attempt (retrying through an outage); reports how it ended. */
async function recordFailure(
  ref: JobRef,
  error: unknown,
  permanent: boolean,
  ms: number,
): Promise<void> {
  const fence = { id: ref.id, attempt: ref.attempt, worker: s.lockedBy };
  const errorMsg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  try {
    const row = await withRetry(
      () => jobs.fail(sql, { ...fence, error, permanent, retry: s.retry }),
      retryHooks("fail"),
    );
    if (!row) {
      log("warn", "job.lost", {
        job_id: ref.id,
        type: ref.type,
        attempt: ref.attempt,
        worker: s.lockedBy,
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
      worker: s.lockedBy,
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
      worker: s.lockedBy,
      error: describe(err),
    });
    finished([{ job: ref, outcome: "lost", ms, error: errorMsg }]);
  }
}

/** Writes buffered completions (serialised: one flush at a time). Never rejects. */
function flush(): Promise<void> {
  if (flushTimer !== undefined) {
    clearTimeout(flushTimer);
    flushTimer = undefined;
  }
  flushChain = flushChain.then(flushNow, flushNow);
  return flushChain;
}

async function flushNow(): Promise<void> {
  while (completions.length > 0) {
    const batch = completions.slice(0, s.completeBatch);
    let done: Set<string>;
    try {
      done = new Set(
        await withRetry(
          () =>
            jobs.completeIds(sql, {
              worker: s.lockedBy,
              items: batch.map((d) => ({ id: d.ref.id, attempt: d.ref.attempt, result: d.result })),
            }),
          retryHooks("complete"),
        ),
      );
    } catch (err) {
      // Not an outage: one item poisons the batch. Write them one by one.
      log("warn", "jobs.complete_batch_failed", { worker: s.lockedBy, error: describe(err) });
      done = await completeOneByOne(batch);
    }
    completions.splice(0, batch.length);
    const items: Finished[] = [];
    for (const d of batch) {
      const fields = {
        job_id: d.ref.id,
        type: d.ref.type,
        attempt: d.ref.attempt,
        worker: s.lockedBy,
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
          jobs.complete(sql, {
            id: d.ref.id,
            attempt: d.ref.attempt,
            worker: s.lockedBy,
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
