/**
 * The worker's listener: wakes an idle runner for each `NOTIFY jobq_new`,
 * passes each `NOTIFY jobq_cancel` (payload: a job id) on to the runners and
 * wakes the scheduler for each `NOTIFY jobq_schedules`, on
 * a LISTEN connection of `lib/queue/notify.ts` (the project's one LISTEN
 * owner) that re-LISTENs after every drop; after each (re-)LISTEN it wakes
 * every runner, since notifications sent while it was not listening are lost.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import { CHANNEL_CANCEL, CHANNEL_NEW_JOBS, Listener } from "../../lib/queue/mod.ts";
import { CHANNEL_SCHEDULES } from "../../lib/queue/schedules.ts";
import { describe, withRetry } from "../retry.ts";
import type { DbHealth } from "./health.ts";

/** Options of {@link NewJobsListener}. */
export interface NewJobsListenerOptions {
  /** The pool the LISTEN connection is modelled on (it is not one of its connections). */
  sql: Sql;
  /** The process's worker id, for log lines. */
  worker: string;
  health: DbHealth;
  /** A new job is due: wake one runner. */
  onNewJob(): void;
  /** The cancel of job `id` was requested: abort it if a runner here runs it. */
  onCancel?(id: string): void;
  /** Listening (again): notifications may have been missed, look now. */
  onListening(): void;
  /** Schedules changed (`NOTIFY jobq_schedules`): wake the scheduler. */
  onSchedulesChanged?(): void;
}

/** LISTENs on `jobq_new`, `jobq_cancel` and `jobq_schedules` until stopped. */
export class NewJobsListener {
  #o: NewJobsListenerOptions;
  #listener: Listener;
  #closed = false;

  constructor(opts: NewJobsListenerOptions) {
    this.#o = opts;
    this.#listener = new Listener(opts.sql, {
      channels: [CHANNEL_NEW_JOBS, CHANNEL_CANCEL, CHANNEL_SCHEDULES],
      name: "jobq-worker-listen",
      onNotify: (channel, payload) => {
        if (channel === CHANNEL_CANCEL) opts.onCancel?.(payload);
        else if (channel === CHANNEL_SCHEDULES) opts.onSchedulesChanged?.();
        else opts.onNewJob();
      },
      onListening: () => {
        opts.health.ok();
        log("debug", "worker.listening", { worker: opts.worker, channel: CHANNEL_NEW_JOBS });
        opts.onListening();
      },
      retry: (op) => this.#retry(op),
    });
  }

  /** Resolves once listening (or once the retry gave up, which is logged). */
  async start(): Promise<void> {
    await this.#listener.start().catch(() => {});
  }

  /** Stops listening and ends the connection. */
  async stop(): Promise<void> {
    this.#closed = true;
    await this.#listener.close();
  }

  async #retry(op: () => Promise<unknown>): Promise<unknown> {
    const { health, worker } = this.#o;
    try {
      return await withRetry(op, {
        ...health.hooks("listen", () => this.#closed),
        maxDelayMs: 3000,
      });
    } catch (err) {
      if (!this.#closed) log("error", "worker.listen_failed", { worker, error: describe(err) });
      throw err;
    }
  }
}
