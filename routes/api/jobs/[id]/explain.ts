/** `GET /api/jobs/:id/explain`: why a job is not running, as a code and a sentence. */
import { define } from "../../../../utils.ts";
import { jobs } from "../../../../lib/queue/mod.ts";
import { json } from "../../../../lib/http/json.ts";
import { jobIdOf } from "../../(_lib)/helpers.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const id = jobIdOf(ctx);
    return json(await jobs.explain(ctx.state.sql, { id, now: ctx.state.now() }));
  },
});
