/**
 * A handler's `ctx.progress(percent, message?)`: stored on the job, at most
 * one write per {@link PROGRESS_GAP_MS} (a call meanwhile replaces the value
 * waiting to be written, so the last value is always written), fenced on the
 * attempt (a write after the job left this runner changes nothing).
 */
import type { Sql } from "../lib/db.ts";
import { hasUnstorableChars } from "../lib/jobs/storable.ts";
import { log } from "../lib/log.ts";
import * as jobs from "./queue.ts";
import type { Fence } from "../lib/queue/complete.ts";
import { describe } from "./retry.ts";

/** Least time between two progress writes of one job (ms): at most four a second. */
export const PROGRESS_GAP_MS = 250;

/** A progress value as a handler gives it. */
interface Value {
  percent: number;
  message: string | null;
}

/**
 * Checks and normalises one `ctx.progress` call: `percent` a finite number,
 * clamped to 0–100 and rounded to 0.1; `message` text (cut to
 * {@link jobs.PROGRESS_MESSAGE_MAX} characters) or absent. Throws TypeError
 * on anything else (a handler bug, reported where it happens).
 */
export function progressValue(percent: unknown, message?: unknown): Value {
  if (typeof percent !== "number" || !Number.isFinite(percent)) {
    throw new TypeError("ctx.progress: percent must be a finite number (0–100)");
  }
  if (message !== undefined && message !== null && typeof message !== "string") {
    throw new TypeError("ctx.progress: message must be text");
  }
  let text = typeof message === "string" ? message.slice(0, jobs.PROGRESS_MESSAGE_MAX) : null;
  if (text !== null && hasUnstorableChars(text)) {
    text = text.replace(/[\0\ud800-\udfff]/g, "\ufffd");
  }
  return { percent: Math.round(Math.min(100, Math.max(0, percent)) * 10) / 10, message: text };
}

/** The progress of one attempt: throttled, fenced writes. */
export class ProgressWriter {
  #sql: Sql;
  #fence: Fence;
  #onStored: () => void;
  #pending: Value | null = null;
  #lastWrite = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | null = null;
  #closed = false;

  /** `onStored` is called after each value that was written. */
  constructor(sql: Sql, fence: Fence, onStored: () => void) {
    this.#sql = sql;
    this.#fence = fence;
    this.#onStored = onStored;
  }

  /** `ctx.progress`: validates now, writes soon; never waits, never rejects. */
  report(percent: unknown, message?: unknown): void {
    const value = progressValue(percent, message);
    if (this.#closed) return;
    this.#pending = value;
    this.#schedule();
  }

  /**
   * Ends the attempt's progress: writes the value still waiting (so the last
   * one stays on the job) and resolves when no write is in flight. Later
   * reports are dropped.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight || this.#pending) {
      if (this.#inFlight) await this.#inFlight;
      else this.#write();
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#inFlight) return;
    const wait = this.#lastWrite + PROGRESS_GAP_MS - performance.now();
    if (wait <= 0) this.#write();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#write();
      }, wait);
    }
  }

  #write(): void {
    const value = this.#pending;
    if (!value || this.#inFlight) return;
    this.#pending = null;
    this.#lastWrite = performance.now();
    this.#inFlight = jobs.setProgress(this.#sql, { ...this.#fence, ...value })
      .then((stored) => {
        if (stored) this.#onStored();
      }, (err) => {
        log("warn", "job.progress_not_stored", {
          job_id: this.#fence.id,
          attempt: this.#fence.attempt,
          worker: this.#fence.worker,
          error: describe(err),
        });
      })
      .finally(() => {
        this.#inFlight = null;
        if (this.#pending && !this.#closed) this.#schedule();
      });
  }
}
