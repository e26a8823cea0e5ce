/// <reference lib="deno.worker" />
/**
 * What a runner has not started of its batch (migration 0022,
 * lib/queue/marks.ts): when its process is killed, the rescuer gives the
 * jobs it never reached back uncharged.
 *
 * The claim writes the batch's mark with the bound at the lead (32 jobs,
 * `--mark-lead`): jobs from there on have not started. The runner starts no
 * job at the bound the database holds or beyond. It publishes the job it
 * starts in memory shared with the supervisor (protocol.ts, `RunnerStatus`);
 * a quarter of the way to its bound it asks (a `mark` message), and the
 * supervisor moves the bound to the lead past where the runner is, for it
 * and every other runner past its ask point in one statement
 * (services/mark_writer.ts), then tells it through the same memory. The
 * runner sends no statement for it; it waits only when it reaches its bound
 * before the write is back, and then in a futex, not on its event loop (a
 * runner of several slots with handlers running waits on its event loop, so
 * that they go on meanwhile).
 *
 * At a crash, at most the lead of a runner's jobs that never started keep
 * the attempt their claim counted (all of a batch no larger than the lead,
 * which is not marked).
 */
import { MARK_LEAD, type RunnerStatus } from "./protocol.ts";
import { delay } from "./retry.ts";
import { post, state } from "./runner_state.ts";

/** How long a runner blocks waiting for its bound before it yields to its event loop. */
const BLOCK_MS = 200;

/** Past that, it asks again this often (a lost or failed write). */
const ASK_AGAIN_MS = 100;

/** The `marks` option of the claim being sent (see {@link firstBound}), or none. */
export function claimMarks(): { seq: number; bound: number } | undefined {
  return state.claimBound === undefined
    ? undefined
    : { seq: state.nextSeq, bound: state.claimBound };
}

/**
 * The bound a claim of up to `limit` jobs writes (its first), or `undefined`
 * for no mark: the lead (`--mark-lead`, default `MARK_LEAD`). A batch no
 * larger than the lead is not marked: its claim writes nothing more, and a
 * crash charges its jobs, as with no mark (a lead at or above
 * `--claim-batch` turns marks off).
 */
export function firstBound(limit: number): number | undefined {
  if (!state.marks) return undefined;
  const lead = state.settings.markLead ?? MARK_LEAD;
  return lead < limit ? lead : undefined;
}

/** The marks of a claimed batch whose claim wrote the bound `bound` (`null`: none, or nothing past it). */
export function marksFor(
  firstSeq: number,
  n: number,
  bound: number | undefined,
): BatchMarks | null {
  return bound !== undefined && n > bound ? new BatchMarks(state.status, firstSeq, n, bound) : null;
}

/** The marks of one claimed batch (runner side). */
export class BatchMarks {
  readonly #status: RunnerStatus;
  readonly #end: number;
  /** The bound known now (absolute sequence number): jobs before it may start. */
  #bound: number;
  /** Where to ask for the next bound. */
  #ask: number;
  /** The bound this runner last asked to move. */
  #asked = -1;
  /** Jobs before this start with no look at the shared memory. */
  #next: number;

  constructor(status: RunnerStatus, first: number, n: number, bound: number) {
    this.#status = status;
    this.#end = first + n;
    this.#bound = first + bound;
    status.markBatch(first, this.#end, this.#bound);
    this.#ask = status.markAsk();
    this.#next = this.#ask;
  }

  /** Takes the bound the supervisor wrote, and the ask point written with it. */
  #take(written: number): void {
    this.#ask = this.#status.markAsk();
    this.#bound = written;
  }

  /**
   * Before job `seq` starts: `true` at once when it may, else resolves once
   * the supervisor has moved the bound past it (`false` when the runner is
   * stopping first: the caller gives the rest back). `block`: whether the
   * wait may block the thread (nothing else of this runner runs now); a
   * runner whose other handlers are running waits without blocking them.
   */
  before(seq: number, block = true): true | Promise<boolean> {
    this.#status.markAt(seq);
    if (seq < this.#next) return true;
    const written = this.#status.markBound();
    if (written > this.#bound) this.#take(written);
    if (seq >= this.#ask && this.#asked < this.#bound && this.#bound < this.#end) {
      this.#asked = this.#bound;
      post({ kind: "mark" });
    }
    // The whole batch may start: no more looks. Asked and not yet moved:
    // look at every job. Else at the next ask.
    if (this.#bound >= this.#end) this.#next = this.#end;
    else this.#next = this.#asked === this.#bound ? seq + 1 : Math.min(this.#ask, this.#bound);
    if (seq < this.#bound) return true;
    return block ? this.#wait(seq) : this.#waitAsync(seq);
  }

  /** The batch ended: the supervisor moves its bound no more. */
  done(): void {
    this.#status.markDone();
  }

  /**
   * Waits for the supervisor to move the bound past `seq`: blocks the thread
   * (a futex wait: no event-loop turn, so no timer, flush or message runs
   * meanwhile; the supervisor's write wakes it) for up to
   * {@link BLOCK_MS}; past that (a slow or failed write) it yields to the
   * event loop now and then, to hear a `stop`, and asks again.
   */
  #wait(seq: number): true | Promise<boolean> {
    if (this.#block(seq)) return true;
    return this.#waitLong(seq);
  }

  /** Whether the bound `written` lets job `seq` start; if so it is taken. */
  #passed(seq: number, written: number): boolean {
    if (written <= seq) return false;
    this.#take(written);
    this.#next = this.#bound >= this.#end ? this.#end : Math.min(this.#ask, this.#bound);
    return true;
  }

  #block(seq: number): boolean {
    const until = performance.now() + BLOCK_MS;
    for (;;) {
      const written = this.#status.markBound();
      if (this.#passed(seq, written)) return true;
      const left = until - performance.now();
      if (left <= 0) return false;
      this.#status.markWait(written, left);
    }
  }

  /** As {@link #wait}, on the event loop: asks again every {@link ASK_AGAIN_MS} past the first {@link BLOCK_MS}. */
  async #waitAsync(seq: number): Promise<boolean> {
    let until = performance.now() + BLOCK_MS;
    for (;;) {
      if (state.stopping) return false;
      const written = this.#status.markBound();
      if (this.#passed(seq, written)) return true;
      let left = until - performance.now();
      if (left <= 0) {
        post({ kind: "mark" });
        until = performance.now() + ASK_AGAIN_MS;
        left = ASK_AGAIN_MS;
      }
      await this.#status.markWaitAsync(written, left);
    }
  }

  async #waitLong(seq: number): Promise<boolean> {
    for (;;) {
      if (state.stopping) return false;
      post({ kind: "mark" });
      await delay(ASK_AGAIN_MS);
      if (this.#block(seq)) return true;
    }
  }
}
