/**
 * Worker processes for tests: `deno run -A worker/main.ts` as a child, its
 * JSON log lines (stderr) parsed and awaitable, its RSS readable.
 */
import { type LogLine, type Proc, repoPath, spawnProc } from "./faults.ts";

export type { LogLine };

/** A running worker process. */
export interface WorkerProc extends Proc {
  /** Ids of the jobs this process logged as completed (up to date with the lines seen). */
  readonly completed: Set<string>;
}

const MAIN = repoPath("worker/main.ts");

/** Starts a worker process with `env` (DATABASE_URL, DATA_DIR, …) and optional extra args. */
export function spawnWorker(env: Record<string, string>, args: string[] = []): WorkerProc {
  const p = spawnProc(MAIN, env, args);
  const completed = new Set<string>();
  let seen = 0;
  return Object.defineProperty(p, "completed", {
    get() {
      for (; seen < p.lines.length; seen++) {
        const l = p.lines[seen];
        if (l.msg === "job.completed") completed.add(String(l.job_id));
      }
      return completed;
    },
  }) as WorkerProc;
}

/** Sends `signal` unless the process has already ended. */
export function signal(p: WorkerProc, sig: Deno.Signal): void {
  try {
    p.child.kill(sig);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
}
