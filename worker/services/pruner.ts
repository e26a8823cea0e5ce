/**
 * The pruner service: optional retention (`PRUNE_OLDER_THAN`). Deletes
 * finished jobs older than the cutoff in short batches, one process of the
 * cluster at a time (see `lib/queue/prune.ts`, which does the work).
 */
import type { Sql } from "../../lib/db.ts";
import { type Pruner, type PruneResult, startPruner } from "../../lib/queue/prune.ts";

/** Options of {@link PrunerService}. */
export interface PrunerServiceOptions {
  sql: Sql;
  /** The process's worker id. */
  worker: string;
  /** Prune finished jobs older than this (ms); unset: the service does nothing. */
  olderThanMs?: number;
}

/** Starts and stops the retention loop (a no-op without `olderThanMs`). */
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

  /** Starts the loop (when configured); idempotent. */
  start(): void {
    const { sql, worker, olderThanMs } = this.#o;
    if (this.#pruner || !olderThanMs) return;
    this.#pruner = startPruner(sql, { olderThanMs, worker });
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
