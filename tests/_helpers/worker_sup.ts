/** Starting in-process supervisors for tests, and awaiting their events. */
import { parseConfig } from "../../lib/config.ts";
import type { Sql } from "../../lib/db.ts";
import type { Job } from "../../lib/queue/types.ts";
import {
  startSupervisor,
  type Supervisor,
  type SupervisorEvent,
  type SupervisorOptions,
} from "../../worker/supervisor.ts";

/** URL of the test handlers module. */
export const TEST_HANDLERS = new URL("./worker_handlers.ts", import.meta.url).href;

/** A supervisor on `url` with quiet logs, short leases and a temp DATA_DIR, without signal handling. */
export async function testSupervisor(
  url: string,
  opts: Partial<SupervisorOptions> & { env?: Record<string, string> } = {},
): Promise<{ sup: Supervisor; dataDir: string }> {
  const dataDir = opts.env?.DATA_DIR ?? await Deno.makeTempDir({ prefix: "jobq-worker-test-" });
  const config = parseConfig({
    LOG_LEVEL: Deno.env.get("TEST_LOG_LEVEL") ?? "error",
    JOB_LEASE_SECONDS: "3",
    RETRY_BASE_MS: "50",
    RETRY_MAX_MS: "200",
    SHUTDOWN_GRACE_SECONDS: "5",
    ...opts.env,
    DATA_DIR: dataDir,
  });
  const sup = await startSupervisor({
    databaseUrl: url,
    config,
    handleSignals: false,
    concurrency: 2,
    pollMs: 500,
    abortGraceMs: 300,
    ...opts,
  });
  return { sup, dataDir };
}

/**
 * Collects events of `kinds` until `done(collected)` is true; rejects after
 * `timeoutMs` with what it had.
 */
export function collect(
  sup: Supervisor,
  kinds: SupervisorEvent["kind"][],
  done: (events: SupervisorEvent[]) => boolean,
  timeoutMs = 30_000,
): Promise<SupervisorEvent[]> {
  const got: SupervisorEvent[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        new Error(
          `timed out after ${timeoutMs} ms; got ${got.length} events: ${
            JSON.stringify(got.slice(-5))
          }`,
        ),
      );
    }, timeoutMs);
    const off = sup.on((e) => {
      if (!kinds.includes(e.kind)) return;
      got.push(e);
      if (done(got)) {
        clearTimeout(timer);
        off();
        resolve(got);
      }
    });
  });
}

/** Resolves when the job with `id` reaches a final state (completed, or failed with no retry left). */
export function settled(
  sup: Supervisor,
  id: string,
  timeoutMs = 30_000,
): Promise<SupervisorEvent> {
  return collect(
    sup,
    ["completed", "failed"],
    (es) =>
      es.some((e) =>
        (e.kind === "completed" && e.job.id === id) ||
        (e.kind === "failed" && e.job.id === id && e.final)
      ),
    timeoutMs,
  ).then((es) => es[es.length - 1]);
}

/** Inserts a job through the queue API (no NOTIFY). */
export async function enqueue(
  sql: Sql,
  type: string,
  payload: unknown = {},
  extra: { max_attempts?: number; priority?: number } = {},
): Promise<Job> {
  const { enqueue } = await import("../../lib/queue/jobs.ts");
  return await enqueue(sql, { job: { type, payload, ...extra } });
}
