/**
 * `POST /api/complete/:id` `{result, worker, attempt}`: records an external
 * worker's success, fenced on the attempt it names (an absent body is a 422).
 */
import { define } from "../../../utils.ts";
import { completeBody } from "../../../lib/api_schemas.ts";
import { jobs } from "../../../lib/queue/mod.ts";
import { recordCompleted } from "../../../lib/metrics.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf, jobIdOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const id = jobIdOf(ctx);
    const input = await bodyOf(ctx, completeBody, { optional: true });
    // A job whose cancel was requested is recorded cancelled, then refused (409 job_cancelled).
    const job = await jobs.completeOrThrow(ctx.state.sql, {
      id,
      worker: input.worker,
      attempt: input.attempt,
      result: input.result ?? null,
      now: ctx.state.now(),
    }).catch((err) => {
      if ((err as { code?: string }).code === "job_cancelled") ctx.state.changed.poke();
      throw err;
    });
    ctx.state.changed.poke();
    recordCompleted(job);
    return json(job);
  },
});
