/**
 * A runner pool alone, wired as the supervisor wires it (settler, notifiers,
 * metrics) on a service bundle's database: what the runner pool tests start.
 */
import { CHANNEL_CHANGED, CHANNEL_NEW_JOBS, Notifier } from "../../lib/queue/mod.ts";
import { WorkerMetrics } from "../../worker/services/metrics.ts";
import { RunnerPool } from "../../worker/services/runner_pool.ts";
import { Settler } from "../../worker/services/settle.ts";
import { quietConfig, type ServiceBundle } from "./worker_services.ts";
import { TEST_HANDLERS } from "./worker_sup.ts";

/** How {@link poolOf} differs from its defaults. */
export interface PoolOptions {
  /** Web Workers (default 2). */
  concurrency?: number;
  /** The runners' handlers module (default the test handlers). */
  handlersModule?: string;
  /** A runner's poll (default 600 s: only wake-ups make a runner look). */
  pollMs?: number;
  /** DATA_DIR of the runners' config. */
  dataDir?: string;
}

/** A runner pool, not started, and how to stop and close it with its notifiers. */
export function poolOf(b: ServiceBundle, opts: PoolOptions = {}) {
  const config = quietConfig({ DATA_DIR: opts.dataDir ?? "/tmp/jobq-runner-pool-test" });
  const changed = new Notifier(b.db.sql, CHANNEL_CHANGED);
  const newJobs = new Notifier(b.db.sql, CHANNEL_NEW_JOBS);
  const metrics: WorkerMetrics = new WorkerMetrics({
    busy: () => pool.busy(),
    runners: () => pool.up(),
    databaseUp: () => b.health.up,
  });
  const retry = { baseMs: 50, maxMs: 200 };
  const settler = new Settler({
    sql: b.db.sql,
    health: b.health,
    metrics,
    events: b.events,
    changed,
    newJobs,
    retry,
    stopping: () => pool.stopping,
  });
  const pool: RunnerPool = new RunnerPool({
    id: b.id,
    concurrency: opts.concurrency ?? 2,
    abortGraceMs: 300,
    events: b.events,
    metrics,
    health: b.health,
    settler,
    changed,
    settings: (lockedBy, status) => ({
      lockedBy,
      databaseUrl: b.db.url,
      handlersModule: opts.handlersModule ?? TEST_HANDLERS,
      types: null,
      claimBatch: 16,
      completeBatch: 16,
      completeFlushMs: 5,
      leaseSeconds: 30,
      pollMs: opts.pollMs ?? 600_000,
      abortGraceMs: 300,
      retry,
      config: { ...config },
      status: status.buffer,
    }),
  });
  const close = async () => {
    await pool.stop(2000);
    pool.close();
    await Promise.all([changed.close(), newJobs.close()]);
  };
  return { pool, metrics, close };
}
