/**
 * `GET /api/audit`: the audit log, newest first, a page at a time. Filters:
 * `action` (any of, repeated or comma-separated), `actor`, `job` (entries
 * naming that job), `since` and `until` (ISO date-times, `until` exclusive);
 * `limit` (1–100, default 50) and `offset`. Anything else is a 422.
 */
import { define } from "../../../utils.ts";
import { auditQuery, auditQueryObject } from "../../../lib/audit_schema.ts";
import { audit } from "../../../lib/queue/mod.ts";
import { json } from "../../../lib/http/json.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const q = auditQuery.parse(auditQueryObject(ctx.url.searchParams));
    return json(
      await audit.list(ctx.state.sql, {
        ...q,
        job: q.job?.toLowerCase(),
        since: q.since ? new Date(q.since) : undefined,
        until: q.until ? new Date(q.until) : undefined,
      }),
    );
  },
});
