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
import { post, refOf, state } from "./runner_state.ts";
import { flush, recordFailure } from "./runner_writes.ts";
import type { HandlerMap } from "./types.ts";

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

/**
 * Runs one claimed job (`seq`: its sequence number from the `claimed`
 * message) to its end: its outcome is written, or buffered for the next
 * completion batch, when this resolves.
 */
export async function runOne(job: LeanJob, seq: number): Promise<void> {
  const ref = refOf(job);
  const handler = state.handlers[job.type];
  // The job's own bound when it has one, else its type's.
  const timeoutMs = Math.max(1, Math.round((job.timeout_seconds ?? handler.timeoutSeconds) * 1000));
  const ac = new AbortController();
  const t0 = performance.now();
  const timeout = Promise.withResolvers<"timeout">();
  const entry = state.freeEntries.pop() ?? 0;
  const cur = {
    ref,
    entry,
    ac,
    deadline: t0 + timeoutMs,
    timedOut: () => timeout.resolve("timeout"),
  };
  state.running.set(job.id, cur);
  state.status.start(seq, performance.timeOrigin + t0, timeoutMs, entry);
  watch(t0 + timeoutMs);
  const ms = () => Math.round(performance.now() - t0);
  try {
    await runHandler(job, ref, handler, timeoutMs, ac, timeout.promise, ms, entry);
  } finally {
    state.avgMs = state.avgMs * 0.7 + (performance.now() - t0) * 0.3;
    if (!state.halted) {
      // A halted runner's entries stay as they are: the supervisor reads
      // them to know which job was stuck.
      state.status.clear(entry);
      state.running.delete(job.id);
      state.freeEntries.push(entry);
    }
    state.cancels.delete(job.id);
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
  entry: number,
): Promise<void> {
  const ran = () => state.status.clear(entry);
  // `ran()` tells the supervisor the handler is done, before its outcome is
  // written: from here on the hard timeout no longer applies (a write waiting
  // out a database outage is not a hung handler).
  // The progress writer exists once the handler reports progress (most never do).
  let progress: ProgressWriter | null = null;
  const ctx = createContext(state.deps, job, ac.signal, (p, m) =>
    (progress ??= new ProgressWriter(
      state.sql,
      { id: ref.id, attempt: ref.attempt, worker: state.settings.lockedBy },
      () => post({ kind: "progress" }),
    )).report(p, m));
  // The last progress is written before the outcome (after it, the fence refuses it).
  const settled = (async () => await handler.run(job.payload, ctx))().then(
    (value) => ({ ok: true as const, value }),
    (error) => ({ ok: false as const, error }),
  ).then((r) => progress ? progress.close().then(() => r) : r);
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
