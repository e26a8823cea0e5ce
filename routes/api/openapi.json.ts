/** `GET /api/openapi.json`: the OpenAPI 3.1 document (public, even with API_TOKEN; no query). */
import { define } from "../../utils.ts";
import { noQuery } from "../../lib/api_schemas.ts";
import { openApiDocument } from "../../lib/openapi.ts";
import { json } from "../../lib/http/json.ts";
import { queryOf } from "./(_lib)/helpers.ts";

export const handler = define.handlers({
  GET(ctx) {
    queryOf(ctx, noQuery);
    return json(openApiDocument(), { headers: { "cache-control": "public, max-age=300" } });
  },
});
