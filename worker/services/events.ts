/**
 * The supervisor's events: what the worker process reports while it runs.
 * Services emit them on one {@link EventBus}; tests await them instead of
 * sleeping.
 */
import { log } from "../../lib/log.ts";
import type { jobs } from "../../lib/queue/mod.ts";
import type { JobRef } from "../protocol.ts";
import { describe } from "../retry.ts";

/** What the supervisor reports while it runs (tests await these instead of sleeping). */
export type SupervisorEvent =
  | { kind: "ready"; id: string; runners: string[] }
  | { kind: "claimed"; worker: string; jobs: JobRef[] }
  | { kind: "completed"; worker: string; job: JobRef; ms: number }
  | { kind: "failed"; worker: string; job: JobRef; ms: number; error: string; final: boolean }
  | { kind: "cancelled"; worker: string; job: JobRef }
  | { kind: "lost"; worker: string; job: JobRef }
  | { kind: "released"; worker: string; job: JobRef }
  | { kind: "rescued"; jobs: jobs.Rescued[] }
  | { kind: "replaced"; worker: string; next: string; reason: string }
  | { kind: "db_down"; error: string }
  | { kind: "db_up"; downMs: number }
  | { kind: "stopped" };

/** The event of one kind. */
export type EventOf<K extends SupervisorEvent["kind"]> = Extract<SupervisorEvent, { kind: K }>;

/** Subscribers of the supervisor's events; a throwing subscriber is logged, not propagated. */
export class EventBus {
  #listeners = new Set<(e: SupervisorEvent) => void>();

  /** `worker` names the process in the log line of a failing subscriber. */
  constructor(readonly worker: string) {}

  /** Calls every subscriber with `e`. */
  emit(e: SupervisorEvent): void {
    for (const fn of [...this.#listeners]) {
      try {
        fn(e);
      } catch (err) {
        log("error", "worker.listener_failed", {
          worker: this.worker,
          event: e.kind,
          error: describe(err),
        });
      }
    }
  }

  /** Calls `fn` for every event; returns the function that unsubscribes. */
  on(fn: (e: SupervisorEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Resolves with the next event of `kind` that passes `pred`; rejects after
   * `timeoutMs` (default 30 s) naming what it waited for.
   */
  waitFor<K extends SupervisorEvent["kind"]>(
    kind: K,
    pred?: (e: EventOf<K>) => boolean,
    timeoutMs = 30_000,
  ): Promise<EventOf<K>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a "${kind}" event`));
      }, timeoutMs);
      const off = this.on((e) => {
        if (e.kind !== kind) return;
        if (pred && !pred(e as EventOf<K>)) return;
        clearTimeout(timer);
        off();
        resolve(e as EventOf<K>);
      });
    });
  }
}
