/**
 * One place of the runner pool: the Web Worker in it and what the supervisor
 * knows of it (the jobs it holds, what its handler runs now).
 */
import { type JobRef, RunnerStatus } from "../protocol.ts";

/** A runner and the jobs it holds. */
export interface Slot {
  index: number;
  lockedBy: string;
  worker: Worker;
  state: "starting" | "running" | "stopping" | "stopped" | "dead";
  /** Jobs the runner holds, by id, with their sequence numbers. */
  held: Map<string, JobRef>;
  /** Sequence number (see the `claimed` message) → job id, for the jobs held. */
  bySeq: Map<number, string>;
  seqOf: Map<string, number>;
  /** Jobs held whose cancel was requested → when this process learnt it (wall ms). */
  cancels: Map<string, number>;
  /** What the runner is running, shared with it. */
  status: RunnerStatus;
  /** Woken by the pool's `wakeOne` and not yet back with a claim or an empty look. */
  awake: boolean;
  /** Order of the runner's last claim (higher: more recent). */
  lastClaim: number;
  ready: PromiseWithResolvers<void>;
  stopped: PromiseWithResolvers<void>;
}

/** A slot for a Web Worker just created, "starting". */
export function newSlot(index: number, lockedBy: string, worker: Worker): Slot {
  const slot: Slot = {
    index,
    lockedBy,
    worker,
    state: "starting",
    held: new Map(),
    bySeq: new Map(),
    seqOf: new Map(),
    cancels: new Map(),
    status: RunnerStatus.create(),
    awake: false,
    lastClaim: 0,
    ready: Promise.withResolvers<void>(),
    stopped: Promise.withResolvers<void>(),
  };
  slot.ready.promise.catch(() => {});
  return slot;
}

/** True while the slot's Web Worker lives (not dead, not stopped). */
export function alive(slot: Slot): boolean {
  return slot.state !== "dead" && slot.state !== "stopped";
}

/** The job a runner's handler is running now, with when it started (wall ms) and its timeout. */
export function running(
  slot: Slot,
): { job: JobRef; startedAt: number; timeoutMs: number } | null {
  if (slot.state === "dead") return null;
  const now = slot.status.read();
  if (!now) return null;
  const id = slot.bySeq.get(now.seq);
  const job = id === undefined ? undefined : slot.held.get(id);
  return job ? { job, startedAt: now.startedAt, timeoutMs: now.timeoutMs } : null;
}

/** Records the jobs of a `claimed` message. */
export function hold(slot: Slot, firstSeq: number, list: JobRef[]): void {
  list.forEach((j, i) => {
    slot.held.set(j.id, j);
    slot.bySeq.set(firstSeq + i, j.id);
    slot.seqOf.set(j.id, firstSeq + i);
  });
}

/** Forgets a job the runner no longer holds. */
export function drop(slot: Slot, id: string): void {
  slot.held.delete(id);
  slot.cancels.delete(id);
  const seq = slot.seqOf.get(id);
  if (seq !== undefined) {
    slot.seqOf.delete(id);
    slot.bySeq.delete(seq);
  }
}

/** Terminates the slot's Web Worker and returns the jobs it held (now forgotten). */
export function kill(slot: Slot): JobRef[] {
  slot.state = "dead";
  slot.worker.terminate();
  slot.status.clear();
  const held = [...slot.held.values()];
  slot.held.clear();
  slot.bySeq.clear();
  slot.seqOf.clear();
  slot.cancels.clear();
  return held;
}

/**
 * Notes that the cancel of job `id` was requested, when the slot's runner
 * holds it; true the first time (then tell the runner), false when it does
 * not hold it or already knew.
 */
export function requestCancel(slot: Slot, id: string): boolean {
  if (!alive(slot) || !slot.held.has(id) || slot.cancels.has(id)) return false;
  slot.cancels.set(id, performance.timeOrigin + performance.now());
  return true;
}

/** The job the runner still runs `graceMs` or more after its cancel was requested, or null. */
export function cancelOverdue(slot: Slot, graceMs: number): JobRef | null {
  if (!alive(slot)) return null;
  const run = running(slot);
  const at = run ? slot.cancels.get(run.job.id) : undefined;
  if (!run || at === undefined) return null;
  return performance.timeOrigin + performance.now() - at >= graceMs ? run.job : null;
}
