/**
 * `GET /api/alerts/:id` (its state: firing since, last value, last
 * notified); `PATCH` changes it (validated whole; audited as
 * `alert.update`); `DELETE` removes it (`alert.delete`).
 */
import { define } from "../../../utils.ts";
import { emptyBody, noQuery } from "../../../lib/api_schemas.ts";
import { patchAlertBody } from "../../../lib/alerts/schema.ts";
import { alerts } from "../../../lib/queue/mod.ts";
import { actorOf } from "../../../lib/http/actor.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf, queryOf } from "../(_lib)/helpers.ts";
import { alertIdOf } from "../(_lib)/alerts.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const id = alertIdOf(ctx);
    queryOf(ctx, noQuery);
    const row = await alerts.get(ctx.state.sql, { id });
    if (!row) throw alerts.alertNotFound(id);
    return json(row);
  },
  async PATCH(ctx) {
    const id = alertIdOf(ctx);
    const patch = await bodyOf(ctx, patchAlertBody);
    return json(
      await alerts.update(ctx.state.sql, { id, patch, actor: actorOf(ctx), now: ctx.state.now() }),
    );
  },
  async DELETE(ctx) {
    const id = alertIdOf(ctx);
    await bodyOf(ctx, emptyBody, { optional: true });
    return json(
      await alerts.remove(ctx.state.sql, { id, actor: actorOf(ctx), now: ctx.state.now() }),
    );
  },
});
