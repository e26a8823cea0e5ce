/**
 * The worker's listener: wakes an idle runner for each `NOTIFY jobq_new`,
 * passes each `NOTIFY jobq_cancel` (payload: a job id) on to the runners and
 * wakes the scheduler for each `NOTIFY jobq_schedules`, on
 * a LISTEN connection of `lib/queue/notify.ts` (the project's one LISTEN
 * owner) that re-LISTENs after every drop; after each (re-)LISTEN it wakes
 * every runner, since notifications sent while it was not listening are lost.
 * LISTEN is a wake-up, not a need: runners also poll, so while it cannot
 * listen (a `DATABASE_LISTEN_URL` that is wrong, refused or gone) the worker
 * still picks up every job, a poll interval later.
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
  /**
   * The database health the LISTEN connection reports to, when it reaches the
   * pool's server; `null` for a listen URL of its own (`DATABASE_LISTEN_URL`),
   * whose outage is no outage of the database the worker claims from.
   */
  health: DbHealth | null;
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
  #unavailable = false;

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
        opts.health?.ok();
        if (this.#unavailable) {
          this.#unavailable = false;
          log("info", "worker.listen_resumed", { worker: opts.worker });
        }
        log("debug", "worker.listening", { worker: opts.worker, channel: CHANNEL_NEW_JOBS });
        opts.onListening();
      },
      retry: (op) => this.#retry(op),
    });
  }

  /**
   * Resolves once listening (or once the retry gave up, which is logged). With
   * a listen URL of its own it waits for one attempt only: when that fails it
   * goes on trying in the background while the runners poll.
   */
  async start(): Promise<void> {
    if (this.#o.health) {
      await this.#listener.start().catch(() => {});
      return;
    }
    try {
      await this.#listener.start({ retry: false });
    } catch (err) {
      this.#wentAway(err);
      this.#listener.start().catch(() => {});
    }
  }

  /** Stops listening and ends the connection. */
  async stop(): Promise<void> {
    this.#closed = true;
    await this.#listener.close();
  }

  #wentAway(err: unknown): void {
    if (this.#unavailable || this.#closed) return;
    this.#unavailable = true;
    log("warn", "worker.listen_unavailable", {
      worker: this.#o.worker,
      error: describe(err),
      fallback: "polling",
    });
  }

  async #retry(op: () => Promise<unknown>): Promise<unknown> {
    const { health, worker } = this.#o;
    const hooks = health ? health.hooks("listen", () => this.#closed) : {
      label: "listen",
      giveUp: () => this.#closed,
      onDown: (err: unknown) => this.#wentAway(err),
    };
    try {
      return await withRetry(op, { ...hooks, maxDelayMs: health ? 3000 : 10_000 });
    } catch (err) {
      if (!this.#closed) log("error", "worker.listen_failed", { worker, error: describe(err) });
      throw err;
    }
  }
}
