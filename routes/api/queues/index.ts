/** `GET /api/queues`: every queue with its settings and its jobs per status. */
import { define } from "../../../utils.ts";
import { noQuery } from "../../../lib/api_schemas.ts";
import { queues } from "../../../lib/queue/mod.ts";
import { json } from "../../../lib/http/json.ts";
import { queryOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async GET(ctx) {
    queryOf(ctx, noQuery);
    return json({ items: await queues.list(ctx.state.sql) });
  },
});
