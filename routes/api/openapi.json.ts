/** `GET /api/openapi.json`: the OpenAPI 3.1 document (public, even with API_TOKEN). */
import { define } from "../../utils.ts";
import { openApiDocument } from "../../lib/openapi.ts";
import { json } from "../../lib/web/json.ts";

export const handler = define.handlers({
  GET() {
    return json(openApiDocument(), { headers: { "cache-control": "public, max-age=300" } });
  },
});
