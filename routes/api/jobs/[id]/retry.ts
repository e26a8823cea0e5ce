/**
 * `POST /api/jobs/:id/retry`: a failed or cancelled job goes back to pending,
 * due now (a cancelled job still scheduled for later keeps that time). A
 * body `{payload?, priority?, queue?}` edits the job first (the payload
 * checked with its type's schema, 422 otherwise), keeping the previous
 * values in an `edited` event; the edit, the retry and the audit row commit
 * together or not at all.
 */
import { define } from "../../../../utils.ts";
import { retryBody } from "../../../../lib/api_schemas.ts";
import { jobs } from "../../../../lib/queue/mod.ts";
import { json } from "../../../../lib/http/json.ts";
import { actorOf } from "../../../../lib/http/actor.ts";
import { bodyOf, jobIdOf } from "../../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const id = jobIdOf(ctx);
    const edit = await bodyOf(ctx, retryBody, { optional: true });
    const job = await jobs.retry(ctx.state.sql, {
      id,
      now: ctx.state.now(),
      actor: actorOf(ctx),
      edit,
    });
    ctx.state.newJobs.poke();
    ctx.state.changed.poke();
    return json(job);
  },
});
