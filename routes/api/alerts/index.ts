/**
 * `GET /api/alerts` lists the alert rules with their state; `POST
 * /api/alerts` creates one (201; 409 on a taken name), audited as
 * `alert.create`.
 */
import { define } from "../../../utils.ts";
import { noQuery } from "../../../lib/api_schemas.ts";
import { createAlertBody } from "../../../lib/alerts/schema.ts";
import { alerts } from "../../../lib/queue/mod.ts";
import { actorOf } from "../../../lib/http/actor.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf, queryOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async GET(ctx) {
    queryOf(ctx, noQuery);
    return json({ items: await alerts.list(ctx.state.sql) });
  },
  async POST(ctx) {
    const alert = await bodyOf(ctx, createAlertBody);
    const row = await alerts.create(ctx.state.sql, {
      alert,
      actor: actorOf(ctx),
      now: ctx.state.now(),
    });
    return json(row, { status: 201, headers: { location: `/api/alerts/${row.id}` } });
  },
});
