/**
 * The runner pool: `concurrency` Web Workers (runners) that claim and run
 * jobs. It spawns them, wakes them (one for a new job, all after an outage),
 * tracks the jobs each holds, enforces the hard per-job timeout (a watchdog
 * terminates a runner whose handler will not stop), passes cancels on (and
 * terminates a runner whose handler ignores one for the cancel grace),
 * replaces runners that crash, and stops them gracefully.
 */
import { log } from "../../lib/log.ts";
import type { RunnerInfo } from "../../lib/queue/types.ts";
import type { FromRunner, JobRef, ToRunner } from "../protocol.ts";
import { delay, describe } from "../retry.ts";
import type { RunnerPoolDeps } from "./runner_deps.ts";
import {
  alive,
  hold,
  listing,
  newSlot,
  requestCancel,
  type RunnerListing,
  runnersInfo,
  runningAll,
  type Slot,
} from "./runner_slot.ts";
import {
  reportCompleted,
  reportDb,
  reportFinished,
  settleLate,
  settleReplaced,
} from "./runner_settle.ts";
import { overdueRunners } from "./runner_watchdog.ts";

/** How long a crashed runner's last messages get to arrive before its jobs are settled (ms). */
const CRASH_SETTLE_MS = 100;
/**
 * Runners loading at once: one per core. More only share the cores, so the
 * first runner would claim later, while the last would be ready no sooner.
 */
const LOADING_AT_ONCE = Math.max(1, navigator.hardwareConcurrency || 1);
/**
 * Runners spawned while the pool holds (see {@link RunnerPool.start}): one
 * core fewer than {@link LOADING_AT_ONCE}, so the main thread, which the
 * first claim waits for then, keeps one to itself; the rest load on release.
 */
const HELD_AT_MOST = Math.max(1, LOADING_AT_ONCE - 1);
/** How often the hard timeouts of running handlers are checked (ms). */
const WATCHDOG_MS = 100;

