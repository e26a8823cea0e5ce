/**
 * One place of the runner pool: the Web Worker in it and what the supervisor
 * knows of it (the jobs it holds, what its handler runs now).
 */
import { type JobRef, RunnerStatus } from "../protocol.ts";
import type { RunnerInfo } from "../../lib/queue/types.ts";

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
  /** The sequence number after the last job of the runner's `claimed` messages so far. */
  claimedTo: number;
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
export function newSlot(index: number, lockedBy: string, worker: Worker, entries = 1): Slot {
  const slot: Slot = {
    index,
    lockedBy,
    worker,
    state: "starting",
    held: new Map(),
    bySeq: new Map(),
    claimedTo: 0,
    seqOf: new Map(),
    cancels: new Map(),
    status: RunnerStatus.create(entries),
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

/** A job a runner's handler is running, with when it started (wall ms) and its timeout. */
export interface Running {
  job: JobRef;
  startedAt: number;
  timeoutMs: number;
}

/** The (first) job a runner's handler is running now, or null. */
export function running(slot: Slot): Running | null {
  return runningAll(slot)[0] ?? null;
}

/** Every job a runner's handlers are running now (several when it runs jobs concurrently). */
export function runningAll(slot: Slot): Running[] {
  if (slot.state === "dead") return [];
  const out: Running[] = [];
  for (const now of slot.status.readAll()) {
    const id = slot.bySeq.get(now.seq);
    const job = id === undefined ? undefined : slot.held.get(id);
    if (job) out.push({ job, startedAt: now.startedAt, timeoutMs: now.timeoutMs });
  }
  return out;
}

/** Records the jobs of a `claimed` message (its columns); returns their references. */
export function hold(
  slot: Slot,
  firstSeq: number,
  ids: string[],
  types: string[],
  attempts: number[],
): JobRef[] {
  const list: JobRef[] = [];
  for (let i = 0; i < ids.length; i++) {
    const j = { id: ids[i], type: types[i], attempt: attempts[i] };
    list.push(j);
    slot.held.set(j.id, j);
    slot.bySeq.set(firstSeq + i, j.id);
    slot.seqOf.set(j.id, firstSeq + i);
  }
  slot.claimedTo = firstSeq + ids.length;
  return list;
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
  slot.status.clearAll();
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

/** A job the runner still runs `graceMs` or more after its cancel was requested, or null. */
export function cancelOverdue(slot: Slot, graceMs: number): JobRef | null {
  if (!alive(slot) || slot.cancels.size === 0) return null;
  const now = performance.timeOrigin + performance.now();
  for (const run of runningAll(slot)) {
    const at = slot.cancels.get(run.job.id);
    if (at !== undefined && now - at >= graceMs) return run.job;
  }
  return null;
}

/** A runner as `/healthz` and `Supervisor.runners()` show it. */
export interface RunnerListing {
  worker: string;
  state: Slot["state"];
  running: JobRef | null;
  /** Every job its handlers run now (`running` is the first). */
  jobs: JobRef[];
  held: number;
}

/** {@link RunnerListing} of one runner. */
export function listing(s: Slot): RunnerListing {
  const jobs = runningAll(s).map((r) => r.job);
  return { worker: s.lockedBy, state: s.state, running: jobs[0] ?? null, jobs, held: s.held.size };
}

/**
 * What each runner does now, for the worker row: one entry per job running
 * (a runner running several jobs at once appears once per job), one without
 * a job for a runner running none.
 */
export function runnersInfo(slots: Slot[]): RunnerInfo[] {
  const at = Date.now();
  return slots.flatMap((s) => {
    const runs = runningAll(s);
    if (runs.length === 0) return [{ worker: s.lockedBy, state: s.state }];
    return runs.map((run) => ({
      worker: s.lockedBy,
      state: s.state,
      job: run.job.id,
      running_ms: Math.max(0, Math.round(at - run.startedAt)),
    }));
  });
}
