/**
 * The one cross-site rule of pages and `/api`: a request comes from this
 * origin when the browser says so (`Sec-Fetch-Site: same-origin`, or `none`
 * for one the user started), else when its `Origin` names the host the
 * request was sent to (`Host`, which the Host check has already accepted).
 */

/** True when `origin` (an `Origin` header) names the host `req` was sent to. */
export function sameHost(origin: string, req: Request): boolean {
  try {
    return new URL(origin).host === (req.headers.get("host") ?? new URL(req.url).host);
  } catch {
    return false; // "null" and other opaque origins
  }
}

/** `Sec-Fetch-Site` values of requests from this origin. */
export const SAME_ORIGIN_SITES: ("same-origin" | "none")[] = ["same-origin", "none"];

/** True when the browser says (or the Origin shows) the request comes from this origin. */
export function sameOrigin(req: Request): boolean {
  const site = req.headers.get("sec-fetch-site");
  if (site) return SAME_ORIGIN_SITES.some((s) => s === site);
  const origin = req.headers.get("origin");
  return origin !== null && sameHost(origin, req);
}

/** True when a browser marks the request as coming from another site or origin. */
export function crossSite(req: Request): boolean {
  const site = req.headers.get("sec-fetch-site");
  const origin = req.headers.get("origin");
  return (site !== null || origin !== null) && !sameOrigin(req);
}
