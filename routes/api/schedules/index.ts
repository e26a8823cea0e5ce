/** `GET /api/schedules` lists schedules; `POST /api/schedules` creates one (201, 409 on a taken name). */
import { define } from "../../../utils.ts";
import { noQuery } from "../../../lib/api_schemas.ts";
import { createScheduleBody } from "../../../lib/schedules/schema.ts";
import { schedules } from "../../../lib/queue/mod.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf, queryOf } from "../(_lib)/helpers.ts";
import { actorOf } from "../../../lib/http/actor.ts";

export const handler = define.handlers({
  async GET(ctx) {
    queryOf(ctx, noQuery);
    return json({ items: await schedules.list(ctx.state.sql) });
  },
  async POST(ctx) {
    const schedule = await bodyOf(ctx, createScheduleBody);
    const row = await schedules.create(ctx.state.sql, {
      schedule,
      now: ctx.state.now(),
      actor: actorOf(ctx),
    });
    return json(row, {
      status: 201,
      headers: { location: `/api/schedules/${encodeURIComponent(row.name)}` },
    });
  },
});
