/** `POST /api/jobs/batch`: up to 1000 jobs in one statement, all or none (201). */
import { define } from "../../../utils.ts";
import { batchBody } from "../../../lib/api_schemas.ts";
import { jobs } from "../../../lib/queue/mod.ts";
import { recordEnqueued } from "../../../lib/metrics.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const input = await bodyOf(ctx, batchBody, { batch: true });
    const items = await jobs.enqueueBatch(ctx.state.sql, {
      jobs: input.jobs,
      now: ctx.state.now(),
    });
    ctx.state.newJobs.poke();
    ctx.state.changed.poke();
    for (const j of items) recordEnqueued(j.type);
    return json({ items, count: items.length }, { status: 201 });
  },
});
