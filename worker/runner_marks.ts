/// <reference lib="deno.worker" />
/**
 * What a runner of one slot has not started of its batch (migration 0022,
 * lib/queue/marks.ts): when its process is killed, the rescuer gives the
 * jobs it never reached back uncharged.
 *
 * The claim writes the batch's mark with the bound `FIRST_BOUND`: jobs from
 * there on have not started. The runner starts no job at the bound the
 * database holds or beyond. It publishes the job it starts in memory shared
 * with the supervisor (protocol.ts, `RunnerStatus`); past the point the
 * supervisor set with the last bound (half way to it) it asks (a `mark`
 * message), and the supervisor moves the bound ahead of where the runner is,
 * for all its runners in one statement (services/mark_writer.ts), then
 * tells it through the same memory. How far ahead: `SLACK` jobs, or more
 * for a runner whose jobs go faster than that write comes back. The runner
 * sends no statement for it and, while the supervisor keeps ahead of it,
 * never waits.
 *
 * At a crash, the jobs a runner never started that keep the attempt their
 * claim counted are those between where it was and its bound: about as many
 * as it runs while the supervisor writes a bound two or three times (all of
 * a batch of up to `FIRST_BOUND` jobs, which is never marked further).
 */
import { FIRST_BOUND, type RunnerStatus } from "./protocol.ts";
import { post, state } from "./runner_state.ts";

/** While a runner waits for its bound, it asks again this often (a lost or failed write). */
const ASK_AGAIN_MS = 100;

/** The marks of a claimed batch; `null` when this runner marks none or the batch is too small. */
export function marksFor(firstSeq: number, n: number): BatchMarks | null {
  return state.marks && n > FIRST_BOUND ? new BatchMarks(state.status, firstSeq, n) : null;
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

  constructor(status: RunnerStatus, first: number, n: number) {
    this.#status = status;
    this.#end = first + n;
    this.#bound = first + FIRST_BOUND;
    this.#ask = first + FIRST_BOUND / 2;
    this.#next = this.#ask;
    status.markBatch(first, this.#end);
  }

  /**
   * Before job `seq` starts: `true` at once when it may, else resolves once
   * the supervisor has moved the bound past it (`false` when the runner is
   * stopping first: the caller gives the rest back).
   */
  before(seq: number): true | Promise<boolean> {
    this.#status.markAt(seq);
    if (seq < this.#next) return true;
    const written = this.#status.markBound();
    if (written > this.#bound) {
      this.#ask = this.#status.markAsk();
      this.#bound = written;
    }
    if (seq >= this.#ask && this.#asked < this.#bound && this.#bound < this.#end) {
      this.#asked = this.#bound;
      post({ kind: "mark" });
    }
    // The whole batch may start: no more looks. Asked and not yet moved:
    // look at every job. Else at the next ask.
    if (this.#bound >= this.#end) this.#next = this.#end;
    else this.#next = this.#asked === this.#bound ? seq + 1 : Math.min(this.#ask, this.#bound);
    return seq < this.#bound ? true : this.#wait(seq);
  }

  /** The batch ended: the supervisor moves its bound no more. */
  done(): void {
    this.#status.markDone();
  }

  /** Waits for the `marked` message (or `stop`), asking again now and then. */
  async #wait(seq: number): Promise<boolean> {
    for (;;) {
      if (state.stopping) return false;
      const written = this.#status.markBound();
      if (written > seq) {
        this.#ask = this.#status.markAsk();
        this.#bound = written;
        this.#next = Math.min(this.#ask, this.#bound);
        return true;
      }
      const { promise, resolve } = Promise.withResolvers<void>();
      state.marked = resolve;
      const timer = setTimeout(() => {
        post({ kind: "mark" });
        resolve();
      }, ASK_AGAIN_MS);
      await promise;
      clearTimeout(timer);
      state.marked = null;
    }
  }
}
