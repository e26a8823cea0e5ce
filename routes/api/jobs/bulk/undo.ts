/**
 * `POST /api/jobs/bulk/undo`: takes back a bulk cancel or retry within a
 * minute, restoring each job nobody has touched since; `{restored, moved_on}`.
 * An offer that expired, was used, or never existed is a 410.
 */
import { define } from "../../../../utils.ts";
import { bulkUndoBody } from "../../../../lib/bulk_schemas.ts";
import { bulk } from "../../../../lib/queue/mod.ts";
import { actorOf } from "../../../../lib/http/actor.ts";
import { HttpError } from "../../../../lib/http/errors.ts";
import { json } from "../../../../lib/http/json.ts";
import { bodyOf } from "../../(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const input = await bodyOf(ctx, bulkUndoBody);
    const r = await bulk.undo(ctx.state.sql, {
      id: input.undo_id.toLowerCase(),
      now: ctx.state.now(),
      actor: actorOf(ctx),
    });
    if (!r) {
      throw new HttpError(
        410,
        "undo_expired",
        `no undo on offer with this id: it lasts ${bulk.UNDO_SECONDS} s after the bulk action, and runs once`,
      );
    }
    if (r.restored > 0) {
      ctx.state.changed.poke();
      if (r.action === "cancel") ctx.state.newJobs.poke();
    }
    return json(r);
  },
});
