/**
 * The bytes of `GET /api/jobs/export`: jobs as CSV (RFC 4180, with a guard
 * against spreadsheet formulas) or NDJSON, and the pull-based stream that
 * turns batches of jobs into a response body with backpressure.
 */
import type { Job } from "../queue/types.ts";
import { log } from "../log.ts";

/** The export formats. */
export const EXPORT_FORMATS = ["csv", "ndjson"] as const;
/** `csv` or `ndjson`. */
export type ExportFormat = typeof EXPORT_FORMATS[number];

/** Content-Type of each format. */
export const EXPORT_MEDIA_TYPES: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  ndjson: "application/x-ndjson",
};

/** The CSV columns, in order (the header row). */
export const CSV_COLUMNS = [
  "id",
  "type",
  "status",
  "queue",
  "priority",
  "attempts",
  "max_attempts",
  "created_at",
  "updated_at",
  "scheduled_for",
  "started_at",
  "completed_at",
  "error",
  "payload",
  "result",
] as const;

/**
 * One CSV cell: empty for null; instants as ISO 8601 (as the JSON API
 * writes them); payload and result as JSON text. A cell starting with `=`,
 * `+`, `-`, `@`, tab or CR gets a leading `'` so a spreadsheet shows it as
 * text instead of running it as a formula (also a JSON `result` of -1 →
 * `'-1`). Then RFC 4180: a cell holding a comma, a double quote, CR or LF is
 * quoted, with its quotes doubled.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let s = value instanceof Date
    ? value.toISOString()
    : typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The header row (CRLF-terminated). */
export function csvHeader(): string {
  return CSV_COLUMNS.join(",") + "\r\n";
}

/** One job as a CSV record (CRLF-terminated); `payload` and `result` as JSON. */
export function csvRow(job: Job): string {
  let line = "";
  for (let i = 0; i < CSV_COLUMNS.length; i++) {
    const c = CSV_COLUMNS[i];
    const v = job[c];
    line += (i ? "," : "") +
      (c === "payload" || c === "result"
        ? csvCell(v == null ? null : JSON.stringify(v))
        : csvCell(v));
  }
  return line + "\r\n";
}

/** One job as an NDJSON line: the JSON of `GET /api/jobs` items, then LF. */
export function ndjsonRow(job: Job): string {
  return JSON.stringify(job) + "\n";
}

/** Options of {@link exportStream}. */
export interface ExportStreamOptions {
  format: ExportFormat;
  /** For the log line of a failure. */
  requestId?: string;
  /** Called once when the stream has ended: read to the end, failed, cancelled or stalled. */
  onEnd?: () => void;
  /**
   * A client that stays connected but stops reading for this long (ms) has
   * its download cut off, so it cannot hold a pool connection and a database
   * snapshot forever (default {@link EXPORT_STALL_MS}).
   */
  stallMs?: number;
}

/** How long an export waits for a client that stopped reading. */
export const EXPORT_STALL_MS = 60_000;

/**
 * A byte stream of `batches` in `format` (CSV starts with its header row):
 * one chunk per batch, fetched only when the consumer has taken the previous
 * one (pull-based, high-water mark one chunk), so a slow client slows the
 * cursor instead of filling memory. The first batch may be passed already
 * read (`first`). A consumer that cancels (a client that went away) ends the
 * iteration, which releases its cursor; an error from `batches` errors the
 * stream (the response's status was sent already) and is logged. `onEnd`
 * runs once in each case.
 */
export function exportStream(
  batches: AsyncIterator<Job[], void>,
  first: IteratorResult<Job[], void> | undefined,
  opts: ExportStreamOptions,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const line = opts.format === "csv" ? csvRow : ndjsonRow;
  let pending = first;
  let header = opts.format === "csv" ? csvHeader() : "";
  let rows = 0;
  let ended = false;
  let stall: ReturnType<typeof setTimeout> | undefined;
  const end = () => {
    clearTimeout(stall);
    if (ended) return;
    ended = true;
    opts.onEnd?.();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      clearTimeout(stall);
      let next: IteratorResult<Job[], void>;
      try {
        next = pending ?? await batches.next();
      } catch (err) {
        log("error", "export.failed", {
          request_id: opts.requestId,
          rows,
          error: (err as Error).message,
          code: (err as { code?: string }).code,
        });
        controller.error(err);
        end();
        return;
      }
      pending = undefined;
      if (next.done) {
        if (header) controller.enqueue(enc.encode(header));
        controller.close();
        end();
        return;
      }
      let text = header;
      header = "";
      for (const job of next.value) text += line(job);
      rows += next.value.length;
      controller.enqueue(enc.encode(text));
      stall = setTimeout(() => {
        log("warn", "export.stalled", { request_id: opts.requestId, rows });
        controller.error(new Error("the client stopped reading the export"));
        Promise.resolve(batches.return?.()).catch(() => {}).finally(end);
      }, opts.stallMs ?? EXPORT_STALL_MS);
    },
    async cancel() {
      // Queued behind a batch being fetched, if any; then the cursor is closed.
      try {
        await batches.return?.();
      } finally {
        end();
      }
    },
  }, { highWaterMark: 1 });
}
