/**
 * The supervisor's side of its runners' marks (worker/runner_marks.ts): a
 * runner past half way to the bound of its batch's mark asks (a `mark`
 * message), and this writes the bounds of every runner that asked in one
 * statement, then tells each runner its bound in the memory they share (a
 * runner waiting for it wakes). Asks that come while
 * a write is out wait for it and go together in the next: the more runners
 * ask, the more each statement carries.
 *
 * How far ahead a bound goes: `SLACK` jobs past where the runner is, or as
 * many as it runs in three of these writes (its recent pace, and the time
 * from an ask to its bound), so that a runner of fast jobs asks again before
 * it reaches the bound rather than wait for it.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import { dropMarks, type MarkRaise, raiseMarks } from "../../lib/queue/marks.ts";
import { type RunnerStatus, SLACK } from "../protocol.ts";
import { delay, describe, isTransient, retryDelayMs } from "../retry.ts";

/**
 * A runner that asked: its shared memory, the id of the job it holds with a
 * sequence number (its `claimed` messages), and when it asked.
 */
interface Asker {
  status: RunnerStatus;
  idAt: (seq: number) => string | undefined;
  askedAt: number;
}

/** A runner's pace: where it was at the last ask, when, and its recent jobs per ms. */
interface Pace {
  at: number;
  t: number;
  perMs: number;
}

/** A bound moves at most this many jobs ahead (a claim takes at most `--claim-batch`). */
const MAX_LEAD = 4096;

/** Writes runners' bounds as they ask. */
export class MarkWriter {
  readonly #sql: Sql;
  readonly #asks = new Map<string, Asker>();
  readonly #pace = new Map<string, Pace>();
  /** Time from an ask to its bound written (ms, moving average). */
  #turnMs = 2;
  #writing = false;

  readonly #fixedLead: number | undefined;

  /** `fixedLead`: every bound this many jobs past the runner, whatever its pace (`--mark-lead`). */
  constructor(sql: Sql, fixedLead?: number) {
    this.#sql = sql;
    this.#fixedLead = fixedLead;
  }

  /** Runner `lockedBy` asks for its bound to move. */
  ask(lockedBy: string, asker: Omit<Asker, "askedAt">): void {
    this.#asks.set(lockedBy, { ...asker, askedAt: performance.now() });
    if (!this.#writing) this.#write();
  }

  /** A runner stopped or was replaced: its pace is of no more use. */
  forget(lockedBy: string): void {
    this.#pace.delete(lockedBy);
    this.#asks.delete(lockedBy);
  }

  async #write(): Promise<void> {
    this.#writing = true;
    let failures = 0;
    try {
      while (this.#asks.size) {
        const items = this.#bounds();
        this.#asks.clear();
        if (items.length === 0) break;
        try {
          await this.#raise(items);
          failures = 0;
        } catch (err) {
          // Asked again unless asked anew meanwhile; a runner waiting at its
          // bound also asks again by itself.
          for (const i of items) if (!this.#asks.has(i.runner)) this.#asks.set(i.runner, i);
          log("warn", "worker.mark_failed", { runners: items.length, error: describe(err) });
          await delay(retryDelayMs(failures++, 2000));
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * The bounds to write for the runners that asked: each the first job the
   * runner still holds from `lead` jobs past where it is (none held up to
   * the batch's end: any may start), and where it asks next.
   */
  #bounds(): (MarkRaise & Asker & { upTo: number; ask: number })[] {
    const now = performance.now();
    const items = [];
    for (const [runner, asker] of this.#asks) {
      const m = asker.status.markRead();
      if (!m) continue;
      const at = Math.max(m.at, m.first);
      const pace = this.#pace.get(runner);
      let perMs = 0;
      if (pace && at > pace.at && now > pace.t) {
        // The recent peak, decaying: a runner that waited for its bound
        // looks slower than it is.
        perMs = Math.max((at - pace.at) / (now - pace.t), pace.perMs * 0.9);
      } else if (pace) perMs = pace.perMs;
      this.#pace.set(runner, { at, t: now, perMs });
      const lead = this.#fixedLead ??
        Math.min(MAX_LEAD, Math.max(SLACK, Math.ceil(perMs * 3 * this.#turnMs)));
      let upTo = Math.min(m.end, at + lead);
      if (upTo <= m.bound) continue;
      let bound: string | undefined;
      for (; upTo < m.end && !(bound = asker.idAt(upTo)); upTo++);
      items.push({
        runner,
        seq: m.first,
        bound: bound ?? null,
        upTo,
        ask: at + Math.ceil(lead / 2),
        ...asker,
      });
    }
    return items;
  }

  /**
   * One statement for every bound; a refused write (not an outage) drops
   * the marks instead, so that the runners may go on with every job they
   * hold charged, as with no mark.
   */
  async #raise(items: (MarkRaise & Asker & { upTo: number; ask: number })[]): Promise<void> {
    const by = new Map(items.map((i) => [i.runner, i]));
    try {
      const moved = await raiseMarks(this.#sql, items);
      const now = performance.now();
      for (const runner of moved) {
        const i = by.get(runner);
        if (!i) continue;
        i.status.markConfirm(i.upTo, i.ask);
        this.#turnMs = 0.8 * this.#turnMs + 0.2 * (now - i.askedAt);
      }
    } catch (err) {
      if (isTransient(err)) throw err;
      await dropMarks(this.#sql, items.map((i) => i.runner));
      log("error", "worker.marks_dropped", { runners: [...by.keys()], error: describe(err) });
      for (const i of items) {
        const m = i.status.markRead();
        if (m && m.first === i.seq) i.status.markConfirm(m.end);
      }
    }
  }
}
