/// <reference lib="deno.worker" />
/**
 * One attempt in a runner: its handler context, its timeout (one timer per
 * runner watches every running handler's deadline), the abort and the grace
 * after it, and how it ends — a completion buffered for the next batch write,
 * or a failure written at once.
 */
import { PermanentError } from "../lib/jobs/errors.ts";
import { createContext } from "./context.ts";
import { NotSerialisableError, toJsonResult } from "./json.ts";
import { ProgressWriter } from "./progress.ts";
import type { JobRef } from "./protocol.ts";
import type * as jobs from "./queue.ts";
import { type Current, post, refOf, state } from "./runner_state.ts";
import { flush, recordFailure } from "./runner_writes.ts";
import type { HandlerMap, WorkerContext } from "./types.ts";

type LeanJob = jobs.LeanJob;

/**
 * One timer watches the running handlers' timeouts, instead of a timer per
 * job: it is armed for the earliest deadline it knows and, when it fires,
 * times out every handler past its deadline and re-arms for the earliest
 * of the others.
 */
function watch(deadline: number): void {
  if (state.watchdog && state.watchdog.at <= deadline) return;
  if (state.watchdog) clearTimeout(state.watchdog.timer);
  const timer = setTimeout(() => {
    state.watchdog = null;
    const now = performance.now();
    let next = Infinity;
    for (const cur of state.running.values()) {
      if (now >= cur.deadline) cur.timedOut();
      else next = Math.min(next, cur.deadline);
    }
    if (next < Infinity) watch(next);
  }, Math.max(0, deadline - performance.now()));
  state.watchdog = { at: deadline, timer };
}

function isPermanent(err: unknown): boolean {
  return err instanceof PermanentError || (err as Error | null)?.name === "PermanentError";
}

/** Where a handler is: running, returned (`value` its result) or threw (`value` its error). */
const RUNNING = 0;
const RETURNED = 1;
const THREW = 2;

/**
 * One attempt whose handler runs now (the `Current` of runner_state.ts): one
 * object per job, its methods shared, so an attempt allocates little (a
 * runner's young generation is small, and what a job allocates is paid for
 * in scavenges).
 */
class Attempt implements Current {
  readonly ac = new AbortController();
  readonly t0 = performance.now();
  readonly deadline: number;
  /** The handler's end, once its last progress is written (`settle`). */
  ended: typeof RUNNING | typeof RETURNED | typeof THREW = RUNNING;
  value: unknown = undefined;
  /** Set when writing the last progress failed: not the handler's fault, the runner's. */
  fault: { error: unknown } | null = null;
  /** The deadline passed (`timedOut`, once). */
  expired = false;
  /** The progress writer, once the handler reports progress (most never do). */
  progress: ProgressWriter | null = null;
  #wake: (() => void) | null = null;

  constructor(readonly ref: JobRef, readonly entry: number, readonly timeoutMs: number) {
    this.deadline = this.t0 + timeoutMs;
  }

  /** Resolves at the next {@link wake}: the handler ended, the deadline passed or the grace ended. */
  sleep(): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#wake = resolve;
    return promise;
  }

  wake(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** The watchdog: the deadline passed (the first call counts). */
  timedOut(): void {
    if (this.expired) return;
    this.expired = true;
    this.wake();
  }

  /** `ctx.progress`. */
  report(percent: number, message?: string): void {
    (this.progress ??= new ProgressWriter(
      state.sql,
      { id: this.ref.id, attempt: this.ref.attempt, worker: state.settings.lockedBy },
      notifyProgress,
    )).report(percent, message);
  }

  /** Milliseconds since the handler started. */
  ms(): number {
    return Math.round(performance.now() - this.t0);
  }
}

const notifyProgress = () => post({ kind: "progress" });

/**
 * Runs the handler to its end, then writes its last progress (after the
 * outcome the fence refuses it), then notes how it ended and wakes the
 * attempt. Never rejects.
 */
