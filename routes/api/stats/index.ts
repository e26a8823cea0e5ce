/** `GET /api/stats`: jobs per status, plus the total. */
import { define } from "../../../utils.ts";
import { noQuery } from "../../../lib/api_schemas.ts";
import { stats } from "../../../lib/queue/mod.ts";
import { json } from "../../../lib/http/json.ts";
import { queryOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async GET(ctx) {
    queryOf(ctx, noQuery);
    return json(await stats.counts(ctx.state.sql));
  },
});
