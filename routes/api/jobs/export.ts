/**
 * `GET /api/jobs/export?format=csv|ndjson&…`: every job matching the list's
 * filters (`status`, `type`, `priority`, `queue`, `q`) in the list's order
 * (`sort`, `order`), streamed as a download — no row limit, a batch of rows
 * in memory at a time (lib/queue/export.ts, lib/http/export_stream.ts).
 * `limit` and `offset` are refused (422) like any unknown parameter.
 *
 * The first batch is read before answering, so a database that is down is
 * still a 503; an error after that can no longer change the status: the
 * body is cut off (no terminating chunk), which clients report as an
 * incomplete transfer. A client that goes away releases the cursor and its
 * connection; so does one that stays connected but reads nothing for
 * EXPORT_STALL_MS (60 s): its download is cut off. At most {@link MAX_EXPORTS} exports run at once per pool (each
 * holds a connection); more are 503 with Retry-After. `HEAD` answers the
 * headers without reading any row.
 */
import { define } from "../../../utils.ts";
import { exportQuery } from "../../../lib/api_schemas.ts";
import { exportBatches } from "../../../lib/queue/export.ts";
import { EXPORT_MEDIA_TYPES, exportStream } from "../../../lib/http/export_stream.ts";
import { HttpError } from "../../../lib/http/errors.ts";
import type { Sql } from "../../../lib/db.ts";
import { queryOf } from "../(_lib)/helpers.ts";

/** Most exports streaming at once from one pool. */
export const MAX_EXPORTS = 4;
const running = new WeakMap<Sql, number>();

/** `20261130T183615Z`: the instant as a file name may carry it. */
function stamp(at: Date): string {
  return at.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

export const handler = define.handlers({
  async GET(ctx) {
    const { format, ...filters } = queryOf(ctx, exportQuery);
    const sql = ctx.state.sql;
    const headers = {
      "content-type": EXPORT_MEDIA_TYPES[format],
      "content-disposition": `attachment; filename="jobs-${
        stamp(ctx.state.now() ?? new Date())
      }.${format}"`,
      "cache-control": "no-store",
    };
    if (ctx.req.method === "HEAD") return new Response(null, { headers });
    const n = running.get(sql) ?? 0;
    if (n >= MAX_EXPORTS) {
      throw new HttpError(
        503,
        "too_many_exports",
        `${MAX_EXPORTS} exports are running; try again later`,
        undefined,
        { "retry-after": "5" },
      );
    }
    running.set(sql, n + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      running.set(sql, (running.get(sql) ?? 1) - 1);
    };
    const batches = exportBatches(sql, filters);
    let first;
    try {
      first = await batches.next();
    } catch (err) {
      release();
      throw err;
    }
    const body = exportStream(batches, first, {
      format,
      requestId: ctx.state.requestId,
      onEnd: release,
    });
    return new Response(body, { headers });
  },
});
