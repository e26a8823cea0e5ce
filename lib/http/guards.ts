/** Request guards the app puts before the routes. */
import type { MiddlewareHandler } from "hono";
import { earlyError, HttpError, isApi } from "./errors.ts";

/**
 * Makes `req.formData()` reject with a 400 HttpError, not a TypeError (a 500),
 * when the body is not a readable form: a JSON or text body, a multipart body
 * without its boundary, a broken multipart body.
 */
export const guardFormData: MiddlewareHandler = async (c, next) => {
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
  const path = new URL(req.url).pathname;
  if (!/(?:^|\/)(?:\*|%2a)(?:\/|$)/i.test(path)) return null;
  return earlyError(400, "bad_request_target", "a path segment may not be *", isApi(path));
}
