/// <reference lib="deno.worker" />
/**
 * Web Worker entry: one runner of the pool. It owns a small postgres.js pool
 * of its own and loops claim → run → complete/fail. The supervisor (main
 * thread) renews the leases of the jobs this runner reports holding, enforces
 * the hard timeout by terminating a runner whose handler will not stop, and
 * tells it to wake (new jobs), stop (graceful shutdown), drop lost jobs or
 * cancel jobs (the running one's signal aborts; one not started is not run).
 *
 * With `jobsPerRunner` above 1 the runner runs that many jobs at once (their
 * handlers interleave on its event loop: mail, webhooks, mostly waiting on
 * I/O). Either shape claims about BATCH_TARGET_MS of work at once (its free
 * slots when jobs are slow), starts the jobs in claim order as slots free
 * up, and marks what it has not started of a large batch (runner_marks.ts),
 * so a crash charges few jobs that never ran. The claim goes out with the
 * write of the completions before it.
 *
 * What the runner keeps is one state object (runner_state.ts); how much it
 * claims and how a claim goes out is runner_cycle.ts; how one attempt runs
 * is runner_run.ts; how it writes the end of attempts is
 * runner_writes.ts: completions are buffered and
 * written in batches, failures at once, and a write that fails because the
 * database is unreachable is kept in memory and retried until it goes through
 * (the fence — id, attempt, locked_by — makes a late or repeated write safe).
 */
import { openPool, ping } from "../lib/db.ts";
import { log, setLogLevel } from "../lib/log.ts";
import * as jobs from "./queue.ts";
import { closeTransports } from "./context.ts";
import {
  type JobRef,
  runnerAppName,
  type RunnerSettings,
  RunnerStatus,
  type ToRunner,
} from "./protocol.ts";
import { delay, describe } from "./retry.ts";
import { finished, post, state } from "./runner_state.ts";
import { flush, giveBack, recordFailure } from "./runner_writes.ts";
import { runOne } from "./runner_run.ts";
import { claimLimit, claimNext, completeAndClaim } from "./runner_cycle.ts";
import { firstBound, marksFor } from "./runner_marks.ts";
import type { HandlerMap } from "./types.ts";

type LeanJob = jobs.LeanJob;

/** Resolved by `go` or `stop`: a runner told to hold claims nothing before. */
const released = Promise.withResolvers<void>();

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
    case "go":
      released.resolve();
      break;
    case "stop":
      state.stopping = true;
      released.resolve();
      wake();
      break;
    case "lost":
      for (const id of m.ids) {
        state.lost.add(id);
        state.running.get(id)?.ac.abort(new Error("the job's lease was lost"));
      }
      break;
    case "cancel":
      for (const id of m.ids) {
        state.cancels.add(id);
        state.running.get(id)?.ac.abort(new DOMException("the job was cancelled", "AbortError"));
      }
      break;
  }
};

