/**
 * `GET /api/health/db`: database health — table and index sizes, dead
 * tuples and (auto)vacuum, what holds vacuum back, connections in use and
 * the slowest statements (`?sort=mean|total`), each figure with a level and
 * its meaning. Read only; on the database's clock.
 */
import { define } from "../../../utils.ts";
import { healthQuery } from "../../../lib/health_schema.ts";
import { health } from "../../../lib/queue/mod.ts";
import { json } from "../../../lib/http/json.ts";
import { queryOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const { sort } = queryOf(ctx, healthQuery);
    return json(await health.read(ctx.state.sql, { sort }));
  },
});
