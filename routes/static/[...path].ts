/** Files under `static/` (island bundles, icons), with ETags and long caching for hashed names. */
import { define } from "@/utils.ts";
import { HttpError } from "@/lib/http/errors.ts";
import { serveStatic } from "@/lib/web/static.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const res = await serveStatic(ctx.req, ctx.url.pathname.slice("/static/".length));
    if (!res) throw new HttpError(404, "not_found", `no file at ${ctx.url.pathname}`);
    return res;
  },
});
