/**
 * `POST /api/jobs` creates one job (201 + Location, once its row is committed;
 * concurrent requests share statements through the app's enqueue coalescer),
 * or, when a pending or processing job holds its `unique_key`, answers 200
 * with that job (nothing stored); `GET /api/jobs` lists jobs.
 */
import { define } from "../../../utils.ts";
import { createJobBody, listQuery } from "../../../lib/api_schemas.ts";
import { jobs } from "../../../lib/queue/mod.ts";
import { recordEnqueued } from "../../../lib/metrics.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf, queryOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const input = await bodyOf(ctx, createJobBody);
    // The enqueuer's statement notified idle workers as it committed.
    const { job, existed } = await ctx.state.enqueuer.enqueueUnique(input, {
      now: ctx.state.now(),
    });
    if (existed) return json(job, { status: 200, headers: { location: `/api/jobs/${job.id}` } });
    ctx.state.changed.poke();
    recordEnqueued(job.type);
    return json(job, { status: 201, headers: { location: `/api/jobs/${job.id}` } });
  },
  async GET(ctx) {
    const q = queryOf(ctx, listQuery);
    return json(await jobs.list(ctx.state.sql, q));
  },
});
