/**
 * `GET /api/jobs/:id` (with its events); `DELETE /api/jobs/:id` cancels a
 * pending job (200, cancelled) or asks a running one to stop (202, still
 * processing with `cancel_requested_at`; it ends cancelled).
 */
import { define } from "../../../../utils.ts";
import { emptyBody } from "../../../../lib/api_schemas.ts";
import { jobs } from "../../../../lib/queue/mod.ts";
import { json } from "../../../../lib/http/json.ts";
import { bodyOf, jobIdOf } from "../../(_lib)/helpers.ts";
import { jobNotFound } from "../../../../lib/queue/guard.ts";
import { actorOf } from "../../../../lib/http/actor.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const id = jobIdOf(ctx);
    const job = await jobs.getWithEvents(ctx.state.sql, { id });
    if (!job) throw jobNotFound(id);
    return json(job);
  },
  async DELETE(ctx) {
    const id = jobIdOf(ctx);
    await bodyOf(ctx, emptyBody, { optional: true });
    const job = await jobs.cancel(ctx.state.sql, { id, now: ctx.state.now(), actor: actorOf(ctx) });
    ctx.state.changed.poke();
    return json(job, { status: job.status === "processing" ? 202 : 200 });
  },
});
