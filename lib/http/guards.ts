/** Request guards the app puts before the routes. */
import type { MiddlewareHandler } from "hono";
import { earlyError, HttpError, isApi } from "./errors.ts";
import { requestHostname } from "./host_check.ts";

/**
 * Makes `req.formData()` reject with a 400 HttpError, not a TypeError (a 500),
 * when the body is not a readable form: a JSON or text body, a multipart body
 * without its boundary, a broken multipart body. Only pages read forms: an
 * `/api` request is left as it is (redefining a property of the request on
 * every JSON call costs the API's hot path for nothing).
 */
export const guardFormData: MiddlewareHandler = async (c, next) => {
  if (isApi(c.req.path)) return await next();
  const req = c.req.raw;
  const read = req.formData.bind(req);
  Object.defineProperty(req, "formData", {
    configurable: true,
    value: () =>
      read().catch((err: unknown) => {
        throw new HttpError(
          400,
          "bad_form",
          `the form could not be read: ${(err as Error).message}`,
        );
      }),
  });
  await next();
};

/**
 * A 400 for a request whose path has a segment that is literally `*`
 * (`OPTIONS *` arrives as the path "/" + "*"; also `/%2A`), else `null`. Hono's
 * router runs the same middleware twice for such a path (honojs/hono#5370),
 * and no route here has such a segment, so it is refused before routing.
 */
export function refuseWildcardPath(req: Request): Response | null {
  // Most requests have neither `*` nor `%2a` anywhere: no URL to parse for them.
  if (!req.url.includes("*") && !/%2a/i.test(req.url)) return null;
  const path = new URL(req.url).pathname;
  if (!/(?:^|\/)(?:\*|%2a)(?:\/|$)/i.test(path)) return null;
  return earlyError(400, "bad_request_target", "a path segment may not be *", isApi(path));
}

/**
 * Refuses, with 421, a request whose `Host` is not one of `allowed` (see
 * `allowedHosts`), before anything else runs: a rebound DNS name cannot reach
 * the server from a browser.
 */
export function hostCheck(allowed: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    const host = requestHostname(c.req.raw);
    if (host !== null && allowed.has(host)) return await next();
    const shown = JSON.stringify((c.req.header("host") ?? new URL(c.req.url).host).slice(0, 100));
    return earlyError(
      421,
      "misdirected_request",
      `this server does not answer to the host ${shown}; ` +
        "set PUBLIC_URL or ALLOWED_HOSTS to the name clients use",
      isApi(c.req.path),
    );
  };
}
