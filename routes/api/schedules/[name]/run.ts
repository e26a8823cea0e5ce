/** `POST /api/schedules/:name/run`: enqueues the schedule's job now (201); `next_run_at` stays. */
import { define } from "../../../../utils.ts";
import { emptyBody } from "../../../../lib/api_schemas.ts";
import { runNow } from "../../../../lib/queue/mod.ts";
import { recordEnqueued } from "../../../../lib/metrics.ts";
import { json } from "../../../../lib/http/json.ts";
import { bodyOf } from "../../(_lib)/helpers.ts";
import { scheduleNameOf } from "../../(_lib)/schedules.ts";
import { actorOf } from "../../../../lib/http/actor.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const name = scheduleNameOf(ctx);
    await bodyOf(ctx, emptyBody, { optional: true });
    // The statement notified idle workers and dashboards at its commit.
    const job = await runNow(ctx.state.sql, { name, now: ctx.state.now(), actor: actorOf(ctx) });
    recordEnqueued(job.type);
    return json(job, { status: 201, headers: { location: `/api/jobs/${job.id}` } });
  },
});
