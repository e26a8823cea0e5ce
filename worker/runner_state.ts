/// <reference lib="deno.worker" />
/**
 * What one runner (a Web Worker) keeps between messages and jobs, in one
 * object, and the small helpers every part of the runner uses to talk to the
 * supervisor.
 */
import type { Sql } from "../lib/db.ts";
import { log } from "../lib/log.ts";
import type * as jobs from "./queue.ts";
import type { ContextDeps } from "./context.ts";
import type { Finished, FromRunner, JobRef, RunnerSettings, RunnerStatus } from "./protocol.ts";
import { describe, type RetryHooks } from "./retry.ts";
import type { HandlerMap } from "./types.ts";

/** An attempt whose handler runs now: its abort, its deadline and how to end its wait early. */
export interface Current {
  ref: JobRef;
  /** Its entry in the shared {@link RunnerStatus}. */
  entry: number;
  ac: AbortController;
  deadline: number;
  timedOut: () => void;
}

/** A completion waiting in the buffer for the next batch write. */
export interface Done {
  ref: JobRef;
  result: unknown;
  ms: number;
}

/** Everything this runner keeps between messages and jobs, in one place. */
export interface RunnerState {
  /** Settings, pool, handlers, claimed types, handler deps and shared status: set by `init`. */
  settings: RunnerSettings;
  sql: Sql;
  handlers: HandlerMap;
  types: string[];
  deps: ContextDeps;
  status: RunnerStatus;
  /** One slot: claims may write their batch's mark, moved as the batch goes (runner_marks.ts). */
  marks: boolean;
  /** The bound the claim being sent writes with its batch (`undefined`: no mark). */
  claimBound: number | undefined;
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
  /** Jobs held whose cancel was requested (the supervisor's `cancel` message). */
  cancels: Set<string>;
  /** The attempts whose handlers run now, by job id (at most `jobsPerRunner`). */
  running: Map<string, Current>;
  /** Entries of the shared status no handler uses now. */
  freeEntries: number[];
  /** Moving average of this runner's job run time (ms). */
  avgMs: number;
  /** Completions not yet written, the chain of batch writes, and the timer of the next. */
  completions: Done[];
  flushChain: Promise<void>;
  flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** The one timer watching the running handlers' timeouts (see {@link watch}). */
  watchdog: { at: number; timer: ReturnType<typeof setTimeout> } | null;
}

export const state: RunnerState = {
  // The first six are set by init(); no message but "init" reads them before it has run.
  settings: undefined as never,
  sql: undefined as never,
  handlers: undefined as never,
  types: undefined as never,
  deps: undefined as never,
  status: undefined as never,
  marks: false,
  claimBound: undefined,
  nextSeq: 0,
  stopping: false,
  halted: false,
  dbUp: true,
  wakePending: false,
  wakeIdle: null,
  lost: new Set<string>(),
  cancels: new Set<string>(),
  running: new Map<string, Current>(),
  freeEntries: [],
  avgMs: 0,
  completions: [],
  flushChain: Promise.resolve(),
  flushTimer: undefined,
  watchdog: null,
};

/** Sends a message to the supervisor. */
export function post(m: FromRunner): void {
  self.postMessage(m);
}

/** Reports recorded attempts (nothing when `items` is empty). */
export function finished(items: Finished[]): void {
  if (items.length) post({ kind: "finished", items });
}

/** The supervisor's reference to a claimed job. */
export function refOf(job: jobs.LeanJob): JobRef {
  return { id: job.id, type: job.type, attempt: job.attempts };
}

/** Retry hooks that tell the supervisor when this runner finds the database down or back. */
export const retryHooks = (label: string, giveUp?: () => boolean): RetryHooks => ({
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
