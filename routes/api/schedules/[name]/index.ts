/**
 * `GET /api/schedules/:name` (with `next_run_at`, null while disabled);
 * `PATCH` changes it (a schedule from the file: `enabled` only); `DELETE`
 * removes it (its jobs stay).
 */
import { define } from "../../../../utils.ts";
import { emptyBody, noQuery } from "../../../../lib/api_schemas.ts";
import { patchScheduleBody } from "../../../../lib/schedules/schema.ts";
import { schedules } from "../../../../lib/queue/mod.ts";
import { json } from "../../../../lib/http/json.ts";
import { bodyOf, queryOf } from "../../(_lib)/helpers.ts";
import { scheduleNameOf } from "../../(_lib)/schedules.ts";
import { actorOf } from "../../../../lib/http/actor.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const name = scheduleNameOf(ctx);
    queryOf(ctx, noQuery);
    const row = await schedules.get(ctx.state.sql, { name });
    if (!row) throw schedules.scheduleNotFound(name);
    return json(row);
  },
  async PATCH(ctx) {
    const name = scheduleNameOf(ctx);
    const patch = await bodyOf(ctx, patchScheduleBody);
    return json(
      await schedules.update(ctx.state.sql, {
        name,
        patch,
        now: ctx.state.now(),
        actor: actorOf(ctx),
      }),
    );
  },
  async DELETE(ctx) {
    const name = scheduleNameOf(ctx);
    await bodyOf(ctx, emptyBody, { optional: true });
    return json(
      await schedules.remove(ctx.state.sql, { name, now: ctx.state.now(), actor: actorOf(ctx) }),
    );
  },
});
