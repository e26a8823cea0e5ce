/** `GET /metrics`: Prometheus text exposition (see lib/metrics.ts). */
import { define } from "../utils.ts";
import { METRICS_CONTENT_TYPE, scrape } from "../lib/metrics.ts";

export const handler = define.handlers({
  async GET(ctx) {
    return new Response(await scrape(ctx.state.sql), {
      headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
    });
  },
});
