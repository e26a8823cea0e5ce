/**
 * `POST /api/jobs/bulk`: retry, cancel or delete many jobs, by ids (one
 * transaction, an outcome per id) or by filter (every job matching at that
 * moment, in batches; `dry_run` only counts them). A cancel or retry that
 * changed something returns `undo` (see `bulk/undo.ts`).
 */
import { define } from "../../../utils.ts";
import { bulkBody } from "../../../lib/bulk_schemas.ts";
import { bulk } from "../../../lib/queue/mod.ts";
import { actorOf } from "../../../lib/http/actor.ts";
import { json } from "../../../lib/http/json.ts";
import { bodyOf } from "../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const input = await bodyOf(ctx, bulkBody);
    const action = input.action;
    if (input.filter) {
      if (input.dry_run) {
        const count = await bulk.countFilter(ctx.state.sql, { action, filter: input.filter });
        return json({ action, count, dry_run: true });
      }
      const r = await bulk.applyFilter(ctx.state.sql, {
        action,
        filter: input.filter,
        now: ctx.state.now(),
        actor: actorOf(ctx),
      });
      if (r.count > 0) {
        ctx.state.changed.poke();
        if (action === "retry") ctx.state.newJobs.poke();
      }
      return json({
        action,
        count: r.count,
        matched: r.matched,
        skipped: r.skipped,
        ...(r.undo ? { undo: r.undo } : {}),
      });
    }
    const { results, undo } = await bulk.applyIds(ctx.state.sql, {
      action,
      ids: input.ids!,
      now: ctx.state.now(),
      actor: actorOf(ctx),
    });
    const summary = { done: 0, not_found: 0, conflict: 0 };
    for (const r of results) summary[r.outcome]++;
    if (summary.done > 0) {
      ctx.state.changed.poke();
      if (action === "retry") ctx.state.newJobs.poke();
    }
    return json({ action, results, summary, ...(undo ? { undo } : {}) });
  },
});
