/** `GET /healthz`: liveness — the process answers (no database call). */
import { define } from "../utils.ts";
import { json } from "../lib/web/json.ts";

export const handler = define.handlers({
  GET() {
    return json({ status: "ok" });
  },
});