/** The Web Workers of one process and the jobs they hold. */
export class RunnerPool {
  #d: RunnerPoolDeps;
  #slots: Slot[] = [];
  #spawned = 0;
  /** Runners {@link start} has not spawned yet. */
  #toSpawn: number[] = [];
  /** Runners spawned and not ready yet. */
  #loading = 0;
  /** Resolves when every runner is spawned; rejects when one could not start. */
  #launched = Promise.withResolvers<void>();
  #claims = 0;
  /** Runners spawned now hold until {@link release} (see {@link start}). */
  #held = false;
  #stopping = false;
  #closed = false;
  #watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(deps: RunnerPoolDeps) {
    this.#d = deps;
  }

  /** True from the start of {@link stop}. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * Starts the runners and the watchdog; resolves when every runner is ready
   * and rejects when one cannot start (e.g. a bad handlers module: then call
   * {@link terminate}). Runners are spawned a few at a time (see
   * {@link #launch}). With `hold`, the runners load, connect and report
   * ready but claim nothing until {@link release}: the supervisor starts
   * them before it LISTENs and lets them claim once it does.
   */
  async start(opts: { hold?: boolean } = {}): Promise<void> {
    this.#held = opts.hold ?? false;
    this.#watchdog = setInterval(() => {
      if (this.#closed) return;
      const overdue = overdueRunners(this.#slots, {
        abortGraceMs: this.#d.abortGraceMs,
        cancelGraceMs: this.#d.cancelGraceMs ?? 5000,
      });
      for (const o of overdue) this.#replace(o.slot, o.reason, o.failMessage, o.detail, o.job);
    }, WATCHDOG_MS);
    this.#toSpawn = [...Array(this.#d.concurrency).keys()];
    this.#launch();
    await this.#launched.promise;
    await Promise.all(this.#slots.map((s) => s.ready.promise));
  }

  /**
   * Spawns the runners {@link start} has not spawned yet while fewer than
   * {@link LOADING_AT_ONCE} are loading; each one ready lets the next go. All
   * at once, each Web Worker's start-up shared the cores with all the others
   * (and with the first runners' jobs): the first claim came only when most
   * had loaded. A stop or a failed start spawns no more.
   */
  #launch(): void {
    const list = this.#toSpawn;
    if (this.#stopping || this.#closed) list.length = 0;
    while (
      list.length && this.#loading < LOADING_AT_ONCE &&
      !(this.#held && this.#spawned >= HELD_AT_MOST)
    ) {
      const slot = this.#spawn(list.shift()!);
      this.#loading++;
      slot.ready.promise.then(() => {
        this.#loading--;
        this.#launch();
      }, (err) => {
        list.length = 0;
        this.#launched.reject(err);
      });
    }
    if (list.length === 0) this.#launched.resolve();
  }

  /** Lets the runners started with `hold` (and every later one) claim. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    for (const slot of this.#slots) if (slot) this.#send(slot, { kind: "go" });
    this.#launch();
  }

  /** The runners' `locked_by`. */
  names(): string[] {
    return this.#slots.map((s) => s.lockedBy);
  }

  /** Wakes every running runner (after an outage, a rescue or a re-LISTEN). */
  wakeAll(): void {
    for (const slot of this.#slots) {
      if (slot.state === "running") this.#send(slot, { kind: "wake" });
    }
  }

  /**
   * Wakes one idle runner (holding no jobs, not already woken): the one that
   * claimed most recently. New-job notifications use this instead of
   * {@link wakeAll}: waking every runner for each new job made all of them
   * claim at once (one finds the job, the rest run an empty claim each).
   * Preferring the runner used last keeps a trickle of jobs on warm runners
   * (compiled code, open connections) instead of spreading it over cold ones.
   * A runner that claims something wakes the next idle one (see "claimed"),
   * so a backlog still fans out to every runner; busy runners claim again by
   * themselves when their batch is done.
   */
  wakeOne(): void {
    let best: Slot | null = null;
    for (const slot of this.#slots) {
      if (!slot || slot.state !== "running" || slot.awake) continue;
      if (slot.held.size >= this.#perRunner) continue;
      if (!best || slot.lastClaim > best.lastClaim) best = slot;
    }
    if (!best) return;
    best.awake = true;
    this.#send(best, { kind: "wake" });
  }

  /** The jobs each live runner holds (runners holding none are left out). */
  holdings(): { lockedBy: string; jobs: JobRef[] }[] {
    return this.#slots.filter((s) => s.state !== "dead" && s.held.size > 0)
      .map((s) => ({ lockedBy: s.lockedBy, jobs: [...s.held.values()] }));
  }

  /** True while runner `lockedBy` holds job `id`. */
  holds(lockedBy: string, id: string): boolean {
    const slot = this.#slots.find((s) => s.lockedBy === lockedBy);
    return !!slot && slot.state !== "dead" && slot.held.has(id);
  }

  /** Tells runner `lockedBy` that it lost the leases of `ids` (its handler is aborted). */
  lost(lockedBy: string, ids: string[]): void {
    const slot = this.#slots.find((s) => s.lockedBy === lockedBy);
    if (slot) this.#send(slot, { kind: "lost", ids });
  }

  /**
   * The cancel of job `id` was requested: the runner holding it (if any here)
   * aborts its handler, or skips it when it has not started. Idempotent: the
   * cancel grace counts from the first call.
   */
  cancel(id: string): void {
    for (const slot of this.#slots) {
      if (slot && requestCancel(slot, id)) this.#send(slot, { kind: "cancel", ids: [id] });
    }
  }

  /** Jobs each runner runs at once. */
  get #perRunner(): number {
    return this.#d.jobsPerRunner ?? 1;
  }

  /**
   * What each runner does now, for the worker row (the `/workers` page reads
   * it): one entry per job running (a runner running several jobs at once
   * appears once per job), one without a job for a runner running none.
   */
  info(): RunnerInfo[] {
    return runnersInfo(this.#slots);
  }

  /** The runners for `/healthz` and `Supervisor.runners()`. */
  list(): RunnerListing[] {
    return this.#slots.map(listing);
  }

  /** Jobs running now (a runner running several at once counts each). */
  busy(): number {
    let n = 0;
    for (const s of this.#slots) n += runningAll(s).length;
    return n;
  }

  /** Runners up (state "running"). */
  up(): number {
    return this.#slots.filter((s) => s.state === "running").length;
  }

  /**
   * Graceful stop: asks every runner to stop (each finishes its job, writes
   * its completions, gives back what it has not started) and waits up to
   * `graceMs`; runners still busy then are terminated and their jobs given
   * back (bounded to 10 s through an outage: the lease covers the rest).
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    log("info", "worker.stopping", {
      worker: this.#d.id,
      running: this.busy(),
      grace_s: graceMs / 1000,
    });
    for (const slot of this.#slots) {
      if (slot.state === "running" || slot.state === "starting") {
        if (slot.state === "running") slot.state = "stopping";
        this.#send(slot, { kind: "stop" });
      }
    }
    const all = Promise.all(this.#slots.map((s) => s.stopped.promise));
    const graceOver = new AbortController();
    const inTime = await Promise.race([
      all.then(() => true),
      delay(graceMs, graceOver.signal).then(() => false),
    ]);
    graceOver.abort();
    if (inTime) return;
    await settleLate(this.#slots.filter(alive), graceMs, this.#d);
  }

  /** Stops the watchdog and replacements (after {@link stop}, or when the start failed). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#watchdog);
  }

  /** Terminates every runner at once (a failed start). */
  terminate(): void {
    this.close();
    for (const s of this.#slots) s.worker.terminate();
  }

  #send(slot: Slot, m: ToRunner): void {
    if (!alive(slot)) return;
    slot.worker.postMessage(m);
  }

  #spawn(index: number): Slot {
    const lockedBy = `${this.#d.id}/${++this.#spawned}`;
    const module = this.#d.runnerModule ?? new URL("../runner.ts", import.meta.url);
    const worker = new Worker(module, { type: "module", name: lockedBy });
    const slot = newSlot(index, lockedBy, worker, this.#perRunner);
    this.#slots[index] = slot;
    worker.onmessage = (e: MessageEvent<FromRunner>) => this.#onMessage(slot, e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const msg = e.message || describe(e.error);
      if (slot.state === "starting") slot.ready.reject(new Error(msg));
      // Messages the runner posted just before it died (e.g. "started") can
      // arrive after this event: let them in first, so the job it was
      // running is known and its attempt counted, not given back.
      setTimeout(
        () =>
          this.#replace(slot, "crashed", `Web Worker crashed while running the job: ${msg}`, msg),
        CRASH_SETTLE_MS,
      );
    };
    worker.onmessageerror = () => {
      this.#replace(slot, "crashed", "Web Worker sent an unreadable message", "messageerror");
    };
    const settings = this.#d.settings(lockedBy, slot.status);
    if (this.#held) settings.hold = true;
    worker.postMessage({ kind: "init", settings } satisfies ToRunner);
    return slot;
  }

  #onMessage(slot: Slot, m: FromRunner): void {
    if (slot.state === "dead") return;
    switch (m.kind) {
      case "ready":
        slot.state = this.#stopping ? "stopping" : "running";
        if (this.#stopping) this.#send(slot, { kind: "stop" });
        slot.ready.resolve();
        break;
      case "fatal":
        slot.ready.reject(new Error(`runner ${slot.lockedBy} could not start: ${m.error}`));
        this.#replace(slot, "crashed", `Web Worker failed: ${m.error}`, m.error);
        break;
      case "claimed":
        slot.awake = false;
        slot.lastClaim = ++this.#claims;
        this.#d.events.emit({
          kind: "claimed",
          worker: slot.lockedBy,
          jobs: hold(slot, m.firstSeq, m.ids, m.types, m.attempts),
        });
        // There may be more: let the next idle runner look too.
        this.wakeOne();
        break;
      case "finished":
        reportFinished(slot, m.items, this.#d);
        break;
      case "completed":
        reportCompleted(slot, m.ids, m.ms, this.#d);
        break;
      case "idle":
        slot.awake = false;
        break;
      case "progress":
        this.#d.changed.poke();
        break;
      case "mark":
        this.#d.marks?.ask(slot.lockedBy, {
          status: slot.status,
          idAt: (seq) => slot.bySeq.get(seq),
          claimedTo: () => slot.claimedTo,
        });
        break;
      case "stuck": {
        const why = `job ${m.job.id} ignored its abort after the ${m.timeoutMs / 1000} s timeout`;
        this.#replace(slot, "timeout", null, why, m.job);
        break;
      }
      case "db":
        reportDb(slot, m, this.#d.health);
        break;
      case "stopped":
        slot.state = "stopped";
        slot.worker.terminate();
        this.#d.marks?.forget(slot.lockedBy);
        slot.stopped.resolve();
        break;
    }
  }

  /**
   * Terminates a runner and settles what it held ({@link settleReplaced}),
   * then a fresh runner takes its place unless the pool is stopping.
   */
  #replace(
    slot: Slot,
    reason: "crashed" | "timeout" | "cancel",
    failMessage: string | null,
    detail: string,
    culprit?: JobRef,
  ): void {
    if (!alive(slot)) return;
    const wasStarting = slot.state === "starting";
    settleReplaced(slot, reason, failMessage, detail, culprit, this.#d);
    this.#d.marks?.forget(slot.lockedBy);
    slot.stopped.resolve();
    if (this.#stopping || this.#closed || wasStarting) return;
    const next = this.#spawn(slot.index);
    this.#d.events.emit({ kind: "replaced", worker: slot.lockedBy, next: next.lockedBy, reason });
    next.ready.promise.then(
      () => {
        if (!this.#stopping) this.#send(next, { kind: "wake" });
      },
      (err) => log("error", "runner.start_failed", { worker: next.lockedBy, error: describe(err) }),
    );
  }
}
