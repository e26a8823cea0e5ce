/**
 * `GET /api/queues/:name`: one queue; `PATCH /api/queues/:name` changes its
 * `paused` and/or `concurrency` (null clears the limit). An unknown or
 * malformed name is a 404; a bad body a 422 that changes nothing.
 */
import { define } from "../../../utils.ts";
import { noQuery, queueParam, queuePatchBody } from "../../../lib/api_schemas.ts";
import { queues } from "../../../lib/queue/mod.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf, queryOf } from "../(_lib)/helpers.ts";
import { actorOf } from "../../../lib/http/actor.ts";
import type { Context } from "fresh";
import type { State } from "../../../utils.ts";

/** The `:name` path parameter; a malformed name is a 404 (no such queue). */
function nameOf(ctx: Context<State>): string {
  const name = ctx.params.name ?? "";
  if (!queueParam.safeParse(name).success) throw queues.queueNotFound(name.slice(0, 64));
  return name;
}

export const handler = define.handlers({
  async GET(ctx) {
    const name = nameOf(ctx);
    queryOf(ctx, noQuery);
    const queue = await queues.get(ctx.state.sql, { name });
    if (!queue) throw queues.queueNotFound(name);
    return json(queue);
  },
  async PATCH(ctx) {
    const name = nameOf(ctx);
    queryOf(ctx, noQuery);
    const change = await bodyOf(ctx, queuePatchBody);
    const queue = await queues.update(ctx.state.sql, {
      name,
      change,
      now: ctx.state.now(),
      actor: actorOf(ctx),
    });
    ctx.state.newJobs.poke();
    ctx.state.changed.poke();
    return json(queue);
  },
});
