/** `POST /api/jobs/bulk`: retry, cancel or delete many jobs in one transaction. */
import { define } from "../../../utils.ts";
import { bulkBody } from "../../../lib/api_schemas.ts";
import { bulk } from "../../../lib/queue/mod.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const input = await bodyOf(ctx, bulkBody);
    const results = await bulk.apply(ctx.state.sql, {
      action: input.action,
      ids: input.ids,
      now: ctx.state.now(),
    });
    const summary = { done: 0, not_found: 0, conflict: 0 };
    for (const r of results) summary[r.outcome]++;
    if (summary.done > 0) {
      ctx.state.changed.poke();
      if (input.action === "retry") ctx.state.newJobs.poke();
    }
    return json({ action: input.action, results, summary });
  },
});
