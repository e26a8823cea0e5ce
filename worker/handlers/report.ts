/**
 * The `report` handler: a CSV or PDF of the jobs in a date range, stored as
 * the job's artifact (downloaded from `/api/jobs/<id>/artifact`).
 */
import { report, type ReportPayload, reportSchema } from "../../lib/jobs/report.ts";
import type { Handler, ReportSet } from "../types.ts";
import { parsePayload } from "./common.ts";

type Cell = string | number | boolean | Date | null;

/** A table: header and rows, in the order the report prints them. */
export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
}

/** The main table of a report type (the CSV is this table). */
export function mainTable(type: ReportPayload["report_type"], data: ReportSet): Table {
  if (type === "failures") {
    return {
      title: "Failed attempts",
      columns: ["at", "job_id", "type", "attempt", "worker", "final", "message"],
      rows: data.failures.map((
        r,
      ) => [r.at, r.job_id, r.type, r.attempt, r.worker, r.final, r.message]),
    };
  }
  if (type === "throughput") {
    return {
      title: "Throughput per day (UTC)",
      columns: ["day", "created", "completed", "failed", "avg_ms", "p95_ms"],
      rows: data.throughput.map((
        r,
      ) => [r.day, r.created, r.completed, r.failed, r.avg_ms, r.p95_ms]),
    };
  }
  return {
    title: "Jobs per day and type (UTC)",
    columns: [
      "day",
      "type",
      "total",
      "pending",
      "processing",
      "completed",
      "failed",
      "cancelled",
      "failure_rate",
    ],
    rows: data.summary.map((r) => [
      r.day,
      r.type,
      r.total,
      r.pending,
      r.processing,
      r.completed,
      r.failed,
      r.cancelled,
      r.failure_rate,
    ]),
  };
}

function cellText(v: Cell): string {
  if (v === null) return "";
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line
 * break; text starting with `= + - @` gets a leading `'` so spreadsheets do
 * not run it as a formula.
 */
export function csvField(v: Cell): string {
  let s = cellText(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The table as CSV text: header line, then one line per row, CRLF line ends. */
export function toCsv(t: Table): string {
  return [t.columns, ...t.rows].map((r) => r.map((c) => csvField(c)).join(",")).join("\r\n") +
    "\r\n";
}

/** Renders the report as a PDF (A4, Helvetica): title, totals, the main table, the slowest jobs. */
export async function toPdf(
  p: ReportPayload,
  data: ReportSet,
  meta: { jobId: string; generatedAt: Date },
): Promise<Uint8Array> {
  // Loaded on first use: a pool that never builds a PDF never pays for pdfkit's memory.
  const { default: PDFDocument } = await import("pdfkit");
  const doc = new PDFDocument({
    size: "A4",
    margin: 40,
    info: {
      Title: `jobq report: ${p.report_type}`,
      Author: "jobq",
      CreationDate: meta.generatedAt,
    },
  });
  const chunks: Uint8Array[] = [];
  doc.on("data", (c: Uint8Array) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on("end", () => resolve());
    doc.on("error", reject);
  });

  doc.font("Helvetica-Bold").fontSize(18).text(`jobq report: ${p.report_type}`);
  doc.font("Helvetica").fontSize(10).fillColor("#444")
    .text(`Jobs created from ${p.date_range.from} to ${p.date_range.to} (UTC, inclusive)`)
    .text(`Generated ${meta.generatedAt.toISOString()} by job ${meta.jobId}`);
  doc.moveDown();
  const rate = data.totals.failure_rate === null
    ? "n/a"
    : `${(data.totals.failure_rate * 100).toFixed(2)} %`;
  doc.fillColor("#000").fontSize(11)
    .text(
      `Jobs: ${data.totals.total}   completed: ${data.totals.completed}   failed: ${data.totals.failed}   failure rate: ${rate}`,
    );
  doc.moveDown();
  drawTable(doc, mainTable(p.report_type, data));
  if (p.report_type !== "failures") {
    doc.moveDown();
    drawTable(doc, {
      title: "Slowest jobs",
      columns: ["id", "type", "ms", "attempts", "completed_at"],
      rows: data.slowest.map((r) => [r.id, r.type, r.ms, r.attempts, r.completed_at]),
    });
  }
  doc.end();
  await ended;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

// deno-lint-ignore no-explicit-any
function drawTable(doc: any, t: Table): void {
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  const bottom = doc.page.height - doc.page.margins.bottom;
  const colWidth = width / t.columns.length;
  const rowHeight = 14;
  doc.font("Helvetica-Bold").fontSize(13).text(t.title, left);
  doc.moveDown(0.3);
  const header = () => {
    doc.font("Helvetica-Bold").fontSize(8);
    const y = doc.y;
    t.columns.forEach((c, i) =>
      doc.text(c, left + i * colWidth, y, {
        width: colWidth - 4,
        lineBreak: false,
        height: rowHeight,
      })
    );
    doc.y = y + rowHeight;
    doc.font("Helvetica").fontSize(8);
  };
  header();
  if (t.rows.length === 0) {
    doc.text("(no rows)", left);
    return;
  }
  for (const row of t.rows) {
    if (doc.y + rowHeight > bottom) {
      doc.addPage();
      header();
    }
    const y = doc.y;
    row.forEach((c, i) =>
      doc.text(cellText(c), left + i * colWidth, y, {
        width: colWidth - 4,
        lineBreak: false,
        ellipsis: true,
        height: rowHeight,
      })
    );
    doc.y = y + rowHeight;
  }
  doc.x = left;
}

/**
 * Builds the report and stores it, reporting its stages as progress (10 %
 * querying, 60 % rendering, 90 % storing, 100 % stored) and stopping between
 * them once its signal aborts (timeout or cancel); result: rows, bytes, artifact link, filename, content type. */
export const reportHandler: Handler = {
  timeoutSeconds: report.timeoutSeconds,
  async run(payload, ctx) {
    const p = parsePayload(reportSchema, payload);
    ctx.progress(10, "querying the jobs in the range");
    const data = await ctx.reportSet(p.date_range);
    ctx.signal.throwIfAborted();
    ctx.progress(60, `rendering the ${p.format.toUpperCase()}`);
    const table = mainTable(p.report_type, data);
    const base = `report-${p.report_type}-${p.date_range.from}_${p.date_range.to}`;
    const file = p.format === "csv"
      ? {
        filename: `${base}.csv`,
        content_type: "text/csv; charset=utf-8",
        bytes: new TextEncoder().encode(toCsv(table)),
      }
      : {
        filename: `${base}.pdf`,
        content_type: "application/pdf",
        bytes: await toPdf(p, data, { jobId: ctx.job.id, generatedAt: new Date() }),
      };
    ctx.signal.throwIfAborted();
    ctx.progress(90, "storing the file");
    const saved = await ctx.saveArtifact(file);
    ctx.progress(100, "stored");
    return {
      report_type: p.report_type,
      format: p.format,
      rows: table.rows.length,
      bytes: saved.bytes,
      artifact: saved.url,
      filename: file.filename,
      content_type: file.content_type,
    };
  },
};
