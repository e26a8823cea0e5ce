/**
 * `GET /api/stats/trend?hours=24&bucket=hour|minute`: created, completed and
 * (finally) failed jobs per bucket, oldest first, empty buckets as zeros.
 */
import { define } from "../../../utils.ts";
import { trendQuery } from "../../../lib/api_schemas.ts";
import { stats } from "../../../lib/queue/mod.ts";
import { json } from "../../../lib/http/json.ts";
import { queryOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const q = queryOf(ctx, trendQuery);
    const hours = q.hours ?? 24;
    const bucket = q.bucket ?? "hour";
    const points = await stats.trend(ctx.state.sql, { hours, bucket, now: ctx.state.now() });
    return json({ hours, bucket, points });
  },
});
