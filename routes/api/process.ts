/**
 * `POST /api/process`: an external worker claims the next due job (priority
 * first, then oldest) with a lease of JOB_LEASE_SECONDS: 200 with the job, 204
 * when none is due. Body (optional): `{"worker": "name", "types": [...]}`.
 */
import { define } from "../../utils.ts";
import { processBody } from "../../lib/api_schemas.ts";
import { jobs } from "../../lib/queue/mod.ts";
import { json } from "../../lib/http/json.ts";
import { bodyOf } from "./(_lib)/helpers.ts";

export const handler = define.handlers({
  async POST(ctx) {
    const input = await bodyOf(ctx, processBody, { optional: true });
    const worker = input.worker ?? `api-${crypto.randomUUID().slice(0, 8)}`;
    const [job] = await jobs.claim(ctx.state.sql, {
      worker,
      limit: 1,
      leaseSeconds: ctx.state.config.JOB_LEASE_SECONDS,
      types: input.types ?? null,
      queues: input.queues ?? null,
      now: ctx.state.now(),
    });
    if (!job) return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
    ctx.state.changed.poke();
    return json(job);
  },
});
