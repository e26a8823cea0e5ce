/** `GET /healthz`: liveness — the process answers (no database call; no query). */
import { define } from "../utils.ts";
import { json } from "../lib/http/json.ts";
import { refuseQuery } from "./_query.ts";

export const handler = define.handlers({
  GET(ctx) {
    return refuseQuery(ctx.url) ?? json({ status: "ok" });
  },
});
