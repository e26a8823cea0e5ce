/** `GET /metrics`: Prometheus text exposition (see lib/metrics.ts). */
import { define } from "../utils.ts";
import { METRICS_CONTENT_TYPE, scrape } from "../lib/metrics.ts";
import { refuseQuery } from "./_query.ts";

export const handler = define.handlers({
  async GET(ctx) {
    return refuseQuery(ctx.url) ?? new Response(await scrape(ctx.state.sql), {
      headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
    });
  },
});
