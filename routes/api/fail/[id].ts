/**
 * `POST /api/fail/:id` `{error}`: records an external worker's failed attempt
 * (fenced): pending again after backoff (RETRY_BASE_MS, capped at
 * RETRY_MAX_MS, with jitter) while attempts remain, else failed.
 * `permanent: true` fails at once. `worker` and `attempt` are required (an
 * absent body is a 422 naming them).
 */
import { define } from "../../../utils.ts";
import { failBody } from "../../../lib/api_schemas.ts";
import { jobs } from "../../../lib/queue/mod.ts";
import { recordFailed } from "../../../lib/metrics.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf, jobIdOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const id = jobIdOf(ctx);
    const input = await bodyOf(ctx, failBody, { optional: true });
    // A job whose cancel was requested is recorded cancelled, then refused (409 job_cancelled).
    const job = await jobs.failOrThrow(ctx.state.sql, {
      id,
      worker: input.worker,
      attempt: input.attempt,
      error: input.error,
      permanent: input.permanent ?? false,
      retry: { baseMs: ctx.state.config.RETRY_BASE_MS, maxMs: ctx.state.config.RETRY_MAX_MS },
      now: ctx.state.now(),
    }).catch((err) => {
      if ((err as { code?: string }).code === "job_cancelled") ctx.state.changed.poke();
      throw err;
    });
    ctx.state.changed.poke();
    if (job.status === "pending") ctx.state.newJobs.poke();
    recordFailed(job);
    return json(job);
  },
});
