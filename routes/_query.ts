/**
 * The query check of the routes outside `/api` that take no parameters
 * (`/healthz`, `/readyz`, `/metrics`, `/docs`): a request with any query
 * parameter is a 400 in the API's error envelope, so a typo never passes
 * unnoticed. Not a route (the leading underscore keeps it out of routing).
 */
import { jsonError } from "../lib/http/errors.ts";

/** A 400 naming the unexpected parameters, or null when the query is empty. */
export function refuseQuery(url: URL): Response | null {
  const names = [...new Set(url.searchParams.keys())];
  if (names.length === 0) return null;
  return jsonError(
    400,
    "unexpected_query",
    `this route takes no query parameters; got ${
      names.slice(0, 5).map((n) => JSON.stringify(n.slice(0, 64))).join(", ")
    }`,
  );
}