async function settle(
  cur: Attempt,
  handler: HandlerMap[string],
  job: LeanJob,
  ctx: WorkerContext,
): Promise<void> {
  let value: unknown;
  let ended: typeof RETURNED | typeof THREW = RETURNED;
  try {
    value = await handler.run(job.payload, ctx);
  } catch (err) {
    value = err;
    ended = THREW;
  }
  if (cur.progress) {
    try {
      await cur.progress.close();
    } catch (err) {
      cur.fault = { error: err };
    }
  }
  cur.value = value;
  cur.ended = ended;
  cur.wake();
}

/**
 * Runs one claimed job (`seq`: its sequence number from the `claimed`
 * message; `ref`: its reference as that message gave it) to its end: its
 * outcome is written, or buffered for the next completion batch, when this
 * resolves.
 */
export async function runOne(job: LeanJob, seq: number, ref: JobRef = refOf(job)): Promise<void> {
  const handler = state.handlers[job.type];
  // The job's own bound when it has one, else its type's.
  const timeoutMs = Math.max(1, Math.round((job.timeout_seconds ?? handler.timeoutSeconds) * 1000));
  const cur = new Attempt(ref, state.freeEntries.pop() ?? 0, timeoutMs);
  state.running.set(job.id, cur);
  state.status.start(seq, performance.timeOrigin + cur.t0, timeoutMs, cur.entry);
  watch(cur.deadline);
  try {
    const woken = cur.sleep();
    settle(cur, handler, job, createContext(state.deps, job, cur.ac.signal, cur));
    await woken;
    if (cur.fault) throw cur.fault.error;
    if (cur.ended === RUNNING) await timeOut(cur);
    else {
      // The handler is done, before its outcome is written: from here on the
      // hard timeout no longer applies (a write waiting out a database outage
      // is not a hung handler).
      state.status.clear(cur.entry);
      await record(cur);
    }
  } finally {
    state.avgMs = state.avgMs * 0.7 + (performance.now() - cur.t0) * 0.3;
    if (!state.halted) {
      // A halted runner's entries stay as they are: the supervisor reads
      // them to know which job was stuck.
      state.status.clear(cur.entry);
      state.running.delete(job.id);
      state.freeEntries.push(cur.entry);
    }
    state.cancels.delete(job.id);
  }
}

/**
 * The deadline passed with the handler still running: abort its signal and
 * give it the grace to stop; one that ignores it halts this runner (the
 * supervisor replaces it).
 */
async function timeOut(cur: Attempt): Promise<void> {
  const { ref, timeoutMs } = cur;
  const msg = `timed out after ${timeoutMs / 1000} s`;
  const woken = cur.sleep();
  cur.ac.abort(new DOMException(msg, "TimeoutError"));
  const graceTimer = setTimeout(() => cur.wake(), state.settings.abortGraceMs);
  await woken;
  clearTimeout(graceTimer);
  if (cur.fault) throw cur.fault.error;
  if (cur.ended === RUNNING) {
    await recordFailure(
      ref,
      `${msg}; the handler ignored the abort signal, so its Web Worker was replaced`,
      false,
      cur.ms(),
    );
    await flush();
    state.halted = true;
    post({ kind: "stuck", job: ref, timeoutMs });
    return;
  }
  state.status.clear(cur.entry);
  await recordFailure(ref, msg, false, cur.ms());
}

/** The handler ended: a failure is written now, a completion buffered for the next batch. */
async function record(cur: Attempt): Promise<void> {
  const { ref } = cur;
  if (cur.ended === THREW) {
    await recordFailure(ref, cur.value, isPermanent(cur.value), cur.ms());
    return;
  }
  let result: unknown;
  try {
    result = toJsonResult(cur.value);
  } catch (err) {
    if (!(err instanceof NotSerialisableError)) throw err;
    await recordFailure(
      ref,
      `handler returned a value that is not JSON-serialisable: ${err.message}`,
      false,
      cur.ms(),
    );
    return;
  }
  state.completions.push({ ref, result, ms: cur.ms() });
  if (state.completions.length >= state.settings.completeBatch) {
    await flush();
  } else if (state.flushTimer === undefined) {
    state.flushTimer = setTimeout(flushSoon, state.settings.completeFlushMs);
  }
}

function flushSoon(): void {
  state.flushTimer = undefined;
  flush();
}
