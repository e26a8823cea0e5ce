/**
 * `POST /api/jobs/batch`: up to 1000 jobs, all or none (201). An item whose
 * `unique_key` a pending or processing job holds (or an earlier item) answers
 * with that job; `existed[i]` says so for `items[i]`, `created` counts the new.
 */
import { define } from "../../../utils.ts";
import { batchBody } from "../../../lib/api_schemas.ts";
import { jobs } from "../../../lib/queue/mod.ts";
import { recordEnqueued } from "../../../lib/metrics.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const input = await bodyOf(ctx, batchBody, { batch: true });
    const { jobs: items, existed } = await jobs.enqueueBatchUnique(ctx.state.sql, {
      jobs: input.jobs,
      now: ctx.state.now(),
    });
    const created = existed.filter((e) => !e).length;
    if (created > 0) {
      ctx.state.newJobs.poke();
      ctx.state.changed.poke();
    }
    items.forEach((j, i) => existed[i] || recordEnqueued(j.type));
    return json({ items, count: items.length, existed, created }, { status: 201 });
  },
});
