/**
 * Messages between the supervisor (main thread) and its runners (Web Workers).
 * Everything here crosses `postMessage`, so it is plain data only.
 */
import type { Config } from "../lib/config.ts";

/** Settings a runner receives once, in its `init` message. */
export interface RunnerSettings {
  /** The runner's `locked_by`: `<process id>/<n>`. */
  lockedBy: string;
  databaseUrl: string;
  /** URL of the module whose `handlers` export maps job types to handlers. */
  handlersModule: string;
  /** Only these types are claimed (`null`: every type the module handles). */
  types: string[] | null;
  /** Only jobs of these queues are claimed (`null`: every queue). */
  queues?: string[] | null;
  claimBatch: number;
  /**
   * Jobs this runner runs at once. 1: one after another, claiming ahead up to
   * `claimBatch`; more: concurrently, claiming only as many as it has free
   * slots.
   */
  jobsPerRunner?: number;
  completeBatch: number;
  completeFlushMs: number;
  leaseSeconds: number;
  pollMs: number;
  abortGraceMs: number;
  retry: { baseMs: number; maxMs: number };
  config: Config;
  /** The runner's {@link RunnerStatus} memory, shared with the supervisor. */
  status: SharedArrayBuffer;
  /**
   * The supervisor moves the marks of this runner's batches (one slot only,
   * worker/runner_marks.ts): its claims write them, and it asks for more
   * with `mark` messages.
   */
  marks?: boolean;
  /** How far ahead of the runner its mark's bound goes (default `MARK_LEAD`; SupervisorOptions). */
  markLead?: number;
  /**
   * Load, connect and report `ready`, then claim nothing until a `go` (or
   * `stop`) message: the supervisor starts its runners loading while it
   * applies the schedules file, registers and LISTENs, and lets them claim
   * once it listens.
   */
  hold?: boolean;
}

/** A job as the supervisor tracks it. */
export interface JobRef {
  id: string;
  type: string;
  attempt: number;
}

/** Supervisor → runner. */
export type ToRunner =
  | { kind: "init"; settings: RunnerSettings }
  | { kind: "wake" }
  /** A runner that was told to `hold`: claim from now on (see {@link RunnerSettings.hold}). */
  | { kind: "go" }
  | { kind: "stop" }
  | { kind: "lost"; ids: string[] }
  /** A cancel of these jobs was requested: abort the running one, skip the others. */
  | { kind: "cancel"; ids: string[] };

/** How one attempt ended, once recorded in the database. */
export type Outcome = "completed" | "failed" | "cancelled" | "lost" | "released";

/** One attempt's recorded end. */
export interface Finished {
  job: JobRef;
  outcome: Outcome;
  ms: number;
  error?: string;
  final?: boolean;
}

/** Runner → supervisor. */
export type FromRunner =
  | { kind: "ready"; types: Record<string, number> }
  | { kind: "fatal"; error: string }
  /**
   * Jobs claimed by one statement, as columns (a message of plain arrays
   * costs both threads less than one object per job): the n-th is
   * `{ id: ids[n], type: types[n], attempt: attempts[n] }`, with the
   * sequence number `firstSeq + n`.
   */
  | { kind: "claimed"; firstSeq: number; ids: string[]; types: string[]; attempts: number[] }
  /** Attempts whose outcome is now in the database (a completion batch sends many at once). */
  | { kind: "finished"; items: Finished[] }
  /**
   * Attempts a completion batch wrote as completed, as columns: `ids[n]` ran
   * `ms[n]` ms (the usual end of a job, so the supervisor knows the rest of
   * its reference from the `claimed` message).
   */
  | { kind: "completed"; ids: string[]; ms: number[] }
  | { kind: "stuck"; job: JobRef; timeoutMs: number }
  /** A claim found nothing: the runner waits for a wake-up (or its poll). */
  | { kind: "idle" }
  /** A handler's progress was stored (live dashboards). */
  | { kind: "progress" }
  /** The runner nears the bound of its batch's mark: move it (see {@link RunnerStatus.markRead}). */
  | { kind: "mark" }
  | { kind: "db"; up: boolean; error?: string }
  | { kind: "stopped" };

/**
 * How many jobs past where a runner of one slot is its mark's bound goes
 * (worker/runner_marks.ts), unless `--mark-lead` says otherwise.
 */
export const MARK_LEAD = 32;

/** The `application_name` of a runner's database connections (at most 63 bytes, as PostgreSQL keeps). */
export function runnerAppName(lockedBy: string): string {
  return `jobq-runner ${lockedBy}`.slice(0, 63);
}

/**
 * Where a runner at job `at`, its bound `lead` jobs ahead, asks for the next
 * bound: a quarter of the way, so that the write is out well before the
 * runner reaches the bound.
 */
export function markAskAt(at: number, lead: number): number {
  return at + Math.ceil(lead / 4);
}

/**
 * What a runner is doing right now, in memory it shares with the supervisor
 * (a `SharedArrayBuffer`), so starting and ending a handler costs no message:
 * one entry per job it may run at once (`jobsPerRunner`), each the job's
 * sequence number (from its `claimed` message; −1 while the entry runs no
 * handler), when its handler started (wall clock, ms) and its timeout (ms).
 * The supervisor reads it to enforce the hard timeout, to know which jobs a
 * crashed runner was running, and for `/healthz`. Readers retry an entry when
 * its sequence number changed while they read.
 */
