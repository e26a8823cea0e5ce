/**
 * Enqueue phases, defined as in the peers' harness: N jobs with payload
 * `{i}`, default priority, through the product's producer path
 * (`jobs.enqueue` with its NOTIFY inline when nothing else is in flight, else
 * a coalesced `Notifier.poke()` after the commit; `jobs.enqueueMany`, which
 * returns the new ids only — a producer needs no more —, then a poke).
 */
import { openPool, type Sql } from "../lib/db.ts";
import * as jobs from "../lib/queue/jobs.ts";
import { CHANNEL_NEW_JOBS, InlineNotify, Notifier } from "../lib/queue/notify.ts";
import { BENCH_TYPE, benchPayload } from "./payload.ts";

export { BENCH_TYPE, benchPayload, payloadIndex } from "./payload.ts";

/** A producer: one pool, one notifier, the three ways to enqueue. */
export interface Producer {
  sql: Sql;
  addOne(i: number): Promise<void>;
  addBatch(first: number, count: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens a producer with `poolSize` connections (plus one for NOTIFY). */
export function openProducer(url: string, poolSize: number): Producer {
  const sql = openPool(url, { max: poolSize, name: "jobq-bench-producer" });
  const notifySql = openPool(url, { max: 1, name: "jobq-bench-notify" });
  const notifier = new Notifier(notifySql, CHANNEL_NEW_JOBS);
  const wake = new InlineNotify(notifier);
  return {
    sql,
    async addOne(i) {
      await wake.run((notify) =>
        jobs.enqueue(sql, { job: { type: BENCH_TYPE, payload: benchPayload(i) }, notify })
      );
    },
    async addBatch(first, count) {
      const list = [];
      for (let i = first; i < first + count; i++) {
        list.push({ type: BENCH_TYPE, payload: benchPayload(i) });
      }
      await jobs.enqueueMany(sql, { jobs: list });
      notifier.poke();
    },
    async close() {
      await notifier.close();
      await Promise.all([sql.end({ timeout: 5 }), notifySql.end({ timeout: 5 })]);
    },
  };
}

/** Inserts jobs [0, n) through the batch API, `batchSize` per call. */
export async function insertInBatches(p: Producer, n: number, batchSize: number): Promise<void> {
  for (let first = 0; first < n; first += batchSize) {
    await p.addBatch(first, Math.min(batchSize, n - first));
  }
}
