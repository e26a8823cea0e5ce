/**
 * What a runner pool (runner_pool.ts) is given: its process, its size, the
 * settings of each runner, and the services it reports to. The settling of
 * runners' jobs (runner_settle.ts) takes parts of it.
 */
import type { Notifier } from "../../lib/queue/mod.ts";
import type { RunnerSettings, RunnerStatus } from "../protocol.ts";
import type { WorkerCounts } from "./counts.ts";
import type { EventBus } from "./events.ts";
import type { DbHealth } from "./health.ts";
import type { MarkWriter } from "./mark_writer.ts";
import type { Settler } from "./settle.ts";

/** What a runner pool needs. */
export interface RunnerPoolDeps {
  /** The process's worker id; runners are `<id>/<n>`. */
  id: string;
  concurrency: number;
  /** Jobs each runner runs at once (default 1). */
  jobsPerRunner?: number;
  /** The init settings of a new runner. */
  settings(lockedBy: string, status: RunnerStatus): RunnerSettings;
  /** After a timeout aborts the signal, how long the handler may take to stop (ms). */
  abortGraceMs: number;
  /** After a cancel aborts the signal, how long the handler may take to stop (ms). Default 5000. */
  cancelGraceMs?: number;
  events: EventBus;
  metrics: WorkerCounts;
  health: DbHealth;
  settler: Settler;
  /** Poked after attempts were recorded (live dashboards). */
  changed: Notifier;
  /** Writes the marks' bounds runners of one slot ask for (none: their asks are dropped). */
  marks?: MarkWriter;
  /** The runner module (default `../runner.ts`). */
  runnerModule?: URL;
}
