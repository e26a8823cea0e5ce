/**
 * Structured logs: one JSON object per line on stderr, e.g.
 * `{"at":"2026-11-29T20:00:00.000Z","level":"info","msg":"job.completed","job_id":"…","ms":12}`.
 * `LOG_LEVEL` (debug, info, warn, error) sets the threshold.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: number = RANK[(Deno.env.get("LOG_LEVEL") as LogLevel) ?? "info"] ?? RANK.info;

/** Sets the lowest level that is written. */
export function setLogLevel(level: LogLevel): void {
  threshold = RANK[level];
}

/**
 * Whether a line of `level` is written: for a caller that would build its
 * fields only to have them dropped (the worker's per-job lines).
 */
export function logs(level: LogLevel): boolean {
  return RANK[level] >= threshold;
}

/** Writes one log line when `level` is at or above the threshold. */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < threshold) return;
  const line = JSON.stringify({ at: new Date().toISOString(), level, msg, ...fields }, replacer);
  console.error(line);
}

/**
 * Writes one line per item of `list`, all of `level` and `msg`, in one write
 * to stderr: a batch of finished jobs costs one write, not one per job.
 */
export function logEach(level: LogLevel, msg: string, list: Record<string, unknown>[]): void {
  if (RANK[level] < threshold || list.length === 0) return;
  const at = new Date().toISOString();
  const lines = list.map((fields) => JSON.stringify({ at, level, msg, ...fields }, replacer));
  console.error(lines.join("\n"));
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === "bigint") return value.toString();
  return value;
}
