/**
 * Worker processes for tests: `deno run -A worker/main.ts` as a child, its
 * JSON log lines (stderr) parsed and awaitable, its RSS readable.
 */
import { fromFileUrl } from "./worker_paths.ts";

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { msg: string; at: string };

/** A running worker process. */
export interface WorkerProc {
  child: Deno.ChildProcess;
  pid: number;
  lines: LogLine[];
  /** Ids of the jobs this process logged as completed (kept up to date as lines arrive). */
  completed: Set<string>;
  /** Resolves with the first line (already seen or future) that passes `pred`. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  /** Resolves once `pred` holds over all lines seen so far (checked on every new line). */
  waitUntil(pred: (lines: LogLine[]) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Exit status (after the process ends). */
  status: Promise<Deno.CommandStatus>;
  /** Resident set size in bytes, from /proc. */
  rss(): Promise<number>;
}

const MAIN = fromFileUrl(new URL("../../worker/main.ts", import.meta.url));

/** Starts a worker process with `env` (DATABASE_URL, DATA_DIR, …) and optional extra args. */
export function spawnWorker(env: Record<string, string>, args: string[] = []): WorkerProc {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { LOG_LEVEL: "info", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: LogLine[] = [];
  const completed = new Set<string>();
  const checks = new Set<() => void>();
  const echo = Deno.env.get("TEST_WORKER_ECHO") === "1";
  (async () => {
    let buf = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (echo) console.error(`[${child.pid}] ${text}`);
        try {
          const parsed = JSON.parse(text);
          if (parsed && typeof parsed.msg === "string") {
            lines.push(parsed);
            if (parsed.msg === "job.completed") completed.add(String(parsed.job_id));
          }
        } catch {
          lines.push({ msg: "(text)", at: new Date().toISOString(), text });
        }
      }
      for (const c of [...checks]) c();
    }
    for (const c of [...checks]) c();
  })();
  const status = child.status;
  let exited = false;
  status.then(() => {
    exited = true;
    for (const c of [...checks]) c();
  });

  function waitUntil(pred: (ls: LogLine[]) => boolean, timeoutMs = 60_000, what = "a condition") {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pred(lines)) {
          done();
          resolve();
        } else if (exited) {
          done();
          reject(new Error(`worker ${child.pid} exited while waiting for ${what}\n${tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${tail()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        checks.delete(check);
      };
      checks.add(check);
      check();
    });
  }
  function tail(): string {
    return lines.slice(-15).map((l) => JSON.stringify(l)).join("\n");
  }
  return {
    child,
    pid: child.pid,
    lines,
    completed,
    waitUntil,
    async waitForLog(pred, timeoutMs, what) {
      await waitUntil((ls) => ls.some(pred), timeoutMs, what);
      return lines.find(pred)!;
    },
    status,
    async rss() {
      const text = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(text)?.[1] ?? NaN);
      return kb * 1024;
    },
  };
}

/** Sends `signal` unless the process has already ended. */
export function signal(p: WorkerProc, sig: Deno.Signal): void {
  try {
    p.child.kill(sig);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
}
