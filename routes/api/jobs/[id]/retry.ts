/**
 * `POST /api/jobs/:id/retry`: a failed or cancelled job goes back to pending,
 * due now (a cancelled job still scheduled for later keeps that time).
 */
import { define } from "../../../../utils.ts";
import { emptyBody } from "../../../../lib/api_schemas.ts";
import { jobs } from "../../../../lib/queue/mod.ts";
import { json } from "../../../../lib/http/json.ts";
import { bodyOf, jobIdOf } from "../../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const id = jobIdOf(ctx);
    await bodyOf(ctx, emptyBody, { optional: true });
    const job = await jobs.retry(ctx.state.sql, { id, now: ctx.state.now() });
    ctx.state.newJobs.poke();
    ctx.state.changed.poke();
    return json(job);
  },
});
