/**
 * The search indexer: about every second, one process in the cluster at a
 * time (see `indexSearchPass`) writes the search rows of the jobs enqueued
 * since, in passes of up to `SEARCH_INDEX_BATCH` (`lib/queue/search_index.ts`) inserting statements,
 * until the tail is empty. The search reads the jobs not indexed yet
 * directly, so a slow or stopped indexer makes searches slower, never wrong.
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import { indexSearchPass } from "../../lib/queue/search_index.ts";
import type { DbHealth } from "./health.ts";
import { Periodic } from "./periodic.ts";

/** Default of {@link SearchIndexerOptions.intervalMs}. */
export const SEARCH_INDEX_INTERVAL_MS = 1000;

/** Most passes of one run, so a huge tail does not keep a run going for long. */
const MAX_PASSES = 50;

/** Options of {@link SearchIndexer}. */
export interface SearchIndexerOptions {
  sql: Sql;
  /** The process's worker id, for log lines. */
  worker: string;
  health: DbHealth;
  /** Mean period (ms; jittered ±50 %). Default {@link SEARCH_INDEX_INTERVAL_MS}. */
  intervalMs?: number;
  /** Tail rows per pass. Default `SEARCH_INDEX_BATCH` (`lib/queue/search_index.ts`). */
  limit?: number;
}

/** Indexes newly enqueued jobs for the search, periodically. */
export class SearchIndexer {
  #o: SearchIndexerOptions;
  #periodic: Periodic;

  constructor(opts: SearchIndexerOptions) {
    this.#o = opts;
    this.#periodic = new Periodic(async () => void await this.runOnce(), {
      ms: opts.intervalMs ?? SEARCH_INDEX_INTERVAL_MS,
      jitter: true,
      runNow: true,
    });
  }

  /** Runs now and every period after. */
  start(): void {
    this.#periodic.start();
  }

  /** Stops (a pass in flight finishes). */
  stop(): void {
    this.#periodic.stop();
  }

  /**
   * Passes until the tail is empty, another process holds the indexer's
   * turn, or {@link MAX_PASSES}; returns the jobs indexed. Never rejects: a
   * database error is reported to `health` (the pass rolled back whole).
   */
  async runOnce(): Promise<number> {
    const o = this.#o;
    let indexed = 0;
    try {
      for (let i = 0; i < MAX_PASSES; i++) {
        const pass = await indexSearchPass(o.sql, { limit: o.limit });
        indexed += pass.indexed;
        if (!pass.ran || !pass.more) break;
      }
      o.health.ok();
      if (indexed > 0) log("debug", "search.indexed", { worker: o.worker, count: indexed });
      return indexed;
    } catch (err) {
      o.health.down(err, "search index");
      return indexed;
    }
  }
}