export class RunnerStatus {
  /** Bytes of memory one entry needs (sequence numbers are padded to 8 bytes), and the mark's 16. */
  static bytes(entries: number): number {
    return Math.ceil((4 * entries) / 8) * 8 + 16 * entries + 24;
  }
  readonly #seq: Int32Array;
  readonly #times: Float64Array;
  /**
   * The mark of the batch running (worker/runner_marks.ts): the sequence
   * numbers of its first job (−1: no batch marked), of the one after its
   * last, of the job starting now, the bound the supervisor wrote last, and
   * the job at which the runner is to ask for the next.
   */
  readonly #mark: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer, readonly entries = 1) {
    const seqBytes = Math.ceil((4 * entries) / 8) * 8;
    this.#seq = new Int32Array(buffer, 0, entries);
    this.#times = new Float64Array(buffer, seqBytes, 2 * entries);
    this.#mark = new Int32Array(buffer, seqBytes + 16 * entries, 5);
  }

  static create(entries = 1): RunnerStatus {
    const status = new RunnerStatus(
      new SharedArrayBuffer(RunnerStatus.bytes(entries)),
      entries,
    );
    status.clearAll();
    Atomics.store(status.#mark, MARK_FIRST, -1);
    return status;
  }

  /** A handler starts in entry `entry` (runner side). */
  start(seq: number, startedAt: number, timeoutMs: number, entry = 0): void {
    Atomics.store(this.#seq, entry, -1);
    this.#times[2 * entry] = startedAt;
    this.#times[2 * entry + 1] = timeoutMs;
    Atomics.store(this.#seq, entry, seq);
  }

  /** The handler of entry `entry` returned or threw (runner side). */
  clear(entry = 0): void {
    Atomics.store(this.#seq, entry, -1);
  }

  /** Every entry cleared. */
  clearAll(): void {
    for (let i = 0; i < this.entries; i++) Atomics.store(this.#seq, i, -1);
  }

  /** The handler of entry `entry`, or null (supervisor side). */
  read(entry = 0): { seq: number; startedAt: number; timeoutMs: number } | null {
    for (;;) {
      const seq = Atomics.load(this.#seq, entry);
      if (seq < 0) return null;
      const startedAt = this.#times[2 * entry];
      const timeoutMs = this.#times[2 * entry + 1];
      if (Atomics.load(this.#seq, entry) === seq) return { seq, startedAt, timeoutMs };
    }
  }

  /** Every running handler (supervisor side). */
  readAll(): { seq: number; startedAt: number; timeoutMs: number }[] {
    const out = [];
    for (let i = 0; i < this.entries; i++) {
      const r = this.read(i);
      if (r) out.push(r);
    }
    return out;
  }

  /** A marked batch of the jobs `first` … `end − 1` starts, its claim's bound `bound` (runner side). */
  markBatch(first: number, end: number, bound: number): void {
    Atomics.store(this.#mark, MARK_FIRST, -1);
    Atomics.store(this.#mark, MARK_END, end);
    Atomics.store(this.#mark, MARK_AT, first);
    Atomics.store(this.#mark, MARK_BOUND, bound);
    Atomics.store(this.#mark, MARK_ASK, markAskAt(first, bound - first));
    Atomics.store(this.#mark, MARK_FIRST, first);
  }

  /** Job `seq` of the marked batch starts now (runner side). */
  markAt(seq: number): void {
    Atomics.store(this.#mark, MARK_AT, seq);
  }

  /** The marked batch ended (runner side). */
  markDone(): void {
    Atomics.store(this.#mark, MARK_FIRST, -1);
  }

  /** The bound the supervisor wrote last: jobs before it may start. */
  markBound(): number {
    return Atomics.load(this.#mark, MARK_BOUND);
  }

  /** The job at which to ask for the next bound, written with it. */
  markAsk(): number {
    return Atomics.load(this.#mark, MARK_ASK);
  }

  /** The marked batch, `null` when none (supervisor side). */
  markRead(): { first: number; end: number; at: number; bound: number; ask: number } | null {
    const first = Atomics.load(this.#mark, MARK_FIRST);
    if (first < 0) return null;
    const end = Atomics.load(this.#mark, MARK_END);
    const at = Atomics.load(this.#mark, MARK_AT);
    const bound = Atomics.load(this.#mark, MARK_BOUND);
    const ask = Atomics.load(this.#mark, MARK_ASK);
    return Atomics.load(this.#mark, MARK_FIRST) === first ? { first, end, at, bound, ask } : null;
  }

  /** The database holds `bound` now; the runner asks again at job `ask` (supervisor side). */
  markConfirm(bound: number, ask = bound): void {
    Atomics.store(this.#mark, MARK_ASK, ask);
    Atomics.store(this.#mark, MARK_BOUND, bound);
    Atomics.notify(this.#mark, MARK_BOUND);
  }

  /**
   * Blocks the calling thread until the bound is no longer `bound` or `ms`
   * have passed (runner side: a Web Worker may block; no event-loop turn, so
   * no timer or message runs meanwhile).
   */
  markWait(bound: number, ms: number): void {
    Atomics.wait(this.#mark, MARK_BOUND, bound, ms);
  }

  /**
   * Resolves once the bound is no longer `bound` or `ms` have passed, without
   * blocking (runner side: a runner whose other handlers run meanwhile).
   */
  markWaitAsync(bound: number, ms: number): Promise<unknown> | undefined {
    const r = Atomics.waitAsync(this.#mark, MARK_BOUND, bound, ms);
    return r.async ? r.value : undefined;
  }
}

const MARK_FIRST = 0;
const MARK_END = 1;
const MARK_AT = 2;
const MARK_BOUND = 3;
const MARK_ASK = 4;
