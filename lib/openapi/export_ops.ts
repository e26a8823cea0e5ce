/** The export of the job list: every matching job as CSV or NDJSON. */
import * as s from "../api_schemas.ts";
import { CSV_COLUMNS } from "../http/export_stream.ts";
import type { Kit } from "./kit.ts";

/** Registers it through `kit.op`. */
export function registerExportOperations(kit: Kit): void {
  const list = s.exportQuery.shape;
  kit.op("get", "/api/jobs/export", {
    operationId: "exportJobs",
    tags: ["jobs"],
    summary: "Download every job matching the list's filters, as CSV or NDJSON (streamed)",
    description: "The filters and order of `GET /api/jobs`, with the same rules; no row limit " +
      "(`limit` and `offset` are refused). Rows are read through a cursor a batch at a time, so " +
      "memory stays flat. The status is chosen after the first batch is read: a database " +
      "error later cuts the body off without its terminating chunk (clients report an " +
      "incomplete transfer), so a complete download is one that ended normally.",
    request: {
      query: s.exportQuery.extend({
        format: list.format.describe(
          "`csv` (RFC 4180, a header row) or `ndjson` (one job per line)",
        ),
        status: list.status.meta(kit.commaList(
          "any of these statuses: comma-separated (canonical); repeating is accepted too",
        )),
        type: list.type.meta(kit.commaList(
          "any of these types: comma-separated (canonical); repeating is accepted too",
        )),
        priority: list.priority.meta(kit.commaList(
          "any of these priorities: comma-separated (canonical); repeating is accepted too",
        )),
        queue: list.queue.meta(kit.commaList(
          "any of these queues: comma-separated (canonical); repeating is accepted too",
        )),
        q: list.q.describe(
          "an id or its start (4+ hex digits), or text in one of the payload's values (not its key names) or in the queue name (case-insensitive)",
        ),
      }),
    },
    responses: {
      200: {
        description: "the jobs, as a download " +
          '(`Content-Disposition: attachment; filename="jobs-<UTC time>.<format>"`)',
        headers: {
          "Content-Disposition": {
            schema: { type: "string" },
            description: 'attachment; filename="jobs-20260301T120000Z.csv"',
          },
        },
        content: {
          "text/csv": {
            schema: {
              type: "string",
              description: `CRLF line ends; columns ${CSV_COLUMNS.join(", ")}; ` +
                "payload and result as JSON text; null is an empty cell; instants ISO 8601. " +
                "A cell starting with = + - @ tab or CR gets a leading ' (formula guard).",
            },
          },
          "application/x-ndjson": {
            schema: {
              type: "string",
              description: "one job per line (LF), each the JSON of a `GET /api/jobs` item",
            },
          },
        },
      },
      422: kit.err("a bad or missing format, a bad filter or sort, or an unknown parameter"),
      ...kit.common,
      503: {
        ...kit.err(
          "`too_many_exports`: as many exports as allowed are running (with Retry-After); " +
            "or `database_unavailable`",
        ),
        headers: kit.retryAfter,
      },
    },
  });
}
