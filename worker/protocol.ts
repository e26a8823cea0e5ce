/**
 * Messages between the supervisor (main thread) and its runners (Web Workers).
 * Everything here crosses `postMessage`, so it is plain data only.
 */
import type { Config } from "../lib/config.ts";

/** Settings a runner receives once, in its `init` message. */
export interface RunnerSettings {
  /** The runner's `locked_by`: `<process id>/<n>`. */
  lockedBy: string;
  databaseUrl: string;
  /** URL of the module whose `handlers` export maps job types to handlers. */
  handlersModule: string;
  /** Only these types are claimed (`null`: every type the module handles). */
  types: string[] | null;
  claimBatch: number;
  completeBatch: number;
  completeFlushMs: number;
  leaseSeconds: number;
  pollMs: number;
  abortGraceMs: number;
  retry: { baseMs: number; maxMs: number };
  config: Config;
}

/** A job as the supervisor tracks it. */
export interface JobRef {
  id: string;
  type: string;
  attempt: number;
}

/** Supervisor → runner. */
export type ToRunner =
  | { kind: "init"; settings: RunnerSettings }
  | { kind: "wake" }
  | { kind: "stop" }
  | { kind: "lost"; ids: string[] };

/** How one attempt ended, once recorded in the database. */
export type Outcome = "completed" | "failed" | "lost" | "released";

/** Runner → supervisor. */
export type FromRunner =
  | { kind: "ready"; types: Record<string, number> }
  | { kind: "fatal"; error: string }
  | { kind: "claimed"; jobs: JobRef[] }
  | { kind: "started"; job: JobRef; timeoutMs: number }
  /** The handler has returned or thrown; its outcome may still be on its way to the database. */
  | { kind: "ran"; job: JobRef }
  | {
    kind: "finished";
    job: JobRef;
    outcome: Outcome;
    ms: number;
    error?: string;
    final?: boolean;
  }
  | { kind: "stuck"; job: JobRef; timeoutMs: number }
  | { kind: "db"; up: boolean; error?: string }
  | { kind: "stopped" };
