/**
 * The pruner service: retention (`RETAIN_COMPLETED`, `RETAIN_FAILED`,
 * `RETAIN_CANCELLED`, and `RETAIN_AUDIT` for the audit log; on by default).
 * Deletes finished jobs older than their state's retention, and audit
 * entries older than theirs, in short batches, one process of the cluster at
 * a time (see `lib/queue/prune.ts`, which does the work).
 */
import type { Sql } from "../../lib/db.ts";
import {
  type Pruner,
  type PruneResult,
  prunesAnything,
  type Retention,
  startPruner,
} from "../../lib/queue/prune.ts";

/** Options of {@link PrunerService}. */
export interface PrunerServiceOptions {
  sql: Sql;
  /** The process's worker id. */
  worker: string;
  /** How long finished jobs are kept per state (ms; 0 = forever); unset or all 0: nothing runs. */
  retain?: Retention;
  /** How long audit entries are kept (ms; 0 or unset = forever). */
  retainAuditMs?: number;
  /** Time between runs (ms; default one hour) and before the first (default one minute). */
  intervalMs?: number;
  firstDelayMs?: number;
}

/** Starts and stops the retention loop (a no-op when everything is kept forever). */
export class PrunerService {
  #o: PrunerServiceOptions;
  #pruner: Pruner | null = null;

  constructor(opts: PrunerServiceOptions) {
    this.#o = opts;
  }

  /** True while a retention loop runs. */
  get running(): boolean {
    return this.#pruner !== null;
  }

  /** Starts the loop (when something is to be pruned); idempotent. */
  start(): void {
    const { sql, worker, intervalMs, firstDelayMs } = this.#o;
    const retainAuditMs = this.#o.retainAuditMs ?? 0;
    const retain = this.#o.retain ?? { completed: 0, failed: 0, cancelled: 0 };
    if (this.#pruner || (!prunesAnything(retain) && !(retainAuditMs > 0))) return;
    this.#pruner = startPruner(sql, { retain, retainAuditMs, worker, intervalMs, firstDelayMs });
  }

  /** Runs once now (null when not started, or when the run failed: it is logged). */
  async runNow(): Promise<PruneResult | null> {
    return await this.#pruner?.runNow() ?? null;
  }

  /** Stops the loop; resolves when its batch in flight is done. */
  async stop(): Promise<void> {
    const pruner = this.#pruner;
    this.#pruner = null;
    await pruner?.stop();
  }
}
