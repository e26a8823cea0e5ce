/**
 * The supervisor's side of its runners' marks (worker/runner_marks.ts): a
 * runner a quarter of the way to the bound of its batch's mark asks (a `mark`
 * message), and this writes new bounds, the lead past where each runner is,
 * in one statement for it and for every other runner past its ask point, then
 * tells each runner its bound in the memory they share (a runner waiting
 * for it wakes). Asks that come while a write is out wait for it and go
 * together in the next. One write usually serves several runners, so the
 * statements are fewer than the asks.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import { dropMarks, type MarkRaise, raiseMarks } from "../../lib/queue/marks.ts";
import { MARK_LEAD, markAskAt, type RunnerStatus } from "../protocol.ts";
import { delay, describe, isTransient, retryDelayMs } from "../retry.ts";

/**
 * A runner: its shared memory, the id of the job it holds with a sequence
 * number, and the sequence number after its last claimed job (from its
 * `claimed` messages, which may come after its shared memory shows a batch).
 */
export interface MarkedRunner {
  status: RunnerStatus;
  idAt: (seq: number) => string | undefined;
  claimedTo: () => number;
}

/** A bound to write, with what the runner is told once it is. */
type Raise = MarkRaise & { status: RunnerStatus; upTo: number; ask: number };

/** Writes runners' bounds as they ask. */
export class MarkWriter {
  readonly #sql: Sql;
  readonly #lead: number;
  readonly #runners = new Map<string, MarkedRunner>();
  /** The runners that asked since the last write. */
  readonly #asked = new Set<string>();
  #writing = false;

  /**
   * `sql`: where the bounds are written: a connection of their own (see the
   * supervisor), so that a write never queues behind the process's other
   * statements (a lease renewal of thousands of jobs) while runners wait for
   * it. `lead`: how far past a runner its bound goes (`--mark-lead`).
   */
  constructor(sql: Sql, lead = MARK_LEAD) {
    this.#sql = sql;
    this.#lead = lead;
  }

  /** Closes the connection once the runners are gone. */
  async close(): Promise<void> {
    await this.#sql.end({ timeout: 1 }).catch(() => {});
  }

  /** Runner `lockedBy` asks for its bound to move. */
  ask(lockedBy: string, runner: MarkedRunner): void {
    this.#runners.set(lockedBy, runner);
    this.#asked.add(lockedBy);
    if (!this.#writing) this.#write();
  }

  /** A runner stopped or was replaced. */
  forget(lockedBy: string): void {
    this.#runners.delete(lockedBy);
    this.#asked.delete(lockedBy);
  }

  async #write(): Promise<void> {
    this.#writing = true;
    let failures = 0;
    try {
      while (this.#asked.size) {
        const asked = new Set(this.#asked);
        this.#asked.clear();
        const items = this.#bounds(asked);
        if (items.length === 0) continue;
        try {
          await this.#raise(items);
          failures = 0;
        } catch (err) {
          // Asked again unless asked anew meanwhile; a runner waiting at its
          // bound also asks again by itself.
          for (const r of asked) this.#asked.add(r);
          log("warn", "worker.mark_failed", { runners: items.length, error: describe(err) });
          await delay(retryDelayMs(failures++, 2000));
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * The bounds to write: for each runner past its ask point, the first job
   * it still holds from the lead past where it is (none held up to the
   * batch's end: any may start), and where it asks next.
   */
  #bounds(asked: Set<string>): Raise[] {
    const items: Raise[] = [];
    for (const [runner, r] of this.#runners) {
      const m = r.status.markRead();
      if (!m || m.bound >= m.end || (m.at < m.ask && !asked.has(runner))) continue;
      // Its `claimed` message not read yet: the batch's ids are unknown.
      if (m.end > r.claimedTo()) continue;
      const at = Math.max(m.at, m.first);
      let upTo = Math.min(m.end, at + this.#lead);
      if (upTo <= m.bound) continue;
      let bound: string | undefined;
      for (; upTo < m.end && !(bound = r.idAt(upTo)); upTo++);
      items.push({
        runner,
        seq: m.first,
        bound: bound ?? null,
        status: r.status,
        upTo,
        ask: markAskAt(at, this.#lead),
      });
    }
    return items;
  }

  /**
   * One statement for every bound; a refused write (not an outage) drops
   * the marks instead, so that the runners may go on with every job they
   * hold charged, as with no mark.
   */
  async #raise(items: Raise[]): Promise<void> {
    const by = new Map(items.map((i) => [i.runner, i]));
    try {
      for (const runner of await raiseMarks(this.#sql, items)) {
        const i = by.get(runner);
        i?.status.markConfirm(i.upTo, i.ask);
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