self.addEventListener("unhandledrejection", (e) => {
  // A handler's stray promise: note it, keep the runner alive.
  e.preventDefault();
  log("warn", "runner.unhandled_rejection", {
    worker: state.settings?.lockedBy,
    job_id: state.running.size === 1 ? [...state.running.keys()][0] : undefined,
    job_ids: state.running.size > 1 ? [...state.running.keys()] : undefined,
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
  const perRunner = Math.max(1, state.settings.jobsPerRunner ?? 1);
  state.marks = state.settings.marks === true;
  state.status = new RunnerStatus(state.settings.status, perRunner);
  for (let i = perRunner - 1; i >= 0; i--) state.freeEntries.push(i);
  state.sql = openPool(state.settings.databaseUrl, {
    max: 2,
    name: runnerAppName(state.settings.lockedBy),
    prepare: state.settings.config.DATABASE_PREPARE,
  });
  // postgres.js learns the array types on a connection's first round trip and
  // serialises a JS array parameter when the query is built: a claim built
  // before that sent its type list as the text "a,b,c" (22P02, malformed array
  // literal) and failed once. One round trip first; a database that is down
  // now is the claim loop's to wait out.
  await ping(state.sql).catch(() => {});
  state.deps = { sql: state.sql, config: state.settings.config, worker: state.settings.lockedBy };
  post({
    kind: "ready",
    types: Object.fromEntries(state.types.map((t) => [t, state.handlers[t].timeoutSeconds])),
  });
  if (state.settings.hold) await released.promise;
  await (perRunner > 1 ? loopMany() : loop());
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

/**
 * Waits for the next wake-up with no poll: every slot runs a handler, and
 * one ending wakes this (as `stop` does). No timer and no abort signal per
 * wait: a runner of several slots waits here once per cycle.
 */
function busy(): Promise<void> | undefined {
  if (state.wakePending || state.stopping) {
    state.wakePending = false;
    return undefined;
  }
  const { promise, resolve } = Promise.withResolvers<void>();
  state.wakeIdle = () => {
    state.wakeIdle = null;
    state.wakePending = false;
    resolve();
  };
  return promise;
}

/**
 * Claim → run → complete. The completions of a batch go out with the claim
 * of the next one, in one statement (runner_cycle.ts): one round trip and
 * one commit per batch instead of two, which is most of what a batch of
 * short jobs costs the runner and the database. The next claim is sent only
 * when the current batch is done: a claim in flight when a handler crashes
 * its Web Worker would hold jobs the supervisor never hears of, which would
 * then wait for their lease and lose an attempt they never ran. A batch
 * whose handlers take longer than the completion flush delay has its
 * completions written apart meanwhile (runner_run.ts).
 */
async function loop(): Promise<void> {
  while (!state.stopping && !state.halted) {
    // More completions than one statement takes (claims larger than the
    // completion batch): the rest are written apart first.
    if (state.completions.length > state.settings.completeBatch) flush();
    // Completions written by the claim's statement still hold their jobs'
    // slots of a limited queue to that claim (its snapshot sees them
    // processing): it may take fewer jobs, and an empty claim is retried.
    const unwritten = state.completions.length > 0;
    const limit = claimLimit();
    state.claimBound = firstBound(limit);
    // When the combined statement fails, its completions are written apart
    // (one by one if one of them poisons the batch) and the claim sent after.
    const claimed = await completeAndClaim(limit) ??
      (state.stopping ? null : await claimNext(limit, flush()));
    if (!claimed) {
      if (state.stopping) break;
      await delay(1000);
      continue;
    }
    const batch = claimed.jobs;
    if (batch.length === 0) {
      await flush();
      // Written now: claim once more before idling, so a queue at its limit
      // because of this runner's own finished jobs is served at once, not
      // at the next poll.
      if (unwritten) continue;
      post({ kind: "idle" });
      await idle();
      continue;
    }
    // A large batch is marked as it goes (runner_marks.ts): a crash then
    // charges no attempt to the jobs it never reached.
    const marks = marksFor(claimed.firstSeq, batch.length, state.claimBound);
    for (let i = 0; i < batch.length && !state.halted; i++) {
      if (state.stopping) {
        await giveBack(batch.slice(i));
        break;
      }
      if (marks) {
        const may = marks.before(claimed.firstSeq + i);
        if (may !== true && !(await may)) {
          await giveBack(batch.slice(i));
          break;
        }
      }
      const job = batch[i];
      const ref = claimed.refs[i];
      const admitted = admit(job, ref);
      if (admitted !== true && !(await admitted)) continue;
      await runOne(job, claimed.firstSeq + i, ref);
    }
    marks?.done();
  }
  if (state.halted) return;
  await flush();
  closeTransports();
  await state.sql.end({ timeout: 2 }).catch(() => {});
  post({ kind: "stopped" });
}

/**
 * Whether a claimed job is to start: one whose lease was lost meanwhile is
 * reported lost; one whose cancel came before it started is recorded
 * cancelled (the fenced write sees its cancel_requested_at). `true` at once
 * for the usual job (no promise to wait for).
 */
function admit(job: LeanJob, ref: JobRef): true | Promise<boolean> {
  if (state.lost.delete(job.id)) {
    finished([{ job: ref, outcome: "lost", ms: 0 }]);
    return Promise.resolve(false);
  }
  if (state.cancels.delete(job.id)) {
    return recordFailure(ref, "cancelled before its handler started", false, 0).then(() => false);
  }
  return true;
}

/**
 * The loop of a runner that runs several jobs at once: claim a batch (as
 * `loop` does, sized for all its slots, never fewer than its free slots),
 * start its jobs in claim order as slots free up, without waiting for their
 * handlers, and claim the next batch once all have started and a slot is
 * free. Completions of jobs ending close together share a batch write.
 * Stopping starts nothing more, lets the running handlers finish and gives
 * back what was claimed and not started.
 */
async function loopMany(): Promise<void> {
  const slots = state.status.entries;
  const tasks = new Set<Promise<void>>();
  while (!state.stopping && !state.halted) {
    const free = state.freeEntries.length;
    if (free === 0) {
      // A handler ending wakes this wait.
      await busy();
      continue;
    }
    if (state.completions.length > state.settings.completeBatch) flush();
    // The finished jobs' completions and the claim go out in one statement
    // (runner_cycle.ts). A finished job whose completion is written by the
    // claim's statement still counts as processing to the claim (of a
    // limited queue too): the claim may then take fewer jobs, never more,
    // and an empty claim is retried once the completions are written. When
    // that statement fails, the completions are written apart (one by one
    // if one of them poisons the batch) and the claim sent after them.
    const writing = state.completions.length > 0;
    const limit = claimLimit(slots, free);
    state.claimBound = firstBound(limit);
    const claimed = await completeAndClaim(limit) ??
      (state.stopping ? null : await claimNext(limit, flush()));
    if (!claimed) {
      if (state.stopping) break;
      await delay(1000);
      continue;
    }
    const batch = claimed.jobs;
    if (batch.length === 0) {
      if (writing) continue; // written now: claim once more before idling
      post({ kind: "idle" });
      await idle();
      continue;
    }
    const marks = marksFor(claimed.firstSeq, batch.length, state.claimBound);
    for (let i = 0; i < batch.length && !state.halted; i++) {
      // The next job starts when a slot is free (a handler ending wakes this).
      while (state.freeEntries.length === 0 && !state.stopping && !state.halted) await busy();
      if (state.halted) break;
      if (state.stopping) {
        await giveBack(batch.slice(i));
        break;
      }
      if (marks) {
        const may = marks.before(claimed.firstSeq + i, tasks.size === 0);
        if (may !== true && !(await may)) {
          await giveBack(batch.slice(i));
          break;
        }
      }
      const job = batch[i];
      const ref = claimed.refs[i];
      const admitted = admit(job, ref);
      if (admitted !== true && !(await admitted)) continue;
      const task: Promise<void> = runOne(job, claimed.firstSeq + i, ref)
        .catch((err) =>
          // Not a handler error (those are recorded by runOne): still end the attempt.
          recordFailure(ref, `the runner failed: ${describe(err)}`, false, 0)
        )
        .finally(() => {
          tasks.delete(task);
          wake();
        });
      tasks.add(task);
    }
    marks?.done();
  }
  if (state.halted) return;
  await Promise.all(tasks);
  await flush();
  closeTransports();
  await state.sql.end({ timeout: 2 }).catch(() => {});
  post({ kind: "stopped" });
}
